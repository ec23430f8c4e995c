"""Full-text search over every record, as the same plain records the JSON output uses.

Walking the records rather than the model means a new field is searchable the day it is added
to the JSON contract, and the field path in a hit (`regimens[0].text`) is the path a script
would use to reach it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from calcref.answers import query, records
from calcref.model import SECTIONS, Caution, CuratorNote, KnowledgeBase, nested

EXCERPT_RADIUS = 40
# Notes and cautions are searched as notes of their own (and travel with every hit on the
# values they qualify); file paths are not knowledge.
UNSEARCHED = {"notes", "caution", "layer", "source_file"}
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


NAME_FIELDS = ("id", "name", "aliases", "letter")
SUMMARY_FIELDS = ("summary", "title", "looks_for", "definition", "text", "kind")


def rank(field: str) -> int:
    """Where a match counts most: a name or id, then a summary or title, then any other
    field, then a note."""
    top = field.split(".", 1)[0].split("[", 1)[0]
    if top in NAME_FIELDS:
        return 0
    return 1 if top in SUMMARY_FIELDS else 2


def words(text: str) -> list[re.Pattern[str]]:
    """Each word of the query, to be found at the start of a word in the text: "STS" is
    not found inside "lists", and "thiosulf" still finds "thiosulfate"."""
    return [re.compile(rf"(?<!\w){re.escape(w)}", re.IGNORECASE) for w in text.split()]


def search(kb: KnowledgeBase, text: str) -> list[Hit]:
    """Hits, one per field holding every word of the query, grouped by kind (in the order
    `_documents` gives) and ranked within each kind: names and ids first."""
    patterns = words(text)
    found: list[tuple[int, int, int, Hit]] = []
    kinds: dict[str, int] = {}
    for kind, record_id, record in _documents(kb):
        for field, value, holder in _strings(record, "", {}):
            matches = [p.search(value) for p in patterns]
            if not patterns or not all(matches):
                continue
            first = min(matches, key=lambda m: m.start())  # type: ignore[union-attr]
            hit = {
                "kind": kind,
                "id": record_id,
                "field": field,
                "excerpt": excerpt(value, first.start(), first.end() - first.start()),  # type: ignore[union-attr]
                # the warnings on the value found travel with the hit
                "caution": holder.get("caution"),
                "notes": holder.get("notes", []),
                # notes are found by id, apart from the records that hold them
                "layer": record.get("layer"),
                "source_file": record.get("source_file"),
                "overlay": record.get("overlay", False),
            }
            order = kinds.setdefault(kind, len(kinds))
            found.append((order, 3 if kind == "note" else rank(field), len(found), hit))
    return [hit for *_, hit in sorted(found, key=lambda item: item[:3])]


def best(hits: list[Hit], per_kind: int) -> tuple[list[Hit], int]:
    """The first `per_kind` hits of each kind, and how many were left out."""
    kept: list[Hit] = []
    counts: dict[str, int] = {}
    for hit in hits:
        counts[hit["kind"]] = counts.get(hit["kind"], 0) + 1
        if counts[hit["kind"]] <= per_kind:
            kept.append(hit)
    return kept, len(hits) - len(kept)
