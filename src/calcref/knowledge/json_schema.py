"""The knowledge files' rules as JSON Schema, for curators' editors and other tools.

Generated from the model's declarations (`calcref.model`), the rules the loader itself
applies, so the published schema cannot drift from what calcref accepts. JSON Schema cannot
see across records, so ids that must exist elsewhere, duplicate ids, aliases and overlay
conflicts are left to `calcref validate`; everything about a single file's shape, types and
values is here.
"""

from __future__ import annotations

from typing import Any

from calcref.knowledge.rules import overlay_spec
from calcref.model import DATE_PATTERN, FILE_NAMES, FILES, Field

DIALECT = "https://json-schema.org/draft/2020-12/schema"
NOT_BLANK = r"\S"  # the loader refuses strings that are empty or only whitespace
KINDS = {name.removesuffix(".yaml"): name for name in FILE_NAMES}
"""What `calcref schema` accepts: knowledge, subtypes, therapies."""


def for_file(kind: str, overlay: bool = False) -> dict[str, Any]:
    """The JSON Schema of one knowledge file, as a base file or as an overlay's."""
    name = KINDS[kind]
    role = "an overlay's" if overlay else "calcref's"
    schema = {
        "$schema": DIALECT,
        "title": f"{role} {name}",
        "description": f"Rules for {role} {name}, generated from the rules calcref's loader "
        "applies. `calcref validate` also checks what a schema cannot: ids named across "
        "records, duplicates, aliases and overlays.",
    }
    return schema | _object(overlay_spec(name) if overlay else FILES[name])


def _object(spec: dict[str, Field]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: _property(rule) for key, rule in spec.items()},
        "required": [key for key, rule in spec.items() if rule.required],
        "additionalProperties": False,
    }


def _property(rule: Field) -> dict[str, Any]:
    value = value_schema(rule)
    if not rule.required:  # an optional key may be left empty (null); a required one not
        value = {"anyOf": [value, {"type": "null"}]}
    return {"description": rule.doc, **value}


def value_schema(rule: Field) -> dict[str, Any]:
    if rule.type == "str":
        return _string(rule)
    if rule.type == "strs":
        unique = {"uniqueItems": True} if rule.ref or rule.enum else {}  # as the loader refuses
        return {"type": "array", "items": _string(rule)} | unique
    if rule.type == "int":
        return {"type": "integer", "minimum": 0}
    if rule.type == "bool":
        return {"type": "boolean"}
    if rule.type == "record":
        return _object(rule.spec or {})
    return {"type": "array", "items": _object(rule.spec or {})}


def _string(rule: Field) -> dict[str, Any]:
    if rule.enum:
        return {"type": "string", "enum": list(rule.enum)}
    # The rules' patterns (ids, dates) admit no blank string, and use only syntax that JSON
    # Schema's regular expressions share with Python's.
    if rule.pattern is DATE_PATTERN:  # the loader also checks the calendar; "format" says so
        return {"type": "string", "pattern": rule.pattern.pattern, "format": "date"}
    return {"type": "string", "pattern": rule.pattern.pattern if rule.pattern else NOT_BLANK}
