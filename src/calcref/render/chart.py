"""Response bars: how many patients of each study responded completely, partially or not.

Pure text, no Rich: one bar per study with counts, one cell per patient (scaled down only for
series wider than the bar), so the picture and the numbers printed beside it always agree.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from calcref.render.columns import OUTCOME_LABELS, origin_text, outcomes, study_name

Record = dict[str, Any]

UNICODE = {
    "complete": "█",
    "partial": "▓",
    "responded": "▒",
    "none": "░",
    "unknown": "?",
    "unreported": "·",
}
PLAIN = {
    "complete": "#",
    "partial": "+",
    "responded": "=",
    "none": "-",
    "unknown": "?",
    "unreported": ".",
}
LABELS = {**OUTCOME_LABELS, "unreported": "not reported"}
MAX_WIDTH = 40


class Segments(NamedTuple):
    """A study's patients split into the chart's categories; they add up to n."""

    n: int
    parts: dict[str, int]


def segments(study: Record) -> Segments | None:
    """None when the study gives no patient count or no outcome counts to draw."""
    n, given = study["n"], outcomes(study["counts"])
    if n is None or not given:
        return None
    parts = {key: given.get(key, 0) for key in LABELS if key != "unreported"}
    parts["unreported"] = max(n - sum(parts.values()), 0)
    return Segments(n, parts)


def bar(seg: Segments, plain: bool, width: int = MAX_WIDTH) -> str:
    glyphs = PLAIN if plain else UNICODE
    scale = min(1.0, width / seg.n) if seg.n else 1.0
    cells = "".join(glyphs[k] * round(v * scale) for k, v in seg.parts.items())
    return cells.ljust(round(seg.n * scale))


def legend(plain: bool) -> str:
    glyphs = PLAIN if plain else UNICODE
    return "  ".join(f"{glyphs[k]} {LABELS[k]}" for k in LABELS)


def study_chart_lines(studies: list[Record], plain: bool) -> list[str]:
    """Two lines a study: whose it is ('Balin 2012 [ctd: the whole group]'), then its bar
    and counts ('  ########===  n=11: 8 complete, 3 responded, degree not given'), so a long
    name never pushes the numbers into a wrapped line of their own. A study an overlay gave
    has its name marked ('Tester 2025 [ssc]  ◆ overlay: /clinic/therapies.yaml'), so its
    bar is never read as the sources'."""
    lines = []
    for study in studies:
        seg = segments(study)
        if seg is None:
            continue
        counted = ", ".join(f"{v} {LABELS[k]}" for k, v in seg.parts.items() if v)
        mark = origin_text(study)
        name = f"{study_name(study)}  {mark}" if mark else study_name(study)
        lines += [name, f"  {bar(seg, plain)}  n={seg.n}: {counted}"]
    return lines
