"""Turn validated plain data into model records.

Runs after validation (or on data read back from a verified cache), so it may assume every
shape the schema promises; a KeyError or TypeError here means the cache lied, and the caller
falls back to the files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from calcref.errors import KnowledgeError
from calcref.model import (
    ClinicalFeature,
    Context,
    ContextLink,
    Counts,
    CuratorNote,
    EvidenceLevel,
    Frequency,
    Index,
    Investigation,
    KnowledgeBase,
    KnowledgeLayer,
    LoadInfo,
    Position,
    Principle,
    Printed,
    Records,
    Reference,
    Statement,
    Study,
    Subtype,
    Therapy,
    TherapyFacets,
    Tie,
)

Data = dict[str, Any]


def _t(values: list | None) -> tuple:
    return tuple(values or ())


def _notes(record: Data) -> tuple[CuratorNote, ...]:
    return tuple(CuratorNote(n["id"], n["text"]) for n in record.get("notes") or ())


def _statements(records: list | None) -> tuple[Statement, ...]:
    return tuple(Statement(r["text"], _t(r["sources"]), _notes(r)) for r in records or ())


def _subtype(r: Data) -> Subtype:
    return Subtype(
        id=r["id"],
        name=r["name"],
        major=r["major"],
        variant_of=r.get("variant_of"),
        calcium_phosphate=r["calcium_phosphate"],
        summary=r["summary"],
        examples=_t(r.get("examples")),
        contexts=_t(r.get("contexts")),
        most_common=bool(r.get("most_common")),
        frequencies=tuple(
            Frequency(f["context"], f["figure"], _statements(f["statements"]))
            for f in r.get("frequencies") or ()
        ),
        sources=_t(r["sources"]),
        notes=_notes(r),
        source_file=r["source_file"],
    )


def _context(r: Data) -> Context:
    return Context(
        id=r["id"],
        name=r["name"],
        aliases=_t(r.get("aliases")),
        parent=r.get("parent"),
        subtypes=_t(r.get("subtypes")),
        summary=r["summary"],
        sources=_t(r["sources"]),
        source_file=r["source_file"],
    )


def _investigation(r: Data) -> Investigation:
    ties = tuple(Tie(t["target"], t["reason"], t["basis"], _t(t["sources"])) for t in r["ties"])
    return Investigation(
        r["id"], r["name"], r["looks_for"], ties, _t(r["sources"]), r["source_file"]
    )


def _reference(r: Data) -> Reference:
    return Reference(
        id=r["id"],
        type=r["type"],
        authors=_t(r.get("authors")),
        et_al=bool(r.get("et_al")),
        title=r.get("title"),
        journal=r.get("journal"),
        book=r.get("book"),
        year=r.get("year"),
        volume=r.get("volume"),
        issue=r.get("issue"),
        pages=r.get("pages"),
        article_number=r.get("article_number"),
        doi=r.get("doi"),
        printed=tuple(Printed(p["source"], p["text"]) for p in r["printed"]),
        confirmed=r.get("confirmed"),
        notes=_notes(r),
        source_file=r["source_file"],
    )


def _therapy(r: Data) -> Therapy:
    return Therapy(
        id=r["id"],
        name=r["name"],
        aliases=_t(r.get("aliases")),
        positions=tuple(
            Position(
                p["source"], p.get("line"), p.get("evidence"), p.get("listed_as"), p.get("view")
            )
            for p in r.get("positions") or ()
        ),
        mechanism=_statements(r.get("mechanism")),
        regimens=_statements(r.get("regimens")),
        contexts=tuple(
            ContextLink(c["context"], _t(c["sources"])) for c in r.get("contexts") or ()
        ),
        subtypes=_t(r.get("subtypes")),
        uses=_statements(r.get("uses")),
        sources=_t(r["sources"]),
        notes=_notes(r),
        source_file=r["source_file"],
    )


def _study(r: Data) -> Study:
    return Study(
        id=r["id"],
        ref=r["ref"],
        therapies=_t(r["therapies"]),
        design=r.get("design"),
        population=r["population"],
        contexts=_t(r.get("contexts")),
        subtypes=_t(r.get("subtypes")),
        n=r.get("n"),
        age=r.get("age"),
        regimen=r.get("regimen"),
        outcome=r["outcome"],
        counts=Counts(**r["counts"]),
        sources=_t(r["sources"]),
        notes=_notes(r),
        source_file=r["source_file"],
    )


def _feature(f: Data) -> ClinicalFeature:
    return ClinicalFeature(f["aspect"], f["text"], _t(f["sources"]), f["source_file"])


def _principle(p: Data) -> Principle:
    return Principle(p["id"], p["kind"], p["text"], _t(p["sources"]), p["source_file"])


def _level(e: Data) -> EvidenceLevel:
    return EvidenceLevel(e["letter"], e["definition"], _t(e["sources"]), e["source_file"])


BUILDERS: dict[str, Callable[[Data], Any]] = {
    "subtypes": _subtype,
    "contexts": _context,
    "investigations": _investigation,
    "clinical_features": _feature,
    "principles": _principle,
    "evidence_levels": _level,
    "references": _reference,
    "therapies": _therapy,
    "studies": _study,
}
"""Record kinds, each with the function that builds one record of it: also the section names
of the cache and the KnowledgeBase fields."""


Source = Any
"""Where validated plain records come from: `Parsed` (the files) or `cache.Cached`. Both offer
count(kind), record(kind, position) and index_part(name). (Not a typing.Protocol: creating one
costs milliseconds at every start.)"""


class Parsed:
    """Validated data just read from the knowledge files, with its index parts."""

    def __init__(self, sections: dict[str, list[Data]], layers: list[Data]) -> None:
        self.sections = {kind: sections.get(kind, []) for kind in BUILDERS}
        self.index_parts = index_of(self.sections) | {"layers": layers}

    def count(self, kind: str) -> int:
        return len(self.sections[kind])

    def record(self, kind: str, position: int) -> Data:
        return self.sections[kind][position]

    def index_part(self, name: str) -> Any:
        return self.index_parts[name]


def build(source: Source, load_info: LoadInfo) -> KnowledgeBase:
    """A knowledge base over `source`; each record and each index part is built the first
    time it is read."""
    records = {kind: Records(source.count(kind), _one(source, kind)) for kind in BUILDERS}
    return KnowledgeBase(**records, index=Index(_index_part(source)), load_info=load_info)


_SHAPE_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError)


def _one(source: Source, kind: str) -> Callable[[int], Any]:
    builder = BUILDERS[kind]

    def build_one(position: int) -> Any:
        try:
            return builder(source.record(kind, position))
        except _SHAPE_ERRORS as exc:
            raise _damaged(f"{kind} {position}", exc) from None

    return build_one


def _index_part(source: Source) -> Callable[[str], Any]:
    def fetch(name: str) -> Any:
        try:
            data = source.index_part(name)
            if name == "therapies":
                return tuple(
                    TherapyFacets(i, n, line, ev, tuple(c), tuple(s), tuple(studies))
                    for i, n, line, ev, c, s, studies in data
                )
            if name == "layers":
                return tuple(
                    KnowledgeLayer(**layer | {"files": tuple(layer["files"])}) for layer in data
                )
            return data
        except _SHAPE_ERRORS as exc:
            raise _damaged(f"index {name}", exc) from None

    return fetch


def _damaged(where: str, exc: Exception) -> KnowledgeError:
    """Validated data always fits; data that does not (a cache altered with its digest forged)
    is one clear knowledge error, never a traceback."""
    return KnowledgeError(
        f"cached knowledge does not fit this calcref ({where}: {exc!r}); "
        "delete the calcref cache directory and run again"
    )


# --- the index: built once from the plain records, stored in the cache beside them ----------

ID_KINDS = ("subtypes", "contexts", "investigations", "references", "therapies", "studies")
NAMED = {
    "context": "contexts",
    "subtype": "subtypes",
    "therapy": "therapies",
    "reference": "references",
}
WITH_ALIASES = ("context", "therapy")


def index_of(sections: dict[str, list[Data]]) -> dict[str, Any]:
    """Every part `Index` can fetch, by name, as JSON-ready plain data."""
    studies_of: dict[str, list[int]] = {t["id"]: [] for t in sections["therapies"]}
    for position, study in enumerate(sections["studies"]):
        for therapy_id in study["therapies"]:
            studies_of[therapy_id].append(position)
    parts: dict[str, Any] = {
        f"positions:{kind}": {r["id"]: i for i, r in enumerate(sections[kind])} for kind in ID_KINDS
    }
    for name, kind in NAMED.items():
        parts[f"names:{name}"] = _names(sections[kind], name in WITH_ALIASES)
    parts["context_parent"] = {c["id"]: c.get("parent") for c in sections["contexts"]}
    parts["therapies"] = [
        _facets(t, studies_of[t["id"]], sections["studies"]) for t in sections["therapies"]
    ]
    return parts


def _names(records: list[Data], with_aliases: bool) -> dict[str, str]:
    names: dict[str, str] = {}
    for record in records:
        names[record["id"].casefold()] = record["id"]
        for alias in (record.get("aliases") or []) if with_aliases else ():
            names[alias.casefold()] = record["id"]
    return names


def _facets(therapy: Data, study_positions: list[int], studies: list[Data]) -> list:
    ladder = next((p for p in therapy.get("positions") or () if p.get("evidence")), {})
    contexts = [link["context"] for link in therapy.get("contexts") or ()]
    subtypes = list(therapy.get("subtypes") or ())
    for position in study_positions:
        contexts += studies[position].get("contexts") or []
        subtypes += studies[position].get("subtypes") or []
    return [
        therapy["id"],
        therapy["name"],
        ladder.get("line"),
        ladder.get("evidence"),
        list(dict.fromkeys(contexts)),
        list(dict.fromkeys(subtypes)),
        study_positions,
    ]
