"""The `calcref` command line: thin Typer commands that read options, ask, and render.

Only this module knows Typer. `run()` calls the app with `standalone_mode=False` and turns
every error into the exit-code contract (0 success, 1 knowledge or runtime error, 2 usage
error) with one line on stderr each. Each command gets the run's `Settings` (environment and
terminal, read once) as `ctx.obj`, asks `calcref.answers`, and writes the string one writer of
`calcref.render.formats` returns.
"""

import gc
import os
import re
import sys
from collections.abc import Callable
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from calcref.answers import query, records
from calcref.errors import (
    AmbiguousValueError,
    CalcrefError,
    KnowledgeError,
    UnknownValueError,
)
from calcref.model import EVIDENCE_LETTERS, KnowledgeBase
from calcref.render import replies
from calcref.render.formats import (
    FORMATS,
    Answer,
    declared,
    knowledge_versions,
    to_json,
    write,
)
from calcref.render.textsafe import one_line, visible
from calcref.settings import Settings
from calcref.stdout import deliver
from calcref.version import __version__

DISCLAIMER = (
    "calcref is a reference, not medical advice: check the sources and use clinical judgement."
)
CITATION_STYLES = ("ama", "vancouver", "bibtex", "ris", "csl-json")
ALL_FORMATS = tuple(FORMATS)
TABLE_OR_JSON = ("table", "json")


class UsageProblem(Exception):
    """A bad value the user typed: exit code 2."""


class LineChoice(StrEnum):
    first = "first"
    second = "second"
    third = "third"


# --- completion ------------------------------------------------------------------------------


def _completer(kind: str) -> Callable[[typer.Context, str], list[str]]:
    def complete(ctx: typer.Context, incomplete: str) -> list[str]:
        settings = ctx.find_root().obj or Settings.here()
        try:
            names = query.name_choices(settings.kb(), kind)
        except CalcrefError:
            return []
        start = incomplete.casefold()
        return [n for n in names if n.casefold().startswith(start) and _ONE_WORD.match(n)]

    return complete


# Completion offers ids and aliases; a name like "systemic-sclerosis-(including-...)" is still
# accepted when typed, but a shell would read its parentheses as syntax.
_ONE_WORD = re.compile(r"[\w.+-]+\Z")


# --- shared options ---------------------------------------------------------------------------

JsonOpt = Annotated[bool, typer.Option("--json", help="Shorthand for --format json.")]
FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        metavar="table|json|markdown|csv",
        help="Output format (default: table; CALCREF_FORMAT sets it where it is one of these).",
    ),
]
FieldsOpt = Annotated[
    str | None,
    typer.Option(
        "--fields",
        metavar="KEY,KEY...",
        help="Only these keys of each record, e.g. id,name,evidence (JSON unless --format "
        "says csv or markdown); a wrong key lists the available ones.",
    ),
]
TableOrJsonOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        metavar="table|json",
        help="Output format (default: table; CALCREF_FORMAT sets it where it is one of these).",
    ),
]
ContextOpt = Annotated[
    str | None,
    typer.Option(
        "--context",
        "-c",
        help="Clinical context id or alias, e.g. ssc, crest, jdm, ckd.",
        autocompletion=_completer("context"),
    ),
]
SubtypeOpt = Annotated[
    str | None,
    typer.Option(
        "--subtype",
        "-s",
        help="Subtype id, e.g. dystrophic, metastatic.",
        autocompletion=_completer("subtype"),
    ),
]


def _evidence_letter(value: str | None) -> str | None:
    """Letters are case-insensitive, and shown upper-case as the chapter prints them."""
    if value is None:
        return None
    letter = value.strip().upper()
    if letter not in EVIDENCE_LETTERS:
        raise typer.BadParameter(f"'{value}' is not an evidence letter; use one of A, B, C, D, E.")
    return letter


def _version(ctx: typer.Context, value: bool) -> None:
    if value:
        # calcref's own version first: it is worth having even when the knowledge fails.
        sys.stdout.write(f"calcref {__version__}\n")
        sys.stdout.write(knowledge_versions(ctx.obj.kb().layers))
        raise typer.Exit()


app = typer.Typer(
    name="calcref",
    help=(
        "Offline clinical reference for calcinosis cutis and calciphylaxis: subtypes, workup, "
        "the chapter's treatment ladder with its evidence levels, the treatments beyond it with "
        "the trials, reviews and cases behind them, their harms, and citations."
        f"\n\n{DISCLAIMER}\n\n"
        "\b\nExamples:\n  calcref treat --context ssc\n  calcref workup --subtype metastatic\n"
        "  calcref treat --context ssc --json | jq '.[].name'"
    ),
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    no_pager: Annotated[
        bool,
        typer.Option(
            "--no-pager",
            help="Print long answers straight to the terminal (CALCREF_PAGER= does the same; "
            "the default pager is $PAGER, else less -FRX).",
        ),
    ] = False,
) -> None:
    """Root options only; each command carries its own --json and --format."""
    if no_pager:  # normally taken out by `run`, wherever it was typed
        ctx.obj.pager = None


# --- helpers ----------------------------------------------------------------------------------


def _format(
    settings: Settings,
    given: str | None,
    as_json: bool,
    allowed: tuple[str, ...],
    fields: str | None = None,
) -> str:
    """The format asked for: --json, else --format, else CALCREF_FORMAT where it is one of
    this command's formats (it never makes a command fail), else a table. --fields goes with
    the machine formats (and makes JSON the default): a table's columns are drawn for people."""
    chosen = _chosen_format(settings, given, as_json, allowed)
    if fields is not None:
        if chosen == "table" and (as_json or given is not None):
            raise UsageProblem("--fields selects keys of JSON, CSV or Markdown, not of a table")
        chosen = "json" if chosen == "table" else chosen
        settings.fields = [f.strip() for f in fields.split(",") if f.strip()]
        if not settings.fields:
            raise UsageProblem("--fields needs at least one field name, e.g. --fields id,name")
    return chosen


def _chosen_format(
    settings: Settings, given: str | None, as_json: bool, allowed: tuple[str, ...]
) -> str:
    if given is not None:
        chosen = _one_of(given, allowed, "a format of this command")
        if as_json and chosen != "json":
            raise UsageProblem(f"--json is --format json: leave out --json or --format {chosen}")
        return chosen
    if as_json:
        return "json"
    return settings.format if settings.format in allowed else "table"


# Keys that go with whatever a record's other keys say: its caution, curator's notes and
# harms, and where it came from (an overlay, local knowledge, names its file in every format).
# --fields keeps them, so a dose never loses the caution beside it ("<1.2 g/day": the
# chapter's unit is almost certainly mg), nor a therapy its harms (tPA: life-threatening
# bleeding in 3 of 15).
TRAVELLING = ("caution", "notes", "harms", "layer", "source_file", "overlay")


def _select(rows: Any, fields: list[str], command: str) -> Any:
    """Only the keys asked for, in the order asked, then the record's TRAVELLING keys; or a
    usage error naming every key there is (as `gh --json` does), whether or not anything was
    found."""
    items = rows if isinstance(rows, list) else [rows]
    available = list(dict.fromkeys(k for row in items for k in row)) or declared(command)
    unknown = [f for f in fields if f not in available]
    if unknown:
        raise UsageProblem(
            f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"available fields: {', '.join(available)}"
        )
    chosen = [
        {f: row.get(f) for f in fields} | {k: row[k] for k in TRAVELLING if k in row}
        for row in items
    ]
    return chosen if isinstance(rows, list) else chosen[0]


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    """The value as typed (any case, spaces around it), or a usage error listing the choices."""
    chosen = value.strip().lower()
    if chosen not in allowed:
        raise UsageProblem(f"'{visible(value)}' is not {what}; use one of: {', '.join(allowed)}")
    return chosen


def _resolve(kb: KnowledgeBase, kind: str, value: str | None) -> str | None:
    return None if value is None else query.resolve(kb, kind, value)


def _emit(settings: Settings, fmt: str, answer: Answer, empty: str = "") -> None:
    """Write the answer in the chosen format, its gaps with it (`_say_gaps`); an empty result
    is a message on stderr, not an error (JSON still prints its empty list, CSV its header,
    and a table or Markdown the gaps that explain why it is empty)."""
    if settings.fields:  # a wrong key is refused whether or not anything was found
        answer = answer._replace(rows=_select(answer.rows, settings.fields, answer.kind))
        kept = [k for k in TRAVELLING if k in declared(answer.kind)]
        answer = answer._replace(keys=tuple(dict.fromkeys(settings.fields + kept)))
    gaps = replies.gaps(answer)
    _say_gaps(fmt, gaps)
    if not answer.rows:
        if empty:
            sys.stderr.write(f"calcref: {one_line(empty)}\n")
        if fmt in ("table", "markdown") and not gaps:
            return  # JSON prints [] and CSV its header: a script's answer is still data
    text = write(fmt, answer, settings.screen)
    if fmt == "table" and settings.pager and text.count("\n") >= settings.height > 0:
        _page(text, settings.pager)
    else:
        deliver(text)


def _page(text: str, pager: str) -> None:
    """Show a long answer through the pager; if it cannot start, print the answer as is."""
    import shlex
    import subprocess

    sys.stdout.flush()
    try:
        process = subprocess.Popen(shlex.split(pager), stdin=subprocess.PIPE)
    except (OSError, ValueError):
        deliver(text)
        return
    try:
        process.communicate(text.encode("utf-8", "backslashreplace"))
    except (BrokenPipeError, KeyboardInterrupt):  # the reader quit the pager early
        process.wait()


def _describe_filters(**filters: str | None) -> str:
    given = [f"{name.replace('_', '-')} {value}" for name, value in filters.items() if value]
    return " and ".join(given) if given else "no filter"


# --- commands ---------------------------------------------------------------------------------


@app.command(short_help="The subtypes and rare variants, or one subtype's full card.")
def subtypes(
    ctx: typer.Context,
    subtype_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]",
            help="A subtype id for its full card.",
            autocompletion=_completer("subtype"),
        ),
    ] = None,
    details: Annotated[
        bool, typer.Option("--details", "-d", help="The full table of every subtype.")
    ] = False,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    fields: FieldsOpt = None,
) -> None:
    """Example: calcref subtypes dystrophic

    Without an id: the five major subtypes, each with its definition, calcium/phosphate
    status, associations and frequency figures (each with its sources), then the rare
    variants; --details gives the full table. With an id: that subtype's
    card with its contexts, its workup and a pointer to its treatments.
    """
    settings: Settings = ctx.obj
    kb = settings.kb()
    fmt = _format(settings, fmt, as_json, ALL_FORMATS, fields)
    chosen = _resolve(kb, "subtype", subtype_id)
    rows = [records.subtype(kb, s) for s in query.subtypes(kb, chosen)]
    if chosen is None:
        options = {"labels": records.labels(kb), "details": details}
        answer = Answer("subtypes", rows, table_options=options)
        _emit(settings, fmt, answer, "no subtypes recorded")
        return
    workup_rows = records.workup(kb, query.workup(kb, subtype=chosen))
    therapy_ids = [r.therapy.id for r in query.treat(kb, subtype=chosen)]
    rows[0] |= {"workup": workup_rows, "therapies": therapy_ids}
    contexts = [
        {"id": c.id, "name": c.name} | records.origin(kb, c.source_file)
        for c in query.subtype_contexts(kb, kb.subtype_by_id[chosen])
    ]
    args = (contexts, workup_rows, len(therapy_ids))
    _emit(settings, fmt, Answer("subtype", rows, args, {"labels": records.labels(kb)}))


@app.command(short_help="Investigations, with why each is ordered for a subtype or context.")
def workup(
    ctx: typer.Context,
    subtype: SubtypeOpt = None,
    context: ContextOpt = None,
    details: Annotated[
        bool, typer.Option("--details", "-d", help="Every reason, in a full table.")
    ] = False,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    fields: FieldsOpt = None,
) -> None:
    """Example: calcref workup --subtype metastatic

    The investigations in tiers: first those the chapter lists without naming a subtype,
    then those for each suspected subtype or context, each with that link's own reason.
    With --subtype or --context, only those that serve it. Each says whether the link is the
    chapter's own, a literature source's, or curated from the chapter's definitions;
    --details gives every reason in a full table.
    """
    settings: Settings = ctx.obj
    kb = settings.kb()
    fmt = _format(settings, fmt, as_json, ALL_FORMATS, fields)
    subtype_id, context_id = _resolve(kb, "subtype", subtype), _resolve(kb, "context", context)
    answer = replies.workup(kb, subtype_id, context_id, details)
    filters = _describe_filters(subtype=subtype_id, context=context_id)
    _emit(settings, fmt, answer, f"no investigations recorded for {filters}")


@app.command(short_help="The treatment ladder: line, evidence letter, regimens and studies.")
def treat(
    ctx: typer.Context,
    context: ContextOpt = None,
    subtype: SubtypeOpt = None,
    line: Annotated[
        LineChoice | None, typer.Option("--line", "-l", case_sensitive=False, help="Ladder line.")
    ] = None,
    min_evidence: Annotated[
        str | None,
        typer.Option(
            "--min-evidence",
            "-e",
            metavar="[A|B|C|D|E]",
            callback=_evidence_letter,
            help="Only therapies graded at this letter or stronger (A strongest).",
        ),
    ] = None,
    details: Annotated[bool, typer.Option("--details", "-d", help="Expand every study.")] = False,
    show_chart: Annotated[
        bool, typer.Option("--chart", help="Draw response bars from the studies' patient counts.")
    ] = False,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    fields: FieldsOpt = None,
) -> None:
    """Example: calcref treat --context ssc

    Therapies that fit, ordered by ladder position, then evidence strength, then name. A
    context matches directly, through a broader parent (ssc also shows what was reported for
    ctd as a whole) or a narrower one; each row says which. Therapies the sources name without
    a ladder place are shown as not graded (—).
    """
    settings: Settings = ctx.obj
    kb = settings.kb()
    fmt = _format(settings, fmt, as_json, ALL_FORMATS, fields)
    context_id, subtype_id = _resolve(kb, "context", context), _resolve(kb, "subtype", subtype)
    line_value = line.value if line else None
    answer = replies.treat(
        kb,
        context_id,
        subtype_id,
        line_value,
        min_evidence,
        details=details,
        chart=show_chart,
        plain=not settings.screen.terminal,
    )
    filters = _describe_filters(
        context=context_id, subtype=subtype_id, line=line_value, min_evidence=min_evidence
    )
    empty = "" if answer.rows else f"no therapies recorded for {filters}{_hint(kb, context_id)}"
    _emit(settings, fmt, answer, empty)


def _say_gaps(fmt: str, gaps: list[dict[str, Any]]) -> None:
    """A table and Markdown say an answer's gaps above its rows; JSON and CSV are data on
    stdout, so the gaps go to stderr, one line each (a clinic's gap says it is local)."""
    if fmt not in ("json", "csv"):
        return
    for gap in gaps:
        text = gap["text"]
        if gap["overlay"]:  # the layout module only for a clinic's gap: JSON never needs it
            from calcref.render.columns import with_origin

            text = with_origin(text, gap)
        sys.stderr.write(f"calcref: gap: {one_line(text)}\n")


def _hint(kb: KnowledgeBase, context_id: str | None) -> str:
    """Where to look next when a context has no therapies: the subtypes it belongs to."""
    if context_id is None or not kb.context_by_id[context_id].subtypes:
        return ""
    subtypes = kb.context_by_id[context_id].subtypes
    treated = [s for s in subtypes if query.treat(kb, subtype=s)]
    hint = f"; try: calcref treat --subtype {treated[0]}" if treated else ""
    return f" (its subtypes: {', '.join(subtypes)}{hint})"


@app.command(short_help="Each study once: who was treated, with what, and what happened.")
def studies(
    ctx: typer.Context,
    therapy: Annotated[
        str | None,
        typer.Option(
            "--therapy", "-t", help="Therapy id or name.", autocompletion=_completer("therapy")
        ),
    ] = None,
    context: ContextOpt = None,
    subtype: SubtypeOpt = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", "-k", help="Kind of source, e.g. 'case report', meta-analysis."),
    ] = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    fields: FieldsOpt = None,
) -> None:
    """Example: calcref studies --subtype calciphylaxis

    Every study once (a study of two therapies is listed once, naming both), strongest kind
    of source first: randomised trials, meta-analyses, post hoc analyses, systematic reviews,
    prospective trials and series, retrospective cohorts, case series, case reports, reviews.
    --context keeps studies whose patients were in that context or a narrower group inside it.
    """
    settings: Settings = ctx.obj
    kb = settings.kb()
    fmt = _format(settings, fmt, as_json, ALL_FORMATS, fields)
    context_id, subtype_id = _resolve(kb, "context", context), _resolve(kb, "subtype", subtype)
    therapy_id = _resolve(kb, "therapy", therapy)
    kind_name = None if kind is None else query.source_kind(kind)
    answer = replies.studies(kb, therapy_id, context_id, subtype_id, kind_name)
    filters = _describe_filters(
        therapy=therapy_id, context=context_id, subtype=subtype_id, kind=kind_name
    )
    _emit(settings, fmt, answer, f"no studies recorded for {filters}")


@app.command(short_help="References in AMA, Vancouver, BibTeX, RIS or CSL-JSON, with links.")
def cite(
    ctx: typer.Context,
    ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[ID]...",
            help="Reference ids (default: all).",
            autocompletion=_completer("reference"),
        ),
    ] = None,
    therapy: Annotated[
        str | None,
        typer.Option(
            "--therapy",
            "-t",
            help="Only the references behind this therapy.",
            autocompletion=_completer("therapy"),
        ),
    ] = None,
    style: Annotated[
        str | None,
        typer.Option(
            "--style",
            metavar="ama|vancouver|bibtex|ris|csl-json",
            help="Print the references as a document in this citation style.",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="table|json|markdown|csv",
            help="Output format (default: table, the AMA list with links). A citation "
            "style is --style's: --format bibtex is refused, naming it.",
        ),
    ] = None,
    as_json: JsonOpt = False,
    fields: FieldsOpt = None,
) -> None:
    """Example: calcref cite --therapy minocycline --style bibtex > refs.bib

    References in a clinical citation style, each with a link: the DOI where one is confirmed,
    otherwise, for an article, a PubMed title search labelled as a search (a book chapter is
    not indexed in PubMed and gets no link).
    """
    from calcref.render import citations

    settings: Settings = ctx.obj
    kb = settings.kb()
    style = _citation_style(style, fmt, as_json, fields)
    wanted = [query.resolve(kb, "reference", i) for i in ids or []]
    refs = query.references(kb, wanted, _resolve(kb, "therapy", therapy))
    if style is not None:
        if not refs:
            sys.stderr.write("calcref: no references match\n")
        deliver(citations.export(refs, style))
        return
    fmt = _format(settings, fmt, as_json, ALL_FORMATS, fields)
    rows = [records.reference(kb, r) | {"citation": citations.format_one(r, "ama")} for r in refs]
    _emit(settings, fmt, Answer("cite", rows), "no references match")


def _citation_style(
    style: str | None, fmt: str | None, as_json: bool, fields: str | None
) -> str | None:
    """The citation style asked for by --style; None for a listing in an output format. A
    style given to --format (its alias until 0.4) is refused with the option to use."""
    if style is None:
        given = (fmt or "").strip().lower()
        if given in CITATION_STYLES:
            raise UsageProblem(f"'{given}' is a citation style: use --style {given}")
        return None
    chosen = _one_of(style, CITATION_STYLES, "a citation style")
    if fmt is not None or as_json or fields is not None:
        raise UsageProblem(
            "--style prints a citation document; leave out --format, --json and --fields"
        )
    return chosen


@app.command(short_help="One therapy's full card: positions, regimens, studies, notes, references.")
def show(
    ctx: typer.Context,
    therapy: Annotated[
        str,
        typer.Argument(
            metavar="THERAPY", help="Therapy id or alias.", autocompletion=_completer("therapy")
        ),
    ],
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    fields: FieldsOpt = None,
) -> None:
    """Example: calcref show minocycline

    Everything calcref holds on one therapy: names and aliases, line and evidence letter per
    source (both where they differ), mechanism, every regimen with its source, contexts and
    subtypes, every study in full with a response chart, curator's notes and references.
    """
    from calcref.render.citations import format_one

    settings: Settings = ctx.obj
    kb = settings.kb()
    fmt = _format(settings, fmt, as_json, ALL_FORMATS, fields)
    item = kb.therapy_by_id[query.resolve(kb, "therapy", therapy)]
    refs = [
        records.reference(kb, r) | {"citation": format_one(r, "ama")}
        for r in query.therapy_references(kb, item)
    ]
    record = records.therapy(kb, item) | {"references": refs}
    plain = not settings.screen.terminal
    _emit(settings, fmt, Answer("show", record, (plain, records.labels(kb))))


@app.command(short_help="Search every record for a word or phrase.")
def search(
    ctx: typer.Context,
    words: Annotated[
        list[str], typer.Argument(metavar="WORDS...", help="Words to find, in any case.")
    ],
    show_all: Annotated[
        bool,
        typer.Option("--all", "-a", help="Every hit in the table, not the best ten of each kind."),
    ] = False,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    fields: FieldsOpt = None,
) -> None:
    """Example: calcref search sodium thiosulfate

    Finds records with a field holding every word given, each at the start of a word (STS
    does not find "lists"), across subtypes, variants, contexts, investigations, therapies,
    studies, references and curator's notes. Hits are grouped by kind, names and ids first,
    each with the field that matched, an excerpt, and the warnings on it: the cautions and
    notes around the value and the therapy's harms. A table shows the best ten of each kind
    unless --all, JSON, CSV and Markdown every hit.
    """
    from calcref.answers import search as finder

    text = " ".join(words)
    if not text.strip():
        raise UsageProblem("search text must not be empty")
    settings: Settings = ctx.obj
    fmt = _format(settings, fmt, as_json, ALL_FORMATS, fields)
    rows = finder.search(settings.kb(), text)
    if not show_all and fmt == "table":  # a screen's worth; scripts and documents get all
        rows, left = finder.best(rows, SEARCH_PER_KIND)
        if left:
            sys.stderr.write(f"calcref: {left} more hits; --all shows every one\n")
    _emit(settings, fmt, Answer("search", rows), f"nothing found for '{text}'")


SEARCH_PER_KIND = 10


@app.command(short_help="The evidence scale A–E and how many therapies sit at each letter.")
def levels(
    ctx: typer.Context, fmt: FormatOpt = None, as_json: JsonOpt = False, fields: FieldsOpt = None
) -> None:
    """Example: calcref levels

    The chapter's evidence scale with its definitions, and the therapies its ladder places at
    each letter; therapies the sources name without a letter are counted as not graded.
    """
    settings: Settings = ctx.obj
    fmt = _format(settings, fmt, as_json, ALL_FORMATS, fields)
    answer = Answer("levels", records.levels(settings.kb()))
    _emit(settings, fmt, answer, "no evidence levels recorded")


@app.command(short_help="The clinical picture and the management strategy, with sources.")
def overview(
    ctx: typer.Context, fmt: FormatOpt = None, as_json: JsonOpt = False, fields: FieldsOpt = None
) -> None:
    """Example: calcref overview

    How calcinosis cutis looks and where (from both sources), then the chapter's management
    strategy: find the cause, treat the underlying disease, reduce deposits, calm
    inflammation, remove deposits, general measures for blood flow, and the immunological
    findings it reports.
    """
    settings: Settings = ctx.obj
    fmt = _format(settings, fmt, as_json, ALL_FORMATS, fields)
    kb = settings.kb()
    answer = Answer("overview", records.overview(kb), (), {"labels": records.labels(kb)})
    _emit(settings, fmt, answer, "no overview recorded")


@app.command(short_help="The clinical contexts --context accepts, with aliases and parents.")
def contexts(
    ctx: typer.Context, fmt: FormatOpt = None, as_json: JsonOpt = False, fields: FieldsOpt = None
) -> None:
    """Example: calcref contexts

    Every context id with its aliases (any of them works with --context), the broader context
    it sits inside, and the subtypes it belongs to.
    """
    settings: Settings = ctx.obj
    fmt = _format(settings, fmt, as_json, ALL_FORMATS, fields)
    answer = Answer("contexts", records.contexts(settings.kb()))
    _emit(settings, fmt, answer, "no contexts recorded")


@app.command(short_help="Check knowledge files against every loader and curator rule.")
def validate(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Argument(
            metavar="[DIR]",
            help="Knowledge directory to check as the base (default: the active one).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    overlays: Annotated[
        list[Path] | None,
        typer.Option(
            "--overlay",
            "-o",
            metavar="DIR",
            help="An overlay to check on top of the base; repeat for several.",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    fmt: TableOrJsonOpt = None,
    as_json: JsonOpt = False,
    fields: FieldsOpt = None,
) -> None:
    """Example: calcref validate --overlay ~/clinic-knowledge

    Checks every rule the loader applies (YAML, keys, types, allowed values, ids named
    across records, duplicate ids and aliases, overlay conflicts) and the curators' rules: a
    graded therapy has its line, study counts add up, every reference is named by some record
    and named references exist, and every DOI says which page or source confirmed it. Prints
    each problem as path:line: message and exits 1 if there is any. Without arguments it
    checks the active knowledge (CALCREF_DATA's stack, or the bundled files).
    """
    from calcref.knowledge import stack
    from calcref.knowledge import validate as check
    from calcref.knowledge.rules import LIMIT_RULE

    settings: Settings = ctx.obj
    fmt = _format(settings, fmt, as_json, TABLE_OR_JSON, fields)
    active = stack.from_setting(settings.data)
    if directory is None and not overlays:
        layers = active
    else:
        try:
            layers = stack.of(directory or active[0].directory, list(overlays or []))
        except KnowledgeError as exc:  # a directory typed twice, an overlay with no files
            raise UsageProblem(str(exc)) from None
    problems = check(layers)
    if fmt == "json":
        _emit(settings, fmt, Answer("validate", [p._asdict() for p in problems]))
    else:
        lines = (one_line(str(p)) for p in problems)  # a key may hold a newline
        deliver("".join(f"{line}\n" for line in lines))
    checked = _count(sum(len(layer.paths()) for layer in layers), "file")
    if problems:
        stopped = problems[-1].rule == LIMIT_RULE  # the report's last line says so too
        found = _count(len(problems) - stopped, "problem")
        more = ", and more: checking stopped early" if stopped else ""
        sys.stderr.write(f"calcref: {found} in {checked}{more}\n")
        raise typer.Exit(1)
    sys.stderr.write(f"calcref: no problems in {checked}\n")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


class SchemaKind(StrEnum):
    knowledge = "knowledge"
    subtypes = "subtypes"
    therapies = "therapies"


@app.command(short_help="The JSON Schema of a knowledge file, for editors and other tools.")
def schema(
    kind: Annotated[
        SchemaKind | None, typer.Argument(metavar="[knowledge|subtypes|therapies]")
    ] = None,
    overlay: Annotated[
        bool, typer.Option("--overlay", help="The schema of an overlay's file instead.")
    ] = False,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            metavar="COMMAND",
            help="The schema of what COMMAND prints with --json (treat, show, studies, ...).",
        ),
    ] = None,
) -> None:
    """Example: calcref schema therapies > therapies.schema.json

    Generated from the rules calcref's loader applies. Point an editor at it (the bundled
    files do, with a yaml-language-server comment on their first line) to have mistakes
    marked as you type; `calcref validate` checks what a schema cannot see across records.
    With --output COMMAND, the JSON Schema (Draft 2020-12) of that command's JSON output
    instead, generated from the same declarations: calcref schema --output treat.
    """
    if output is not None:
        from calcref.answers import contract

        command = _one_of(output, tuple(contract.OUTPUTS), "a command with JSON output")
        deliver(to_json(contract.output_schema(command)))
        return
    if kind is None:
        raise UsageProblem("name a knowledge file (knowledge, subtypes, therapies) or --output")
    from calcref.knowledge import json_schema

    deliver(to_json(json_schema.for_file(kind.value, overlay)))


@app.command(short_help="Versions, knowledge files, record counts and the cache.")
def info(
    ctx: typer.Context,
    fmt: TableOrJsonOpt = None,
    as_json: JsonOpt = False,
    fields: FieldsOpt = None,
) -> None:
    """Example: calcref info

    Which calcref and which knowledge version answer, the files they read (the base, then
    any overlays CALCREF_DATA adds), how many records of each kind they hold, and whether
    this run was answered from the parse cache.
    """
    settings: Settings = ctx.obj
    fmt = _format(settings, fmt, as_json, TABLE_OR_JSON, fields)
    _emit(settings, fmt, Answer("info", records.info(settings.kb(), __version__)))


# --- the error contract -------------------------------------------------------------------------


def run(args: list[str], settings: Settings | None = None) -> int:
    """Run one command line; every way it can end becomes an exit code, and every error one
    line on stderr. What tests call in process, and what `main` calls for the real process."""
    settings = settings or Settings.here()
    try:
        if not args:  # no command: the help, as a successful answer
            args = ["--help"]
        _refuse_repeated_filters(args)
        args = _take_no_pager(args, settings)
        code = _command().main(args, prog_name="calcref", standalone_mode=False, obj=settings)
        sys.stdout.flush()
        return code if isinstance(code, int) else 0
    except typer.Abort:
        return _fail(1, "aborted")
    except (UnknownValueError, AmbiguousValueError, UsageProblem) as exc:
        return _fail(2, str(exc))
    except KnowledgeError as exc:
        return _fail(1, *([str(p) for p in exc.problems] or [str(exc)]))
    except CalcrefError as exc:
        return _fail(1, str(exc))
    except OSError as exc:  # stdout closed by its reader, on a full disk, a revoked terminal
        return _output_failed(exc)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if _is_usage_error(exc):  # click's errors: a bad option, a missing argument...
            message = exc.format_message()  # type: ignore[attr-defined]
            return _fail(exc.exit_code, message + _option_hint(args, message, settings))  # type: ignore[attr-defined]
        # A bug in calcref: one line the user can report, never a traceback.
        return _fail(1, f"internal error ({type(exc).__name__}: {exc}); please report it")


def _take_no_pager(args: list[str], settings: Settings) -> list[str]:
    """--no-pager anywhere before `--` (where users type it: after the command too)."""
    end = args.index("--") if "--" in args else len(args)
    if "--no-pager" not in args[:end]:
        return args
    settings.pager = None
    return [a for i, a in enumerate(args) if a != "--no-pager" or i >= end]


FILTERS = {"--context": "--context", "-c": "--context", "--subtype": "--subtype", "-s": "--subtype"}


def _refuse_repeated_filters(args: list[str]) -> None:
    """Click keeps only the last of a repeated option, so `--context ssc --context ckd` would
    silently answer for ckd alone (an SSc patient on dialysis would get half an answer):
    refused, with the two questions to ask instead."""
    seen: dict[str, list[str]] = {}
    for flag, value in zip(args, [*args[1:], ""], strict=True):
        if flag == "--":
            break
        name, _, inline = flag.partition("=")
        if name in FILTERS:
            seen.setdefault(FILTERS[name], []).append(inline or value)
    for option, values in seen.items():
        if len(values) > 1:
            asks = "; ".join(f"calcref {args[0]} {option} {v}" for v in values)
            raise UsageProblem(
                f"{option} is given {len(values)} times, and one answer cannot be for several "
                f"at once: ask each in turn ({asks})"
            )


def _option_hint(args: list[str], message: str, settings: Settings) -> str:
    """For `calcref treat ssc`: the word is a context or subtype, so say how to ask for it."""
    if not args or "unexpected extra argument" not in message:
        return ""
    word = message.rsplit("(", 1)[-1].rstrip(")")
    for kind in ("context", "subtype"):
        try:
            found = query.resolve(settings.kb(), kind, word)
        except CalcrefError:
            continue
        return f"; did you mean 'calcref {args[0]} --{kind} {found}'?"
    return ""


@cache
def _command() -> Any:
    """The click command Typer builds from `app`, once per process (a test runs many)."""
    return typer.main.get_command(app)


def _is_usage_error(exc: Exception) -> bool:
    """Click's own errors (which Typer does not export by name) carry an exit code and a
    message; recognised by those rather than by importing Typer's private copy of click."""
    return isinstance(getattr(exc, "exit_code", None), int) and callable(
        getattr(exc, "format_message", None)
    )


def _fail(code: int, *messages: str) -> int:
    for message in messages:
        sys.stderr.write(f"calcref: error: {one_line(message)}\n")
    return code


def _detach_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until exit


def _output_failed(exc: OSError) -> int:
    """The answer could not be written: exit code 1, with nothing more sent to stdout. A
    reader that went away (`| head`) is not an error to report (click and Rich also end 1,
    quietly: the answer was not delivered); a full disk or a revoked terminal is one line."""
    _detach_stdout()
    if isinstance(exc, BrokenPipeError):
        return 1
    return _fail(1, f"cannot write output: {exc.strerror or exc}")


def _only_invoked_command(argv: list[str]) -> None:
    """Build just the command being run: Typer introspects every registered command on each
    start, which costs more than the command itself. Help and completion keep them all."""
    if not argv or os.environ.get("_CALCREF_COMPLETE"):
        return
    wanted = [c for c in app.registered_commands if c.callback and c.callback.__name__ == argv[0]]
    if wanted:
        app.registered_commands = wanted


def main() -> NoReturn:
    """Console-script entry point: UTF-8 output whatever the locale, then one command."""
    if sys.stdout is None:  # started with stdout closed (`calcref ... >&-`)
        if sys.stderr is not None:
            sys.stderr.write("calcref: error: standard output is closed\n")
        sys.exit(1)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            try:  # reconfiguring flushes what is buffered: it may fail as a write does
                stream.reconfigure(encoding="utf-8", errors="backslashreplace")
            except OSError as exc:
                sys.exit(_output_failed(exc))
    args = sys.argv[1:]
    _only_invoked_command(args)
    try:
        code = run(args)
    except OSError as exc:  # a write the error handling itself made
        code = _output_failed(exc)
    finally:
        # The process ends here. Python's last collection at exit would scan every loaded
        # record for reference cycles (they have none).
        gc.freeze()
    sys.exit(code)
