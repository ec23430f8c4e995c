"""Query results as plain data: the stable JSON contract every output format is built from.

Keys here are documented in the README; renaming one breaks users' scripts. Lists stay lists
and numbers stay numbers; only the table, Markdown and CSV writers flatten them for reading.
"""

from __future__ import annotations

from typing import Any

from calcref import query
from calcref.model import (
    Counts,
    CuratorNote,
    KnowledgeBase,
    Reference,
    Statement,
    Study,
    Subtype,
    Therapy,
)

Record = dict[str, Any]
COUNT_FIELDS = ("responders", "complete", "partial", "none", "unknown")


def short_label(ref: Reference) -> str:
    """A reader's handle for a reference: 'Balin 2012', 'Cloutier (JOPA)', 'Chapter'."""
    if ref.type == "chapter":
        return "Chapter"
    family = ref.authors[0].rsplit(" ", 1)[0] if ref.authors else ref.id
    if ref.year is not None:
        return f"{family} {ref.year}"
    if ref.journal == "Journal of Orthopedics for Physician Assistants":
        return f"{family} (JOPA)"
    return family


def origin(kb: KnowledgeBase, source_file: str | None) -> Record:
    """Where a record came from: its knowledge file, and whether that is an overlay's."""
    return {"source_file": source_file, "overlay": source_file in kb.overlay_files}


def notes(items: tuple[CuratorNote, ...]) -> list[Record]:
    return [{"id": n.id, "text": n.text} for n in items]


def statements(items: tuple[Statement, ...]) -> list[Record]:
    return [{"text": s.text, "sources": list(s.sources), "notes": notes(s.notes)} for s in items]


def counts(value: Counts) -> Record:
    return {name: getattr(value, name) for name in COUNT_FIELDS}


def study(kb: KnowledgeBase, item: Study) -> Record:
    return {
        "id": item.id,
        "ref": item.ref,
        "label": short_label(kb.reference_by_id[item.ref]),
        "therapies": list(item.therapies),
        "design": item.design,
        "population": item.population,
        "contexts": list(item.contexts),
        "subtypes": list(item.subtypes),
        "n": item.n,
        "age": item.age,
        "regimen": item.regimen,
        "outcome": item.outcome,
        "counts": counts(item.counts),
        "notes": notes(item.notes),
        "sources": list(item.sources),
    } | origin(kb, item.source_file)


def therapy(kb: KnowledgeBase, item: Therapy, match: query.Match | None = None) -> Record:
    record: Record = {
        "id": item.id,
        "name": item.name,
        "aliases": list(item.aliases),
        "line": item.line,
        "evidence": item.evidence,
        "positions": [
            {
                "source": p.source,
                "line": p.line,
                "evidence": p.evidence,
                "listed_as": p.listed_as,
                "view": p.view,
            }
            for p in item.positions
        ],
        "contexts": query.therapy_contexts(kb, item),
        "subtypes": query.therapy_subtypes(kb, item),
        "mechanism": statements(item.mechanism),
        "regimens": statements(item.regimens),
        "uses": statements(item.uses),
        "studies": [study(kb, s) for s in kb.studies_of(item.id)],
        "notes": notes(item.notes),
        "sources": list(item.sources),
    } | origin(kb, item.source_file)
    if match is not None:
        record["match"] = {"kind": match.kind, "context": match.context}
    return record


def treat(kb: KnowledgeBase, results: list[query.TherapyResult]) -> list[Record]:
    return [therapy(kb, r.therapy, r.match) for r in results]


def subtype(kb: KnowledgeBase, item: Subtype) -> Record:
    return {
        "id": item.id,
        "name": item.name,
        "major": item.major,
        "variant_of": item.variant_of,
        "most_common": item.most_common,
        "calcium_phosphate": item.calcium_phosphate,
        "summary": item.summary,
        "examples": list(item.examples),
        "contexts": [c.id for c in query.subtype_contexts(kb, item)],
        "frequencies": [
            {"context": f.context, "figure": f.figure, "statements": statements(f.statements)}
            for f in item.frequencies
        ],
        "notes": notes(item.notes),
        "sources": list(item.sources),
    } | origin(kb, item.source_file)


def workup(kb: KnowledgeBase, results: list[query.WorkupResult]) -> list[Record]:
    return [
        {
            "id": r.investigation.id,
            "name": r.investigation.name,
            "looks_for": r.investigation.looks_for,
            "rationale": [
                {
                    "target": t.target,
                    "basis": t.basis,
                    "reason": t.reason,
                    "sources": list(t.sources),
                }
                for t in r.ties
            ],
            "subtypes": [
                t.target for t in r.ties if t.target in kb.subtype_by_id or t.target == "all"
            ],
            "contexts": [t.target for t in r.ties if t.target in kb.context_by_id],
            "sources": list(r.investigation.sources),
        }
        | origin(kb, r.investigation.source_file)
        for r in results
    ]


def reference(kb: KnowledgeBase, item: Reference, url: str | None, link_label: str) -> Record:
    return {
        "id": item.id,
        "type": item.type,
        "label": short_label(item),
        "authors": list(item.authors),
        "et_al": item.et_al,
        "title": item.title,
        "journal": item.journal,
        "book": item.book,
        "year": item.year,
        "volume": item.volume,
        "issue": item.issue,
        "pages": item.pages,
        "article_number": item.article_number,
        "doi": item.doi,
        "url": url,
        "link": link_label,
        "printed": [{"source": p.source, "text": p.text} for p in item.printed],
        "notes": notes(item.notes),
    } | origin(kb, item.source_file)


def citations(kb: KnowledgeBase, refs: list[Reference]) -> list[Record]:
    """References with their link and their AMA text, as `cite` and `show` list them."""
    from calcref import citations as styles  # only the commands that cite pay for it

    return [
        reference(kb, ref, *styles.link(ref)) | {"citation": styles.format_one(ref, "ama")}
        for ref in refs
    ]


def levels(kb: KnowledgeBase) -> list[Record]:
    rows = [
        {
            "letter": level.letter,
            "definition": level.definition,
            "count": len(ids),
            "therapies": ids,
        }
        | origin(kb, level.source_file)
        for level, ids in query.levels(kb)
    ]
    ungraded = query.ungraded(kb)
    rows.append(
        {
            "letter": None,
            "definition": "Not graded in the source",
            "count": len(ungraded),
            "therapies": ungraded,
        }
        | origin(kb, None)
    )
    return rows


def evidence_scale(kb: KnowledgeBase) -> list[Record]:
    """The letters and their definitions alone: what a table's legend needs."""
    return [{"letter": lvl.letter, "definition": lvl.definition} for lvl in kb.evidence_levels]


def overview(kb: KnowledgeBase) -> list[Record]:
    """The clinical picture, then the management strategy, as one list of sourced statements."""
    picture = [
        {
            "section": "clinical picture",
            "kind": f.aspect,
            "id": None,
            "text": f.text,
            "sources": list(f.sources),
        }
        | origin(kb, f.source_file)
        for f in kb.clinical_features
    ]
    management = [
        {
            "section": "management",
            "kind": p.kind,
            "id": p.id,
            "text": p.text,
            "sources": list(p.sources),
        }
        | origin(kb, p.source_file)
        for p in kb.principles
    ]
    return picture + management


def contexts(kb: KnowledgeBase) -> list[Record]:
    return [
        {
            "id": c.id,
            "name": c.name,
            "aliases": list(c.aliases),
            "parent": c.parent,
            "subtypes": list(c.subtypes),
            "summary": c.summary,
            "sources": list(c.sources),
        }
        | origin(kb, c.source_file)
        for c in kb.contexts
    ]


RECORD_KINDS = (
    "subtypes",
    "contexts",
    "clinical_features",
    "investigations",
    "principles",
    "evidence_levels",
    "references",
    "therapies",
    "studies",
)


def info(kb: KnowledgeBase, version: str) -> Record:
    """Which calcref and which knowledge answered, from which files, and through which cache."""
    layers = [
        {
            "directory": layer.directory,
            "overlay": layer.overlay,
            "files": list(layer.files),
            "version": layer.version,
            "date": layer.date,
            "title": layer.title,
        }
        for layer in kb.index.layers
    ]
    base = layers[0]
    return {
        "calcref": version,
        "knowledge": {key: base[key] for key in ("version", "date", "title")},
        "layers": layers,
        "counts": {kind: len(getattr(kb, kind)) for kind in RECORD_KINDS},
        "cache": {"state": kb.load_info.cache_state, "entry": kb.load_info.cache_entry},
    }
