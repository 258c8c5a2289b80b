"""Reading a judge's verdict: the robust reading csmbench scores with, and the original's.

CSMBench's ``score_openqa.py`` reads any standalone "10" in the reply as 10, so "Score: 7 out
of 10" scores 10 there; :func:`read_judge_score` reads it as 7 and gives None (unscored) for
a reply without one clear score. :func:`original_judge_score` keeps the original's reading,
so reports can show both.
"""

from __future__ import annotations

import json
import re

__all__ = ["original_judge_score", "read_judge_score"]

_NUM = r"(\d{1,2}(?:\.\d+)?)"
_OUT_OF_TEN = re.compile(rf"(?<![\d.]){_NUM}\s*(?:/|out\s+of|of)\s*10(?![\d.])", re.IGNORECASE)
_SCORE_IS = re.compile(rf"\b(?:score|rating|grade)\b[^\d\n]{{0,20}}?(?<![\d.]){_NUM}(?![\d.]*\d)"
                       r"(?!\s*(?:/|out\s+of))", re.IGNORECASE)
_ONLY_NUMBER = re.compile(rf"^[^\w\n]*{_NUM}[^\w\n]*$")
_ANY_NUMBER = re.compile(rf"(?<![\w.]){_NUM}(?![\w.]*\d)")


def read_judge_score(reply: str) -> float | None:
    """The 0-10 score a judge's reply gives, or None when it gives none or several.

    A JSON object's "score" wins; then "N/10" or "N out of 10"; then "score: N"; then a
    reply that is one number; then the only number of the reply (two different ones: None).
    A number outside 0-10 is no score.

    Example:
        >>> read_judge_score("Score: 7 out of 10"), read_judge_score("7/10"), read_judge_score("10")
        (7.0, 7.0, 10.0)
    """
    structured = _json_score(reply)
    if structured is not None:
        return structured
    for pattern in (_OUT_OF_TEN, _SCORE_IS, _ONLY_NUMBER):
        found = {float(m) for m in pattern.findall(reply)}
        if found:
            return _in_range(found.pop()) if len(found) == 1 else None
    numbers = {float(m) for m in _ANY_NUMBER.findall(reply)}
    return _in_range(numbers.pop()) if len(numbers) == 1 else None


def original_judge_score(reply: str) -> int | None:
    """The score CSMBench's ``score_openqa.py`` (``extract_score``) reads from a reply.

    Any standalone "10" is 10; else the first standalone digit; else the whole reply as an
    integer, clipped to 0-10; else None. So "Score: 7 out of 10" reads as 10.
    """
    text = reply.strip()
    if re.search(r"\b10\b", text):
        return 10
    match = re.search(r"\b([0-9])\b", text)
    if match:
        return int(match.group(1))
    try:
        return min(max(int(text), 0), 10)
    except ValueError:
        return None


def _json_score(reply: str) -> float | None:
    text = reply.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        data = json.loads(text)
    except ValueError:
        return None
    value = data.get("score") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return _in_range(float(value))


def _in_range(value: float) -> float | None:
    return value if 0.0 <= value <= 10.0 else None
