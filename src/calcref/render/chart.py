"""Response bars: how many patients of each study responded completely, partially or not.

Pure text, no Rich: one bar per study with counts, one cell per patient (scaled down only for
series wider than the bar), so the picture and the numbers printed beside it always agree.
"""

from __future__ import annotations

from typing import Any, NamedTuple

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
LABELS = {
    "complete": "complete",
    "partial": "partial",
    "responded": "responded, degree not given",
    "none": "no response",
    "unknown": "unknown",
    "unreported": "not reported",
}
MAX_WIDTH = 40


class Segments(NamedTuple):
    """A study's patients split into the chart's categories; they add up to n."""

    n: int
    parts: dict[str, int]


def segments(study: Record) -> Segments | None:
    """None when the study gives no patient count or no outcome counts to draw."""
    n, c = study["n"], study["counts"]
    if n is None or all(
        c.get(k) is None for k in ("responders", "complete", "partial", "none", "unknown")
    ):
        return None
    complete, partial = c.get("complete") or 0, c.get("partial") or 0
    responded = max((c.get("responders") or 0) - complete - partial, 0)
    parts = {
        "complete": complete,
        "partial": partial,
        "responded": responded,
        "none": c.get("none") or 0,
        "unknown": c.get("unknown") or 0,
    }
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
    """'Balin 2012  ########...  n=11: 8 complete, 3 responded, degree not given'."""
    lines = []
    for study in studies:
        seg = segments(study)
        if seg is None:
            continue
        counted = ", ".join(f"{v} {LABELS[k]}" for k, v in seg.parts.items() if v)
        lines.append(f"{study['label']:<18} {bar(seg, plain)}  n={seg.n}: {counted}")
    return lines
