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


Holders = tuple[dict, ...]  # the records holding a value, outermost first


def _strings(value: object, path: str, holders: Holders) -> Iterator[tuple[str, str, Holders]]:
    """Every string inside `value` with its field path and the records holding it that carry
    a caution or notes, outermost first: the innermost qualifies the value itself, and each
    enclosing one qualifies everything inside it (a study's caution, its harm's figures)."""
    if isinstance(value, str):
        yield path, value, holders
    elif isinstance(value, dict):
        inner = (*holders, value) if "notes" in value or "caution" in value else holders
        for key, item in value.items():
            if key not in UNSEARCHED:
                yield from _strings(item, f"{path}.{key}" if path else key, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]", holders)


def _enclosing(holders: Holders) -> tuple[list[dict], list[dict]]:
    """The cautions and notes of the records enclosing the innermost, nearest first, each
    once and none the innermost already carries (one note may qualify several records)."""
    *outer, innermost = holders or ({},)
    seen = {_said(w) for w in _cautions(innermost) + innermost.get("notes", [])}
    cautions: list[dict] = []
    notes: list[dict] = []
    for record in reversed(outer):
        cautions += _unseen(_cautions(record), seen)
        notes += _unseen(record.get("notes", []), seen)
    return cautions, notes


def _cautions(record: dict) -> list[dict]:
    caution = record.get("caution")
    return [caution] if caution else []


def _unseen(warnings: list[dict], seen: set[tuple[str, str]]) -> list[dict]:
    """The warnings not in `seen`, which now holds them."""
    fresh = [w for w in warnings if _said(w) not in seen]
    seen.update(_said(w) for w in fresh)
    return fresh


def _said(warning: dict) -> tuple[str, str]:
    """A warning by its id and its words: the same id may say more on an enclosing record
    (wen2023's caution adds "A null result" to the one on each of its effects)."""
    return warning["id"], warning["text"]


def _harms(kb: KnowledgeBase, kind: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The harms the sources report for the therapy a hit is in, or for each therapy a study
    tried: a dose or a result is never read apart from what the treatment can do."""
    if kind == "therapy":
        therapies = [record["id"]]
    elif kind == "study":
        therapies = list(record["therapies"])
    else:
        return []
    return [
        {"therapy": therapy} | harm.as_json()
        for therapy in therapies
        if therapy in kb.therapy_by_id
        for harm in kb.therapy_by_id[therapy].harms
    ]


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
        harms = _harms(kb, kind, record)
        for field, value, holders in _strings(record, "", ()):
            matches = [p.search(value) for p in patterns]
            if not patterns or not all(matches):
                continue
            first = min(matches, key=lambda m: m.start())  # type: ignore[union-attr]
            innermost = holders[-1] if holders else {}
            cautions, notes = _enclosing(holders)
            hit = {
                "kind": kind,
                "id": record_id,
                "field": field,
                "excerpt": excerpt(value, first.start(), first.end() - first.start()),  # type: ignore[union-attr]
                # the warnings on the value found travel with the hit: its own record's, those
                # of every record around it, and the harms of the therapy it is about
                "caution": innermost.get("caution"),
                "notes": innermost.get("notes", []),
                "enclosing_cautions": cautions,
                "enclosing_notes": notes,
                "harms": harms,
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
