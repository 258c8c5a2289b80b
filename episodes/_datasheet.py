"""The datasheet of a generated dataset: counts, how each truth is computed, the tolerances.

Generated from the manifest, the items and the family generators' docstrings, whose
``Truth:`` and ``Tolerance:`` paragraphs say how the answer is computed and why its
tolerance is what it is. ``csmbench build`` writes it as ``DATASHEET.md`` into the dataset.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from pathlib import Path

from ._dataset import Dataset, load_dataset
from ._types import DIFFICULTIES, Item

__all__ = ["DATASHEET", "datasheet_markdown", "write_datasheet"]

DATASHEET = "DATASHEET.md"
SCALES = ("AtomScale", "Microscale", "Mesoscale", "Macroscale")
LIMITS = """\
- Every image, pattern and spectrum is simulated. The simulations follow the physics named
  in each family (Bragg's law on real crystal structures, Voronoi and Laguerre grain
  tessellations, characteristic X-ray lines), but real data carry artefacts they do not:
  charging and drift in SEM images, sample-preparation relief, detector dead time,
  fluorescence, overlapping unknown phases. A score here is an upper bound on what the same
  agent reaches on real figures; the CSMBench import (`csmbench import csmbench`) holds the
  real ones.
- Truths are exact for the model that generated the item (the crystal database's cells, the
  label image's grains, the simulated crystallite size). Where the physics has conventions
  (ASTM E112 intercept versus planimetric G, Scherrer's K = 0.9, Vegard's law for a solid
  solution) the question states the one it uses.
- Tolerances are those of a careful measurement of one field or one scan, not of the
  generator's numerical precision, so an answer within tolerance is a good measurement.
- Difficulty levels are assigned in turn (easy, medium, hard) by item index and change the
  inputs (stated or calibrated pixel size, counts, radiation, rendering style); they are
  not calibrated against human or model performance."""


def _paragraph(doc: str, label: str) -> str:
    match = re.search(rf"^{label}:\s*(.+?)(?:\n\s*\n|\Z)", doc, re.MULTILINE | re.DOTALL)
    return " ".join(match.group(1).split()) if match else ""


def _family_notes(name: str) -> tuple[str, str, str]:
    """(question, truth, tolerance) from the family generator's docstring, or empty strings."""
    from .generators import FAMILIES

    family = FAMILIES.get(name)
    doc = inspect.getdoc(family.make) if family else ""
    question = (doc or "").split("\n", 1)[0].removeprefix("Q: ")
    return question, _paragraph(doc or "", "Truth"), _paragraph(doc or "", "Tolerance")


def _answer_text(items: list[Item]) -> str:
    """The answer type and tolerance of a family's items ("varies" when the items differ)."""
    answer = items[0].answer
    if answer.type == "numeric":
        tolerances = {(i.answer.rel_tol, i.answer.abs_tol, i.answer.unit) for i in items}
        if len(tolerances) > 1:
            return f"number in {answer.unit or '(no unit)'}, tolerance per item (below)"
        tol = [f"±{answer.rel_tol:.0%}" if answer.rel_tol else "",
               f"±{answer.abs_tol:g} {answer.unit}".rstrip() if answer.abs_tol else ""]
        return f"number in {answer.unit or '(no unit)'}, {' or '.join(t for t in tol if t)}"
    if answer.type == "choice":
        return f"one of {len(answer.options)} options"
    if answer.type == "number_set":
        return f"set of numbers in {answer.unit}, each within a per-item tolerance"
    if answer.type == "formula":
        return "chemical formula (or a phase name)"
    return "free text (LLM judge)"


def _table(header: list[str], rows: list[list[str]], text_columns: int = 1) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i < text_columns else "---:" for i in range(len(header)))
             + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _count_tables(items: tuple[Item, ...]) -> list[str]:
    levels = Counter((i.scale, i.metadata.get("difficulty", "-")) for i in items)
    scale_rows = [[scale, *(str(levels[scale, d]) for d in DIFFICULTIES),
                   str(sum(levels[scale, d] for d in DIFFICULTIES))]
                  for scale in SCALES if any(levels[scale, d] for d in DIFFICULTIES)]
    families = Counter((i.family, i.metadata.get("difficulty", "-")) for i in items)
    scales = _scales_by_family(items)
    family_rows = [[f"`{name}`", scales[name], *(str(families[name, d]) for d in DIFFICULTIES),
                    str(sum(families[name, d] for d in DIFFICULTIES))]
                   for name in sorted(scales)]
    return ["## Counts", "", f"{len(items)} items.", "",
            *_table(["scale", *DIFFICULTIES, "total"], scale_rows), "",
            *_table(["family", "scale", *DIFFICULTIES, "total"], family_rows, 2), ""]


def _scales_by_family(items: tuple[Item, ...]) -> dict[str, str]:
    """Each family's scales ("Microscale, Mesoscale" when its items span two)."""
    seen: dict[str, set[str]] = {}
    for item in items:
        seen.setdefault(item.family, set()).add(item.scale)
    return {name: ", ".join(s for s in SCALES if s in found) for name, found in seen.items()}


def _family_sections(items: tuple[Item, ...]) -> list[str]:
    by_family: dict[str, list[Item]] = {}
    for item in items:
        by_family.setdefault(item.family, []).append(item)
    scales = _scales_by_family(items)
    lines = ["## Families", ""]
    for name, members in sorted(by_family.items()):
        question, truth, tolerance = _family_notes(name)
        longest = max(members, key=lambda i: len(i.reference))
        tools = " → ".join(dict.fromkeys(call.name for call in longest.reference)) or "none"
        lines += [f"### `{name}` ({scales[name]})", "", f"- **Asks:** {question or '-'}",
                  f"- **Answer:** {_answer_text(members)}",
                  f"- **Reference solution (longest):** {tools}",
                  f"- **Truth:** {truth or 'see the generator'}",
                  f"- **Tolerance:** {tolerance or 'see the generator'}", ""]
    return lines


def datasheet_markdown(dataset: Dataset) -> str:
    """The datasheet of ``dataset`` as Markdown."""
    manifest = dataset.manifest
    generated = tuple(i for i in dataset.items if i.source == "generated")
    versions = ", ".join(f"`{k}` {v}" for k, v in manifest.get("generators", {}).items())
    lines = [f"# Datasheet: `{manifest.get('name')}` (seed {manifest.get('seed')})", "",
             ("Generated by `csmbench datasheet` from the dataset's manifest and items; do not "
             "edit by hand."), "",
             f"- preset: `{manifest.get('preset')}`; generator versions: {versions or '-'}",
             ("- every file is listed with its sha256 in `manifest.json`; the same seed and "
             "versions give byte-identical files"), "",
             *_count_tables(dataset.items), *_family_sections(generated),
             "## Limits of synthetic data", "", LIMITS, ""]
    return "\n".join(lines)


def write_datasheet(root: str | Path, out: str | Path | None = None) -> Path:
    """Write the datasheet of the dataset at ``root`` (default ``root/DATASHEET.md``)."""
    text = datasheet_markdown(load_dataset(root, verify=False))
    path = Path(out) if out is not None else Path(root) / DATASHEET
    path.write_text(text, encoding="utf-8")
    return path
