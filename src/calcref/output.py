"""Writers for the machine and plain-text formats: JSON, Markdown and CSV. No Rich here.

Each writer takes the plain records of `calcref.records` and returns one complete string, so
the CLI writes it in a single call and a failure can never leave half a document on stdout.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from calcref.model import KnowledgeLayer
from calcref.textsafe import json_safe, visible

Record = dict[str, Any]
Column = tuple[str, Callable[[Record], str]]


def to_json(data: object) -> str:
    return json_safe(json.dumps(data, ensure_ascii=False, indent=2)) + "\n"


def knowledge_versions(layers: tuple[KnowledgeLayer, ...]) -> str:
    """The lines `--version` adds after calcref's own: the base's version, then each
    overlay's."""
    out = []
    for layer in layers:
        name = f"overlay {layer.directory}" if layer.overlay else "knowledge"
        stated = f"{layer.version} ({layer.date})" if layer.version else "(no version stated)"
        out.append(visible(f"{name} {stated}\n"))
    return "".join(out)


def to_markdown(rows: list[Record], columns: list[Column]) -> str:
    """A GitHub-flavoured table a clinician can paste into notes or a wiki."""
    lines = [
        "| " + " | ".join(header for header, _ in columns) + " |",
        "|" + "|".join(" --- " for _ in columns) + "|",
    ]
    for row in rows:
        cells = [_markdown_cell(value(row)) for _, value in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _markdown_cell(text: str) -> str:
    return visible(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def to_csv(rows: list[Record], columns: list[Column]) -> str:
    """One row per record; lists joined by '; ' (RFC 4180 quoting)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([header for header, _ in columns])
    for row in rows:
        writer.writerow([visible(value(row)) for _, value in columns])
    return buffer.getvalue()


# --- flattening helpers shared by the column definitions -------------------------------------


def joined(items: list[str]) -> str:
    return "; ".join(items)


def text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def with_notes(body: str, notes: list[Record]) -> str:
    """A value followed by the curator's notes that qualify it, so they never travel apart."""
    suffix = "".join(f" [Curator's note: {n['text']}]" for n in notes)
    return body + suffix


def sourced(body: str, sources: list[str]) -> str:
    return f"{body} ({', '.join(sources)})" if sources else body


def counts_text(study: Record) -> str:
    """Outcome counts exactly as recorded, e.g. 'n=6: 1 partial, 2 no response, 3 unknown'."""
    c = study["counts"]
    names = (
        ("responders", "responded"),
        ("complete", "complete"),
        ("partial", "partial"),
        ("none", "no response"),
        ("unknown", "unknown"),
    )
    parts = [f"{c[key]} {label}" for key, label in names if c.get(key) is not None]
    prefix = f"n={study['n']}" if study["n"] is not None else "no patient count given"
    return f"{prefix}: {', '.join(parts)}" if parts else prefix


def study_summary(study: Record) -> str:
    """'Balin 2012 [ctd]: n=8: 1 complete, 2 partial': who, where, and the counts."""
    where = f" [{', '.join(study['contexts'])}]" if study["contexts"] else ""
    return f"{study['label']}{where}: {counts_text(study)}"


def study_line(study: Record) -> str:
    return with_notes(study_summary(study), study["notes"])


def position_text(position: Record) -> str:
    """'chapter: second line, evidence E, listed as ...' for the graded place; another
    source's view as 'jopa (no evidence letter): Often used first line ...'."""
    source = position["source"]
    if position["evidence"]:
        place = f"{source}: {position['line']} line, evidence {position['evidence']}"
        listed = position["listed_as"]
        return f"{place}, listed as '{listed}'" if listed else place
    if position["view"]:
        return f"{source} (no evidence letter): {position['view']}"
    line = f"{position['line']} line, " if position["line"] else ""
    return f"{source}: {line}no evidence letter"


def match_text(record: Record) -> str:
    match = record.get("match")
    if not match:
        return ""
    if match["kind"] == "direct":
        return "direct"
    return f"{match['kind']} ({match['context']})"


def overlay_file(record: Record) -> str:
    """The overlay a record came from; empty for the base knowledge, whose path differs from
    one installation to the next and says nothing a reader needs."""
    return record["source_file"] if record["overlay"] else ""


OVERLAY: Column = ("overlay", overlay_file)

COLUMNS: dict[str, list[Column]] = {
    "treat": [
        ("id", lambda r: r["id"]),
        ("name", lambda r: r["name"]),
        ("line", lambda r: text(r["line"])),
        ("evidence", lambda r: text(r["evidence"])),
        ("match", match_text),
        ("contexts", lambda r: joined(r["contexts"])),
        (
            "regimens",
            lambda r: joined(
                [with_notes(sourced(g["text"], g["sources"]), g["notes"]) for g in r["regimens"]]
            ),
        ),
        ("studies", lambda r: joined([study_line(s) for s in r["studies"]])),
        ("positions", lambda r: joined([position_text(p) for p in r["positions"]])),
        ("notes", lambda r: joined([n["text"] for n in r["notes"]])),
        ("sources", lambda r: joined(r["sources"])),
        OVERLAY,
    ],
    "subtypes": [
        ("id", lambda r: r["id"]),
        ("name", lambda r: r["name"]),
        ("major", lambda r: text(r["major"])),
        ("calcium_phosphate", lambda r: r["calcium_phosphate"]),
        ("summary", lambda r: r["summary"]),
        ("examples", lambda r: joined(r["examples"])),
        (
            "frequencies",
            lambda r: joined([f"{f['context']}: {f['figure']}" for f in r["frequencies"]]),
        ),
        ("sources", lambda r: joined(r["sources"])),
        OVERLAY,
    ],
    "workup": [
        ("id", lambda r: r["id"]),
        ("name", lambda r: r["name"]),
        ("looks_for", lambda r: r["looks_for"]),
        (
            "rationale",
            lambda r: joined(
                [f"{t['target']} ({t['basis']}): {t['reason']}" for t in r["rationale"]]
            ),
        ),
        ("sources", lambda r: joined(r["sources"])),
        OVERLAY,
    ],
    "cite": [
        ("id", lambda r: r["id"]),
        ("citation", lambda r: r["citation"]),
        ("url", lambda r: text(r["url"])),
        ("link", lambda r: r["link"]),
        OVERLAY,
    ],
    "levels": [
        ("letter", lambda r: text(r["letter"]) or "-"),
        ("definition", lambda r: r["definition"]),
        ("count", lambda r: text(r["count"])),
        ("therapies", lambda r: joined(r["therapies"])),
        OVERLAY,
    ],
    "overview": [
        ("section", lambda r: r["section"]),
        ("kind", lambda r: r["kind"]),
        ("text", lambda r: r["text"]),
        ("sources", lambda r: joined(r["sources"])),
        OVERLAY,
    ],
    "contexts": [
        ("id", lambda r: r["id"]),
        ("name", lambda r: r["name"]),
        ("aliases", lambda r: joined(r["aliases"])),
        ("parent", lambda r: text(r["parent"])),
        ("subtypes", lambda r: joined(r["subtypes"])),
        ("summary", lambda r: r["summary"]),
        ("sources", lambda r: joined(r["sources"])),
        OVERLAY,
    ],
    "search": [
        ("kind", lambda r: r["kind"]),
        ("id", lambda r: r["id"]),
        ("field", lambda r: r["field"]),
        ("excerpt", lambda r: r["excerpt"]),
        OVERLAY,
    ],
}
