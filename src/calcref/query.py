"""Pure questions asked of the knowledge base: resolve names, filter and rank.

No printing, no exits, no formatting: each function takes the knowledge base and plain values
and returns records or raises UnknownValueError, so every output format answers from the same
results.
"""

from __future__ import annotations

from typing import NamedTuple

from calcref.errors import UnknownValueError
from calcref.model import (
    EVIDENCE_LETTERS,
    LINE_ORDER,
    Context,
    EvidenceLevel,
    Investigation,
    KnowledgeBase,
    Reference,
    Subtype,
    Therapy,
    TherapyFacets,
    Tie,
)

ALL = "all"


# --- names ---------------------------------------------------------------------------------


def _ids(kb: KnowledgeBase, kind: str) -> list[str]:
    return list(kb.index.positions(NAMED[kind]))


NAMED = {
    "context": "contexts",
    "subtype": "subtypes",
    "therapy": "therapies",
    "reference": "references",
}


def name_choices(kb: KnowledgeBase, kind: str) -> list[str]:
    """Every id and alias a user may type for `kind` (context, subtype, therapy, reference)."""
    return sorted(kb.index.names(kind))


def resolve(kb: KnowledgeBase, kind: str, value: str) -> str:
    """The id a user means by `value`: case-insensitive, aliases accepted."""
    names = kb.index.names(kind)
    folded = value.strip().casefold()
    if folded in names:
        return names[folded]
    import difflib  # only on the error path: it costs milliseconds to import

    # A prefix ("mino") is the likeliest meaning; otherwise the closest spelling ("sscc").
    prefixed = sorted((n for n in names if folded and n.startswith(folded)), key=len)
    close = prefixed[:1] or difflib.get_close_matches(folded, list(names), n=1, cutoff=0.6)
    raise UnknownValueError(kind, value, _ids(kb, kind), names[close[0]] if close else None)


# --- contexts ------------------------------------------------------------------------------


def ancestors(kb: KnowledgeBase, context_id: str) -> list[str]:
    """The context's broader parents, nearest first."""
    parent_of = kb.index.context_parent
    chain: list[str] = []
    parent = parent_of[context_id]
    while parent is not None and parent not in chain:
        chain.append(parent)
        parent = parent_of[parent]
    return chain


def descendants(kb: KnowledgeBase, context_id: str) -> list[str]:
    """Narrower contexts inside this one, in knowledge-file order."""
    return [c for c in kb.index.context_parent if context_id in ancestors(kb, c)]


class Match(NamedTuple):
    """How a record matched a context filter: directly, via a broader parent, or a narrower one."""

    kind: str  # direct | broader | narrower
    context: str


class ContextFilter(NamedTuple):
    """A context with its parents and children looked up once, not once per record."""

    wanted: str
    broader: tuple[str, ...]
    narrower: tuple[str, ...]

    @classmethod
    def of(cls, kb: KnowledgeBase, context_id: str) -> ContextFilter:
        return cls(context_id, tuple(ancestors(kb, context_id)), tuple(descendants(kb, context_id)))

    def match(self, reported: set[str]) -> Match | None:
        if self.wanted in reported:
            return Match("direct", self.wanted)
        for kind, candidates in (("broader", self.broader), ("narrower", self.narrower)):
            for candidate in candidates:
                if candidate in reported:
                    return Match(kind, candidate)
        return None


# --- therapies -----------------------------------------------------------------------------


class TherapyResult(NamedTuple):
    therapy: Therapy
    match: Match | None


def facets(kb: KnowledgeBase, therapy_id: str) -> TherapyFacets:
    return kb.index.therapies[kb.index.positions("therapies")[therapy_id]]


def therapy_contexts(kb: KnowledgeBase, therapy: Therapy) -> list[str]:
    """Contexts a therapy was reported in, by itself or through its studies."""
    return list(facets(kb, therapy.id).contexts)


def therapy_subtypes(kb: KnowledgeBase, therapy: Therapy) -> list[str]:
    """Subtypes a therapy was reported in, by itself or through its studies."""
    return list(facets(kb, therapy.id).subtypes)


def ladder_key(therapy: Therapy | TherapyFacets) -> tuple[int, int, str]:
    """Ladder position, then evidence strength (A first, ungraded last), then name."""
    letter = therapy.evidence
    strength = EVIDENCE_LETTERS.index(letter) if letter else len(EVIDENCE_LETTERS)
    return (LINE_ORDER[therapy.line], strength, therapy.name.casefold())


def treat(
    kb: KnowledgeBase,
    context: str | None = None,
    subtype: str | None = None,
    line: str | None = None,
    min_evidence: str | None = None,
) -> list[TherapyResult]:
    """Therapies fitting every filter given, in ladder order.

    Filters run on the index's facets, so only the therapies that match are ever built.
    """
    results: list[TherapyResult] = []
    context_filter = ContextFilter.of(kb, context) if context is not None else None
    for facet in sorted(kb.index.therapies, key=ladder_key):
        match = None
        if context_filter is not None:
            match = context_filter.match(set(facet.contexts))
            if match is None:
                continue
        if subtype is not None and subtype not in facet.subtypes:
            continue
        if line is not None and facet.line != line:
            continue
        if min_evidence is not None and not _at_least(facet.evidence, min_evidence):
            continue
        results.append(TherapyResult(kb.therapy_by_id[facet.id], match))
    return results


def _at_least(letter: str | None, minimum: str) -> bool:
    return letter is not None and EVIDENCE_LETTERS.index(letter) <= EVIDENCE_LETTERS.index(minimum)


def therapy_references(kb: KnowledgeBase, therapy: Therapy) -> list[Reference]:
    """Every reference behind a therapy's record, in the knowledge file's reference order."""
    ids = set(therapy.sources)
    ids.update(p.source for p in therapy.positions)
    for group in (therapy.regimens, therapy.mechanism, therapy.uses, therapy.contexts):
        for item in group:
            ids.update(item.sources)
    for study in kb.studies_of(therapy.id):
        ids.add(study.ref)
        ids.update(study.sources)
    positions = kb.index.positions("references")
    return [kb.references[i] for i in sorted(positions[r] for r in ids)]


# --- workup --------------------------------------------------------------------------------


class WorkupResult(NamedTuple):
    investigation: Investigation
    ties: tuple[Tie, ...]


def workup(
    kb: KnowledgeBase, subtype: str | None = None, context: str | None = None
) -> list[WorkupResult]:
    """Investigations with only the reasons that apply to the subtype and/or context asked."""
    targets: set[str] | None = None
    if subtype is not None or context is not None:
        targets = {ALL}
        if subtype is not None:
            targets.add(subtype)
        if context is not None:
            chain = [context, *ancestors(kb, context)]
            targets.update(chain)
            if subtype is None:
                for cid in chain:
                    targets.update(kb.context_by_id[cid].subtypes)
    results = []
    for investigation in kb.investigations:
        ties = tuple(t for t in investigation.ties if targets is None or t.target in targets)
        if ties:
            results.append(WorkupResult(investigation, ties))
    return results


# --- subtypes, references, levels -----------------------------------------------------------


def subtypes(kb: KnowledgeBase, subtype: str | None = None) -> list[Subtype]:
    if subtype is not None:
        return [kb.subtype_by_id[subtype]]
    return sorted(kb.subtypes, key=lambda s: not s.major)


def subtype_contexts(kb: KnowledgeBase, subtype: Subtype) -> list[Context]:
    ids = set(subtype.contexts) | {c.id for c in kb.contexts if subtype.id in c.subtypes}
    return [c for c in kb.contexts if c.id in ids]


def references(
    kb: KnowledgeBase, ids: list[str] | None = None, therapy: str | None = None
) -> list[Reference]:
    """References by id (in the order asked), or those behind one therapy, or all."""
    chosen = list(kb.references)
    if therapy is not None:
        chosen = therapy_references(kb, kb.therapy_by_id[therapy])
    if ids:
        wanted = list(dict.fromkeys(ids))
        chosen = [r for i in wanted for r in chosen if r.id == i]
    return chosen


def levels(kb: KnowledgeBase) -> list[tuple[EvidenceLevel, list[str]]]:
    """Each evidence letter with the ids of the therapies the ladder places at it."""
    ordered = sorted(kb.index.therapies, key=ladder_key)
    return [
        (lvl, [f.id for f in ordered if f.evidence == lvl.letter]) for lvl in kb.evidence_levels
    ]


def ungraded(kb: KnowledgeBase) -> list[str]:
    """Ids of the therapies the sources name without an evidence letter."""
    return [f.id for f in sorted(kb.index.therapies, key=ladder_key) if f.evidence is None]
