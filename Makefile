# The two commands: `make demo` and `make test`. Each sets up .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SEED ?= 0
DATA := data/smoke-seed$(SEED)

.PHONY: demo test lint bench clean chromium

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "csmbench needs Python 3.11 or newer; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	rm -rf $(DATA) runs/demo-reference runs/demo-no-tools
	$(BIN)/csmbench build --preset smoke --seed $(SEED) --out $(DATA)
	$(BIN)/csmbench eval --data $(DATA) --agent reference --tools all --out runs/demo-reference
	$(BIN)/csmbench eval --data $(DATA) --agent no-tools --tools none --out runs/demo-no-tools
	$(BIN)/csmbench report runs/demo-reference runs/demo-no-tools --html runs/demo-report.html
	@echo "HTML report (plots, trajectories): runs/demo-report.html"

test: $(STAMP) chromium
	$(BIN)/python -m pytest -n 2 -q

# The HTML report's test renders it in headless Chromium: Debian's package, installed here
# where missing (as root, else with sudo).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=; \
	  elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	  else echo "make test needs Debian's chromium (headless browser for the HTML report test); as root: apt-get install chromium" >&2; exit 1; fi; \
	  echo "installing Debian's chromium (headless browser for the HTML report test)"; \
	  { $$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; } \
	    || { echo "could not install chromium with apt-get; install Debian's chromium package, then run make test again" >&2; exit 1; }; }

lint: $(STAMP)
	$(BIN)/ruff check csmbench episodes tools env agents graders tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_scale_bar.py
	$(BIN)/python benchmarks/bench_crystal_db.py
	$(BIN)/python benchmarks/bench_find_peaks.py
	$(BIN)/python benchmarks/bench_identify_phase.py
	$(BIN)/python benchmarks/bench_episodes.py --preset diffraction
	$(BIN)/python benchmarks/bench_episodes.py --preset grains
	$(BIN)/python benchmarks/bench_grain_size.py
	$(BIN)/python benchmarks/bench_lattice_spacing.py
	$(BIN)/python benchmarks/bench_identify_elements.py
	$(BIN)/python benchmarks/bench_build.py
	$(BIN)/python benchmarks/bench_episodes.py --preset standard
	$(BIN)/python benchmarks/bench_runner.py
	$(BIN)/python benchmarks/bench_harness.py
	$(BIN)/python benchmarks/bench_vs_inspect.py
	$(BIN)/python benchmarks/bench_crash_recovery.py

clean:
	rm -rf $(VENV) data runs .pytest_cache
