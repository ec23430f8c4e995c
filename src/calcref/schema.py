"""What a valid knowledge file looks like, and the check that finds every way one is not.

The schema is data (one `Field` per key) so that the validator, the contributor docs and the
tests all read the same rules. Validation never stops at the first problem: a curator fixing a
file wants the whole list at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from calcref.errors import Problem
from calcref.model import EVIDENCE_LETTERS
from calcref.yamlread import LineDict, LineList, line_of

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
LINES = ("first", "second", "third")
BASES = ("chapter", "curated")
ALL_SUBTYPES = "all"


@dataclass(frozen=True)
class Field:
    """One key of a record: its type, whether it must be present, and what it may hold."""

    type: str  # str | int | bool | strs | record | records
    required: bool = False
    enum: tuple[str, ...] = ()
    ref: str | None = None  # namespace an id value must exist in
    spec: dict[str, Field] | None = None
    defines: str | None = None  # namespace this `id` key defines


def _id(namespace: str) -> Field:
    return Field("str", required=True, defines=namespace)


def _sources() -> Field:
    return Field("strs", required=True, ref="reference")


NOTE = {"id": Field("str", required=True), "text": Field("str", required=True)}
NOTES = Field("records", spec=NOTE)
STATEMENT = {"text": Field("str", required=True), "sources": _sources(), "notes": NOTES}

SUBTYPE = {
    "id": _id("subtype"),
    "name": Field("str", required=True),
    "major": Field("bool", required=True),
    "variant_of": Field("str", ref="subtype"),
    "most_common": Field("bool"),
    "calcium_phosphate": Field("str", required=True),
    "summary": Field("str", required=True),
    "examples": Field("strs"),
    "contexts": Field("strs", ref="context"),
    "frequencies": Field(
        "records",
        spec={
            "context": Field("str", required=True, ref="context"),
            "figure": Field("str", required=True),
            "statements": Field("records", required=True, spec=STATEMENT),
        },
    ),
    "sources": _sources(),
    "notes": NOTES,
}
CONTEXT = {
    "id": _id("context"),
    "name": Field("str", required=True),
    "aliases": Field("strs"),
    "parent": Field("str", ref="context"),
    "subtypes": Field("strs", ref="subtype"),
    "summary": Field("str", required=True),
    "sources": _sources(),
}
FEATURE = {
    "aspect": Field(
        "str",
        required=True,
        enum=("appearance", "size", "site", "symptom", "complication", "course"),
    ),
    "text": Field("str", required=True),
    "sources": _sources(),
}
INVESTIGATION = {
    "id": _id("investigation"),
    "name": Field("str", required=True),
    "looks_for": Field("str", required=True),
    "ties": Field(
        "records",
        required=True,
        spec={
            "target": Field("str", required=True, ref="target"),
            "basis": Field("str", required=True, enum=BASES),
            "reason": Field("str", required=True),
            "sources": _sources(),
        },
    ),
    "sources": _sources(),
}
PRINCIPLE = {
    "id": _id("principle"),
    "kind": Field(
        "str", required=True, enum=("step", "principle", "general-measure", "caveat", "immunology")
    ),
    "text": Field("str", required=True),
    "sources": _sources(),
}
EVIDENCE = {
    "letter": Field("str", required=True, enum=EVIDENCE_LETTERS),
    "definition": Field("str", required=True),
    "sources": _sources(),
}
REFERENCE = {
    "id": _id("reference"),
    "type": Field("str", required=True, enum=("article", "chapter")),
    "authors": Field("strs"),
    "et_al": Field("bool"),
    "title": Field("str"),
    "journal": Field("str"),
    "book": Field("str"),
    "year": Field("int"),
    "volume": Field("str"),
    "issue": Field("str"),
    "pages": Field("str"),
    "article_number": Field("str"),
    "doi": Field("str"),
    "printed": Field(
        "records",
        required=True,
        spec={
            "source": Field("str", required=True, ref="reference"),
            "text": Field("str", required=True),
        },
    ),
    "confirmed": Field("str"),
    "notes": NOTES,
}
THERAPY = {
    "id": _id("therapy"),
    "name": Field("str", required=True),
    "aliases": Field("strs"),
    "positions": Field(
        "records",
        spec={
            "source": Field("str", required=True, ref="reference"),
            "line": Field("str", enum=LINES),
            "evidence": Field("str", enum=EVIDENCE_LETTERS),
            "listed_as": Field("str"),
            "view": Field("str"),
        },
    ),
    "mechanism": Field("records", spec=STATEMENT),
    "regimens": Field("records", spec=STATEMENT),
    "contexts": Field(
        "records",
        spec={"context": Field("str", required=True, ref="context"), "sources": _sources()},
    ),
    "subtypes": Field("strs", ref="subtype"),
    "uses": Field("records", spec=STATEMENT),
    "sources": _sources(),
    "notes": NOTES,
}
COUNTS = {name: Field("int") for name in ("responders", "complete", "partial", "none", "unknown")}
STUDY = {
    "id": _id("study"),
    "ref": Field("str", required=True, ref="reference"),
    "therapies": Field("strs", required=True, ref="therapy"),
    "design": Field("str"),
    "population": Field("str", required=True),
    "contexts": Field("strs", ref="context"),
    "subtypes": Field("strs", ref="subtype"),
    "n": Field("int"),
    "age": Field("str"),
    "regimen": Field("str"),
    "outcome": Field("str", required=True),
    "counts": Field("record", required=True, spec=COUNTS),
    "sources": _sources(),
    "notes": NOTES,
}

FILES: dict[str, dict[str, Field]] = {
    "subtypes.yaml": {
        "subtypes": Field("records", required=True, spec=SUBTYPE),
        "contexts": Field("records", required=True, spec=CONTEXT),
        "clinical_features": Field("records", required=True, spec=FEATURE),
        "investigations": Field("records", required=True, spec=INVESTIGATION),
        "principles": Field("records", required=True, spec=PRINCIPLE),
    },
    "therapies.yaml": {
        "evidence_levels": Field("records", required=True, spec=EVIDENCE),
        "references": Field("records", required=True, spec=REFERENCE),
        "therapies": Field("records", required=True, spec=THERAPY),
        "studies": Field("records", required=True, spec=STUDY),
    },
}

_TYPE_NAMES = {
    "str": "a string",
    "int": "a whole number",
    "bool": "true or false",
    "strs": "a list of strings",
    "record": "a mapping",
    "records": "a list of mappings",
}


@dataclass
class Validation:
    """Accumulates problems, id definitions and id uses across both files."""

    problems: list[Problem] = field(default_factory=list)
    defined: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)
    used: list[tuple[str, str, str, int]] = field(default_factory=list)

    def add(self, path: str, line: int, message: str) -> None:
        self.problems.append(Problem(path, line, message))

    def check_file(self, path: str, name: str, data: object) -> None:
        self._record(path, data, FILES[name], "file", 1)

    def check_links(self) -> None:
        """After both files: every id named must exist, and aliases must not collide."""
        namespaces = {namespace for namespace, *_ in self.used}
        known_by_namespace = {namespace: self._namespace(namespace) for namespace in namespaces}
        for namespace, value, path, line in self.used:
            known = known_by_namespace[namespace]
            if value not in known:
                kind = "subtype or context" if namespace == "target" else namespace
                self.add(path, line, f"unknown {kind} id '{value}'")

    def _namespace(self, namespace: str) -> set[str]:
        if namespace == "target":
            return {ALL_SUBTYPES} | self._namespace("subtype") | self._namespace("context")
        return set(self.defined.get(namespace, {}))

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
        if rule.defines:
            self._define(path, rule.defines, value, line)
        if rule.ref:
            self.used.append((rule.ref, value, path, line))

    def _define(self, path: str, namespace: str, value: str, line: int) -> None:
        if not ID_PATTERN.match(value):
            self.add(path, line, f"id '{value}' must be lowercase letters, digits and hyphens")
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


def _records(data: dict[str, object], file_name: str, key: str) -> list:
    """`data[file_name][key]` when it is a list of records, else []: the schema has already
    reported any other shape, and these cross-record checks must never crash on one."""
    content = data.get(file_name)
    records = content.get(key) if isinstance(content, dict) else None
    return records if isinstance(records, list) else []


def check_aliases(validation: Validation, data: dict[str, object], path_of: dict[str, str]) -> None:
    """Ids and aliases share one namespace per kind, so every name a user types is unambiguous."""
    for file_name, key in (("subtypes.yaml", "contexts"), ("therapies.yaml", "therapies")):
        records = _records(data, file_name, key)
        owner: dict[str, str] = {}
        ids: set[str] = set()
        for index, record in enumerate(records):
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                continue
            if record["id"] in ids:
                continue  # a duplicate id, already reported by the schema check
            ids.add(record["id"])
            aliases = record.get("aliases")
            names = [record["id"]] + [
                a for a in (aliases if isinstance(aliases, list) else []) if isinstance(a, str)
            ]
            for position, name in enumerate(names):
                folded = name.casefold()
                line = line_of(records, index) if position == 0 else line_of(record, "aliases")
                if folded in owner and owner[folded] != record["id"]:
                    validation.add(
                        path_of[file_name],
                        line,
                        f"name '{name}' of {key[:-1] if key != 'therapies' else 'therapy'} "
                        f"'{record['id']}' is already used by '{owner[folded]}'",
                    )
                elif folded in owner:
                    validation.add(
                        path_of[file_name],
                        line,
                        f"alias '{name}' repeats a name of '{record['id']}'",
                    )
                owner[folded] = record["id"]


def check_hierarchy(validation: Validation, data: dict[str, object], path: str) -> None:
    """Context parents must form a tree: a cycle would make parent matching loop forever."""
    contexts = _records(data, "subtypes.yaml", "contexts")
    parent_of = {
        c["id"]: c.get("parent")
        for c in contexts
        if isinstance(c, dict) and isinstance(c.get("id"), str)
    }
    for context in contexts:
        if not isinstance(context, dict) or not isinstance(context.get("id"), str):
            continue
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
