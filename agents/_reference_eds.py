"""Reference solvers of the EDS families: identify the elements, then pick the option that
matches them (looking up the composition of phases given by name).

They read only the question and tool results.
"""

from __future__ import annotations

import re

from csmbench.env import Observation
from csmbench.episodes import FinalAnswer

from ._reference import Solve, ToolFailed, call, content, solver

__all__: list[str] = []

_OPTION = re.compile(r"^([A-E])\. (.+?)\s*$", re.MULTILINE)
_ELEMENT = re.compile(r"[A-Z][a-z]?")


def _spectrum_id(observation: Observation) -> str:
    spectra = [a.id for a in observation.attachments if a.kind == "spectrum"]
    if not spectra:
        raise ToolFailed("the item has no spectrum attachment")
    return spectra[0]


def _found(observation: Observation) -> Solve:
    result = content((yield call("identify_elements", spectrum=_spectrum_id(observation))))
    return {e["element"] for e in result["elements"]}


def _closest(found: set[str], options: dict[str, set[str]]) -> str:
    """The option whose element set is nearest the found one (Jaccard, then fewest extra)."""
    def score(letter: str) -> tuple[float, int]:
        elements = options[letter]
        return len(found & elements) / max(len(found | elements), 1), -len(elements - found)
    return max(options, key=score)


@solver("eds.elements")
def solve_elements(observation: Observation) -> Solve:
    found = yield from _found(observation)
    options = {letter: set(_ELEMENT.findall(text))
               for letter, text in _OPTION.findall(observation.question)}
    letter = _closest(found, options)
    return FinalAnswer(text=f"Answer: {letter} ({', '.join(sorted(found))})", choice=letter)


@solver("eds.phase")
def solve_phase(observation: Observation) -> Solve:
    found = yield from _found(observation)
    listed = dict(_OPTION.findall(observation.question))
    options = {}
    for letter, text in listed.items():
        if "by name" in observation.question:
            matches = content((yield call("lookup_crystal", query=text, limit=1)))["matches"]
            if not matches:
                raise ToolFailed(f"lookup_crystal found nothing for {text!r}")
            text = matches[0]["formula"]
        options[letter] = set(_ELEMENT.findall(text)) - {"H", "He", "Li", "Be"}
    letter = _closest(found, options)
    return FinalAnswer(text=f"Answer: {letter} ({', '.join(sorted(found))})", choice=letter)
