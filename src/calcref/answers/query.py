"""Pure questions asked of the knowledge base: resolve names, filter and rank.

No printing, no exits, no formatting: each function takes the knowledge base and plain values
and returns records or raises UnknownValueError, so every output format answers from the same
results.
"""

from __future__ import annotations

from calcref.errors import AmbiguousValueError, UnknownValueError
from calcref.model import (
    ALL_SUBTYPES,
    EVIDENCE_LETTERS,
    LINE_ORDER,
    NAMED_KINDS,
    SOURCE_RANK,
    Context,
    EvidenceLevel,
    Gap,
    Investigation,
    KnowledgeBase,
    Position,
    Reference,
    Study,
    Subtype,
    Therapy,
    Tie,
    Value,
    name_key,
    references_of,
)

# --- names ---------------------------------------------------------------------------------


def _ids(kb: KnowledgeBase, kind: str) -> list[str]:
    return [record.id for record in getattr(kb, NAMED_KINDS[kind])]


def name_choices(kb: KnowledgeBase, kind: str) -> list[str]:
    """Every id and alias a user may type for `kind` (context, subtype, therapy, reference)."""
    return sorted(kb.names[kind])


def resolve(kb: KnowledgeBase, kind: str, value: str) -> str:
    """The id a user means by `value`: case-insensitive, aliases accepted."""
    names = kb.names[kind]
    folded = name_key(value)
    if folded in names:
        return names[folded]
    ambiguous = {name_key(a.id): a for a in kb.ambiguous_names} if kind == "context" else {}
    if folded in ambiguous:
        raise AmbiguousValueError(value, ambiguous[folded].text, ambiguous[folded].contexts)
    import difflib  # only on the error path: it costs milliseconds to import

    # A prefix ("mino") is the likeliest meaning; otherwise a near spelling ("sscc"), never
    # merely a similar word ("rituximab" is not "infliximab").
    prefixed = sorted((n for n in names if len(folded) > 2 and n.startswith(folded)), key=len)
    close = prefixed[:1] or difflib.get_close_matches(folded, list(names), n=1, cutoff=NEAR)
    raise UnknownValueError(kind, value, _ids(kb, kind), names[close[0]] if close else None)


NEAR = (
    0.8  # difflib's ratio for a near spelling: "sscc" → "ssc" 0.86, "rituximab" → "infliximab" 0.63
)


# --- contexts ------------------------------------------------------------------------------


def ancestors(kb: KnowledgeBase, context_id: str) -> list[str]:
    """The context's broader parents, nearest first."""
    chain: list[str] = []
    parent = kb.context_by_id[context_id].parent
    while parent is not None and parent not in chain:
        chain.append(parent)
        parent = kb.context_by_id[parent].parent
    return chain


def descendants(kb: KnowledgeBase, context_id: str) -> list[str]:
    """Narrower contexts inside this one, in knowledge-file order."""
    return [c.id for c in kb.contexts if context_id in ancestors(kb, c.id)]


def context_subtypes(kb: KnowledgeBase, context_id: str) -> list[str]:
    """The kinds of calcinosis the context's patients have, by it or a group containing it
    (lupus: dystrophic, as connective tissue disease), each once."""
    chain = (context_id, *ancestors(kb, context_id))
    return list(dict.fromkeys(s for c in chain for s in kb.context_by_id[c].subtypes))


class Match(Value):
    """Why a therapy answers a context: where it was reported (the context itself, a narrower
    group inside it, or only a broader group containing it) and how: `studied` (a study's
    patients were in that group) or `named` (a source lists it for the group, without a
    study there)."""

    kind: str  # direct | narrower | broader
    context: str
    evidence: str  # studied | named


class ContextFilter(Value):
    """A context with its parents, children and subtypes looked up once, not once per
    record."""

    wanted: str
    broader: tuple[str, ...]
    narrower: tuple[str, ...]
    subtypes: tuple[str, ...] = ()  # of the context and the groups containing it

    @classmethod
    def of(cls, kb: KnowledgeBase, context_id: str) -> ContextFilter:
        return cls(
            context_id,
            tuple(ancestors(kb, context_id)),
            tuple(descendants(kb, context_id)),
            tuple(context_subtypes(kb, context_id)),
        )

    def match(self, studied: set[str], named: set[str]) -> Match | None:
        """The closest evidence first: the context itself, then inside it, then a group
        containing it; at each, a study before a mere mention."""
        for kind, groups in (
            ("direct", (self.wanted,)),
            ("narrower", self.narrower),
            ("broader", self.broader),
        ):
            for evidence, reported in (("studied", studied), ("named", named)):
                for group in groups:
                    if group in reported:
                        return Match(kind, group, evidence)
        return None

    def relation(self, study: Study) -> str:
        """Whose patients a study's are, seen from the context asked: this, narrower,
        broader (a group containing it: not this population's own result), other, or
        unstated: the source does not say which disease its patients had (nowaczyk2021:
        "Ages and underlying diseases of the pooled patients: not shown"), so they are
        neither said to be these patients nor said not to be. Patients named by another
        kind of calcinosis than this context's are others (familial tumoral calcinosis,
        seen from SSc). Excluded: the source says it left out every kind of calcinosis this
        context has (nowaczyk2021 excluded calciphylaxis; seen from dialysis)."""
        if self.subtypes and set(self.subtypes) <= set(study.excluded):
            return "excluded"
        contexts = study.contexts
        if not contexts:
            differ = bool(study.subtypes) and set(self.subtypes).isdisjoint(study.subtypes)
            return "other" if differ else "unstated"
        if self.wanted in contexts:
            return "this"
        if any(c in self.narrower for c in contexts):
            return "narrower"
        if any(c in self.broader for c in contexts):
            return "broader"
        return "other"

    def tier(self, study: Study) -> int:
        """How close a study's patients are to those asked about (`TIERS`): a study of other
        patients with the kind of calcinosis this context has (for lupus, a dystrophic
        series in dermatomyositis), or of patients the source does not describe, before one
        of another kind (a calciphylaxis meta-analysis, a tumoral calcinosis series)."""
        relation = self.relation(study)
        if relation in OWN:
            return 0
        if relation == "broader":
            return 1
        if study.subtypes:
            return 2 if not set(self.subtypes).isdisjoint(study.subtypes) else 3
        return 2 if relation == "unstated" else 3


class SubtypeView(Value):
    """A subtype asked about: a study's patients had it, or another (another population), or
    the source does not say which kind of calcinosis they had (unstated)."""

    wanted: str

    def relation(self, study: Study) -> str:
        if self.wanted in study.subtypes:
            return "this"
        if self.wanted in study.excluded:
            return "excluded"
        return "other" if study.subtypes else "unstated"

    def tier(self, study: Study) -> int:
        """This subtype's patients first, then patients the source does not describe, then
        another population (`TIERS`)."""
        return {"this": 0, "unstated": 2}.get(self.relation(study), 3)


class TherapyView(Value):
    """Asked about no one in particular: a row speaks for the therapy's own subtypes (for a
    chapter therapy, those its letter grades), so a calciphylaxis meta-analysis does not
    headline bisphosphonates' row on the dystrophic ladder."""

    subtypes: tuple[str, ...]

    def relation(self, study: Study) -> None:
        """No one was asked about, so a study's patients are no one's in particular."""

    def tier(self, study: Study) -> int:
        return 0 if not self.subtypes or not set(self.subtypes).isdisjoint(study.subtypes) else 3


TIERS = ("own patients", "a group containing them", "the same kind or unstated", "others")
"""A study's closeness to the patients asked about, as `tier` numbers it (0 to 3)."""


def viewpoint(
    kb: KnowledgeBase, context: str | None, subtype: str | None
) -> ContextFilter | SubtypeView | None:
    """Where an answer is seen from, to say whose patients each study counts: the context
    asked, else the subtype asked, else nowhere in particular."""
    if context is not None:
        return ContextFilter.of(kb, context)
    return SubtypeView(subtype) if subtype is not None else None


# --- therapies -----------------------------------------------------------------------------


class TherapyResult(Value):
    """A therapy that answers the question: how it matched the context asked, whether it is on
    the chapter's ladder, its strongest study for the patients asked about, and the studies
    that one was chosen among (where their directions differ, the row says so)."""

    therapy: Therapy
    match: Match | None
    on_ladder: bool = True
    strongest: Study | None = None
    chosen_from: tuple[Study, ...] = ()


def ladder_sources(kb: KnowledgeBase) -> frozenset[str]:
    """Whose ladder it is: the sources that define the evidence letters (the chapter). A
    therapy no such source names is "beyond the chapter", however many others discuss it."""
    return frozenset(source for level in kb.evidence_levels for source in level.sources)


def strength(study: Study) -> tuple[int, int]:
    """The kind of source first (a randomised trial before a case report, whatever either
    found), then the patients it counts."""
    return (SOURCE_RANK.get(study.kind or "", len(SOURCE_RANK)), -(study.n or 0))


class Headline(Value):
    """The study a row leads with, how close its patients are to those asked about (a
    `TIERS` number; 4 when there is no study), and the studies it was chosen among: as close,
    of the same aim and with the same kind of calcinosis, so that where these point
    different ways the row can say its sources disagree."""

    closeness: int
    study: Study | None
    chosen_from: tuple[Study, ...]


View = ContextFilter | SubtypeView | TherapyView


def strongest(studies: tuple[Study, ...], seen_from: View) -> Headline:
    """The study a row leads with. Population first: the patients asked about (this
    population or one inside it), else a group containing them, else others with the same
    kind of calcinosis or undescribed patients, else anyone (`TIERS`). A treatment answer
    leads with a study of treatment: a study of prevention (cinacalcet against new
    calciphylaxis, floege2015) gives way to a treatment study of the patients asked about or
    of a group containing them (for dialysis, cinacalcet's null mortality result in CKD,
    udomkarnjananun), never to one of other patients (for hyperparathyroidism, floege2015's
    patients had it; udomkarnjananun's CKD patients are not said to). Among equally close
    studies, one that reports a result comes first (`_headline`)."""
    # A study that says it left out the patients asked about never speaks for them.
    studies = tuple(s for s in studies if seen_from.relation(s) != "excluded")
    if not studies:
        return Headline(len(TIERS), None, ())

    def rank(study: Study) -> tuple[int, bool, int]:
        tier = seen_from.tier(study)
        asked = 0 if tier <= 1 else tier  # the patients asked about or a group containing them
        return (asked, study.aim == "prevention", tier)

    best = min(studies, key=lambda s: (rank(s), _headline(s)))
    kind = set(best.subtypes)  # a dystrophic case does not disagree with a calciphylaxis cohort
    alike = [s for s in studies if set(s.subtypes) == kind or not kind.isdisjoint(s.subtypes)]
    return Headline(seen_from.tier(best), best, tuple(s for s in alike if rank(s) == rank(best)))


def sources_disagree(therapy: Therapy, chosen_from: tuple[Study, ...]) -> bool:
    """Whether a row must say its sources disagree: the studies its lead was chosen among
    point different ways (Weenig 2007's P = .008 beside surgery2000's P = .08), or the
    curators record a known conflict (`Therapy.disagreement`: the chapter's diltiazem, C
    through Balin's 9 of 17, against Vayssairat's 3 of 12, where Balin's summary carries no
    direction to compare)."""
    directions = {s.direction for s in chosen_from} - {None}
    return len(directions) > 1 or therapy.disagreement is not None


def _headline(study: Study) -> tuple[bool, int, bool, int]:
    """A study that reports a result for the therapy (patients, counts, an effect, a
    direction or the authors' conclusion) before one that reports none, such as a review's
    hedged mention: otherwise "several studies suggest it might be useful" would stand in
    for a cohort's own result. Then the strongest kind of source; within a kind, the
    therapy alone before it combined with others (Balin 2012: surgical excision alone, 11 of
    11 responding, before surgery with medical treatment), then the most patients."""
    reports = (
        study.n is not None
        or study.direction is not None
        or study.conclusion is not None
        or bool(study.effects)
        or any(count is not None for count in study.counts.as_row())
    )
    kind, patients = strength(study)
    return (not reports, kind, study.treatment is not None, patients)


OWN = ("this", "narrower")


def therapy_contexts(kb: KnowledgeBase, therapy: Therapy) -> list[str]:
    """Contexts a therapy was reported in, by itself or through its studies."""
    own = [link.context for link in therapy.contexts]
    return list(dict.fromkeys(own + [c for s in kb.studies_of(therapy.id) for c in s.contexts]))


def therapy_subtypes(kb: KnowledgeBase, therapy: Therapy) -> list[str]:
    """Subtypes a therapy was reported in, by itself or through its studies."""
    own = list(therapy.subtypes)
    return list(dict.fromkeys(own + [c for s in kb.studies_of(therapy.id) for c in s.subtypes]))


def ladder_key(therapy: Therapy) -> tuple[int, int, str]:
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
    """Therapies fitting every filter given: the chapter's ladder in its order, then the
    therapies beyond the chapter, strongest kind of source first (among studies of the
    patients asked about), so a null randomised trial is never outranked by a positive case
    report. A line matches any source's position (minocycline is first line per the JOPA
    article, second per the chapter); the evidence letter is the chapter's alone."""
    ladder, beyond = [], []
    context_filter = ContextFilter.of(kb, context) if context is not None else None
    seen_from = viewpoint(kb, context, subtype)
    chapter = ladder_sources(kb)
    for therapy in sorted(kb.therapies, key=ladder_key):
        match = None
        if context_filter is not None:
            studied = {c for s in kb.studies_of(therapy.id) for c in s.contexts}
            named = {link.context for link in therapy.contexts}
            match = context_filter.match(studied, named)
            if match is None:
                continue
        if subtype is not None and subtype not in therapy_subtypes(kb, therapy):
            continue
        if line is not None and line not in {
            p.line for p in therapy.positions if _place_is_for(kb, p, context)
        }:
            continue
        if min_evidence is not None and not _at_least(therapy.evidence, min_evidence):
            continue
        headline = strongest(kb.studies_of(therapy.id), seen_from or TherapyView(therapy.subtypes))
        best = headline.study
        on_ladder = not chapter.isdisjoint(therapy.sources) and _chapter_speaks_for(
            kb, therapy, subtype, context
        )
        result = TherapyResult(therapy, match, on_ladder, best, headline.chosen_from)
        if on_ladder:
            ladder.append(result)
        else:
            key = (headline.closeness, strength(best) if best else (len(SOURCE_RANK), 0))
            beyond.append((key, result))
    beyond.sort(key=lambda pair: pair[0])  # stable: equal strength keeps the name order
    return ladder + [result for _, result in beyond]


def _place_is_for(kb: KnowledgeBase, position: Position, context: str | None) -> bool:
    """Whether a source's line is for the patients asked about: always, unless the source
    names its patients and the context asked is neither one of them nor inside one (the JOPA
    article's first line for minocycline is for ssc, not for a child with jdm)."""
    if context is None or not position.contexts:
        return True
    return not {context, *ancestors(kb, context)}.isdisjoint(position.contexts)


def _chapter_speaks_for(
    kb: KnowledgeBase, therapy: Therapy, subtype: str | None, context: str | None
) -> bool:
    """Whether the chapter's place for the therapy speaks for the patients asked about: a
    chapter therapy's own subtypes are the chapter's (dystrophic calcinosis), so a
    calciphylaxis study does not put bisphosphonates on calciphylaxis's ladder, nor a
    tumoral calcinosis series put topical sodium thiosulfate on tumoral calcinosis's."""
    if subtype is not None:
        wanted = {subtype}
    elif context is not None:
        wanted = set(context_subtypes(kb, context))
    else:
        return True
    return not wanted or not therapy.subtypes or not wanted.isdisjoint(therapy.subtypes)


def _at_least(letter: str | None, minimum: str) -> bool:
    return letter is not None and EVIDENCE_LETTERS.index(letter) <= EVIDENCE_LETTERS.index(minimum)


def other_forms(kb: KnowledgeBase, therapy: Therapy) -> list[str]:
    """The same treatment by another route or form (sodium thiosulfate: topical,
    intralesional, intravenous, intraperitoneal), so a reader who asked for one learns of the
    others."""
    return list(kb.forms_of(therapy.id))


def therapy_references(kb: KnowledgeBase, therapy: Therapy) -> list[Reference]:
    """Every reference behind a therapy's record and its studies, wherever in them a field
    names one (the model says where), in the knowledge file's reference order."""
    ids = set(references_of(therapy))
    for study in kb.studies_of(therapy.id):
        ids.update(references_of(study))
    return [r for r in kb.references if r.id in ids]


def gaps(
    kb: KnowledgeBase,
    context: str | None = None,
    subtype: str | None = None,
    line: str | None = None,
    concerns: str = "treatment",
) -> list[Gap]:
    """What the sources leave out that concerns this question, to be said beside the answer:
    `concerns` is "treatment" (treat, studies) or "workup". A context's gaps include those of
    the subtypes it belongs to when no subtype is asked, unless the gap is `not_for` it or
    a group containing it."""
    subtypes = {subtype} if subtype else set()
    if context is not None and subtype is None:
        subtypes |= set(kb.context_by_id[context].subtypes)
    within = {context, *ancestors(kb, context)} if context else set()  # dialysis is ckd too
    return [
        gap
        for gap in kb.gaps
        if (gap.concerns or "treatment") == concerns
        and within.isdisjoint(gap.not_for)
        and (
            (context is not None and context in gap.contexts)
            or subtypes & set(gap.subtypes)
            or (line is not None and line in gap.lines)
        )
    ]


# --- studies --------------------------------------------------------------------------------


def studies(
    kb: KnowledgeBase,
    therapy: str | None = None,
    context: str | None = None,
    subtype: str | None = None,
    kind: str | None = None,
) -> list[Study]:
    """Each study once, strongest kind of source first, that fits every filter: a therapy it
    tried, patients in the context (or a narrower group inside it), patients with the
    subtype, its kind of source."""
    seen_from = ContextFilter.of(kb, context) if context is not None else None
    chosen = [
        s
        for s in kb.studies
        if (therapy is None or therapy in s.therapies)
        and (seen_from is None or seen_from.relation(s) in OWN)
        and (subtype is None or subtype in s.subtypes)
        and (kind is None or s.kind == kind)
    ]
    return sorted(chosen, key=strength)


def source_kind(value: str) -> str:
    """The kind of source a user means ("case report", "Case-Report"), or UnknownValueError."""
    kinds = {name_key(k): k for k in SOURCE_RANK}
    if name_key(value) in kinds:
        return kinds[name_key(value)]
    raise UnknownValueError("kind of source", value, list(SOURCE_RANK), None)


# --- workup --------------------------------------------------------------------------------


class WorkupResult(Value):
    investigation: Investigation
    ties: tuple[Tie, ...]


def workup(
    kb: KnowledgeBase, subtype: str | None = None, context: str | None = None
) -> list[WorkupResult]:
    """Investigations with only the reasons that apply to the subtype and/or context asked."""
    targets: set[str] | None = None
    if subtype is not None or context is not None:
        targets = {ALL_SUBTYPES}
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
    """The contexts a subtype occurs in (looked up once for the knowledge base: asking this
    of every subtype scans each context once, not once per subtype)."""
    return list(kb.contexts_of(subtype.id))


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
    ordered = sorted(kb.therapies, key=ladder_key)
    return [
        (lvl, [t.id for t in ordered if t.evidence == lvl.letter]) for lvl in kb.evidence_levels
    ]


def entries(kb: KnowledgeBase, letter: str) -> dict[str, list[str]]:
    """The ladder's entries at `letter`, each as the chapter lists it, with the ids of the
    therapies calcref keeps it as: one entry may be two therapies ("Intralesional
    corticosteroid/oral prednisolone"), so counting therapies alone would overstate how
    many things the chapter grades."""
    ladder, found = ladder_sources(kb), {}
    for therapy in sorted(kb.therapies, key=ladder_key):
        for position in therapy.positions:
            if position.source in ladder and position.evidence == letter:
                found.setdefault(position.listed_as or therapy.name, []).append(therapy.id)
    return found


def ungraded(kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    """Ids of the therapies without an evidence letter: those the chapter names without
    one, then those only sources beyond the chapter discuss (the chapter is silent on them,
    which is not the same as naming them ungraded)."""
    ladder = ladder_sources(kb)
    bare = [t for t in sorted(kb.therapies, key=ladder_key) if t.evidence is None]
    named = [t.id for t in bare if not ladder.isdisjoint(t.sources)]
    return named, [t.id for t in bare if t.id not in named]
