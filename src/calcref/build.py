"""Turn validated plain data into model records.

Runs after validation (or on data read back from a verified cache), so it may assume every
shape the schema promises; a KeyError or TypeError here means the cache lied, and the caller
falls back to the files.
"""

from __future__ import annotations

from typing import Any

from calcref.model import (
    ClinicalFeature,
    Context,
    ContextLink,
    Counts,
    CuratorNote,
    EvidenceLevel,
    Frequency,
    Investigation,
    KnowledgeBase,
    Position,
    Principle,
    Printed,
    Reference,
    Statement,
    Study,
    Subtype,
    Therapy,
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
    )


def _investigation(r: Data) -> Investigation:
    ties = tuple(Tie(t["target"], t["reason"], t["basis"], _t(t["sources"])) for t in r["ties"])
    return Investigation(r["id"], r["name"], r["looks_for"], ties, _t(r["sources"]))


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
    )


def build(subtypes_data: Data, therapies_data: Data) -> KnowledgeBase:
    """Both files' validated contents as one knowledge base."""
    return KnowledgeBase(
        subtypes=tuple(map(_subtype, subtypes_data["subtypes"])),
        contexts=tuple(map(_context, subtypes_data["contexts"])),
        investigations=tuple(map(_investigation, subtypes_data["investigations"])),
        clinical_features=tuple(
            ClinicalFeature(f["aspect"], f["text"], _t(f["sources"]))
            for f in subtypes_data["clinical_features"]
        ),
        principles=tuple(
            Principle(p["id"], p["kind"], p["text"], _t(p["sources"]))
            for p in subtypes_data["principles"]
        ),
        evidence_levels=tuple(
            EvidenceLevel(e["letter"], e["definition"], _t(e["sources"]))
            for e in therapies_data["evidence_levels"]
        ),
        references=tuple(map(_reference, therapies_data["references"])),
        therapies=tuple(map(_therapy, therapies_data["therapies"])),
        studies=tuple(map(_study, therapies_data["studies"])),
    )
