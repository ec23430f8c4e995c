"""What a valid knowledge file looks like, and the check that finds every way one is not.

The schema is data (one `Field` per key) so that the validator, the contributor docs and the
tests all read the same rules. Validation never stops at the first problem: a curator fixing a
file wants the whole list at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date

from calcref.errors import Problem
from calcref.model import EVIDENCE_LETTERS
from calcref.stack import MANIFEST
from calcref.yamlread import LineDict, LineList, line_of

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
DATE_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
LINES = ("first", "second", "third")
BASES = ("chapter", "curated")
ALL_SUBTYPES = "all"


@dataclass(frozen=True)
class Field:
    """One key of a record: its type, whether it must be present, and what it may hold.

    `doc` is the one line a curator sees: in the published JSON Schema (their editor shows it
    on hover) and in docs/knowledge.md, which a test keeps in step with these rules.
    """

    type: str  # str | int | bool | strs | record | records
    doc: str
    required: bool = False
    enum: tuple[str, ...] = ()
    ref: str | None = None  # namespace an id value must exist in
    spec: dict[str, Field] | None = None
    defines: str | None = None  # namespace this `id` key defines
    pattern: re.Pattern[str] | None = None


def _id(namespace: str, what: str) -> Field:
    return Field(
        "str",
        f"Unique id of this {what}: lowercase letters, digits and hyphens.",
        required=True,
        defines=namespace,
        pattern=ID_PATTERN,
    )


def _sources(what: str = "this record") -> Field:
    return Field(
        "strs", f"Ids of the references that state {what}.", required=True, ref="reference"
    )


def _text(doc: str, required: bool = True) -> Field:
    return Field("str", doc, required=required)


NOTE = {
    "id": _text("Id of the note, unique enough to cite in a review."),
    "text": _text("The curator's remark, shown beside the fact it qualifies."),
}
NOTES = Field("records", "Curator's notes: doubts, disagreements, decisions.", spec=NOTE)
STATEMENT = {
    "text": _text("What the source says, in calcref's words; figures exactly as printed."),
    "sources": _sources("it"),
    "notes": NOTES,
}

SUBTYPE = {
    "id": _id("subtype", "subtype"),
    "name": _text("Name as users read it."),
    "major": Field("bool", "true for the five major subtypes, false for a variant.", required=True),
    "variant_of": Field("str", "The major subtype this variant belongs to.", ref="subtype"),
    "most_common": Field("bool", "true for the subtype the source names the most common."),
    "calcium_phosphate": _text("Serum calcium and phosphate status, as the source gives it."),
    "summary": _text("Definition in calcref's words."),
    "examples": Field("strs", "Conditions the source gives as examples."),
    "contexts": Field("strs", "Contexts this subtype occurs in.", ref="context"),
    "frequencies": Field(
        "records",
        "How often it occurs in a context, with each source's statement.",
        spec={
            "context": Field("str", "The context the figure is for.", required=True, ref="context"),
            "figure": _text("The figure exactly as printed, e.g. 25%."),
            "statements": Field(
                "records", "Each source's statement of the figure.", required=True, spec=STATEMENT
            ),
        },
    ),
    "sources": _sources(),
    "notes": NOTES,
}
CONTEXT = {
    "id": _id("context", "context"),
    "name": _text("Name as users read it."),
    "aliases": Field("strs", "Other names --context accepts, unique across contexts."),
    "parent": Field("str", "The broader context this one sits inside.", ref="context"),
    "subtypes": Field("strs", "Subtypes this context belongs to.", ref="subtype"),
    "summary": _text("What the context is, in calcref's words."),
    "sources": _sources(),
}
FEATURE = {
    "aspect": Field(
        "str",
        "Which part of the clinical picture this describes.",
        required=True,
        enum=("appearance", "size", "site", "symptom", "complication", "course"),
    ),
    "text": _text("The description, in calcref's words."),
    "sources": _sources(),
}
INVESTIGATION = {
    "id": _id("investigation", "investigation"),
    "name": _text("Name of the test as users read it."),
    "looks_for": _text("What the test looks for."),
    "ties": Field(
        "records",
        "The subtypes and contexts this test is ordered for, and why.",
        required=True,
        spec={
            "target": Field(
                "str",
                "What the test is ordered for; all means every subtype.",
                required=True,
                ref="target",
            ),
            "basis": Field(
                "str",
                "chapter when the chapter makes the link; curated when calcref's curators "
                "reasoned it from the chapter's definitions.",
                required=True,
                enum=BASES,
            ),
            "reason": _text("Why the test serves this target."),
            "sources": _sources("the link"),
        },
    ),
    "sources": _sources(),
}
PRINCIPLE = {
    "id": _id("principle", "principle"),
    "kind": Field(
        "str",
        "What sort of statement of the management strategy this is.",
        required=True,
        enum=("step", "principle", "general-measure", "caveat", "immunology"),
    ),
    "text": _text("The statement, in calcref's words."),
    "sources": _sources(),
}
EVIDENCE = {
    "letter": Field(
        "str",
        "The letter of the scale.",
        required=True,
        enum=EVIDENCE_LETTERS,
        defines="evidence level",
    ),
    "definition": _text("What the letter means, as the source defines it."),
    "sources": _sources(),
}
REFERENCE = {
    "id": _id("reference", "reference"),
    "type": Field("str", "article or chapter.", required=True, enum=("article", "chapter")),
    "authors": Field("strs", "Authors exactly as printed, e.g. Balin SJ."),
    "et_al": Field("bool", "true when the source prints et al. after the authors."),
    "title": _text("Title exactly as printed.", required=False),
    "journal": _text("Journal abbreviation exactly as printed.", required=False),
    "book": _text("Book title, for a chapter.", required=False),
    "year": Field("int", "Year of publication."),
    "volume": _text("Volume, as a string (quote it).", required=False),
    "issue": _text("Issue, as a string (quote it).", required=False),
    "pages": _text("Pages exactly as printed, e.g. 455–62.", required=False),
    "article_number": _text("Article number, for journals without pages.", required=False),
    "doi": _text(
        "DOI, only when a publisher or index page confirmed it; say where in confirmed.",
        required=False,
    ),
    "printed": Field(
        "records",
        "The citation exactly as each source prints it, so every field can be checked.",
        required=True,
        spec={
            "source": Field(
                "str", "The reference whose text prints it.", required=True, ref="reference"
            ),
            "text": _text("The citation string, verbatim."),
        },
    ),
    "confirmed": _text(
        "Which page or source confirmed details beyond the printed citations.", required=False
    ),
    "notes": NOTES,
}
THERAPY = {
    "id": _id("therapy", "therapy"),
    "name": _text("Name as users read it."),
    "aliases": Field("strs", "Other names users type, unique across therapies."),
    "positions": Field(
        "records",
        "Where each source places the therapy; keep every source's position.",
        spec={
            "source": Field("str", "The source placing it.", required=True, ref="reference"),
            "line": Field("str", "Ladder line the source gives.", enum=LINES),
            "evidence": Field(
                "str", "Evidence letter the source gives; never a guess.", enum=EVIDENCE_LETTERS
            ),
            "listed_as": _text("How the source names it, when that differs.", required=False),
            "view": _text("The source's view of it, in calcref's words.", required=False),
        },
    ),
    "mechanism": Field("records", "How it is thought to work.", spec=STATEMENT),
    "regimens": Field("records", "Doses exactly as the source gives them.", spec=STATEMENT),
    "contexts": Field(
        "records",
        "Contexts the therapy was reported in.",
        spec={
            "context": Field("str", "The context.", required=True, ref="context"),
            "sources": _sources("the report"),
        },
    ),
    "subtypes": Field("strs", "Subtypes the therapy was reported for.", ref="subtype"),
    "uses": Field("records", "Other things the sources say about its use.", spec=STATEMENT),
    "sources": _sources(),
    "notes": NOTES,
}
COUNTS = {
    "responders": Field("int", "Patients who responded, when the source gives the number."),
    "complete": Field("int", "Patients with complete response."),
    "partial": Field("int", "Patients with partial response."),
    "none": Field("int", "Patients with no response."),
    "unknown": Field("int", "Patients whose outcome the source does not report."),
}
STUDY = {
    "id": _id("study", "study"),
    "ref": Field("str", "The reference reporting the study.", required=True, ref="reference"),
    "therapies": Field("strs", "Therapies the study tried.", required=True, ref="therapy"),
    "design": _text("Design, e.g. case report, retrospective review.", required=False),
    "population": _text("Who was treated, as the source describes them."),
    "contexts": Field("strs", "Contexts of the patients.", ref="context"),
    "subtypes": Field("strs", "Subtypes of the patients.", ref="subtype"),
    "n": Field("int", "Patients treated, when the source gives the number."),
    "age": _text("Ages exactly as printed.", required=False),
    "regimen": _text("Regimen exactly as printed.", required=False),
    "outcome": _text("Outcome in calcref's words; figures exactly as printed."),
    "counts": Field(
        "record",
        "Patient counts the source states; leave out what it does not state.",
        required=True,
        spec=COUNTS,
    ),
    "sources": _sources(),
    "notes": NOTES,
}
MANIFEST_SPEC = {
    "version": _text("Version of this knowledge, e.g. 1.0.0; bump it with every change."),
    "date": Field(
        "str", "Date of this version, YYYY-MM-DD (quoted).", required=True, pattern=DATE_PATTERN
    ),
    "title": _text("What this knowledge is, e.g. a clinic's name for its overlay.", required=False),
}


def _section(spec: dict[str, Field], doc: str) -> Field:
    return Field("records", doc, required=True, spec=spec)


FILES: dict[str, dict[str, Field]] = {
    MANIFEST: MANIFEST_SPEC,
    "subtypes.yaml": {
        "subtypes": _section(SUBTYPE, "Major subtypes and their rare variants."),
        "contexts": _section(CONTEXT, "Clinical settings users filter by."),
        "clinical_features": _section(FEATURE, "The clinical picture."),
        "investigations": _section(INVESTIGATION, "The specific investigations."),
        "principles": _section(PRINCIPLE, "The management strategy."),
    },
    "therapies.yaml": {
        "evidence_levels": _section(EVIDENCE, "The evidence scale, A strongest."),
        "references": _section(REFERENCE, "Every work a record names in sources."),
        "therapies": _section(THERAPY, "Treatments, with every source's position."),
        "studies": _section(STUDY, "The studies behind the therapies."),
    },
}
"""The rules for each file of a complete knowledge base."""

KEYED_BY = {"evidence_levels": "letter", "clinical_features": None}


def identity(section: str) -> str | None:
    """The key that says two records of `section` are the same record (an overlay's meets an
    earlier one by it): `id`, the letter for evidence levels, none for clinical features."""
    return KEYED_BY.get(section, "id")


REPLACE = Field(
    "bool",
    "Overlays only: true to replace the earlier record with the same id, which is otherwise "
    "an error.",
)


def overlay_spec(name: str) -> dict[str, Field]:
    """An overlay file's rules: every section optional, keyed records may say `replace`."""
    if name == MANIFEST:
        return FILES[name]
    return {
        section: replace(
            rule,
            required=False,
            spec=rule.spec
            if identity(section) is None
            else {**(rule.spec or {}), "replace": REPLACE},
        )
        for section, rule in FILES[name].items()
    }


_TYPE_NAMES = {
    "str": "a string",
    "int": "a whole number",
    "bool": "true or false",
    "strs": "a list of strings",
    "record": "a mapping",
    "records": "a list of mappings",
}


NAMESPACES = {
    "subtype": "subtypes",
    "context": "contexts",
    "investigation": "investigations",
    "principle": "principles",
    "evidence level": "evidence_levels",
    "reference": "references",
    "therapy": "therapies",
    "study": "studies",
}
"""Each id namespace and the section whose records define it."""

_PATTERN_NAMES = {ID_PATTERN: "lowercase letters, digits and hyphens", DATE_PATTERN: "YYYY-MM-DD"}


@dataclass
class Validation:
    """Accumulates problems, id definitions and id uses across every file of a stack."""

    problems: list[Problem] = field(default_factory=list)
    defined: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)
    used: list[tuple[str, str, str, int]] = field(default_factory=list)

    def add(self, path: str, line: int, message: str) -> None:
        self.problems.append(Problem(path, line, message))

    def check_file(self, path: str, name: str, data: object, overlay: bool = False) -> None:
        """Shape, types and enums of one file. Ids must be unique within a layer; across
        layers the merge decides (an overlay may replace a record on purpose)."""
        self._record(path, data, overlay_spec(name) if overlay else FILES[name], "file", 1)

    def start_layer(self) -> None:
        self.defined = {}

    def check_links(self, sections: dict[str, list]) -> None:
        """After merging: every id named anywhere must be defined by some record."""
        known = {
            namespace: {r.get(identity(kind)) for r in sections.get(kind, ())}
            for namespace, kind in NAMESPACES.items()
        }
        known["target"] = {ALL_SUBTYPES} | known["subtype"] | known["context"]
        for namespace, value, path, line in self.used:
            if value not in known[namespace]:
                kind = "subtype or context" if namespace == "target" else namespace
                self.add(path, line, f"unknown {kind} id '{value}'")

    def _record(
        self, path: str, data: object, spec: dict[str, Field], what: str, line: int
    ) -> None:
        if not isinstance(data, dict):
            self.add(path, line_of(data, default=line), f"{what} must be a mapping")
            return
        key_lines = getattr(data, "key_lines", {})  # read directly: this loop is hot
        for key in data:
            if key not in spec:
                allowed = ", ".join(spec)
                self.add(
                    path, line_of(data, key), f"unknown key '{key}' in {what} (allowed: {allowed})"
                )
        for key, rule in spec.items():
            if key not in data:
                if rule.required:
                    self.add(path, line_of(data), f"{what} is missing required key '{key}'")
                continue
            self._value(path, data[key], rule, f"'{key}'", key_lines.get(key, line), data)

    def _value(
        self, path: str, value: object, rule: Field, what: str, line: int, parent: object
    ) -> None:
        if value is None and not rule.required:
            return
        if not _has_type(value, rule.type):
            self.add(path, line, f"{what} must be {_TYPE_NAMES[rule.type]}, not {_describe(value)}")
            return
        if rule.type == "str":
            self._string(path, value, rule, what, line)
        elif rule.type == "strs":
            item_lines = getattr(value, "item_lines", None) or [line] * len(value)
            for item, item_line in zip(value, item_lines, strict=False):
                self._string(path, item, rule, what, item_line)
        elif rule.type == "record":
            self._record(path, value, rule.spec or {}, what, line)
        elif rule.type == "records":
            for index, item in enumerate(value):
                self._record(
                    path,
                    item,
                    rule.spec or {},
                    f"item {index + 1} of {what}",
                    line_of(value, index, line),
                )
        elif rule.type == "int" and value < 0:
            self.add(path, line, f"{what} must not be negative")

    def _string(self, path: str, value: str, rule: Field, what: str, line: int) -> None:
        if not value.strip():
            self.add(path, line, f"{what} must not be empty")
            return
        if rule.enum and value not in rule.enum:
            self.add(path, line, f"{what} is '{value}', expected one of: {', '.join(rule.enum)}")
        if rule.pattern and not rule.pattern.fullmatch(value):
            expected = _PATTERN_NAMES[rule.pattern]
            shown = f"id '{value}'" if rule.defines else f"{what} '{value}'"
            self.add(path, line, f"{shown} must be {expected}")
        elif rule.pattern is DATE_PATTERN and not _is_date(value):
            self.add(path, line, f"{what} '{value}' is not a date in the calendar")
        if rule.defines:
            self._define(path, rule.defines, value, line)
        if rule.ref:
            self.used.append((rule.ref, value, path, line))

    def _define(self, path: str, namespace: str, value: str, line: int) -> None:
        seen = self.defined.setdefault(namespace, {})
        if value in seen:
            first_path, first_line = seen[value]
            self.add(
                path,
                line,
                f"duplicate {namespace} id '{value}' (first defined at {first_path}:{first_line})",
            )
        else:
            seen[value] = (path, line)


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _has_type(value: object, type_name: str) -> bool:
    if type_name == "str":
        return isinstance(value, str)
    if type_name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "bool":
        return isinstance(value, bool)
    if type_name == "strs":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if type_name == "record":
        return isinstance(value, dict)
    return isinstance(value, list)


def _describe(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, (LineDict, dict)):
        return "a mapping"
    if isinstance(value, (LineList, list)):
        return "a list"
    return f"{type(value).__name__} {value!r}"[:60]


def check_aliases(
    validation: Validation, sections: dict[str, list], origins: dict[str, list[str]]
) -> None:
    """Ids and aliases share one namespace per kind, so every name a user types is unambiguous."""
    for key, kind in (("contexts", "context"), ("therapies", "therapy")):
        owner: dict[str, str] = {}
        for record, path in zip(sections.get(key, ()), origins.get(key, ()), strict=True):
            aliases = record.get("aliases")
            names = [record["id"]] + [
                a for a in (aliases if isinstance(aliases, list) else []) if isinstance(a, str)
            ]
            for position, name in enumerate(names):
                folded = name.casefold()
                line = line_of(record, "id" if position == 0 else "aliases")
                if folded in owner and owner[folded] != record["id"]:
                    validation.add(
                        path,
                        line,
                        f"name '{name}' of {kind} '{record['id']}' is already used by "
                        f"'{owner[folded]}'",
                    )
                elif folded in owner:
                    validation.add(path, line, f"alias '{name}' repeats a name of '{record['id']}'")
                owner[folded] = record["id"]


def check_hierarchy(
    validation: Validation, sections: dict[str, list], origins: dict[str, list[str]]
) -> None:
    """Context parents must form a tree: a cycle would make parent matching loop forever."""
    contexts = sections.get("contexts", [])
    parent_of = {c["id"]: c.get("parent") for c in contexts}
    for context, path in zip(contexts, origins.get("contexts", ()), strict=True):
        seen = {context["id"]}
        current = parent_of[context["id"]]
        while isinstance(current, str) and current in parent_of:
            if current in seen:
                # Only the contexts on the cycle are their own ancestors; one that merely
                # leads into a cycle is reported through those.
                if current == context["id"]:
                    validation.add(
                        path,
                        line_of(context, "parent"),
                        f"context '{context['id']}' is its own ancestor",
                    )
                break
            seen.add(current)
            current = parent_of[current]
