# The two commands: `make demo` and `make test`. Each sets up .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SEED ?= 0
DATA := data/smoke-seed$(SEED)

.PHONY: demo test lint bench clean

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
	$(BIN)/csmbench report runs/demo-reference runs/demo-no-tools

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

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
	$(BIN)/python benchmarks/bench_runner.py

clean:
	rm -rf $(VENV) data runs .pytest_cache
