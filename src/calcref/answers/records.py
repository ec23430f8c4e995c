"""Answers as plain data: the stable JSON contract every output format is built from.

A record's own fields come from the model's declarations (`Record.as_json`), so a field added
there is in the JSON, in search and in the CSV and Markdown columns the day it is declared.
What this module adds is what an answer derives: where a record came from, a reference's
short label and link, a therapy's ladder place, the contexts and subtypes reached through its
studies, and how it matched a filter. Keys are documented in the README; renaming one breaks
users' scripts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from calcref.answers import query
from calcref.answers.links import link
from calcref.knowledge import stack
from calcref.model import (
    SECTIONS,
    Gap,
    KnowledgeBase,
    KnowledgeLayer,
    Manifest,
    Reference,
    Study,
    Subtype,
    Therapy,
)

Record = dict[str, Any]


def short_label(ref: Reference) -> str:
    """A reader's handle for a reference: 'Balin 2012', 'Cloutier (JOPA)', 'Chapter'."""
    if ref.type == "chapter":
        return "Chapter"
    if not ref.authors:  # authors not shown: the journal and year, else the curators' key
        return f"{ref.journal} {ref.year}" if ref.journal and ref.year else ref.id
    family = _family(ref.authors[0])
    if ref.year is not None:
        return f"{family} {ref.year}"
    if ref.journal == "Journal of Orthopedics for Physician Assistants":
        return f"{family} (JOPA)"
    return family


def _family(author: str) -> str:
    """The family name of an author as printed: 'Balin SJ' (initials last, Vancouver style)
    or 'Smeeta Sinha' (given names first, as some title pages print them)."""
    words = author.split()
    if len(words) > 1 and words[-1].isupper() and len(words[-1]) <= 3:
        return " ".join(words[:-1])
    return words[-1] if words else author


def labels(kb: KnowledgeBase) -> dict[str, str]:
    """Every reference id with the label a reader knows it by, the same in every answer and
    format. Two references that would share a label are told apart as citation styles do:
    'Nunley 2020a', 'Nunley 2020b', the letters given in the order of their titles (then
    of their ids), so a reference keeps its letter whatever the question."""
    if _labelled and _labelled[0] is kb:  # one knowledge base per run: worked out once
        return _labelled[1]
    shared: dict[str, list[Reference]] = {}
    for ref in kb.references:
        shared.setdefault(short_label(ref), []).append(ref)
    found = {}
    for label, refs in shared.items():
        if len(refs) == 1:
            found[refs[0].id] = label
            continue
        ordered = sorted(refs, key=lambda ref: ((ref.title or "").casefold(), ref.id))
        for index, ref in enumerate(ordered):
            found[ref.id] = _lettered(label, index)
    _labelled[:] = [kb, found]
    return found


_labelled: list[Any] = []  # the knowledge base last labelled, and its labels


def _lettered(label: str, index: int) -> str:
    """'Nunley 2020' + 'a'; a label without a year takes the letter apart: 'Cloutier (JOPA) b'."""
    letter = _letters(index)
    return f"{label}{letter}" if label[-1:].isdigit() else f"{label} {letter}"


def _letters(index: int) -> str:
    """a, b, ..., z, aa, ab, ...: as many as there are references sharing a label."""
    head, last = divmod(index, 26)
    return (_letters(head - 1) if head else "") + chr(ord("a") + last)


def label_of(kb: KnowledgeBase, ref_id: str) -> str:
    """The reader's label of one reference (see `labels`)."""
    return labels(kb)[ref_id]


def origin(kb: KnowledgeBase, source_file: str | None) -> Record:
    """Where a record came from, the same on every machine: its layer (`bundled` for the
    knowledge calcref ships and for nothing else, or the directory as CALCREF_DATA gave it:
    see `stack.Layer.name`), its file relative to that layer, and whether the layer is an
    overlay. Never a site-packages path, which differs between installations."""
    if source_file is None:
        return {"layer": None, "source_file": None, "overlay": False}
    layer, name, overlay = _origin(kb.layers, source_file)
    return {"layer": layer, "source_file": name, "overlay": overlay}


@lru_cache(maxsize=64)
def _origin(layers: tuple[KnowledgeLayer, ...], source_file: str) -> tuple[str | None, str, bool]:
    path = Path(source_file)
    layer = next((x for x in layers if Path(x.directory) == path.parent), None)
    if layer is None:  # a record built in memory, outside any layer
        return None, source_file, False
    return (stack.BUNDLED if is_bundled(layer) else layer.directory), path.name, layer.overlay


def is_bundled(layer: KnowledgeLayer) -> bool:
    """Whether a layer is the knowledge calcref ships (as the base: it is never an overlay).
    Told by the directory itself, never by its name: a user's folder may be called anything."""
    return not layer.overlay and Path(layer.directory).resolve() == stack.bundled_dir().resolve()


Viewpoint = query.ContextFilter | query.SubtypeView | None


def study(kb: KnowledgeBase, item: Study, seen_from: Viewpoint = None) -> Record:
    """A study, with its reference's label; seen from a context or subtype asked, with
    `relation`: whose patients they are (this population, a narrower one, a broader group,
    another, or not stated by the source)."""
    label = {"label": label_of(kb, item.ref)}
    relation = {} if seen_from is None else {"relation": seen_from.relation(item)}
    record = item.as_json() | label | relation | origin(kb, item.source_file)
    record["counts"] = counts(record["counts"])
    return record


def counts(given: Record) -> Record:
    """The counts with `responders` always the total who improved where the source says:
    its own number, or complete + partial where it gives only the split (Balin 2012's "1
    complete, 2 partial" is 3 responders). A script need not know which way a source put it."""
    if given["responders"] is None and (
        given["complete"] is not None or given["partial"] is not None
    ):
        return given | {"responders": (given["complete"] or 0) + (given["partial"] or 0)}
    return given


LADDER, BEYOND = "chapter ladder", "beyond the chapter"


def therapy(
    kb: KnowledgeBase,
    item: Therapy,
    match: query.Match | None = None,
    seen_from: Viewpoint = None,
) -> Record:
    chapter = not query.ladder_sources(kb).isdisjoint(item.sources)
    record = {
        "id": item.id,
        "name": item.name,
        "place": LADDER if chapter else BEYOND,
        "line": item.line,
        "evidence": item.evidence,
        "graded_for": list(item.subtypes) if item.evidence else [],
    }
    record |= item.as_json() | {
        "other_forms": query.other_forms(kb, item),
        "contexts": query.therapy_contexts(kb, item),
        "subtypes": query.therapy_subtypes(kb, item),
        "studies": [study(kb, s, seen_from) for s in kb.studies_of(item.id)],
    }
    for position in record["positions"]:
        position["label"] = label_of(kb, position["source"])
    record |= origin(kb, item.source_file)
    if match is not None:
        record["match"] = match._asdict()
    return record


def treat(
    kb: KnowledgeBase,
    results: list[query.TherapyResult],
    context: str | None = None,
    subtype: str | None = None,
) -> list[Record]:
    seen_from = query.viewpoint(kb, context, subtype)
    rows = []
    for r in results:
        row = therapy(kb, r.therapy, r.match, seen_from)
        if not r.on_ladder:  # the chapter grades it for other patients than those asked about
            row["place"] = BEYOND
        row["strongest"] = r.strongest.id if r.strongest else None
        row["chosen_from"] = [s.id for s in r.chosen_from]
        row["sources_disagree"] = query.sources_disagree(r.therapy, r.chosen_from)
        rows.append(row)
    return rows


def studies(
    kb: KnowledgeBase, found: list[Study], context: str | None = None, subtype: str | None = None
) -> list[Record]:
    """Each study once (a study of two therapies is one record, naming both)."""
    seen_from = query.viewpoint(kb, context, subtype)
    return [study(kb, s, seen_from) for s in found]


def gaps(kb: KnowledgeBase, found: list[Gap]) -> list[Record]:
    """The gaps an answer meets, each saying where it came from (a clinic's gap is its own)."""
    return [gap.as_json() | origin(kb, gap.source_file) for gap in found]


ALWAYS = ("step", "principle", "general-measure")


def principles(kb: KnowledgeBase) -> list[Record]:
    """The chapter's management steps and principles that hold whatever the therapy: what a
    treatment answer says beside its rows. Other sources' principles concern their own
    patients (SSc, JDM), so they are in `overview`, not beside every answer."""
    chapter = query.ladder_sources(kb)
    return [
        p.as_json() | origin(kb, p.source_file)
        for p in kb.principles
        if p.kind in ALWAYS and not chapter.isdisjoint(p.sources)
    ]


def subtype(kb: KnowledgeBase, item: Subtype) -> Record:
    contexts = {"contexts": [c.id for c in query.subtype_contexts(kb, item)]}
    return item.as_json() | contexts | origin(kb, item.source_file)


def workup(kb: KnowledgeBase, results: list[query.WorkupResult]) -> list[Record]:
    """Each investigation with only the ties that apply (as `rationale`)."""
    rows = []
    for r in results:
        record = r.investigation.as_json()
        del record["ties"]
        sources = record.pop("sources")
        targets = list(dict.fromkeys(t.target for t in r.ties))  # two ties, one target
        record |= {
            "rationale": [t.as_json() for t in r.ties],
            "subtypes": [t for t in targets if t in kb.subtype_by_id or t == "all"],
            "contexts": [t for t in targets if t in kb.context_by_id],
            "sources": sources,
        }
        rows.append(record | origin(kb, r.investigation.source_file))
    return rows


def reference(kb: KnowledgeBase, item: Reference) -> Record:
    url, link_label = link(item)
    derived = {"label": label_of(kb, item.id), "url": url, "link": link_label}
    return item.as_json() | derived | origin(kb, item.source_file)


UNLETTERED = {
    "named": "Named in the chapter, not graded",
    "beyond": "Beyond the chapter: not named in it",
}


def levels(kb: KnowledgeBase) -> list[Record]:
    """Each letter with its therapies and the chapter's entries they come from, then the
    therapies without a letter, split: named by the chapter ungraded, or beyond it. A
    therapy an overlay gave is named in `from_overlays` with its file, so a clinic's therapy
    is never counted as the chapter's without a mark."""
    rows = [
        level.as_json()
        | {"count": len(ids), "therapies": ids, "entries": _entries(kb, level.letter)}
        | {"from_overlays": _from_overlays(kb, ids)}
        | origin(kb, level.source_file)
        for level, ids in query.levels(kb)
    ]
    for definition, ids in zip(UNLETTERED.values(), query.ungraded(kb), strict=True):
        rows.append(
            {"letter": None, "definition": definition, "sources": []}
            | {"count": len(ids), "therapies": ids, "entries": []}
            | {"from_overlays": _from_overlays(kb, ids)}
            | origin(kb, None)
        )
    return rows


def _from_overlays(kb: KnowledgeBase, ids: list[str]) -> list[Record]:
    found = ({"id": i} | origin(kb, kb.therapy_by_id[i].source_file) for i in ids)
    return [therapy for therapy in found if therapy["overlay"]]


def _entries(kb: KnowledgeBase, letter: str) -> list[Record]:
    return [{"entry": name, "therapies": ids} for name, ids in query.entries(kb, letter).items()]


def evidence_scale(kb: KnowledgeBase) -> list[Record]:
    """The letters and their definitions alone: what a table's legend needs."""
    return [
        {"letter": lvl.letter, "definition": lvl.definition} | origin(kb, lvl.source_file)
        for lvl in kb.evidence_levels
    ]


def overview(kb: KnowledgeBase) -> list[Record]:
    """The clinical picture, then the management strategy, as one list of sourced statements."""
    picture = [
        {"section": "clinical picture", "kind": f.aspect, "id": None, "text": f.text}
        | {"sources": list(f.sources)}
        | origin(kb, f.source_file)
        for f in kb.clinical_features
    ]
    management = [
        {"section": "management", "kind": p.kind, "id": p.id}
        | p.as_json()
        | origin(kb, p.source_file)
        for p in kb.principles
    ]
    return picture + management


def contexts(kb: KnowledgeBase) -> list[Record]:
    return [c.as_json() | origin(kb, c.source_file) for c in kb.contexts]


def info(kb: KnowledgeBase, version: str) -> Record:
    """Which calcref and which knowledge answered, from which files, and through which cache."""
    layers = [
        {"directory": layer.directory, "overlay": layer.overlay, "bundled": is_bundled(layer)}
        | layer._asdict()
        | {"files": list(layer.files)}
        for layer in kb.layers
    ]
    base = layers[0]
    return {
        "calcref": version,
        "knowledge": {key: base[key] for key in Manifest.FIELDS},
        "layers": layers,
        "counts": {section: len(getattr(kb, section)) for section in SECTIONS},
        "sources": [
            {"id": r.id, "label": label_of(kb, r.id), "kind": r.kind, "covers": r.covers}
            | origin(kb, r.source_file)
            for r in kb.references
        ],
        "cache": {"state": kb.load_info.cache_state, "entry": kb.load_info.cache_entry},
    }
