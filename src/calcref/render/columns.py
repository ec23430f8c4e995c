"""Records flattened into cells for the Markdown and CSV writers (and the tables' text).

The columns of an answer are derived from its records, in the order of their keys: a field
added to the model becomes a column by itself. A nested record is written the way a reader
says it ("Balin 2012 [ctd]: n=17: 9 partial"), a list is joined with "; ", and a curator's
note always travels inside the cell of the value it qualifies.
"""

from __future__ import annotations

from typing import Any

Record = dict[str, Any]
UNSHOWN = {"source_file", "overlay"}  # replaced by one `overlay` column: paths differ by machine


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


COUNT_LABELS = {
    "responders": "responded",
    "complete": "complete",
    "partial": "partial",
    "none": "no response",
    "unknown": "unknown",
}


def counts_text(study: Record) -> str:
    """Outcome counts exactly as recorded, e.g. 'n=6: 1 partial, 2 no response, 3 unknown'."""
    c = study["counts"]
    parts = [f"{c[key]} {label}" for key, label in COUNT_LABELS.items() if c.get(key) is not None]
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
    return record["source_file"] if record.get("overlay") else ""


def columns(rows: list[Record]) -> list[str]:
    """Every key of the rows, in order of first appearance, then `overlay` where rows have
    a provenance."""
    keys = list(dict.fromkeys(key for row in rows for key in row if key not in UNSHOWN))
    if any("source_file" in row for row in rows):
        keys.append("overlay")
    return keys


def cell(row: Record, key: str) -> str:
    """One value of one row as the text of a cell."""
    if key == "overlay":
        return overlay_file(row)
    return flat(row.get(key))


def flat(value: object) -> str:
    if isinstance(value, list):
        return joined([flat(item) for item in value])
    if isinstance(value, dict):
        return _record_text(value)
    return text(value)


def _record_text(record: Record) -> str:
    """A nested record as a reader says it; an unknown shape as `key: value` pairs."""
    if "counts" in record and "label" in record:
        return study_line(record)
    if "listed_as" in record:
        return position_text(record)
    if "basis" in record:
        return f"{record['target']} ({record['basis']}): {record['reason']}"
    if "figure" in record:
        return f"{record['context']}: {record['figure']}"
    if set(record) == {"kind", "context"}:
        return match_text({"match": record})
    if "text" in record and "sources" in record:
        return with_notes(sourced(record["text"], record["sources"]), record.get("notes", []))
    if set(record) <= {"id", "text", "source"}:  # a curator's note, a printed citation
        return text(record.get("text"))
    if set(record) == {"context", "sources"}:
        return sourced(record["context"], record["sources"])
    if set(record) <= set(COUNT_LABELS):
        return counts_text({"counts": record, "n": None})
    given = {k: v for k, v in record.items() if v not in (None, [], "")}
    return ", ".join(f"{k}: {flat(v)}" for k, v in given.items())
