"""Rich tables and cards for people, rendered to a string. The only module that imports Rich.

Every knowledge string goes in as `rich.text.Text` after `visible()`: never parsed as markup
(so `Ca [mmol/L]` and `[/b]` print as written) and never able to send escape sequences.
Columns fold instead of truncating, so a piped table loses no words to an ellipsis. Each
drawing function draws on the console `render` gives it; `DRAW` names them by answer kind.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from calcref.answers.query import OWN as ASKED_ABOUT
from calcref.render import chart
from calcref.render.columns import (
    counted,
    counts_text,
    effect_text,
    frequency_sources,
    kind_text,
    legend_entry,
    match_text,
    origin_path,
    population_tag,
    position_text,
    study_phrase,
    warning_text,
    warnings,
    with_origin,
)
from calcref.render.screen import Screen
from calcref.render.textsafe import visible

Record = dict[str, Any]
NOT_GRADED = "—"
BASIS_LEGEND = (
    "[chapter] the chapter makes this link · [literature] a source beyond the chapter makes "
    "it · [curated] calcref's curators reasoned it from the sources' definitions"
)


def render(draw: Callable[..., None], screen: Screen, *args: Any, **options: Any) -> str:
    """What `draw(console, *args, **options)` prints, as one string: colour only on a
    terminal, the screen's width, and (when piped) no trailing blanks, so a table pasted into
    notes or a file carries no padding."""
    buffer = io.StringIO()
    out = Console(
        file=buffer,
        width=screen.width,
        force_terminal=screen.terminal,
        no_color=screen.no_color,
        color_system="auto" if screen.terminal else None,
        markup=False,
        emoji=False,
        highlight=False,
    )
    draw(out, *args, **options)
    text = buffer.getvalue()
    if screen.terminal:
        return text
    return "\n".join(line.rstrip(" \t") for line in text.split("\n"))


def t(value: object, style: str = "") -> Text:
    """Knowledge text as literal, escaped Rich text."""
    return Text(visible("" if value is None else str(value)), style=style)


def lines(parts: Iterable[Text]) -> Text:
    return Text("\n").join(list(parts))


NARROW = {"Line", "Ev.", "Letter", "Count"}  # one short word each: never wrapped


def _table(title: str, *headers: str) -> Table:
    """Columns wrap between words; `print_table` gives each at least its longest word."""
    table = Table(title=title, box=box.SIMPLE_HEAVY, show_lines=True, title_justify="left")
    for header in headers:
        table.add_column(header, overflow="fold", no_wrap=header in NARROW)
    return table


UNBOUNDED = 100_000


def print_table(out: Console, table: Table) -> None:
    """The table, when every word of every cell fits its column; otherwise its rows
    stacked, one field under another. Rich shares a narrow screen out by narrowing the
    widest columns first, even below their longest word, and then folds that word in two
    ('sodium-thiosulfate-intraveno' / 'us,', 'n=17' as 'n=1' / '7'): a split id is a wrong
    id and a split figure a wrong figure. So each column gets at least its longest word,
    the room left taken from the columns with the most to spare; a table whose words cannot
    all fit side by side is stacked."""
    if _fitted(out, table, out.width):
        out.print(table)
        return
    if table.title:
        out.print(t(str(table.title), "bold"))
    columns = table.columns
    for row in zip(*(column.cells for column in columns), strict=True):
        out.print(t("─" * min(out.width, 40), "dim"))
        for column, cell in zip(columns, row, strict=True):
            if isinstance(cell, Text) and not cell.plain:
                continue  # an empty cell says nothing
            header = t(f"{column.header}: ", "bold")
            if isinstance(cell, Text) and "\n" not in cell.plain:
                out.print(Text.assemble(header, cell))  # wraps between words, never cut
            else:
                out.print(header)
                out.print(Padding(cell, (0, 0, 0, 2)))


def _fitted(out: Console, table: Table, width: int) -> bool:
    """Give each column of `table` (a table or a grid) a width at which no word of its cells
    is folded, within `width`; False, and the table unchanged, when there is none."""
    widths = _word_widths(out, table, width)
    if widths is None:
        return False
    for column, text_width in zip(table.columns, widths, strict=True):
        column.width = text_width
    return True


def _word_widths(out: Console, table: Table, width: int) -> list[int] | None:
    """The width of each column's text (without its padding) so that no word is folded:
    Rich's own widths where they hold every column's longest word (its measured minimum),
    else those raised to it and the difference taken, a cell at a time, from the columns
    with the most room beyond their longest word; None when the longest words alone are
    wider than `width`."""
    try:
        unbounded = out.options.update(max_width=UNBOUNDED)  # a measurement is clamped to it
        available = width - table._extra_width
        widths = table._calculate_column_widths(out, out.options.update_width(available))
        minimums = [table._measure_column(out, unbounded, c).minimum for c in table.columns]
        padding = [table._get_padding_width(c._index) for c in table.columns]
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - another Rich
        return None  # unmeasured: stacked, as a table too wide is (never cut)
    if sum(minimums) > available:
        return None
    widths = [max(width, minimum) for width, minimum in zip(widths, minimums, strict=True)]
    for _ in range(sum(widths) - available):
        spare = max(range(len(widths)), key=lambda i: widths[i] - minimums[i])
        widths[spare] -= 1
    return [width - pad for width, pad in zip(widths, padding, strict=True)]


def note_texts(record: Record, shown: frozenset[str] = frozenset()) -> list[Text]:
    """The caution and notes on a record, each once per row (`shown`: already printed)."""
    return [
        t(f"⚠ {warning_text(w)}", "bold yellow") for w in warnings(record) if w["id"] not in shown
    ]


def overlay_mark(record: Record) -> list[Text]:
    """Local knowledge is marked wherever it is shown, so no one takes it for the sources'."""
    return [t(f"◆ overlay: {origin_path(record)}", "magenta")] if record["overlay"] else []


Labels = dict[str, str]  # reference id → a reader's label ("Cloutier (JOPA)", "Balin 2012")


def sources_text(sources: list[str], labels: Labels | None = None) -> Text:
    """The sources of a statement, by their readable labels when the answer gives them."""
    named = [(labels or {}).get(source, source) for source in sources]
    return t(f"[{', '.join(named)}]", "dim")


def likely(record: Record) -> Text:
    """What a flagged value almost certainly means, to print right after the value itself:
    at any width the reader meets the correction before anything else."""
    caution = record.get("caution")
    if not caution or not caution.get("likely"):
        return Text()
    return t(f" ⚠ likely {caution['likely']}", "bold yellow")


def _statement(statement: Record, labels: Labels | None = None) -> Text:
    """What a source says, its sources, and beneath it any caution or note on it."""
    said = Text.assemble(
        t(statement["text"]), likely(statement), " ", sources_text(statement["sources"], labels)
    )
    return lines([said, *note_texts(statement)])


def _regimens(record: Record, labels: Labels | None = None) -> Text:
    parts = [_statement(regimen, labels) for regimen in record["regimens"]]
    return lines(parts) if parts else t("not stated in the sources", "dim")


def _study_details(study: Record) -> Text:
    kind, design = study.get("kind") or "", study["design"] or ""
    if design.casefold().startswith(kind.casefold()):
        kind = ""  # the design already says it ("systematic review (Medline, ...)")
    if study.get("aim") == "prevention":
        kind = ", ".join(part for part in (kind, "prevention") if part)
    described = ", ".join(part for part in (kind, design) if part) or "design not stated"
    rows = [
        t(f"{study['label']} ({study['ref']}), {described}", "bold"),
        t(f"Population: {study['population']}{population_tag(study)}"),
    ]
    if study["age"]:
        rows.append(t(f"Age: {study['age']}"))
    if study["regimen"]:
        rows.append(Text.assemble(t(f"Regimen: {study['regimen']}"), likely(study)))
    if study.get("comparator"):
        rows.append(t(f"Compared with: {study['comparator']}"))
    rows.append(t(f"Outcome: {study['outcome']}"))
    if study["treatment"]:
        rows.append(t(f"Treatment: {study['treatment']}"))
    rows.append(t(f"Counts: {counts_text(study)}"))
    rows.extend(t(f"Effect: {effect_text(e)}") for e in study.get("effects") or ())
    if study.get("direction"):
        rows.append(t(f"Result, as the source states it: {study['direction']}", "bold"))
    rows.extend(_harms(study, None))
    if study.get("conclusion"):
        rows.append(t(f"Authors' conclusion: {study['conclusion']}", "italic"))
    rows.extend(note_texts(study))
    rows.extend(overlay_mark(study))
    return lines(rows)


def _therapy_name(record: Record) -> Text:
    parts = [t(record["name"], "bold")]
    for position in record["positions"]:
        if position["evidence"] is None:  # the graded position is in the Line and Ev. columns
            parts.append(t(position_text(position), "italic"))
    parts.extend(note_texts(record))
    parts.extend(overlay_mark(record))
    return lines(parts)


def _evidence_legend(levels: list[Record], records: list[Record]) -> str:
    """The chapter's lines and the letters the answer shows, each with its meaning."""
    shown = {r["evidence"] or NOT_GRADED for r in records if r["place"] == LADDER or r["evidence"]}
    items = [legend_entry(lvl) for lvl in levels if lvl["letter"] in shown]
    items += [f"{NOT_GRADED} not graded"] if NOT_GRADED in shown else []
    return f"the chapter's lines and letters ({' · '.join(items)})" if items else ""


def say_gaps(out: Console, gaps: tuple[Record, ...]) -> None:
    """Each gap the answer meets, in one line above it (with its overlay, if local)."""
    for gap in gaps:
        out.print(lines([t(f"⚠ Gap: {gap['text']}", "bold yellow"), *overlay_mark(gap)]))


def draw_treat(
    out: Console,
    records: list[Record],
    levels: list[Record],
    details: bool = False,
    show_chart: bool = False,
    plain: bool = True,
    gaps: tuple[Record, ...] = (),
    principles: tuple[Record, ...] = (),
    labels: Labels | None = None,
    asked: str | None = None,
) -> None:
    """The chapter's ladder, then the therapies beyond the chapter: one row each, with its
    strongest study for the patients `asked` in a phrase (`details`: every regimen and study
    in full)."""
    say_gaps(out, gaps)
    if not records:
        draw_principles(out, principles, labels)
        return
    ladder = [r for r in records if r["place"] == LADDER]
    beyond = [r for r in records if r["place"] != LADDER]
    legend = _evidence_legend(levels, records)
    sections = (
        (ladder, f"Treatment ladder: {legend}" if legend else "Treatment ladder"),
        (beyond, "Beyond the chapter (other sources; strongest kind of source first)"),
    )
    for rows, title in sections:
        if rows and details:
            _detailed_rows(out, rows, title, labels)
        elif rows:
            _compact_rows(out, rows, title, asked)
    if legend and not ladder:  # the letters of a chapter line beyond the ladder
        out.print(t(legend[0].upper() + legend[1:], "dim"))
    if not details:
        out.print(t(MARK_LEGEND, "dim"))
    draw_principles(out, principles, labels)
    if show_chart:
        draw_charts(out, records, plain, asked)


LADDER = "chapter ladder"
ORDINALS = {"first": "1st", "second": "2nd", "third": "3rd"}
MARK_LEGEND = "⚑ notes and views, ⚠ harms: calcref show THERAPY · [...]: whose patients"


def _place_cells(record: Record, merged: bool = False) -> list[Text]:
    """The Line and Ev. cells on the ladder; the strongest kind of source beyond it."""
    if record["place"] == LADDER:
        line, letter = record["line"] or NOT_GRADED, record["evidence"] or NOT_GRADED
        if merged:  # the one-row answer: '2nd E'
            return [t(f"{ORDINALS.get(line, line)} {letter}", "bold")]
        return [t(line), t(letter, "bold")]
    best = _strongest(record)
    return [t(kind_text(best["kind"]) if best else "views only", "bold")]


def _place_headers(records: list[Record]) -> list[str]:
    return ["Line", "Ev."] if records[0]["place"] == LADDER else ["Kind"]


def _strongest(record: Record) -> Record | None:
    return next((s for s in record["studies"] if s["id"] == record.get("strongest")), None)


def _marks(record: Record) -> int:
    """How much more `show` says: notes, cautions, other sources' views and harms."""
    views = [p for p in record["positions"] if p["evidence"] is None]
    nested = [*record["regimens"], *record["studies"], *record["harms"]]
    return (
        len(warnings(record))
        + len(views)
        + len(record["harms"])
        + sum(len(warnings(n)) for n in nested)
    )


def _compact_rows(out: Console, records: list[Record], title: str, asked: str | None) -> None:
    """One row per therapy: its place on the ladder, its name with marks for what `show`
    adds, and its strongest study for the patients asked in one phrase (with any caution on
    that study's figures). Regimens, notes, harms and every study follow with --details:
    the compact answer is the one screen a clinician reads at the point of care."""
    out.print(t(title, "bold"))
    ladder = records[0]["place"] == LADDER
    unstudied: dict[str, list[Text]] = {}  # beyond the ladder: named with no study, by why
    rows = []
    for record in records:
        if not ladder and _strongest(record) is None and not record["evidence"]:
            said = _compact_evidence(record, asked).plain
            unstudied.setdefault(said, []).append(_compact_name(record, inline=True))
            continue
        place = _place_cells(record, merged=True)[0] if ladder else None
        rows.append((place, _compact_name(record, asked=asked), _compact_evidence(record, asked)))
    if rows:
        _grid(out, rows)
    for said, names in unstudied.items():
        head = t(f"{said[0].upper()}{said[1:]}: ", "dim")
        out.print(Padding(Text.assemble(head, Text(" · ").join(names)), (0, 0, 0, 1)))


def _harmful(record: Record) -> bool:
    """Whether `show` lists a harm: the therapy's own, or one a study of it reports (17
    complications in 13 of 39 after debulking is a study's harm, and the mark is for both)."""
    return bool(record["harms"]) or any(s["harms"] for s in record["studies"])


def _compact_name(record: Record, inline: bool = False, asked: str | None = None) -> Text:
    """The name, its marks, and another source's line for it where that differs from the
    chapter's (a disagreement stays in view), in the source's own words where its view gives
    them: 'Minocycline ⚑ · Cloutier (JOPA): often used first line in ssc'.
    An overlay's therapy is marked under its name, or `inline`, in a list of names, right
    after it ('Clinic therapy [◆ overlay: clinic/therapies.yaml]'), so the mark is never
    read as the next name's."""
    name = Text.assemble(
        t(record["name"], "bold"),
        t(" ⚑" if _marks(record) else "", "yellow"),
        t(" ⚠" if _harmful(record) else "", "red"),
    )
    if record["place"] != LADDER and record["evidence"]:
        whom = ", ".join(record["graded_for"])
        graded = f" · the chapter's {record['line']} line, {record['evidence']}, is for {whom}"
        name.append_text(t(graded, "italic"))
    for p in record["positions"]:
        if p["evidence"] is None and p["line"] and p["line"] != record["line"]:
            whose = f" in {', '.join(p['contexts'])}" if p["contexts"] else ""
            whose = "" if p["contexts"] == [asked] else whose  # the patients asked about
            name.append_text(t(f" · {p['label']}: {_line_said(p)}{whose}", "italic"))
    if inline:
        return Text.assemble(
            name, *(Text.assemble(" [", mark, "]") for mark in overlay_mark(record))
        )
    return lines([name, *overlay_mark(record)])


def _line_said(position: Record) -> str:
    """A source's line as its view words it, up to the line, so a view of practice keeps its
    hedge: the JOPA article's "Often used first line for painful, ulcerating dermal
    calcinosis" is 'often used first line', never a flat 'first line'."""
    line = f"{position['line']} line"
    found = re.search(re.escape(line), position.get("view") or "", re.IGNORECASE)
    if found is None:
        return line
    said = found.string[: found.end()]
    return said[:1].lower() + said[1:]


def _compact_evidence(record: Record, asked: str | None) -> Text:
    """The strongest study for the patients `asked`, without its reporter ('open-label study
    [ssc]: n=9: 8 responded'); where the population the therapy matched has no study, say
    so unless the study's own tag does ('[jdm: other group]'); and whether the studies it
    was chosen among disagree. A study an overlay gave carries its mark under it, as in
    `--details`: a clinic's series never heads a row as the sources' evidence."""
    best, match = _strongest(record), record.get("match") or {}
    if not match or match["evidence"] == "studied":
        said = ""  # the study's population tag says whose: [ssc], [ctd as a whole]
    elif match["kind"] != "direct":
        said = match_text(record)  # 'named only for ctd as a whole'
    elif best is None or best.get("relation") != "other":
        said = f"no study in {match['context']}"
    else:
        said = ""  # '[jdm: other group]' says it
    if best is None:
        return t(said or "no study recorded", "dim")
    phrase = study_phrase(best, asked=asked or "")
    shown = t(f"{said} · {phrase}" if said else phrase)
    shown.append_text(_disagreement(record))
    return lines([shown, *_figure_caution(best), *overlay_mark(best)])


def _disagreement(record: Record) -> Text:
    """' · ⚑ sources disagree' where the answer says so (`sources_disagree`): one lead would
    hide the others. `show` gives each study's direction and the curators' note; the counts
    of each way are left to it, so SSc's answer still fits one 80 x 40 screen."""
    return t(" · ⚑ sources disagree", "yellow") if record.get("sources_disagree") else Text()


def _grid(out: Console, rows: list[tuple[Text | None, Text, Text]]) -> None:
    """Rows of place, name and evidence side by side when every word fits its column, the
    columns shared out so the rows take the fewest lines; else each row's fields one under
    another, so a word, id or figure is never cut or split."""
    places = [place for place, _, _ in rows if place is not None]
    place_width = max((place.cell_len for place in places), default=0)
    room = out.width - 1 - (place_width + 1 if places else 0) - 1
    narrowest = max(Measurement.get(out, out.options, name).minimum for _, name, _ in rows)
    words = max(Measurement.get(out, out.options, ev).minimum for _, _, ev in rows)
    widths = range(narrowest, room - max(words, 16) + 1)
    grid = Table.grid(padding=(0, 1))
    if not widths:
        grid.add_column(overflow="fold")
        for place, name, evidence in rows:
            head = Text.assemble(place, " ", name) if place is not None else name
            grid.add_row(Group(head, Padding(evidence, (0, 0, 0, 2))))
    else:
        cells = [(_word_sizes(name), _word_sizes(evidence)) for _, name, evidence in rows]
        name_width = min(widths, key=lambda width: _height(cells, width, room - width))
        if places:
            grid.add_column(no_wrap=True)
        grid.add_column(width=name_width, overflow="fold")
        grid.add_column(width=room - name_width, overflow="fold")
        for place, name, evidence in rows:
            grid.add_row(*([place] if places else []), name, evidence)
    out.print(Padding(grid, (0, 0, 0, 1)))


Sizes = list[list[int]]  # a cell's lines, each as the widths of its words


def _word_sizes(text: Text) -> Sizes:
    return [[cell_len(word) for word in line.split()] for line in text.plain.split("\n")]


def _height(cells: list[tuple[Sizes, Sizes]], name: int, rest: int) -> int:
    """How many lines the rows take with these widths of the name and evidence columns,
    wrapped between words as Rich wraps them (counted here: asking Rich to wrap every row at
    every width took 30 ms)."""
    return sum(max(_lines(name_cell, name), _lines(ev, rest)) for name_cell, ev in cells)


def _lines(cell: Sizes, width: int) -> int:
    count = 0
    for words in cell:
        count, used = count + 1, 0
        for size in words:
            if used and used + 1 + size > width:
                count, used = count + 1, size
            else:
                used += size + (1 if used else 0)
    return count


def _figure_caution(study: Record) -> list[Text]:
    """A study's caution, when it concerns what the phrase prints (its figures). A caution
    that corrects a dose (it says what the dose likely means) travels with the regimen,
    which a compact row does not print."""
    caution = study.get("caution")
    if not caution or caution.get("likely"):
        return []
    return [t(f"⚠ {warning_text({'kind': 'caution', **caution})}", "bold yellow")]


def _detailed_rows(out: Console, records: list[Record], title: str, labels: Labels | None) -> None:
    has_match = any("match" in r for r in records)
    headers = [*_place_headers(records), "Therapy", "Regimens [source]", "Studies"]
    table = _table(title, *(headers + (["Match"] if has_match else [])))
    for record in records:
        studies = lines(_study_details(s) for s in record["studies"])
        row = [
            *_place_cells(record),
            _therapy_name(record),
            lines([_regimens(record, labels), *_harms(record, labels)]),
            studies or t("none recorded", "dim"),
        ]
        if has_match:
            row.append(t(match_text(record)))
        table.add_row(*row)
    print_table(out, table)


def _harms(record: Record, labels: Labels | None) -> list[Text]:
    return [Text.assemble(t("Harm: ", "bold red"), _statement(h, labels)) for h in record["harms"]]


RANKED = "Studies (strongest kind of source first)"
UNRANKED = "Kind of source not stated (chapter summaries and others): largest first"


def draw_studies(out: Console, records: list[Record], gaps: tuple[Record, ...] = ()) -> None:
    """One row per study: the kind of source, then what was tried on whom and what happened.
    The studies whose kind of source is not stated (Robertson 2003's open-label study, as
    the chapter summarises it) follow under a heading of their own: ranked with the case
    reports under 'strongest first', nine patients would read as weaker evidence than one."""
    say_gaps(out, gaps)
    ranked = [r for r in records if r["kind"]]
    unranked = [r for r in records if not r["kind"]]
    for title, group in ((RANKED, ranked), (UNRANKED, unranked)):
        if group:
            out.print(t(title, "bold"))
            _pairs(out, [_study_row(record) for record in group], indent=1)
    if records:
        out.print(t("calcref show THERAPY gives each study in full, with its notes.", "dim"))


def _study_row(record: Record) -> tuple[Text, Text]:
    """The kind of source, beside what was tried on whom and what happened; where the source
    gives no direction, what its authors conclude (Traineau 2020: 'Low-dose warfarin is not
    advised'), so a verdict against a therapy never reads as an empty record."""
    tried = t(f"{', '.join(record['therapies'])} ({record['id']})", "bold")
    concluded = record.get("conclusion") if not record.get("direction") else None
    body = [
        tried,
        t(study_phrase(record)),
        *([t(f"Authors' conclusion: {concluded}", "italic")] if concluded else []),
        *_figure_caution(record),
        *overlay_mark(record),
    ]
    return t(kind_text(record["kind"]) if record["kind"] else "—", "bold"), lines(body)


def _pairs(out: Console, rows: list[tuple[Text, Text]], indent: int = 0, gap: int = 1) -> None:
    """Each row's head beside its text, in two columns, where every word of both fits its
    column (the head wraps between its words before the text's longest id is cut); else each
    head above its text, the text indented under it."""
    grid = Table.grid(padding=(0, gap))
    grid.add_column(overflow="fold")
    grid.add_column(overflow="fold")
    for head, body in rows:
        grid.add_row(head, body)
    if _fitted(out, grid, out.width - indent):
        out.print(Padding(grid, (0, 0, 0, indent)))
        return
    for head, body in rows:
        out.print(Padding(head, (0, 0, 0, indent)))
        out.print(Padding(body, (0, 0, 0, indent + 2)))


def draw_principles(
    out: Console, principles: tuple[Record, ...], labels: Labels | None = None
) -> None:
    """The management principles that hold whatever the answer: briefly, after it."""
    if principles:
        # a clinic's principle is marked where it stands among the chapter's
        said = t(
            "Management principles: " + " ".join(with_origin(p["text"], p) for p in principles),
            "dim",
        )
        sources = sorted({s for p in principles for s in p["sources"]})
        out.print(Text.assemble(said, " ", sources_text(sources, labels)))


OWN = {None, *ASKED_ABOUT}  # the patients asked about (None: no one was asked about)


def draw_charts(out: Console, records: list[Record], plain: bool, asked: str | None = None) -> None:
    """Response bars, one per study with counts: first the studies of the patients `asked`
    about, then, under a heading of their own, those of other patients (another disease, or
    a broader group such as ctd as a whole). A bar reads as the answer: a dystrophic case
    charted among calciphylaxis results would be taken for a calciphylaxis result."""
    own = _charted(records, plain, lambda s: s.get("relation") in OWN)
    others = _charted(records, plain, lambda s: s.get("relation") in WHOSE)
    if not own and not others:
        out.print(t("No study gives responder counts to chart for these therapies.", "dim"))
        return
    out.print(t("\nResponse by study (one cell per patient)", "bold"))
    out.print(t(chart.legend(plain), "dim"))
    if asked and not own:
        out.print(t(f"No study of {asked} gives responder counts to chart.", "dim"))
    _chart_rows(out, own)
    if others:
        out.print(t(_others_heading(records), "bold underline"))
        _chart_rows(out, others)


WHOSE = {
    "broader": "a broader group",
    "other": "another population",
    "unstated": "population not stated",
}  # an excluded study is not charted: it left out the patients asked about


def _others_heading(records: list[Record]) -> str:
    """'Other patients (a broader group; population not stated)', naming only the relations
    the charted studies have, and never "not ssc": a broader group includes the patients
    asked about, and an unstated population may."""
    found = {
        s.get("relation") for r in records for s in r["studies"] if chart.segments(s) is not None
    }
    whose = "; ".join(said for relation, said in WHOSE.items() if relation in found)
    return f"Other patients ({whose})"


Charted = list[tuple[str, list[str]]]  # a therapy's name and its chart lines


def _charted(records: list[Record], plain: bool, kept: Callable[[Record], bool]) -> Charted:
    """Each therapy with the chart lines of its studies that are `kept`, where there are any."""
    found = []
    for record in records:
        chart_lines = chart.study_chart_lines([s for s in record["studies"] if kept(s)], plain)
        if chart_lines:
            found.append((record["name"], chart_lines))
    return found


def _chart_rows(out: Console, charted: Charted) -> None:
    for name, chart_lines in charted:
        out.print(t(name, "bold"))
        for line in chart_lines:
            out.print(Padding(t(line), (0, 0, 0, 2)))


def _frequency(frequency: Record, labels: Labels | None) -> Text:
    """'ssc (limited SSc): about 25% ⚑ [Tajalli 2019]': each figure with whose patients and
    whose figure it is, so two sources' figures for one context are never read as one, and
    ⚑ where a curator's note qualifies it (jdm 20–40% beside the chapter's 10%–40%)."""
    said = t(f"{counted(frequency)}: {frequency['figure']} ")
    flagged = t("⚑ ", "yellow") if _frequency_warnings(frequency) else Text()
    return Text.assemble(said, flagged, sources_text(frequency_sources(frequency), labels))


def _frequency_warnings(frequency: Record) -> list[Record]:
    """The cautions and notes on the statements behind a figure, each once."""
    found = {w["text"]: w for st in frequency["statements"] for w in warnings(st)}
    return list(found.values())


def _frequencies_cell(frequencies: list[Record], labels: Labels | None) -> Text:
    """The details table's frequencies, each followed by the notes that qualify it in full
    (a note two figures share, once): the card's disagreement notes, in the table too."""
    parts, shown = [], set()
    for frequency in frequencies:
        parts.append(_frequency(frequency, labels))
        for warning in _frequency_warnings(frequency):
            if warning["text"] not in shown:
                shown.add(warning["text"])
                parts.append(t(f"⚠ {warning_text(warning)}", "bold yellow"))
    return lines(parts)


def draw_subtypes(
    out: Console, records: list[Record], labels: Labels | None = None, details: bool = False
) -> None:
    """The major subtypes, each in a few lines (what it is, calcium and phosphate, what it
    comes with, how often, each figure with its sources), then the rare variants in one line
    each; `details` gives the full table."""
    if details:
        _subtypes_table(out, records, labels)
        return
    out.print(t("Calcinosis cutis subtypes", "bold"))
    for record in (r for r in records if r["major"]):
        marks = len(warnings(record))
        head = Text.assemble(
            t(f"{record['name']} ({record['id']})", "bold"),
            t(" · most common form" if record["most_common"] else "", "italic"),
            t(f" · calcium/phosphate: {record['calcium_phosphate']}"),
            t(f" ⚑{marks}" if marks else "", "yellow"),
        )
        body = [t(record["summary"])]
        if record["examples"]:
            body.append(t(f"With: {', '.join(record['examples'])}", "dim"))
        if record["frequencies"]:
            often = Text("How often: ")
            for index, frequency in enumerate(record["frequencies"]):
                often.append_text(
                    Text("; " if index else "").append_text(_frequency(frequency, labels))
                )
            body.append(often)
        out.print(lines([head, *overlay_mark(record)]))
        out.print(Padding(lines(body), (0, 0, 0, 2)))
    variants = [r for r in records if not r["major"]]
    if variants:
        named = ", ".join(f"{r['name']} ({r['id']})" for r in variants)
        out.print(Text.assemble(t("Rare variants: ", "bold"), t(named)))
    out.print(t("⚑ notes · calcref subtypes ID for one in full · --details for the table", "dim"))


def _subtypes_table(out: Console, records: list[Record], labels: Labels | None) -> None:
    table = _table(
        "Calcinosis cutis subtypes",
        "Subtype",
        "Ca/phosphate",
        "Definition",
        "Associations",
        "Frequency",
    )
    for record in records:
        name = t(record["name"], "bold")
        if not record["major"]:
            name = lines([name, t("rare variant", "italic dim")])
        elif record["most_common"]:
            name = lines([name, t("most common form", "italic")])
        table.add_row(
            lines([name, t(record["id"], "dim"), *overlay_mark(record)]),
            t(record["calcium_phosphate"]),
            lines([t(record["summary"]), *note_texts(record)]),
            t(", ".join(record["examples"])),
            _frequencies_cell(record["frequencies"], labels),
        )
    print_table(out, table)


def draw_subtype_card(
    out: Console,
    records: list[Record],
    contexts: list[Record],
    workup: list[Record],
    therapy_count: int,
    labels: Labels | None = None,
) -> None:
    record = records[0]
    out.print(t(f"{record['name']} ({record['id']})", "bold underline"))
    kind = "major subtype" if record["major"] else "rare variant"
    if record["variant_of"]:
        kind += f" of {record['variant_of']}"
    if record["most_common"]:
        kind += " · most common form"
    sources = ", ".join((labels or {}).get(s, s) for s in record["sources"])
    out.print(t(f"{kind} · sources: {sources}", "dim"))
    for mark in overlay_mark(record):
        out.print(mark)
    out.print(t(record["summary"]))
    out.print(t(f"Calcium/phosphate: {record['calcium_phosphate']}"))
    if record["examples"]:
        out.print(t(f"Examples and associations: {', '.join(record['examples'])}"))
    for frequency in record["frequencies"]:
        out.print(t(f"Frequency in {counted(frequency)}: {frequency['figure']}", "bold"))
        for statement in frequency["statements"]:
            out.print(Padding(_statement(statement, labels), (0, 0, 0, 2)))
    for note in note_texts(record):
        out.print(note)
    if contexts:
        out.print(t("\nClinical contexts", "bold"))
        for context in contexts:
            said = lines([t(f"{context['id']}: {context['name']}"), *overlay_mark(context)])
            out.print(Padding(said, (0, 0, 0, 2)))
    draw_workup(out, workup, title=f"Workup for {record['id']}", labels=labels)
    pointer = f"calcref treat --subtype {record['id']}"
    out.print(t(f"{therapy_count} therapies recorded for this subtype: run `{pointer}`.", "dim"))


ANY_SUBTYPE = "Any subtype (the chapter lists these without naming one)"


def draw_workup(
    out: Console,
    records: list[Record],
    title: str = "Workup",
    details: bool = False,
    names: dict[str, str] | None = None,
    gaps: tuple[Record, ...] = (),
    labels: Labels | None = None,
) -> None:
    """Tiered: the chapter's investigations for any subtype first (it lists them without
    tiers or subtypes: tying them to every subtype is the curators' reading, so the heading
    never says 'every patient'), then the tests for each suspected subtype or context, one
    line each (`details`: the full table, with every reason). A link a source beyond the
    chapter makes names that source ('[literature: Kodumudi 2020]')."""
    say_gaps(out, gaps)
    if not records:
        return
    if details:
        _workup_table(out, records, title, labels)
        return
    out.print(t(f"{title} (first for any subtype, then by what is suspected)", "bold"))
    for target, rows in _tiers(records):
        named = (names or {}).get(target)
        heading = f"If {named} ({target})" if named else f"For {target}"
        out.print(t(ANY_SUBTYPE if target == ALL else heading, "bold underline"))
        for record, ties in rows:
            said = Text.assemble(t(record["name"], "bold"), *_why(record, ties, target, labels))
            out.print(Padding(lines([said, *overlay_mark(record)]), (0, 0, 0, 2)))
    out.print(t(BASIS_LEGEND + " · --details: every reason, in a table", "dim"))


ALL = "all"  # the target of a tie to every subtype


def _basis(tie: Record, labels: Labels | None) -> Text:
    """'[chapter]', '[curated]', or for a source beyond the chapter which one it is:
    '[literature: Nunley 2018]' (a Medscape page and a review are not the same warrant)."""
    if tie["basis"] != "literature" or not tie["sources"]:
        return t(f"[{tie['basis']}]", "dim")
    named = ", ".join((labels or {}).get(source, source) for source in tie["sources"])
    return t(f"[literature: {named}]", "dim")


def _why(
    record: Record, ties: list[Record], target: str, labels: Labels | None = None
) -> list[Text]:
    """What the test is for, each part with the basis of the link that says it. For any
    subtype, what the test looks for ('Calcified deposits and their extent. [curated]');
    for one subtype or context, each tie's own reason ('Skin biopsy with histology is ...
    the most reliable way to confirm calciphylaxis ... [literature]'), so a basis label
    never sits on another source's reason."""
    if target == ALL:
        bases = ", ".join(dict.fromkeys(tie["basis"] for tie in ties))
        return [t(f" · {record['looks_for']} "), t(f"[{bases}]", "dim")]
    return [part for tie in ties for part in (t(f" · {tie['reason']} "), _basis(tie, labels))]


def _tiers(records: list[Record]) -> list[tuple[str, list[tuple[Record, list[Record]]]]]:
    """Each target with the investigations tied to it and those ties, any subtype first,
    then the subtypes, then the contexts, in the order the rows name them."""
    order = [ALL]
    for record in records:
        for key in ("subtypes", "contexts"):
            order += [x for x in record[key] if x not in order]
    tiers = []
    for target in order:
        rows = [(r, [tie for tie in r["rationale"] if tie["target"] == target]) for r in records]
        rows = [(r, ties) for r, ties in rows if ties]
        if rows:
            tiers.append((target, rows))
    return tiers


def _workup_table(
    out: Console, records: list[Record], title: str, labels: Labels | None = None
) -> None:
    table = _table(title, "Investigation", "Looks for", "Why, for whom [basis]")
    for record in records:
        reasons = [
            Text.assemble(
                t(f"{tie['target']}: ", "bold"), t(tie["reason"]), " ", _basis(tie, labels)
            )
            for tie in record["rationale"]
        ]
        name = lines([t(record["name"], "bold"), *overlay_mark(record)])
        table.add_row(name, t(record["looks_for"]), lines(reasons))
    print_table(out, table)
    out.print(t(BASIS_LEGEND, "dim"))


def draw_citations(out: Console, records: list[Record]) -> None:
    for index, record in enumerate(records, 1):
        out.print(Text.assemble(t(f"{index}. ", "bold"), t(record["citation"])))
        print_link(out, record["url"], indent=3, label=record["link"])
        for note in [*note_texts(record), *overlay_mark(record)]:
            out.print(Padding(note, (0, 0, 0, 3)))


def print_link(out: Console, url: str | None, indent: int, label: str = "") -> None:
    """A link on a line of its own, whole whatever the width: a PubMed search or a DOI
    broken across lines can be neither clicked nor copied, so a long one runs past the
    screen's edge instead (a terminal wraps it for the eye and copies it as one line).
    Its `label` ('DOI', 'PubMed search (not a confirmed identifier)') goes before it where
    both fit the width, else on the line above, wrapped as any text is."""
    if not url:  # a label alone ('no link: a book chapter ...') wraps as any text does
        if label:
            out.print(Padding(t(label, "dim"), (0, 0, 0, indent)))
        return
    said = f"{label}: {url}" if label else url
    if cell_len(" " * indent + said) > out.width and label:
        out.print(Padding(t(f"{label}:", "dim"), (0, 0, 0, indent)))
        said = url
    out.print(t(" " * indent + said, "dim"), soft_wrap=True)


def draw_levels(out: Console, records: list[Record]) -> None:
    table = _table(
        "Evidence levels (the chapter's scale)", "Letter", "Definition", "Therapies", "Count"
    )
    for record in records:
        local = {o["id"] for o in record["from_overlays"]}
        table.add_row(
            t(record["letter"] or NOT_GRADED, "bold"),
            lines([t(record["definition"]), *overlay_mark(record)]),
            t(", ".join(f"{i} ◆" if i in local else i for i in record["therapies"])),
            t(record["count"]),
        )
    print_table(out, table)
    for record in records:
        for local in record["from_overlays"]:
            out.print(t(f"{local['id']}: ◆ overlay: {origin_path(local)}", "magenta"))
    for record in records:
        for entry in record["entries"]:
            if len(entry["therapies"]) > 1:
                kept_as = " and ".join(entry["therapies"])
                out.print(
                    t(
                        f"{record['letter']}: the chapter's one entry “{entry['entry']}” is "
                        f"kept as {len(entry['therapies'])} therapies, {kept_as}.",
                        "dim",
                    )
                )


def draw_search(out: Console, records: list[Record]) -> None:
    """Hits by kind, each with what qualifies the value found (`_hit_warnings`)."""
    current, said = None, set()
    for record in records:
        if record["kind"] != current:
            current = record["kind"]
            out.print(t(f"\n{current}", "bold underline"))
        hit = Text.assemble(
            t(f"{record['id']} ", "bold"),
            t(f"({record['field']}) ", "dim"),
            t(record["excerpt"]),
            *(Text.assemble(" ", mark) for mark in overlay_mark(record)),
        )
        out.print(Padding(lines([hit, *_hit_warnings(record, said)]), (0, 0, 0, 2)))


def _hit_warnings(hit: Record, said: set[tuple[str, ...]]) -> list[Text]:
    """Under a hit, every caution on the value (its own record's and those of the records
    around it: a study's, for a figure in one of its harms), each time; the curator's notes
    and the harms of the therapy, once per record found (a therapy found by its id, name and
    alias says them under the first): they qualify all of it, and would bury the hits if
    repeated. `said` is what earlier hits printed."""
    owner = (hit["kind"], hit["id"])
    cautions = [c for c in (hit["caution"], *hit["enclosing_cautions"]) if c]
    notes = [n for n in (*hit["notes"], *hit["enclosing_notes"]) if (*owner, n["text"]) not in said]
    harms = [h for h in hit["harms"] if (*owner, h["therapy"], h["text"]) not in said]
    said.update((*owner, n["text"]) for n in notes)
    said.update((*owner, h["therapy"], h["text"]) for h in harms)
    shown = [{"kind": "caution", **c} for c in cautions] + [{"kind": "note", **n} for n in notes]
    texts = [t(f"⚠ {warning_text(w)}", "bold yellow") for w in shown]
    for harm in harms:
        whose = "" if harm["therapy"] == hit["id"] else f" of {harm['therapy']}"
        said_harm = t(f"⚠ Harm{whose}: {harm['text']} ", "bold yellow")
        texts += [Text.assemble(said_harm, sources_text(harm["sources"])), *note_texts(harm)]
    return texts


def draw_therapy_card(
    out: Console, record: Record, plain: bool, labels: Labels | None = None
) -> None:
    references = record["references"]
    out.print(t(f"{record['name']} ({record['id']})", "bold underline"))
    for mark in overlay_mark(record):
        out.print(mark)
    if record["aliases"]:
        out.print(t(f"Also: {', '.join(record['aliases'])}", "dim"))
    if record["other_forms"]:
        forms = ", ".join(record["other_forms"])
        out.print(t(f"Other routes or forms: {forms} (calcref show ID)", "bold"))
    out.print(t("\nPlace in treatment, per source", "bold"))
    if not record["positions"]:
        out.print(
            Padding(
                t("Not graded in the source: no ladder position or evidence letter."), (0, 0, 0, 2)
            )
        )
    for position in record["positions"]:
        out.print(Padding(t(position_text(position)), (0, 0, 0, 2)))
    sections = (("Mechanism", record["mechanism"]), ("Reported uses", record["uses"]))
    for heading, statements in sections:
        if statements:
            out.print(t(f"\n{heading}", "bold"))
            for statement in statements:
                out.print(Padding(_statement(statement, labels), (0, 0, 0, 2)))
    out.print(t("\nRegimens", "bold"))
    out.print(Padding(_regimens(record, labels), (0, 0, 0, 2)))
    if record["harms"]:
        out.print(t("\nHarms (adverse effects the sources report)", "bold"))
        for harm in record["harms"]:
            out.print(Padding(_statement(harm, labels), (0, 0, 0, 2)))
    out.print(t(f"\nContexts: {', '.join(record['contexts']) or 'none recorded'}", "bold"))
    out.print(t(f"Subtypes: {', '.join(record['subtypes']) or 'none recorded'}", "bold"))
    out.print(t("\nStudies", "bold"))
    if not record["studies"]:
        out.print(Padding(t("none recorded", "dim"), (0, 0, 0, 2)))
    for study in record["studies"]:
        out.print(Padding(_study_details(study), (0, 0, 1, 2)))
    if record["notes"]:
        out.print(Group(*note_texts(record)))
    draw_charts(out, [record], plain)
    out.print(t("\nReferences", "bold"))
    for reference in references:  # by the label the card cites it by: [Nunley 2020a]
        said = Text.assemble(t(f"{reference['label']}: ", "bold"), t(reference["citation"]))
        out.print(Padding(said, (0, 0, 0, 2)))
        print_link(out, reference["url"], indent=4)


def draw_overview(out: Console, records: list[Record], labels: Labels | None = None) -> None:
    table = _table(
        "Calcinosis cutis: clinical picture and management", "Section", "Kind", "Statement [source]"
    )
    for record in records:
        table.add_row(
            t(record["section"], "bold"),
            t(record["kind"]),
            lines(
                [
                    Text.assemble(t(record["text"]), " ", sources_text(record["sources"], labels)),
                    *overlay_mark(record),
                ]
            ),
        )
    print_table(out, table)


def draw_contexts(out: Console, records: list[Record]) -> None:
    table = _table(
        "Clinical contexts (use with --context)", "Id", "Name", "Aliases", "Inside", "Subtypes"
    )
    for record in records:
        table.add_row(
            lines([t(record["id"], "bold"), *overlay_mark(record)]),
            t(record["name"]),
            t(", ".join(record["aliases"])),
            t(record["parent"] or ""),
            t(", ".join(record["subtypes"])),
        )
    print_table(out, table)


CACHE_STATES = {
    "hit": "answered from {entry}",
    "written": "read the files, saved to {entry}",
    "not written": "read the files; could not save to {entry}",
    "off": "off (CALCREF_NO_CACHE is set)",
    "unsafe": "not used: the directory of {entry} is not safe (not yours, writable by others, "
    "or a symlink)",
}


def draw_info(out: Console, record: Record) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    knowledge = record["knowledge"]
    grid.add_row(t("calcref"), t(record["calcref"]))
    grid.add_row(t("knowledge"), t(_stated(knowledge)))
    for layer in record["layers"]:
        heading = t("overlay" if layer["overlay"] else "base")
        stated = f" {_stated(layer)}" if layer["overlay"] else ""
        if layer.get("bundled"):
            stated += " (calcref's bundled knowledge)"
        files = ", ".join(Path(f).name for f in layer["files"])
        grid.add_row(heading, lines([t(f"{layer['directory']}{stated}"), t(files, "dim")]))
    counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in record["counts"].items())
    grid.add_row(t("records"), t(counts))
    cache = record["cache"]
    grid.add_row(t("cache"), t(CACHE_STATES[cache["state"]].format(entry=cache["entry"])))
    out.print(grid)
    out.print(t(f"\nSources ({len(record['sources'])}): what calcref takes from each", "bold"))
    rows = []
    for source in record["sources"]:
        kind = f"{source['kind']}: " if source["kind"] else ""
        said = lines(
            [t(f"{kind}{source['covers'] or 'coverage not described'}"), *overlay_mark(source)]
        )
        rows.append((t(f"{source['label']} ({source['id']})", "bold"), said))
    _pairs(out, rows, gap=2)


def _stated(manifest: Record) -> str:
    if not manifest["version"]:
        return "(no version stated)"
    title = f" · {manifest['title']}" if manifest["title"] else ""
    return f"{manifest['version']} ({manifest['date']}){title}"


DRAW: dict[str, Callable[..., None]] = {
    "subtypes": draw_subtypes,
    "subtype": draw_subtype_card,
    "workup": draw_workup,
    "treat": draw_treat,
    "studies": draw_studies,
    "show": draw_therapy_card,
    "cite": draw_citations,
    "search": draw_search,
    "levels": draw_levels,
    "overview": draw_overview,
    "contexts": draw_contexts,
    "info": draw_info,
}
"""The table drawing of each kind of answer."""
