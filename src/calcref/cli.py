"""The `calcref` command line: thin Typer commands that parse options, query, and render.

Only this module knows Typer. It turns library errors into the exit-code contract (0 success,
1 knowledge or runtime error, 2 usage error) with one line on stderr each, and imports Rich
(through `calcref.tables`) only when a table is actually drawn.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

# Typer 0.28 vendors click as typer._click; the pin in pyproject.toml keeps this import valid.
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from calcref import __version__, output, query, records
from calcref.errors import CalcrefError, KnowledgeError, UnknownValueError
from calcref.load import load
from calcref.model import EVIDENCE_LETTERS, KnowledgeBase
from calcref.textsafe import visible

DISCLAIMER = (
    "calcref is a reference, not medical advice: check the sources and use clinical judgement."
)


class Fmt(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"
    csv = "csv"


class CiteFmt(StrEnum):
    table = "table"  # the AMA list, as CALCREF_FORMAT=table asks
    ama = "ama"
    vancouver = "vancouver"
    bibtex = "bibtex"
    ris = "ris"
    csl_json = "csl-json"
    json = "json"
    markdown = "markdown"
    csv = "csv"


class LineChoice(StrEnum):
    first = "first"
    second = "second"
    third = "third"


class UsageProblem(Exception):
    """A bad value the user typed: exit code 2."""


# --- completion ------------------------------------------------------------------------------


def _completer(kind: str) -> Callable[[str], list[str]]:
    def complete(incomplete: str) -> list[str]:
        try:
            names = query.name_choices(load(), kind)
        except CalcrefError:
            return []
        return [n for n in names if n.casefold().startswith(incomplete.casefold())]

    return complete


# --- shared options ---------------------------------------------------------------------------

JsonOpt = Annotated[bool, typer.Option("--json", help="Shorthand for --format json.")]
JsonOnlyOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
FormatOpt = Annotated[
    Fmt,
    typer.Option(
        "--format",
        "-f",
        envvar="CALCREF_FORMAT",
        case_sensitive=False,
        help="Output format; CALCREF_FORMAT sets the default.",
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


def _version(value: bool) -> None:
    if value:
        # calcref's own version first: it is worth having even when the knowledge fails.
        sys.stdout.write(f"calcref {__version__}\n")
        sys.stdout.write(output.knowledge_versions(load().index.layers))
        raise typer.Exit()


class CalcrefGroup(TyperGroup):
    """Runs every command under calcref's error contract instead of click's multi-line one."""

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> NoReturn:  # type: ignore[override]
        extra["standalone_mode"] = False
        try:
            code = super().main(args=args, prog_name=prog_name or "calcref", **extra)
            sys.stdout.flush()
        except NoArgsIsHelpError as exc:
            sys.stdout.write(exc.ctx.get_help() + "\n" if exc.ctx else "")
            sys.exit(0)
        except ClickException as exc:
            _fail(exc.exit_code, exc.format_message())
        except typer.Abort:
            _fail(1, "aborted")
        except (UnknownValueError, UsageProblem) as exc:
            _fail(2, str(exc))
        except KnowledgeError as exc:
            _fail(1, *([str(p) for p in exc.problems] or [str(exc)]))
        except CalcrefError as exc:
            _fail(1, str(exc))
        except BrokenPipeError:
            _quiet_broken_pipe()
        except OSError as exc:  # stdout on a full disk, a revoked terminal...
            _detach_stdout()
            _fail(1, f"cannot write output: {exc.strerror or exc}")
        except KeyboardInterrupt:
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


def _fail(code: int, *messages: str) -> NoReturn:
    for message in messages:
        one_line = visible(message).replace("\n", "\\n")
        sys.stderr.write(f"calcref: error: {one_line}\n")
    sys.exit(code)


def _detach_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until exit


def _quiet_broken_pipe() -> NoReturn:
    """The reader went away (`| head`): stop quietly, with nothing more sent to the pipe.

    Exit code 1, as click and Rich also use for a closed pipe: the answer was not delivered.
    """
    _detach_stdout()
    sys.exit(1)


app = typer.Typer(
    cls=CalcrefGroup,
    name="calcref",
    help=(
        "Offline clinical reference for calcinosis cutis: subtypes, workup, treatments with "
        f"evidence levels and the studies behind them, and citations.\n\n{DISCLAIMER}\n\n"
        "\b\nExamples:\n  calcref treat --context ssc\n  calcref workup --subtype metastatic\n"
        "  calcref treat --context ssc --json | jq '.[].name'"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Root options only; each command carries its own --json and --format."""


# --- helpers ----------------------------------------------------------------------------------


def _format(fmt: Fmt, as_json: bool) -> Fmt:
    return Fmt.json if as_json else fmt


def _resolve(kb: KnowledgeBase, kind: str, value: str | None) -> str | None:
    return None if value is None else query.resolve(kb, kind, value)


def _emit(kind: str, rows: list[dict], fmt: Fmt, table: Callable[[], None], empty: str) -> None:
    """Write rows in the chosen format; an empty result is a message on stderr, not an error."""
    if not rows:
        sys.stderr.write(f"calcref: {empty}\n")
    if fmt is Fmt.json:
        sys.stdout.write(output.to_json(rows))
    elif fmt is Fmt.markdown:
        sys.stdout.write(output.to_markdown(rows, output.COLUMNS[kind]))
    elif fmt is Fmt.csv:
        sys.stdout.write(output.to_csv(rows, output.COLUMNS[kind]))
    elif rows:
        table()


def _plain_chart() -> bool:
    return not sys.stdout.isatty()


def _describe_filters(**filters: str | None) -> str:
    given = [f"{name.replace('_', '-')} {value}" for name, value in filters.items() if value]
    return " and ".join(given) if given else "no filter"


# --- commands ---------------------------------------------------------------------------------


@app.command(short_help="The subtypes and rare variants, or one subtype's full card.")
def subtypes(
    subtype_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]",
            help="A subtype id for its full card.",
            autocompletion=_completer("subtype"),
        ),
    ] = None,
    fmt: FormatOpt = Fmt.table,
    as_json: JsonOpt = False,
) -> None:
    """Example: calcref subtypes dystrophic

    Without an id: the five major subtypes and the rare variants (marked), with definition,
    calcium/phosphate status, associations and frequency figures. With an id: that subtype's
    card with its contexts, its workup and a pointer to its treatments.
    """
    kb = load()
    fmt = _format(fmt, as_json)
    chosen = _resolve(kb, "subtype", subtype_id)
    rows = [records.subtype(kb, s) for s in query.subtypes(kb, chosen)]
    if chosen is None:
        from calcref import tables

        _emit("subtypes", rows, fmt, lambda: tables.print_subtypes(rows), "no subtypes recorded")
        return
    workup_rows = records.workup(kb, query.workup(kb, subtype=chosen))
    therapy_ids = [r.therapy.id for r in query.treat(kb, subtype=chosen)]
    rows[0] |= {"workup": workup_rows, "therapies": therapy_ids}
    if fmt is Fmt.table:
        from calcref import tables

        contexts = [
            {"id": c.id, "name": c.name}
            for c in query.subtype_contexts(kb, kb.subtype_by_id[chosen])
        ]
        tables.print_subtype_card(rows[0], contexts, workup_rows, len(therapy_ids))
    else:
        _emit("subtypes", rows, fmt, lambda: None, "")


@app.command(short_help="Investigations, with why each is ordered for a subtype or context.")
def workup(
    subtype: SubtypeOpt = None,
    context: ContextOpt = None,
    fmt: FormatOpt = Fmt.table,
    as_json: JsonOpt = False,
) -> None:
    """Example: calcref workup --subtype metastatic

    The chapter's twelve specific investigations. With --subtype or --context, only those that
    serve it, each with the reason for that subtype or context and whether the link is the
    chapter's own or curated from its definitions.
    """
    kb = load()
    fmt = _format(fmt, as_json)
    subtype_id, context_id = _resolve(kb, "subtype", subtype), _resolve(kb, "context", context)
    rows = records.workup(kb, query.workup(kb, subtype=subtype_id, context=context_id))
    title = "Workup" + "".join(f" · {x}" for x in (subtype_id, context_id) if x)

    def table() -> None:
        from calcref import tables

        tables.print_workup(rows, title=title)

    filters = _describe_filters(subtype=subtype_id, context=context_id)
    _emit("workup", rows, fmt, table, f"no investigations recorded for {filters}")


@app.command(short_help="The treatment ladder: line, evidence letter, regimens and studies.")
def treat(
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
    fmt: FormatOpt = Fmt.table,
    as_json: JsonOpt = False,
) -> None:
    """Example: calcref treat --context ssc

    Therapies that fit, ordered by ladder position, then evidence strength, then name. A
    context matches directly, through a broader parent (ssc also shows what was reported for
    ctd as a whole) or a narrower one; each row says which. Therapies the sources name without
    a ladder place are shown as not graded (—).
    """
    kb = load()
    fmt = _format(fmt, as_json)
    context_id, subtype_id = _resolve(kb, "context", context), _resolve(kb, "subtype", subtype)
    line_value = line.value if line else None
    letter = min_evidence
    results = query.treat(
        kb, context=context_id, subtype=subtype_id, line=line_value, min_evidence=letter
    )
    rows = records.treat(kb, results)

    def table() -> None:
        from calcref import tables

        tables.print_treat(rows, records.evidence_scale(kb), details, show_chart, _plain_chart())

    filters = _describe_filters(
        context=context_id, subtype=subtype_id, line=line_value, min_evidence=letter
    )
    _emit("treat", rows, fmt, table, f"no therapies recorded for {filters}{_hint(kb, context_id)}")


def _hint(kb: KnowledgeBase, context_id: str | None) -> str:
    """Where to look next when a context has no therapies: the subtypes it belongs to."""
    if context_id is None or not kb.context_by_id[context_id].subtypes:
        return ""
    subtypes = kb.context_by_id[context_id].subtypes
    treated = [s for s in subtypes if query.treat(kb, subtype=s)]
    hint = f"; try: calcref treat --subtype {treated[0]}" if treated else ""
    return f" (its subtypes: {', '.join(subtypes)}{hint})"


@app.command(short_help="References in AMA, Vancouver, BibTeX, RIS or CSL-JSON, with links.")
def cite(
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
    fmt: Annotated[
        CiteFmt,
        typer.Option(
            "--format",
            "-f",
            envvar="CALCREF_FORMAT",
            case_sensitive=False,
            help="Citation style or output format; CALCREF_FORMAT sets the default.",
        ),
    ] = CiteFmt.ama,
    as_json: JsonOpt = False,
) -> None:
    """Example: calcref cite --therapy minocycline --format bibtex > refs.bib

    References in a clinical citation style, each with a link: the DOI where one is confirmed,
    otherwise a PubMed title search, labelled as a search.
    """
    from calcref import citations

    kb = load()
    wanted = [query.resolve(kb, "reference", i) for i in ids or []]
    therapy_id = _resolve(kb, "therapy", therapy)
    refs = query.references(kb, wanted, therapy_id)
    style = CiteFmt.json if as_json else fmt
    if style.value in citations.STYLES and style is not CiteFmt.ama:
        if not refs:
            sys.stderr.write("calcref: no references match\n")
        sys.stdout.write(citations.export(refs, style.value))
        return
    rows = records.citations(kb, refs)
    as_output = {CiteFmt.json: Fmt.json, CiteFmt.markdown: Fmt.markdown, CiteFmt.csv: Fmt.csv}.get(
        style, Fmt.table
    )

    def table() -> None:
        from calcref import tables

        tables.print_citations(rows)

    _emit("cite", rows, as_output, table, "no references match")


@app.command(short_help="One therapy's full card: positions, regimens, studies, notes, references.")
def show(
    therapy: Annotated[
        str,
        typer.Argument(
            metavar="THERAPY", help="Therapy id or alias.", autocompletion=_completer("therapy")
        ),
    ],
    as_json: JsonOnlyOpt = False,
) -> None:
    """Example: calcref show minocycline

    Everything calcref holds on one therapy: names and aliases, line and evidence letter per
    source (both where they differ), mechanism, every regimen with its source, contexts and
    subtypes, every study in full with a response chart, curator's notes and references.
    """
    kb = load()
    item = kb.therapy_by_id[query.resolve(kb, "therapy", therapy)]
    record = records.therapy(kb, item)
    refs = records.citations(kb, query.therapy_references(kb, item))
    if as_json:
        sys.stdout.write(output.to_json(record | {"references": refs}))
        return
    from calcref import tables

    tables.print_therapy_card(record, refs, _plain_chart())


@app.command(short_help="Search every record for a word or phrase.")
def search(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="Case-insensitive text to find.")],
    fmt: FormatOpt = Fmt.table,
    as_json: JsonOpt = False,
) -> None:
    """Example: calcref search thiosulfate

    Case-insensitive search across subtypes, variants, contexts, investigations, therapies,
    studies, references and curator's notes. Hits are grouped by kind, with the field that
    matched and an excerpt around the match.
    """
    from calcref import search as finder

    if not text.strip():
        raise UsageProblem("search text must not be empty")
    kb = load()
    fmt = _format(fmt, as_json)
    rows = finder.search(kb, text)

    def table() -> None:
        from calcref import tables

        tables.print_search(rows, text)

    _emit("search", rows, fmt, table, f"nothing found for '{visible(text)}'")


@app.command(short_help="The evidence scale A–E and how many therapies sit at each letter.")
def levels(fmt: FormatOpt = Fmt.table, as_json: JsonOpt = False) -> None:
    """Example: calcref levels

    The chapter's evidence scale with its definitions, and the therapies its ladder places at
    each letter; therapies the sources name without a letter are counted as not graded.
    """
    kb = load()
    fmt = _format(fmt, as_json)
    rows = records.levels(kb)

    def table() -> None:
        from calcref import tables

        tables.print_levels(rows)

    _emit("levels", rows, fmt, table, "no evidence levels recorded")


def _only_invoked_command(argv: list[str]) -> None:
    """Build just the command being run: Typer introspects every registered command on each
    start, which costs more than the command itself. Help and completion keep them all."""
    if not argv or os.environ.get("_CALCREF_COMPLETE"):
        return
    wanted = [c for c in app.registered_commands if c.callback and c.callback.__name__ == argv[0]]
    if wanted:
        app.registered_commands = wanted


@app.command(short_help="The clinical picture and the management strategy, with sources.")
def overview(fmt: FormatOpt = Fmt.table, as_json: JsonOpt = False) -> None:
    """Example: calcref overview

    How calcinosis cutis looks and where (from both sources), then the chapter's management
    strategy: find the cause, treat the underlying disease, reduce deposits, calm
    inflammation, remove deposits, general measures for blood flow, and the immunological
    findings it reports.
    """
    kb = load()
    rows = records.overview(kb)

    def table() -> None:
        from calcref import tables

        tables.print_overview(rows)

    _emit("overview", rows, _format(fmt, as_json), table, "no overview recorded")


@app.command(short_help="The clinical contexts --context accepts, with aliases and parents.")
def contexts(fmt: FormatOpt = Fmt.table, as_json: JsonOpt = False) -> None:
    """Example: calcref contexts

    Every context id with its aliases (any of them works with --context), the broader context
    it sits inside, and the subtypes it belongs to.
    """
    kb = load()
    rows = records.contexts(kb)

    def table() -> None:
        from calcref import tables

        tables.print_contexts(rows)

    _emit("contexts", rows, _format(fmt, as_json), table, "no contexts recorded")


@app.command(short_help="Check knowledge files against every loader and curator rule.")
def validate(
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
    as_json: JsonOnlyOpt = False,
) -> None:
    """Example: calcref validate --overlay ~/clinic-knowledge

    Checks every rule the loader applies (YAML, keys, types, allowed values, ids named
    across records, duplicate ids and aliases, overlay conflicts) and the curators' rules: a
    graded therapy has its line, study counts add up, every reference is named by some record
    and named references exist, and every DOI says which page or source confirmed it. Prints
    each problem as path:line: message and exits 1 if there is any. Without arguments it
    checks the active knowledge (CALCREF_DATA's stack, or the bundled files).
    """
    from calcref import load as loader
    from calcref import stack

    if directory is None and not overlays:
        layers = stack.active()
    else:
        base = directory if directory is not None else stack.active()[0].directory
        try:
            layers = stack.of(base, list(overlays or []))
        except KnowledgeError as exc:  # a directory typed twice, an overlay with no files
            raise UsageProblem(str(exc)) from None
    problems = loader.validate(layers)
    if as_json:
        sys.stdout.write(output.to_json([p._asdict() for p in problems]))
    else:
        # visible() keeps newlines, but a problem is one line: a key may hold one (as _fail).
        lines = (visible(str(p)).replace("\n", "\\n") for p in problems)
        sys.stdout.write("".join(f"{line}\n" for line in lines))
    checked = _count(sum(len(layer.paths()) for layer in layers), "file")
    if problems:
        sys.stderr.write(f"calcref: {_count(len(problems), 'problem')} in {checked}\n")
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
    kind: Annotated[SchemaKind, typer.Argument(metavar="knowledge|subtypes|therapies")],
    overlay: Annotated[
        bool, typer.Option("--overlay", help="The schema of an overlay's file instead.")
    ] = False,
) -> None:
    """Example: calcref schema therapies > therapies.schema.json

    Generated from the rules calcref's loader applies. Point an editor at it (the bundled
    files do, with a yaml-language-server comment on their first line) to have mistakes
    marked as you type; `calcref validate` checks what a schema cannot see across records.
    """
    from calcref import json_schema

    sys.stdout.write(output.to_json(json_schema.for_file(kind.value, overlay)))


@app.command(short_help="Versions, knowledge files, record counts and the cache.")
def info(as_json: JsonOnlyOpt = False) -> None:
    """Example: calcref info

    Which calcref and which knowledge version answer, the files they read (the base, then
    any overlays CALCREF_DATA adds), how many records of each kind they hold, and whether
    this run was answered from the parse cache.
    """
    record = records.info(load(), __version__)
    if as_json:
        sys.stdout.write(output.to_json(record))
        return
    from calcref import tables

    tables.print_info(record)


def run() -> None:
    """Console-script entry point: UTF-8 output whatever the locale, then the app."""
    if sys.stdout is None:  # started with stdout closed (`calcref ... >&-`)
        if sys.stderr is not None:
            sys.stderr.write("calcref: error: standard output is closed\n")
        sys.exit(1)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")
    _only_invoked_command(sys.argv[1:])
    try:
        app()
    except BrokenPipeError:
        _quiet_broken_pipe()
    finally:
        # The process ends here. Python's last collection at exit would scan every loaded
        # record for reference cycles (they have none): most of a large cold run's time.
        gc.freeze()
