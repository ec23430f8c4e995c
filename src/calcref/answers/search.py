"""Full-text search over every record, as the same plain records the JSON output uses.

Walking the records rather than the model means a new field is searchable the day it is added
to the JSON contract, and the field path in a hit (`regimens[0].text`) is the path a script
would use to reach it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from calcref.answers import query, records
from calcref.model import SECTIONS, Caution, CuratorNote, KnowledgeBase, nested

EXCERPT_RADIUS = 40
# Notes and cautions are searched as notes of their own (and travel with every hit on the
# values they qualify); file paths are not knowledge.
UNSEARCHED = {"notes", "caution", "source_file"}
Hit = dict[str, Any]


def _strings(value: object, path: str, holder: dict) -> Iterator[tuple[str, str, dict]]:
    """Every string inside `value` with its field path and the innermost record holding it
    (whose caution and notes qualify it)."""
    if isinstance(value, str):
        yield path, value, holder
    elif isinstance(value, dict):
        inner = value if "notes" in value or "caution" in value else holder
        for key, item in value.items():
            if key not in UNSEARCHED:
                yield from _strings(item, f"{path}.{key}" if path else key, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]", holder)


def excerpt(text: str, start: int, length: int) -> str:
    """The match with about EXCERPT_RADIUS characters either side, cut between words."""
    left = max(0, start - EXCERPT_RADIUS)
    right = min(len(text), start + length + EXCERPT_RADIUS)
    if left:
        space = text.find(" ", left, start)
        left = space + 1 if space >= 0 else left
    if right < len(text):
        space = text.rfind(" ", start + length, right)
        right = space if space >= 0 else right
    return ("…" if left else "") + text[left:right] + ("…" if right < len(text) else "")


def _documents(kb: KnowledgeBase) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(kind, id, record) for everything calcref knows, in the order hits are grouped."""
    for subtype in kb.subtypes:
        yield ("subtype" if subtype.major else "variant"), subtype.id, records.subtype(kb, subtype)
    for context in records.contexts(kb):
        yield "context", context["id"], context
    for statement in records.overview(kb):
        kind = "clinical picture" if statement["section"] == "clinical picture" else "management"
        yield kind, statement["id"] or statement["kind"], statement
    for investigation in records.workup(kb, query.workup(kb)):
        yield "investigation", investigation["id"], investigation
    for therapy in kb.therapies:
        record = records.therapy(kb, therapy)
        record.pop("studies")
        yield "therapy", therapy.id, record
    for study in kb.studies:
        yield "study", study.id, records.study(kb, study)
    for reference in kb.references:
        record = records.reference(kb, reference)
        del record["url"], record["link"]  # derived from the title or DOI, which are searched
        yield "reference", reference.id, record
    for level in kb.evidence_levels:
        origin = records.origin(kb, level.source_file)
        yield "evidence level", level.letter, {"definition": level.definition} | origin
    for note_id, note in _notes(kb).items():
        yield "note", note_id, {"text": note.text}


def _notes(kb: KnowledgeBase) -> dict[str, CuratorNote | Caution]:
    """Every curator's note and caution once, by id (one may qualify several records)."""
    found: dict[str, CuratorNote | Caution] = {}
    for section in SECTIONS:
        for record in getattr(kb, section):
            for inner in nested(record):
                if isinstance(inner, (CuratorNote, Caution)):
                    found.setdefault(inner.id, inner)
    return found


def search(kb: KnowledgeBase, text: str) -> list[Hit]:
    """Case-insensitive hits, one per matching field, grouped by kind."""
    needle = text.strip().casefold()
    hits: list[Hit] = []
    for kind, record_id, record in _documents(kb):
        for field, value, holder in _strings(record, "", {}):
            position = value.casefold().find(needle)
            if position >= 0:
                hits.append(
                    {
                        "kind": kind,
                        "id": record_id,
                        "field": field,
                        "excerpt": excerpt(value, position, len(needle)),
                        # the warnings on the value found travel with the hit
                        "caution": holder.get("caution"),
                        "notes": holder.get("notes", []),
                        # notes are found by id, apart from the records that hold them
                        "source_file": record.get("source_file"),
                        "overlay": record.get("overlay", False),
                    }
                )
    return hits
