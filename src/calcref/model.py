"""The knowledge as frozen records.

Plain data and nothing else: no I/O, no printing, no validation. The loader guarantees every
invariant (known ids, valid enums) before a record is built, so code above this layer can trust
what it reads here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")

LINE_ORDER: dict[str | None, int] = {"first": 0, "second": 1, "third": 2, None: 3}
EVIDENCE_LETTERS: tuple[str, ...] = ("A", "B", "C", "D", "E")


@dataclass(frozen=True)
class CuratorNote:
    """A remark by calcref's curators, kept beside the fact it qualifies, never merged into it."""

    id: str
    text: str


@dataclass(frozen=True)
class EvidenceLevel:
    """One letter of the chapter's A–E scale and what it means."""

    letter: str
    definition: str
    sources: tuple[str, ...]
    source_file: str = ""  # the knowledge file it came from


@dataclass(frozen=True)
class Printed:
    """A citation exactly as one source prints it, so every bibliographic field can be checked."""

    source: str
    text: str


@dataclass(frozen=True)
class Reference:
    """A cited work, with its fields exactly as the sources print them."""

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
    source_file: str = ""  # the knowledge file it came from


@dataclass(frozen=True)
class Statement:
    """One thing a source says, in calcref's words, with who says it."""

    text: str
    sources: tuple[str, ...]
    notes: tuple[CuratorNote, ...] = ()


@dataclass(frozen=True)
class Frequency:
    """How often calcinosis occurs in a context, with each source's own statement."""

    context: str
    figure: str
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class Subtype:
    """A major subtype or a rare variant of calcinosis cutis."""

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
    source_file: str = ""  # the knowledge file it came from


@dataclass(frozen=True)
class Context:
    """A clinical setting users filter by; `parent` is the broader context it sits inside."""

    id: str
    name: str
    aliases: tuple[str, ...]
    parent: str | None
    subtypes: tuple[str, ...]
    summary: str
    sources: tuple[str, ...]
    source_file: str = ""  # the knowledge file it came from


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
    """One of the chapter's specific investigations, with why it serves whom."""

    id: str
    name: str
    looks_for: str
    ties: tuple[Tie, ...]
    sources: tuple[str, ...]
    source_file: str = ""  # the knowledge file it came from


@dataclass(frozen=True)
class ClinicalFeature:
    """One aspect of the clinical picture, as one or both sources describe it."""

    aspect: str  # appearance, site, size, symptom, complication, course
    text: str
    sources: tuple[str, ...]
    source_file: str = ""  # the knowledge file it came from


@dataclass(frozen=True)
class Principle:
    """One step, principle, caveat or finding of the chapter's management strategy."""

    id: str
    kind: str  # step, principle, general-measure, immunology, caveat
    text: str
    sources: tuple[str, ...]
    source_file: str = ""  # the knowledge file it came from


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
    """A context a therapy was reported in, and the sources that report it."""

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
    """A study as the chapter summarises it, with its counts as numbers."""

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
    source_file: str = ""  # the knowledge file it came from


@dataclass(frozen=True)
class Therapy:
    """A treatment, with every source's position on it kept apart."""

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
    source_file: str = ""  # the knowledge file it came from

    @property
    def ladder(self) -> Position | None:
        """The graded position that orders the ladder: the first with an evidence letter.

        Another source may name a line without grading it (the JOPA article's first-line view
        of minocycline); it is kept in `positions` but does not move the therapy on the ladder.
        """
        return next((p for p in self.positions if p.evidence is not None), None)

    @property
    def line(self) -> str | None:
        ladder = self.ladder
        return ladder.line if ladder else None

    @property
    def evidence(self) -> str | None:
        ladder = self.ladder
        return ladder.evidence if ladder else None


class Records(Sequence[T]):
    """An immutable sequence whose records are each built the first time they are read.

    A large knowledge base is mostly records a given command never reads (`treat --context
    ssc` reads a dozen therapies out of thousands); building only those keeps start-up nearly
    flat as the knowledge grows. Reading every record gives the same values as a tuple.
    """

    __slots__ = ("_build_one", "_items")

    def __init__(self, count: int, build_one: Callable[[int], T]) -> None:
        self._items: list[T | None] = [None] * count
        self._build_one = build_one

    @classmethod
    def of(cls, items: Iterable[T]) -> Records[T]:
        built = tuple(items)
        return cls(len(built), built.__getitem__)

    def __getitem__(self, position):  # type: ignore[no-untyped-def]
        if isinstance(position, slice):
            return tuple(self)[position]
        item = self._items[position]
        if item is None:
            item = self._items[position] = self._build_one(position % len(self._items))
        return item

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return (self[i] for i in range(len(self._items)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (Records, tuple)):
            return NotImplemented
        return tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Records({tuple(self)!r})"


class ById(Mapping[str, T]):
    """Records by id, through the index's positions, building only the records looked up."""

    __slots__ = ("_positions", "_records")

    def __init__(self, positions: dict[str, int], records: Records[T]) -> None:
        self._positions, self._records = positions, records

    def __getitem__(self, key: str) -> T:
        return self._records[self._positions[key]]

    def __contains__(self, key: object) -> bool:
        return key in self._positions

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions)

    def __len__(self) -> int:
        return len(self._positions)


class TherapyFacets(NamedTuple):
    """What `treat` filters and sorts on, for one therapy, without building the therapy:
    its own contexts and subtypes merged with those of its studies, and where its studies are.
    """

    id: str
    name: str
    line: str | None
    evidence: str | None
    contexts: tuple[str, ...]
    subtypes: tuple[str, ...]
    studies: tuple[int, ...]  # positions in KnowledgeBase.studies


class Index:
    """Lookups derived from the records once and stored with them. Each part (the positions
    of one kind, the names of one kind, the context tree, the therapy facets) is fetched the
    first time it is asked for, so a command pays only for the lookups it makes."""

    __slots__ = ("_fetch", "_parts")

    def __init__(self, fetch: Callable[[str], Any]) -> None:
        self._fetch = fetch
        self._parts: dict[str, Any] = {}

    def _part(self, name: str) -> Any:
        if name not in self._parts:
            self._parts[name] = self._fetch(name)
        return self._parts[name]

    def positions(self, kind: str) -> dict[str, int]:
        """Id → position in the records of `kind` (a KnowledgeBase field name)."""
        return self._part(f"positions:{kind}")

    def names(self, kind: str) -> dict[str, str]:
        """Case-folded id or alias → id, for context, subtype, therapy or reference."""
        return self._part(f"names:{kind}")

    @property
    def context_parent(self) -> dict[str, str | None]:
        return self._part("context_parent")

    @property
    def therapies(self) -> tuple[TherapyFacets, ...]:
        """Every therapy's facets, in knowledge-file order."""
        return self._part("therapies")

    @property
    def layers(self) -> tuple[KnowledgeLayer, ...]:
        """The base, then each overlay, as they were read."""
        return self._part("layers")


@dataclass(frozen=True)
class KnowledgeLayer:
    """One directory of the knowledge stack: the base or an overlay, with its manifest."""

    directory: str
    overlay: bool
    files: tuple[str, ...]
    version: str | None
    date: str | None
    title: str | None


@dataclass(frozen=True)
class LoadInfo:
    """How a knowledge base was read: its cache entry (None when caching is off) and what
    happened to it: "hit" (answered from it), "written" (parsed, then saved), "not written"
    (parsed; saving failed) or "off"."""

    cache_entry: str | None
    cache_state: str


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything calcref knows; records are built on first use, lookups go through `index`."""

    subtypes: Records[Subtype]
    contexts: Records[Context]
    investigations: Records[Investigation]
    clinical_features: Records[ClinicalFeature]
    principles: Records[Principle]
    evidence_levels: Records[EvidenceLevel]
    references: Records[Reference]
    therapies: Records[Therapy]
    studies: Records[Study]
    index: Index = field(repr=False, compare=False)
    load_info: LoadInfo = field(default=LoadInfo(None, "off"), repr=False, compare=False)

    @cached_property
    def overlay_files(self) -> frozenset[str]:
        """Files that came from overlays, so answers can mark what is local."""
        return frozenset(f for layer in self.index.layers if layer.overlay for f in layer.files)

    def _by_id(self, kind: str, records: Records[T]) -> ById[T]:
        return ById(self.index.positions(kind), records)

    @cached_property
    def subtype_by_id(self) -> ById[Subtype]:
        return self._by_id("subtypes", self.subtypes)

    @cached_property
    def context_by_id(self) -> ById[Context]:
        return self._by_id("contexts", self.contexts)

    @cached_property
    def investigation_by_id(self) -> ById[Investigation]:
        return self._by_id("investigations", self.investigations)

    @cached_property
    def reference_by_id(self) -> ById[Reference]:
        return self._by_id("references", self.references)

    @cached_property
    def therapy_by_id(self) -> ById[Therapy]:
        return self._by_id("therapies", self.therapies)

    @cached_property
    def study_by_id(self) -> ById[Study]:
        return self._by_id("studies", self.studies)

    def studies_of(self, therapy_id: str) -> tuple[Study, ...]:
        """A therapy's studies, in knowledge-file order."""
        facets = self.index.therapies[self.index.positions("therapies")[therapy_id]]
        return tuple(self.studies[i] for i in facets.studies)
