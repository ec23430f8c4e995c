"""The knowledge's record kinds, each declared once.

A record kind is a class whose attributes are `Field` declarations: type, whether it is
required, allowed values, the namespace an id must exist in, the pattern it must match and a
one-line doc. Everything else is derived from these declarations: the loader's checks
(`knowledge.rules`), the JSON Schemas, building records from plain data, the JSON output,
the CSV and Markdown columns, search, the references a record cites, and the field tables
of docs/knowledge.md. Adding a field is one line here.

The classes are plain `__slots__` classes (a metaclass turns the declarations into slots),
immutable by convention: creating twenty frozen dataclasses costs about 17 ms at every start,
these cost well under one. No I/O, no printing, no validation here: the loader guarantees
every invariant before a record is built.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property
from itertools import repeat
from typing import Any, ClassVar, TypeVar

R = TypeVar("R", bound="Record")

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
DATE_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
LINES = ("first", "second", "third")
LINE_ORDER: dict[str | None, int] = {"first": 0, "second": 1, "third": 2, None: 3}
EVIDENCE_LETTERS: tuple[str, ...] = ("A", "B", "C", "D", "E")
BASES = ("chapter", "literature", "curated")
CONCERNS = ("treatment", "workup")  # which answers a gap is said beside
SOURCE_KINDS: tuple[str, ...] = (
    "randomised double-blind trial",
    "randomised trial",
    "meta-analysis",
    "post hoc analysis of a randomised trial",
    "systematic review",
    "prospective trial",
    "prospective series",
    "retrospective cohort or series",
    "case series",
    "case report",
    "narrative review",
    "textbook chapter",
    "conference abstract",
)
"""The kinds of source, strongest first: answers order the evidence beyond the chapter by the
strongest kind behind each therapy, so a null trial is never outranked by a case report."""
SOURCE_RANK = {kind: rank for rank, kind in enumerate(SOURCE_KINDS)}
DIRECTIONS = ("benefit", "no significant effect", "harm", "mixed")
RATIOS = ("risk ratio", "hazard ratio", "relative hazard", "odds ratio")
EFFECT_TYPES = (*RATIOS, "mean difference", "other")
ALL_SUBTYPES = "all"  # an investigation tie's target meaning every subtype

# --- small values ----------------------------------------------------------------------------


class _ByValue:
    """Equality and hashing by the values held, in order, as a tuple's: two records or values
    of one kind are equal when they hold equal values."""

    __slots__ = ()

    def _values(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())


class _Fields(type):
    """Turns a Value class's annotated names into its slots, and their values into defaults."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
        fields = tuple(namespace.get("__annotations__", {}))
        defaults = {field: namespace.pop(field) for field in fields if field in namespace}
        namespace["__slots__"] = fields
        cls = super().__new__(mcs, name, bases, namespace)
        cls._fields = fields  # type: ignore[attr-defined]
        cls._field_defaults = defaults  # type: ignore[attr-defined]
        return cls


class Value(_ByValue, metaclass=_Fields):
    """A small value declared as a NamedTuple is (annotated fields, defaults last), with the
    same constructor, `repr`, equality, hashing, unpacking, `_fields`, `_asdict` and
    `_replace`, but not a tuple. Creating a NamedTuple class costs about 0.15 ms (it compiles
    its `__new__`); a Value class costs a tenth of that, and start-up creates a dozen."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]]
    _field_defaults: ClassVar[dict[str, Any]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes {len(fields)} values, not {len(args)}")
        for name, value in zip(fields, args, strict=False):
            setattr(self, name, value)
        for name in fields[len(args) :]:
            if name in kwargs:
                setattr(self, name, kwargs.pop(name))
            elif name in self._field_defaults:
                setattr(self, name, self._field_defaults[name])
            else:
                raise TypeError(f"{type(self).__name__} needs a value for {name}")
        if kwargs:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(kwargs))}")

    def __iter__(self) -> Iterator[Any]:
        return map(getattr, repeat(self), self._fields)

    def _values(self) -> tuple[Any, ...]:
        return tuple(self)

    def __repr__(self) -> str:
        values = ", ".join(
            f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True)
        )
        return f"{type(self).__name__}({values})"

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(self._fields, self, strict=True))

    def _replace(self: V, **changes: Any) -> V:
        return type(self)(**(self._asdict() | changes))


V = TypeVar("V", bound=Value)


# --- field declarations ----------------------------------------------------------------------

_EMPTY: dict[str, Any] = {"strs": (), "records": (), "bool": False}


class Field:
    """One key of a record kind: its type, whether it must be present, what it may hold.

    `type` is str, int, bool, strs (a list of strings), record (one nested record of `kind`)
    or records (a list of them). `doc` is the one line a curator sees in their editor and in
    docs/knowledge.md. `ref` names the namespace an id value must exist in; `defines` the
    namespace this key's value defines.
    """

    __slots__ = ("defines", "doc", "enum", "kind", "pattern", "ref", "required", "spec", "type")

    def __init__(
        self,
        type: str,
        doc: str,
        *,
        required: bool = False,
        enum: tuple[str, ...] = (),
        ref: str | None = None,
        kind: type[Record] | None = None,
        spec: dict[str, Field] | None = None,
        defines: str | None = None,
        pattern: re.Pattern[str] | None = None,
    ) -> None:
        self.type, self.doc, self.required, self.enum = type, doc, required, enum
        self.ref, self.kind, self.defines, self.pattern = ref, kind, defines, pattern
        self.spec = spec if spec is not None else (kind.FIELDS if kind is not None else None)

    @property
    def empty(self) -> Any:
        """The value a record holds when the file leaves the key out."""
        return _EMPTY.get(self.type)

    def but(self, **changes: Any) -> Field:
        """A copy with some attributes changed (overlays make every section optional)."""
        values = {name: getattr(self, name) for name in self.__slots__ if name != "type"}
        return Field(self.type, **(values | changes))


# Declaration helpers. Each is typed as the value the attribute holds on a built record, so
# `study.n` reads as `int | None` to a type checker although the class body holds a Field.


def key(namespace: str, what: str) -> str:
    """The id that names this record in `namespace`."""
    doc = f"Unique id of this {what}: lowercase letters, digits and hyphens."
    return Field("str", doc, required=True, defines=namespace, pattern=ID_PATTERN)  # type: ignore[return-value]


def words(doc: str) -> str:
    """Required text."""
    return Field("str", doc, required=True)  # type: ignore[return-value]


def maybe_words(doc: str) -> str | None:
    """Text the source may not give."""
    return Field("str", doc)  # type: ignore[return-value]


def choice(
    doc: str, values: tuple[str, ...], *, required: bool = False, defines: str | None = None
) -> str:
    return Field("str", doc, required=required, enum=values, defines=defines)  # type: ignore[return-value]


def id_in(target: str, doc: str, *, required: bool = False) -> str:
    """The id of a record in namespace `target`."""
    return Field("str", doc, required=required, ref=target)  # type: ignore[return-value]


def strings(
    doc: str, *, ref: str | None = None, required: bool = False, enum: tuple[str, ...] = ()
) -> tuple[str, ...]:
    return Field("strs", doc, required=required, ref=ref, enum=enum)  # type: ignore[return-value]


def cited(what: str = "this record") -> tuple[str, ...]:
    return strings(f"Ids of the references that state {what}.", ref="reference", required=True)


def dated(doc: str) -> str:
    """A calendar date, YYYY-MM-DD."""
    return Field("str", doc, required=True, pattern=DATE_PATTERN)  # type: ignore[return-value]


def number(doc: str) -> int | None:
    return Field("int", doc)  # type: ignore[return-value]


def flag(doc: str, *, required: bool = False) -> bool:
    return Field("bool", doc, required=required)  # type: ignore[return-value]


def one(kind: type[R], doc: str, *, required: bool = True) -> R:
    return Field("record", doc, required=required, kind=kind)  # type: ignore[return-value]


def many(kind: type[R], doc: str, *, required: bool = False) -> tuple[R, ...]:
    return Field("records", doc, required=required, kind=kind)  # type: ignore[return-value]


# --- record kinds ------------------------------------------------------------------------------


class _Declared(type):
    """Turns a record class's Field attributes into slots and collects them in FIELDS."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> type:
        own = {k: v for k, v in namespace.items() if isinstance(v, Field)}
        for field_name in own:
            del namespace[field_name]
        namespace["__slots__"] = (*namespace.get("__slots__", ()), *own)
        cls = super().__new__(mcs, name, bases, namespace)
        inherited = {k: v for base in bases for k, v in getattr(base, "FIELDS", {}).items()}
        cls.FIELDS = inherited | own  # type: ignore[attr-defined]
        cls.SLOTS = tuple(s for k in reversed(cls.__mro__) for s in k.__dict__.get("__slots__", ()))  # type: ignore[attr-defined]
        cls.NESTED = tuple(  # type: ignore[attr-defined]
            (i, cls.FIELDS[n].type == "record")
            for i, n in enumerate(cls.SLOTS)
            if n in cls.FIELDS and cls.FIELDS[n].kind is not None
        )
        typed = {t: tuple(n for n, f in cls.FIELDS.items() if f.type == t) for t in _HELD}
        cls.NAMES = tuple(cls.FIELDS)  # type: ignore[attr-defined]
        cls.STRS, cls.ONE, cls.MANY = typed.values()  # type: ignore[attr-defined]
        return cls


_HELD = ("strs", "record", "records")  # the types whose values as_json converts


class Record(_ByValue, metaclass=_Declared):
    """A record built from validated plain data; immutable by convention."""

    __slots__ = ()
    FIELDS: ClassVar[dict[str, Field]]
    SLOTS: ClassVar[tuple[str, ...]]  # declared fields and any extra slots, such as source_file
    NESTED: ClassVar[tuple[tuple[int, bool], ...]]  # slots holding a record (True) or records
    NAMES: ClassVar[tuple[str, ...]]  # the declared fields, in order
    STRS: ClassVar[tuple[str, ...]]  # fields holding strings
    ONE: ClassVar[tuple[str, ...]]  # fields holding a record (or None)
    MANY: ClassVar[tuple[str, ...]]  # fields holding records

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(self.FIELDS)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(unknown))}")
        for name, field in self.FIELDS.items():
            setattr(self, name, values.get(name, field.empty))

    @classmethod
    def build(cls: type[R], data: dict[str, Any]) -> R:
        """A record from validated plain data; nested records are built too."""
        record = cls.__new__(cls)
        for name, field in cls.FIELDS.items():
            value = data.get(name)
            if value is None:
                value = field.empty
            elif field.kind is not None:
                build = field.kind.build
                value = build(value) if field.type == "record" else tuple(map(build, value))
            elif field.type == "strs":
                value = tuple(value)
            setattr(record, name, value)
        return record

    def as_json(self) -> dict[str, Any]:
        """Every declared field, in declaration order, as JSON-ready plain data. Every answer
        is made of these, so the values are gathered in C and only the fields holding
        strings or records are converted."""
        names = self.NAMES
        plain = dict(zip(names, map(getattr, repeat(self), names), strict=True))
        for name in self.STRS:
            plain[name] = list(plain[name])
        for name in self.ONE:
            if plain[name] is not None:
                plain[name] = plain[name].as_json()
        for name in self.MANY:
            plain[name] = [record.as_json() for record in plain[name]]
        return plain

    def as_row(self) -> tuple[Any, ...]:
        """Every slot's value, in slot order, nested records as rows: the compact form the
        parse cache stores (no key names to write, parse or look up), from which
        `knowledge.load.from_cache` builds the records again."""
        row = tuple(map(getattr, repeat(self), self.SLOTS))
        if not self.NESTED:
            return row
        values = list(row)
        for index, single in self.NESTED:
            value = values[index]
            if value is not None:
                values[index] = value.as_row() if single else tuple(v.as_row() for v in value)
        return tuple(values)

    def replace(self: R, **changes: Any) -> R:
        """A copy with some values changed; the record itself never changes."""
        copy = type(self).__new__(type(self))
        for name in self.SLOTS:
            setattr(copy, name, changes[name] if name in changes else getattr(self, name))
        return copy

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.SLOTS)

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.SLOTS)
        return f"{type(self).__name__}({fields})"


class Entry(Record):
    """A top-level record of a knowledge file, which remembers the file it came from."""

    __slots__ = ("source_file",)

    source_file: str

    def __init__(self, source_file: str = "", **values: Any) -> None:
        super().__init__(**values)
        self.source_file = source_file

    @classmethod
    def build(cls: type[R], data: dict[str, Any]) -> R:
        record = super().build(data)  # type: ignore[misc]
        record.source_file = data.get("source_file", "")
        return record


class CuratorNote(Record):
    """A remark by calcref's curators, kept beside the fact it qualifies, never merged into it."""

    id = words("Id of the note, unique enough to cite in a review.")
    text = words("The curator's remark, shown beside the fact it qualifies.")


def remarks() -> tuple[CuratorNote, ...]:
    return many(CuratorNote, "Curator's notes: doubts, disagreements, decisions.")


class Caution(Record):
    """A warning on a value that must never be read without it (the chapter's colchicine
    "<1.2 g/day"): every output that shows the value shows the caution beside it, and JSON
    carries it on the value's own object, so a script cannot read one without the other."""

    id = words("Id of the caution, unique enough to cite in a review.")
    text = words("What is wrong or doubtful about the value, in calcref's words.")
    likely = maybe_words("What the value almost certainly means, e.g. mg/day.")


def caution() -> Caution | None:
    return one(Caution, "A warning that travels with this value everywhere.", required=False)


class Statement(Record):
    """One thing a source says, in calcref's words, with who says it."""

    text = words("What the source says, in calcref's words; figures exactly as printed.")
    sources = cited("it")
    caution = caution()
    notes = remarks()


class Frequency(Record):
    """How often calcinosis occurs in a context, with each source's own statement."""

    context = id_in("context", "The context the figure is for.", required=True)
    population = maybe_words(
        "Who the figure counts when the source's group is narrower than the context, e.g. "
        "limited systemic sclerosis."
    )
    figure = words("The figure exactly as printed, e.g. 25%.")
    statements = many(Statement, "Each source's statement of the figure.", required=True)


class Subtype(Entry):
    """A major subtype or a rare variant of calcinosis cutis."""

    id = key("subtype", "subtype")
    name = words("Name as users read it.")
    major = flag("true for the five major subtypes, false for a variant.", required=True)
    variant_of = id_in("subtype", "The major subtype this variant belongs to.")
    most_common = flag("true for the subtype the source names the most common.")
    calcium_phosphate = words("Serum calcium and phosphate status, as the source gives it.")
    summary = words("Definition in calcref's words.")
    examples = strings("Conditions the source gives as examples.")
    contexts = strings("Contexts this subtype occurs in.", ref="context")
    frequencies = many(Frequency, "How often it occurs in a context, with each source's statement.")
    sources = cited()
    notes = remarks()


class Context(Entry):
    """A clinical setting users filter by; `parent` is the broader context it sits inside."""

    id = key("context", "context")
    name = words("Name as users read it.")
    aliases = strings("Other names --context accepts, unique across contexts.")
    parent = id_in("context", "The broader context this one sits inside.")
    subtypes = strings("Subtypes this context belongs to.", ref="subtype")
    summary = words("What the context is, in calcref's words.")
    sources = cited()


class ClinicalFeature(Entry):
    """One aspect of the clinical picture, as one or both sources describe it."""

    aspect = choice(
        "Which part of the clinical picture this describes.",
        ("definition", "appearance", "size", "site", "symptom", "complication", "course"),
        required=True,
    )
    text = words("The description, in calcref's words.")
    sources = cited()


class Tie(Record):
    """Why an investigation is ordered for one subtype or context. `basis` says whether the
    chapter makes the link or calcref's curators reasoned it: users must see which."""

    target = id_in(
        "target", "What the test is ordered for; all means every subtype.", required=True
    )
    basis = choice(
        "chapter when the chapter makes the link; literature when a source beyond the "
        "chapter does; curated when calcref's curators reasoned it from the definitions.",
        BASES,
        required=True,
    )
    reason = words("Why the test serves this target.")
    sources = cited("the link")


class Investigation(Entry):
    """One of the chapter's specific investigations, with why it serves whom."""

    id = key("investigation", "investigation")
    name = words("Name of the test as users read it.")
    looks_for = words("What the test looks for.")
    ties = many(Tie, "The subtypes and contexts this test is ordered for, and why.", required=True)
    sources = cited()


class Principle(Entry):
    """One step, principle, caveat or finding of the chapter's management strategy."""

    id = key("principle", "principle")
    kind = choice(
        "What sort of statement of the management strategy this is.",
        ("step", "principle", "general-measure", "caveat", "immunology"),
        required=True,
    )
    text = words("The statement, in calcref's words.")
    sources = cited()


class EvidenceLevel(Entry):
    """One letter of the chapter's A–E scale and what it means."""

    letter = choice(
        "The letter of the scale.", EVIDENCE_LETTERS, required=True, defines="evidence level"
    )
    definition = words("What the letter means, as the source defines it.")
    sources = cited()


class Printed(Record):
    """A citation exactly as one source prints it, so every bibliographic field can be checked."""

    source = id_in("reference", "The reference whose text prints it.", required=True)
    text = words("The citation string, verbatim.")


class Reference(Entry):
    """A cited work, with its fields exactly as the sources print them."""

    id = key("reference", "reference")
    type = choice(
        "article, chapter, or online (a web reference such as Medscape).",
        ("article", "chapter", "online"),
        required=True,
    )
    authors = strings("Authors exactly as printed, e.g. Balin SJ.")
    et_al = flag("true when the source prints et al. after the authors.")
    title = maybe_words("Title exactly as printed.")
    journal = maybe_words("Journal abbreviation exactly as printed.")
    book = maybe_words("Book title, for a chapter.")
    year = number("Year of publication.")
    volume = maybe_words("Volume, as a string (quote it).")
    issue = maybe_words("Issue, as a string (quote it).")
    pages = maybe_words("Pages exactly as printed, e.g. 455–62.")
    article_number = maybe_words("Article number, for journals without pages.")
    site = maybe_words("The website of an online reference, e.g. Medscape eMedicine.")
    updated = maybe_words("When an online reference was last updated, as printed.")
    doi = maybe_words(
        "DOI, only when a publisher or index page confirmed it; say where in confirmed."
    )
    pmid = maybe_words("PubMed id, only when PubMed or PMC showed it; say where in confirmed.")
    pmcid = maybe_words("PMC id, only when PubMed or PMC showed it; say where in confirmed.")
    registrations = strings("Trial registrations the source shows, e.g. NCT04195906.")
    kind = choice("The kind of source, from calcref's list (strongest first).", SOURCE_KINDS)
    population = maybe_words("Who the source is about, in calcref's words.")
    covers = maybe_words("What calcref takes from it, in one line (calcref info lists it).")
    printed = many(
        Printed,
        "The citation exactly as each source prints it, so every field can be checked.",
        required=True,
    )
    confirmed = maybe_words("Which page or source confirmed details beyond the printed citations.")
    notes = remarks()


class Position(Record):
    """Where one source places a therapy. Both are kept when sources disagree."""

    source = id_in("reference", "The source placing it.", required=True)
    line = choice("Ladder line the source gives.", LINES)
    evidence = choice("Evidence letter the source gives; never a guess.", EVIDENCE_LETTERS)
    listed_as = maybe_words("How the source names it, when that differs.")
    view = maybe_words("The source's view of it, in calcref's words.")
    grade = maybe_words(
        "The source's own grade in its own scale, attributed, e.g. Oxford level IB; never "
        "mapped onto the chapter's letters."
    )
    contexts = strings(
        "The patients the source's place is for, when it names them (the JOPA article's "
        "first line is for scleroderma and CREST: ssc).",
        ref="context",
    )
    caution = caution()


class ContextLink(Record):
    """A context a therapy was reported in, and the sources that report it."""

    context = id_in("context", "The context.", required=True)
    sources = cited("the report")


class Therapy(Entry):
    """A treatment, with every source's position on it kept apart."""

    id = key("therapy", "therapy")
    name = words("Name as users read it.")
    aliases = strings("Other names users type, unique across therapies.")
    positions = many(
        Position, "Where each source places the therapy; keep every source's position."
    )
    mechanism = many(Statement, "How it is thought to work.")
    regimens = many(Statement, "Doses exactly as the source gives them.")
    contexts = many(ContextLink, "Contexts the therapy was reported in.")
    subtypes = strings("Subtypes the therapy was reported for.", ref="subtype")
    uses = many(Statement, "Other things the sources say about its use.")
    harms = many(Statement, "Adverse effects the sources report, shown beside the therapy.")
    disagreement = maybe_words(
        "The id of its curator's note recording that its sources disagree on whether it works "
        "(a known conflict): every treat row of it then says the sources disagree."
    )
    sources = cited()
    notes = remarks()

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


class Counts(Record):
    """Patient counts exactly as the source gives them; None where it gives none."""

    responders = number("Patients who responded, when the source gives the number.")
    complete = number("Patients with complete response.")
    partial = number("Patients with partial response.")
    none = number("Patients with no response.")
    unknown = number("Patients whose outcome the source does not report.")


class Effect(Record):
    """An effect size exactly as the source prints it; ratios carry their interval and level."""

    type = choice("What kind of estimate it is.", EFFECT_TYPES, required=True)
    measure = words("What was measured and compared, e.g. death, STS vs no STS.")
    value = words("The estimate exactly as printed, e.g. 0.89.")
    interval = maybe_words("The confidence interval exactly as printed, e.g. 0.71–1.12.")
    level = maybe_words("The interval's confidence level as printed, e.g. 95%.")
    p = maybe_words("The P value exactly as printed, e.g. P = .22.")
    caution = caution()
    notes = remarks()


class Study(Entry):
    """A study as its source summarises it, with its counts as numbers."""

    id = key("study", "study")
    ref = id_in("reference", "The reference reporting the study.", required=True)
    therapies = strings("Therapies the study tried.", ref="therapy", required=True)
    design = maybe_words("Design, e.g. case report, retrospective review.")
    kind = choice("The kind of source, from calcref's list (strongest first).", SOURCE_KINDS)
    aim = choice(
        "prevention when the study asks whether new disease is prevented; treatment otherwise.",
        ("treatment", "prevention"),
    )
    population = words("Who was treated, as the source describes them.")
    contexts = strings("Contexts of the patients.", ref="context")
    subtypes = strings("Subtypes of the patients.", ref="subtype")
    excluded = strings(
        "Subtypes the source says it left out (nowaczyk2021 excluded calciphylaxis): its "
        "result is never shown as theirs.",
        ref="subtype",
    )
    n = number("Patients treated, when the source gives the number.")
    age = maybe_words("Ages exactly as printed.")
    regimen = maybe_words("Regimen exactly as printed.")
    treatment = maybe_words(
        "What the patients received when it was more than this therapy, e.g. surgery with "
        "medical treatment; shown with the counts, so they are never credited to it alone."
    )
    comparator = maybe_words("What the patients were compared with, e.g. placebo.")
    outcome = words("Outcome in calcref's words; figures exactly as printed.")
    counts = one(Counts, "Patient counts the source states; leave out what it does not state.")
    effects = many(Effect, "Effect sizes exactly as printed, with interval, level and P.")
    direction = choice("The direction of the result, as the source states it.", DIRECTIONS)
    harms = many(Statement, "Adverse events the study reports, figures exactly as printed.")
    conclusion = maybe_words("The authors' conclusion, in calcref's words.")
    sources = cited()
    caution = caution()
    notes = remarks()


class Gap(Entry):
    """Why an answer is thin: what the sources do not cover, said in one line wherever an
    answer meets it (a ladder line, a context or a subtype)."""

    id = key("gap", "gap")
    text = words("The gap, in one line a clinician reads beside the answer.")
    lines = strings("Ladder lines the gap concerns.", enum=LINES)
    contexts = strings("Contexts the gap concerns.", ref="context")
    subtypes = strings("Subtypes the gap concerns.", ref="subtype")
    not_for = strings(
        "Contexts it is not said beside, though one of their subtypes is its own: calciphylaxis "
        "outside kidney disease is not a dialysis patient's gap.",
        ref="context",
    )
    concerns = choice(
        "The answer it is said beside: workup for the investigations, treatment (or leave it "
        "out) for treat and studies.",
        CONCERNS,
    )
    basis = choice(
        "chapter when the chapter says it; literature when a source beyond it does; curated "
        "when calcref's curators found it by reading the sources (say how in a note).",
        BASES,
        required=True,
    )
    sources = cited("the gap, or the sources that leave it")
    notes = remarks()


class AmbiguousName(Entry):
    """A name users type that means more than one context ("scleroderma": systemic
    sclerosis or morphea): calcref asks which, instead of guessing."""

    id = key("ambiguous name", "ambiguous name (the name as users type it)")
    contexts = strings("The contexts it may mean.", ref="context", required=True)
    text = words("Why it is ambiguous, shown when someone types it.")
    sources = cited()


class Manifest(Record):
    """A knowledge directory's manifest: which version of the knowledge it is."""

    version = words("Version of this knowledge, e.g. 1.0.0; bump it with every change.")
    date = dated("Date of this version, YYYY-MM-DD (quoted).")
    title = maybe_words("What this knowledge is, e.g. a clinic's name for its overlay.")


# --- the files and their sections -------------------------------------------------------------

MANIFEST = "knowledge.yaml"
KNOWLEDGE_FILES = ("subtypes.yaml", "therapies.yaml")
FILE_NAMES = (MANIFEST, *KNOWLEDGE_FILES)


def _section(kind: type[Record], doc: str) -> Field:
    return Field("records", doc, required=True, kind=kind)


FILES: dict[str, dict[str, Field]] = {
    MANIFEST: Manifest.FIELDS,
    "subtypes.yaml": {
        "subtypes": _section(Subtype, "Major subtypes and their rare variants."),
        "contexts": _section(Context, "Clinical settings users filter by."),
        "clinical_features": _section(ClinicalFeature, "The clinical picture."),
        "investigations": _section(Investigation, "The specific investigations."),
        "principles": _section(Principle, "The management strategy."),
        "ambiguous_names": _section(AmbiguousName, "Names that may mean several contexts."),
    },
    "therapies.yaml": {
        "evidence_levels": _section(EvidenceLevel, "The evidence scale, A strongest."),
        "references": _section(Reference, "Every work a record names in sources."),
        "therapies": _section(Therapy, "Treatments, with every source's position."),
        "studies": _section(Study, "The studies behind the therapies."),
        "gaps": _section(Gap, "What the sources leave out, said where answers meet it."),
    },
}
"""Each knowledge file, its sections, and the record kind each section holds."""

SECTIONS: dict[str, type[Entry]] = {
    section: rule.kind  # type: ignore[misc]
    for name in KNOWLEDGE_FILES
    for section, rule in FILES[name].items()
}
"""Every section of a knowledge base and the kind of its records, in file order."""

KEYED_BY = {"evidence_levels": "letter", "clinical_features": None}


def identity(section: str) -> str | None:
    """The key that says two records of `section` are the same record (an overlay's meets an
    earlier one by it): `id`, the letter for evidence levels, none for clinical features."""
    return KEYED_BY.get(section, "id")


NAMESPACES = {
    "subtype": "subtypes",
    "context": "contexts",
    "investigation": "investigations",
    "principle": "principles",
    "evidence level": "evidence_levels",
    "reference": "references",
    "therapy": "therapies",
    "study": "studies",
    "gap": "gaps",
    "ambiguous name": "ambiguous_names",
}
"""Each id namespace and the section whose records define it."""


def named(value: object, field: Field) -> Iterator[tuple[str, str]]:
    """(namespace, id) for every id `value` names, wherever the declarations say ids go.

    Reads plain data or built records alike, and plain data defensively (the curators' rules
    run on files the loader has just found problems in)."""
    if field.ref and field.type == "str" and isinstance(value, str):
        yield field.ref, value
    elif field.ref and field.type == "strs" and isinstance(value, (list, tuple)):
        yield from ((field.ref, v) for v in value if isinstance(v, str))
    elif field.type == "record" and value is not None:
        yield from _named_in(value, field.spec or {})
    elif field.type == "records" and isinstance(value, (list, tuple)):
        for item in value:
            yield from _named_in(item, field.spec or {})


def _named_in(item: object, spec: dict[str, Field]) -> Iterator[tuple[str, str]]:
    if isinstance(item, Record):
        for name, inner in spec.items():
            yield from named(getattr(item, name), inner)
    elif isinstance(item, dict):
        for name, inner in spec.items():
            yield from named(item.get(name), inner)


def nested(record: Record) -> Iterator[Record]:
    """The record and every record inside it, depth first."""
    yield record
    for name, field in record.FIELDS.items():
        if field.kind is not None:
            value = getattr(record, name)
            for item in (value,) if field.type == "record" else value:
                if item is not None:  # an optional record left out
                    yield from nested(item)


def references_of(record: Record) -> list[str]:
    """Ids of every reference a record names, anywhere inside it, in order of appearance."""
    found = (
        value
        for name, field in record.FIELDS.items()
        for space, value in named(getattr(record, name), field)
        if space == "reference"
    )
    return list(dict.fromkeys(found))


# --- the whole knowledge base ------------------------------------------------------------------


class KnowledgeLayer(Value):
    """One directory of the knowledge stack, as it was read: the base or an overlay."""

    directory: str
    overlay: bool
    files: tuple[str, ...]
    version: str | None
    date: str | None
    title: str | None


class LoadInfo(Value):
    """How a knowledge base was read: its cache entry (None when caching is off) and what
    happened to it: "hit" (answered from it), "written" (parsed, then saved), "not written"
    (parsed; saving failed), "unsafe" (the directory is not the user's own, or others can
    write to it: never read or written) or "off"."""

    cache_entry: str | None = None
    cache_state: str = "off"


NOT_CACHED = LoadInfo()

NAMED_KINDS = {
    "context": "contexts",
    "subtype": "subtypes",
    "therapy": "therapies",
    "reference": "references",
}
"""The kinds a user names on the command line, and their sections."""


class KnowledgeBase:
    """Everything calcref knows: the records of each section, in file order, with the lookups
    every question needs, built once (the name indexes and the forms on first use)."""

    subtypes: tuple[Subtype, ...]
    contexts: tuple[Context, ...]
    clinical_features: tuple[ClinicalFeature, ...]
    investigations: tuple[Investigation, ...]
    principles: tuple[Principle, ...]
    evidence_levels: tuple[EvidenceLevel, ...]
    references: tuple[Reference, ...]
    therapies: tuple[Therapy, ...]
    studies: tuple[Study, ...]
    gaps: tuple[Gap, ...]
    ambiguous_names: tuple[AmbiguousName, ...]

    def __init__(
        self,
        sections: dict[str, tuple[Entry, ...]],
        layers: tuple[KnowledgeLayer, ...] = (),
        load_info: LoadInfo = NOT_CACHED,
    ) -> None:
        for section in SECTIONS:
            setattr(self, section, tuple(sections.get(section, ())))
        self.layers, self.load_info = layers, load_info
        self.overlay_files = frozenset(f for layer in layers if layer.overlay for f in layer.files)
        by_id = {
            s: {r.id: r for r in getattr(self, s)}
            for s in NAMESPACES.values()
            if identity(s) == "id"
        }
        self.subtype_by_id: dict[str, Subtype] = by_id["subtypes"]  # type: ignore[assignment]
        self.context_by_id: dict[str, Context] = by_id["contexts"]  # type: ignore[assignment]
        self.investigation_by_id: dict[str, Investigation] = by_id["investigations"]  # type: ignore[assignment]
        self.reference_by_id: dict[str, Reference] = by_id["references"]  # type: ignore[assignment]
        self.therapy_by_id: dict[str, Therapy] = by_id["therapies"]  # type: ignore[assignment]
        self.study_by_id: dict[str, Study] = by_id["studies"]  # type: ignore[assignment]
        studies: dict[str, list[Study]] = {t.id: [] for t in self.therapies}
        for study in self.studies:
            for therapy_id in study.therapies:
                studies[therapy_id].append(study)
        self._studies_of = {k: tuple(v) for k, v in studies.items()}
        contexts: dict[str, set[str]] = {s.id: set(s.contexts) for s in self.subtypes}
        for context in self.contexts:
            for subtype_id in context.subtypes:
                contexts[subtype_id].add(context.id)
        self._contexts_of = {
            s: tuple(c for c in self.contexts if c.id in ids) for s, ids in contexts.items()
        }

    @cached_property
    def names(self) -> dict[str, dict[str, str]]:
        """Every name a user may type, by kind (see `_names`): made on first use, since a
        run names one or two kinds, and at ten times the bundled knowledge the four
        indexes cost a few milliseconds."""
        return _Names(self)

    @cached_property
    def _forms(self) -> dict[str, tuple[str, ...]]:
        return _forms([t.id for t in self.therapies])

    def forms_of(self, therapy_id: str) -> tuple[str, ...]:
        """The other therapies of the same root id: the same drug by other routes or forms
        (sodium-thiosulfate-intravenous, -intralesional, ...), in file order."""
        return self._forms[therapy_id]

    def studies_of(self, therapy_id: str) -> tuple[Study, ...]:
        """A therapy's studies, in knowledge-file order."""
        return self._studies_of[therapy_id]

    def contexts_of(self, subtype_id: str) -> tuple[Context, ...]:
        """The contexts a subtype occurs in, by its own record or theirs, in file order."""
        return self._contexts_of[subtype_id]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KnowledgeBase):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in SECTIONS)

    __hash__ = None  # type: ignore[assignment]


class _Names(dict):
    """The name index of each kind, made when a kind is first asked for."""

    def __init__(self, kb: KnowledgeBase) -> None:
        super().__init__()
        self.kb = kb

    def __missing__(self, kind: str) -> dict[str, str]:
        names = self[kind] = _names(getattr(self.kb, NAMED_KINDS[kind]))
        return names


def _forms(ids: list[str]) -> dict[str, tuple[str, ...]]:
    """Each id with the others sharing its root: the shortest id that, followed by a hyphen,
    begins it (sodium-thiosulfate for sodium-thiosulfate-intravenous), else itself."""
    known = set(ids)
    root: dict[str, str] = {}
    families: dict[str, list[str]] = {}
    for therapy_id in ids:
        at = therapy_id.find("-")
        while at != -1 and therapy_id[:at] not in known:
            at = therapy_id.find("-", at + 1)
        root[therapy_id] = therapy_id[:at] if at != -1 else therapy_id
        families.setdefault(root[therapy_id], []).append(therapy_id)
    return {i: tuple(x for x in families[root[i]] if x != i) for i in ids}


def name_key(text: str) -> str:
    """How a typed name is compared: case-folded, with spaces and hyphens alike
    ("Sodium thiosulfate", "sodium-thiosulfate")."""
    return "-".join(text.casefold().replace("-", " ").split())


def _names(records: tuple[Any, ...]) -> dict[str, str]:
    """Every name a user may type for one kind → its id: ids and aliases, then each record's
    name and the name before any parenthesis ("Systemic sclerosis (including limited SSc...)"
    answers to "systemic sclerosis"), unless that name would mean two records."""
    names: dict[str, str] = {}
    for record in records:
        names[name_key(record.id)] = record.id
        for alias in getattr(record, "aliases", ()):
            names[name_key(alias)] = record.id
    spoken: dict[str, set[str]] = {}
    for record in records:
        name = getattr(record, "name", None)
        if isinstance(name, str):
            for form in {name, name.split(" (", 1)[0]}:
                spoken.setdefault(name_key(form), set()).add(record.id)
    for key, ids in spoken.items():
        if len(ids) == 1 and key not in names:
            names[key] = ids.pop()
    return names
