"""The knowledge as frozen records.

Plain data and nothing else: no I/O, no printing, no validation. The loader guarantees every
invariant (known ids, valid enums) before a record is built, so code above this layer can trust
what it reads here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LINE_ORDER: dict[str | None, int] = {"first": 0, "second": 1, "third": 2, None: 3}
EVIDENCE_LETTERS: tuple[str, ...] = ("A", "B", "C", "D", "E")


@dataclass(frozen=True)
class CuratorNote:
    """A remark by calcref's curators, kept beside the fact it qualifies, never merged into it."""

    id: str
    text: str


@dataclass(frozen=True)
class EvidenceLevel:
    letter: str
    definition: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Printed:
    """A citation exactly as one source prints it, so every bibliographic field can be checked."""

    source: str
    text: str


@dataclass(frozen=True)
class Reference:
    id: str
    type: str  # "article" or "chapter"
    authors: tuple[str, ...]
    et_al: bool
    title: str | None
    journal: str | None
    book: str | None
    year: int | None
    volume: str | None
    issue: str | None
    pages: str | None
    article_number: str | None
    doi: str | None
    printed: tuple[Printed, ...]
    confirmed: str | None
    notes: tuple[CuratorNote, ...]


@dataclass(frozen=True)
class Statement:
    """One thing a source says, in calcref's words, with who says it."""

    text: str
    sources: tuple[str, ...]
    notes: tuple[CuratorNote, ...] = ()


@dataclass(frozen=True)
class Frequency:
    context: str
    figure: str
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class Subtype:
    id: str
    name: str
    major: bool
    variant_of: str | None
    calcium_phosphate: str
    summary: str
    examples: tuple[str, ...]
    contexts: tuple[str, ...]
    most_common: bool
    frequencies: tuple[Frequency, ...]
    sources: tuple[str, ...]
    notes: tuple[CuratorNote, ...]


@dataclass(frozen=True)
class Context:
    id: str
    name: str
    aliases: tuple[str, ...]
    parent: str | None
    subtypes: tuple[str, ...]
    summary: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Tie:
    """Why an investigation is ordered for one subtype or context.

    `basis` is "chapter" when the chapter itself makes the link, "curated" when calcref's
    curators reasoned it from the chapter's own definitions; users must see which.
    """

    target: str  # a subtype id or a context id
    reason: str
    basis: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Investigation:
    id: str
    name: str
    looks_for: str
    ties: tuple[Tie, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ClinicalFeature:
    aspect: str  # appearance, site, size, symptom, complication, course
    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Principle:
    id: str
    kind: str  # step, principle, general-measure, immunology, caveat
    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Position:
    """Where one source places a therapy. Both are kept when sources disagree."""

    source: str
    line: str | None
    evidence: str | None
    listed_as: str | None
    view: str | None


@dataclass(frozen=True)
class ContextLink:
    context: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Counts:
    """Patient counts exactly as the source gives them; None where it gives none."""

    responders: int | None = None
    complete: int | None = None
    partial: int | None = None
    none: int | None = None
    unknown: int | None = None


@dataclass(frozen=True)
class Study:
    id: str
    ref: str
    therapies: tuple[str, ...]
    design: str | None
    population: str
    contexts: tuple[str, ...]
    subtypes: tuple[str, ...]
    n: int | None
    age: str | None
    regimen: str | None
    outcome: str
    counts: Counts
    sources: tuple[str, ...]
    notes: tuple[CuratorNote, ...]


@dataclass(frozen=True)
class Therapy:
    id: str
    name: str
    aliases: tuple[str, ...]
    positions: tuple[Position, ...]
    mechanism: tuple[Statement, ...]
    regimens: tuple[Statement, ...]  # doses exactly as the source gives them
    contexts: tuple[ContextLink, ...]
    subtypes: tuple[str, ...]
    uses: tuple[Statement, ...]
    sources: tuple[str, ...]
    notes: tuple[CuratorNote, ...]

    @property
    def ladder(self) -> Position | None:
        """The graded position that orders the ladder: the first one carrying a line."""
        return next((p for p in self.positions if p.line is not None), None)

    @property
    def line(self) -> str | None:
        ladder = self.ladder
        return ladder.line if ladder else None

    @property
    def evidence(self) -> str | None:
        ladder = self.ladder
        return ladder.evidence if ladder else None


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything calcref knows, with the id lookups every command needs built once."""

    subtypes: tuple[Subtype, ...]
    contexts: tuple[Context, ...]
    investigations: tuple[Investigation, ...]
    clinical_features: tuple[ClinicalFeature, ...]
    principles: tuple[Principle, ...]
    evidence_levels: tuple[EvidenceLevel, ...]
    references: tuple[Reference, ...]
    therapies: tuple[Therapy, ...]
    studies: tuple[Study, ...]

    def __post_init__(self) -> None:
        # Frozen, so the indexes are set once here and never change afterwards.
        for name, records in (
            ("subtype", self.subtypes),
            ("context", self.contexts),
            ("investigation", self.investigations),
            ("reference", self.references),
            ("therapy", self.therapies),
            ("study", self.studies),
        ):
            object.__setattr__(self, f"{name}_by_id", {r.id: r for r in records})
        by_therapy: dict[str, list[Study]] = {t.id: [] for t in self.therapies}
        for study in self.studies:
            for therapy_id in study.therapies:
                by_therapy[therapy_id].append(study)
        object.__setattr__(self, "studies_by_therapy", {k: tuple(v) for k, v in by_therapy.items()})

    subtype_by_id: dict[str, Subtype] = field(init=False, repr=False, compare=False)
    context_by_id: dict[str, Context] = field(init=False, repr=False, compare=False)
    investigation_by_id: dict[str, Investigation] = field(init=False, repr=False, compare=False)
    reference_by_id: dict[str, Reference] = field(init=False, repr=False, compare=False)
    therapy_by_id: dict[str, Therapy] = field(init=False, repr=False, compare=False)
    study_by_id: dict[str, Study] = field(init=False, repr=False, compare=False)
    studies_by_therapy: dict[str, tuple[Study, ...]] = field(init=False, repr=False, compare=False)
