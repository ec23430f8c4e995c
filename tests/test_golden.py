"""Tables as a reader sees them, pinned at 80 and 120 columns (piped, so no colour).

Each golden file is the exact output of one command at one width. A change to the tables
shows up here as a diff to review; when the change is meant, regenerate the files with

    CALCREF_REGENERATE_GOLDEN=1 python -m pytest tests/test_golden.py

and read the diff before committing it.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import pytest
from clirun import ok

GOLDEN = Path(__file__).parent / "golden"
WIDTHS = (80, 120)
COMMANDS = {
    "treat-ssc": ("treat", "--context", "ssc"),
    "treat-ssc-details": ("treat", "--context", "ssc", "--details"),
    "treat-ssc-chart": ("treat", "--context", "ssc", "--chart"),
    "treat-jdm": ("treat", "--context", "jdm"),
    "workup": ("workup",),
    "workup-metastatic": ("workup", "--subtype", "metastatic"),
    "studies-ssc": ("studies", "--context", "ssc"),
    "subtypes": ("subtypes",),
    "subtype-dystrophic": ("subtypes", "dystrophic"),
    "show-colchicine": ("show", "colchicine"),
    "cite": ("cite",),
    "search-thiosulfate": ("search", "thiosulfate"),
    "levels": ("levels",),
    "overview": ("overview",),
    "contexts": ("contexts",),
}


def draw(args: tuple[str, ...], width: int) -> str:
    """`args` at `width` columns. The knowledge comes through the session's parse cache (see
    conftest), as a user's second run gets it, instead of a cold parse for every drawing
    (CALCREF_NO_CACHE); cold and cached answers are the same bytes (test_reliability)."""
    return ok(*args, env={"COLUMNS": str(width)}).stdout


@functools.cache
def wide(args: tuple[str, ...]) -> str:
    """`args` at 250 columns, drawn once: the parametrised tests below compare each narrow
    drawing with it (a module-wide result, like a module-scoped fixture)."""
    return draw(args, 250)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_table_matches_its_golden_file(name: str, width: int) -> None:
    path = GOLDEN / f"{name}.{width}.txt"
    text = draw(COMMANDS[name], width)
    if os.environ.get("CALCREF_REGENERATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: regenerate (see the module docstring)"
    assert text == path.read_text(encoding="utf-8"), f"{name} at {width} columns changed"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_no_line_is_wider_than_the_screen(name: str, width: int) -> None:
    """Every line fits, but a link on its own line: a link is printed whole, past the edge,
    since a PubMed search broken across lines can be neither clicked nor copied."""
    text = (GOLDEN / f"{name}.{width}.txt").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not LINK_LINE.fullmatch(line)]
    assert max(map(len, lines)) <= width


LINK_LINE = re.compile(r" *https://\S+")  # a link alone on its line, its label above it


def test_treat_for_ssc_fits_one_screen() -> None:
    """The point-of-care answer, with its gap, legend and the management principles, fits
    one 80 x 40 screen; at 120 columns it takes fewer lines still."""
    heights = [len((GOLDEN / f"treat-ssc.{w}.txt").read_text().splitlines()) for w in WIDTHS]
    assert heights[0] <= 40 and heights[1] <= heights[0]


@pytest.mark.parametrize("name", ["treat-ssc", "treat-jdm", "workup", "subtypes"])
def test_the_first_rows_are_on_the_first_screen(name: str) -> None:
    """On an 80 x 50 screen, the first thing to do is read before anything scrolls away:
    the first-line rows of a treatment answer, the tests for every patient of a workup."""
    first_screen = (GOLDEN / f"{name}.80.txt").read_text().splitlines()[:50]
    # the workup's first tier: the chapter's tests, tied to any subtype (not "every patient")
    wanted = {"treat": " 1st ", "workup": "Any subtype (the chapter", "subtypes": "Dystrophic"}
    assert any(wanted[name.split("-")[0]] in line for line in first_screen)


NARROW = (40, 50, 65, 80)  # below what the treatment table can hold: its rows are stacked


@pytest.mark.parametrize("width", (*NARROW, 100, 120))
def test_every_patient_count_survives_the_width(width: int) -> None:
    """At any width the answer shows exactly the counts (n=…) the wide one does: nothing
    squeezed or cut (at 65 columns a squeezed table once printed 'n=17' as 'n=1')."""
    args = COMMANDS["treat-ssc-details"]
    counts = sorted(re.findall(r"n=\d+\b", wide(args)))
    assert sorted(re.findall(r"n=\d+\b", draw(args, width))) == counts


DOSE = re.compile(r"[<>≥≤]?\d[\d.,–-]* ?(?:mg|g)(?:/[a-z]+)*")


@pytest.mark.parametrize("width", NARROW)
@pytest.mark.parametrize("name", ["show-colchicine", "treat-ssc-details"])
def test_every_dose_survives_a_narrow_screen(name: str, width: int) -> None:
    """Stacked, every field wraps between words: each dose reads whole, as on a wide screen."""
    # (a wide table interleaves its columns line by line, so compare the doses, not their order)
    doses = sorted(DOSE.findall(" ".join(wide(COMMANDS[name]).split())))
    assert doses
    assert sorted(DOSE.findall(" ".join(draw(COMMANDS[name], width).split()))) == doses


@pytest.mark.parametrize("width", NARROW)
def test_no_word_is_cut_on_a_narrow_screen(width: int) -> None:
    """Every word of the wide answer is in the narrow one (a cut cell loses its end)."""
    args = COMMANDS["treat-ssc"]
    words = set(wide(args).split()) - {"━" * n for n in range(300)}
    narrow = " ".join(draw(args, width).split())
    missing = {w for w in words if w not in narrow and not set(w) <= set("━─")}
    assert not missing, sorted(missing)[:20]


# --- no word, id or figure split across lines, at any width -------------------------------------

SPLIT_WIDTHS = range(40, 201, 5)
SPLIT_COMMANDS = {
    "treat": ("treat",),
    "treat-ssc": ("treat", "--context", "ssc"),
    "treat-details": ("treat", "--details"),
    "treat-ssc-details": ("treat", "--context", "ssc", "--details"),
    "studies": ("studies",),
    "workup": ("workup",),
    "workup-details": ("workup", "--details"),
    "levels": ("levels",),
    "cite": ("cite",),
    "subtypes-details": ("subtypes", "--details"),
    "contexts": ("contexts",),
    "search": ("search", "thiosulfate"),
}
RULES = set("━─")  # a table's rules and a stacked row's separator, as long as the screen


def json_words(value: object) -> set[str]:
    """Every whitespace-separated word of every string in a JSON answer."""
    if isinstance(value, str):
        return set(value.split())
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return set().union(*(json_words(item) for item in value))
    return set()


def split_words(args: tuple[str, ...], width: int, known: set[str]) -> list[tuple[str, str]]:
    """The words of `args` drawn at `width` that are no word of the answer: pieces of a word
    folded across a line break ('sodium-thiosulfate-intraveno' / 'us,'), as (line, piece). A
    word too long for any line of the screen (a long link) has to fold: its pieces pass."""
    overlong = [word for word in known if len(word) > width - 4]
    found = []
    for line in draw(args, width).splitlines():
        for token in line.split():
            if token in known or set(token) <= RULES or any(token in w for w in overlong):
                continue
            found.append((line, token))
    return found


@functools.cache
def known_words(args: tuple[str, ...]) -> frozenset[str]:
    """The words of an answer: as drawn at 1000 columns (where nothing folds), as its JSON
    holds them, and a field's name before its value when the rows are stacked ('Therapy:')."""
    import json

    known = set(draw(args, 1000).split()) | json_words(json.loads(ok(*args, "--json").stdout))
    return frozenset(known | {f"{word}:" for word in known})


@pytest.mark.parametrize(
    ("args", "width"),
    [
        (("levels",), 80),  # 'sodium-thiosulfate-intraveno' / 'us,'
        (("workup", "--details"), 65),  # 'Hyperparathyroidis' / 'm'
        (("studies",), 70),  # '(udomkarnjananun-calciphylaxis-parathyroidectom' / 'y)'
        (("treat", "--details"), 120),  # '(nunley2020-calcinosis-treatment' / ');'
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else str(v),
)
def test_no_word_is_split_where_the_audit_found_one(args: tuple[str, ...], width: int) -> None:
    assert split_words(args, width, set(known_words(args))) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SPLIT_COMMANDS))
def test_no_word_is_split_across_lines_at_any_width(name: str) -> None:
    """From 40 to 200 columns, every word on the screen is a word of the answer (as drawn
    at 1000 columns, or as its JSON holds it), or a field's name before its value when the
    rows are stacked ('Therapy:'): no id, word or figure is folded in two."""
    args = SPLIT_COMMANDS[name]
    known = set(known_words(args))
    split = {width: found for width in SPLIT_WIDTHS if (found := split_words(args, width, known))}
    assert not split, "\n".join(
        f"{width} columns: {token!r} in {line!r}"
        for width, found in split.items()
        for line, token in found[:3]
    )
