"""The JSON each command prints, declared from the record kinds, and as JSON Schema.

A command's records are a record kind's declared fields (`Record.as_json`) plus what
`answers.records` derives (a reference's label and link, a therapy's place on the ladder,
where a record came from). The derived keys are declared here as `Field`s too, so
`calcref schema --output COMMAND` is generated, not written by hand, and a field added to
the model is in the published schema the day it is added.

Every key is always present (a source's silence is `null`, not a missing key), except the
few a question adds (`match` with --context, `relation` with --context or --subtype). New
keys may be added, so objects are open; none is renamed or removed without a major version.
"""

from __future__ import annotations

from typing import Any

from calcref.knowledge.json_schema import DIALECT, value_schema
from calcref.model import (
    LINES,
    Caution,
    Context,
    CuratorNote,
    EvidenceLevel,
    Field,
    Investigation,
    Position,
    Reference,
    Statement,
    Study,
    Subtype,
    Therapy,
    Tie,
)

Spec = dict[str, Field]


def _text(doc: str, *, nullable: bool = False) -> Field:
    return Field("str", doc, required=not nullable)


def _texts(doc: str) -> Field:
    return Field("strs", doc, required=True)


def _records(spec: Spec, doc: str) -> Field:
    return Field("records", doc, required=True, spec=spec)


def _record(spec: Spec, doc: str, *, nullable: bool = False) -> Field:
    return Field("record", doc, required=not nullable, spec=spec)


ORIGIN: Spec = {
    "layer": _text(
        "bundled (calcref's own knowledge, and nothing else), or the knowledge directory as "
        "CALCREF_DATA gave it (one spelled bundled is ./bundled).",
        nullable=True,
    ),
    "source_file": _text("The file, relative to its layer.", nullable=True),
    "overlay": Field("bool", "True when an overlay gave or replaced it.", required=True),
}
RELATION = Field(
    "str",
    "Whose patients, seen from the context or subtype asked: this, narrower, broader, other, "
    "unstated (the source does not say which disease, or with --subtype which kind of "
    "calcinosis, its patients had: neither these patients nor others), or excluded (the "
    "source says it left out the kind of calcinosis asked about: `excluded`).",
    enum=("this", "narrower", "broader", "other", "unstated", "excluded"),
)
STUDY: Spec = (
    dict(Study.FIELDS)
    | {"label": _text("The reference's short label, e.g. Balin 2012.")}
    | {"relation": RELATION}
    | ORIGIN
)
POSITION: Spec = dict(Position.FIELDS) | {"label": _text("The source's short label.")}
MATCH: Spec = {
    "kind": Field(
        "str", "Where it matched.", required=True, enum=("direct", "narrower", "broader")
    ),
    "context": _text("The context the evidence is from."),
    "evidence": Field("str", "How.", required=True, enum=("studied", "named")),
}
THERAPY: Spec = (  # in the order of the records' keys: a CSV header is read from it
    {"id": Therapy.FIELDS["id"], "name": Therapy.FIELDS["name"]}
    | {
        "place": Field(
            "str",
            "chapter ladder, or beyond the chapter.",
            required=True,
            enum=("chapter ladder", "beyond the chapter"),
        ),
        "line": Field("str", "The chapter's ladder line.", enum=LINES),
        "evidence": Position.FIELDS["evidence"],
        "graded_for": _texts("The subtypes the chapter's letter is for."),
    }
    | dict(Therapy.FIELDS)
    | {
        "positions": _records(POSITION, "Where each source places it."),
        "other_forms": _texts("The same treatment by other routes or forms."),
        "contexts": _texts("Contexts it was reported in, by itself or its studies."),
        "subtypes": _texts("Subtypes it was reported for, by itself or its studies."),
        "studies": _records(STUDY, "Its studies."),
    }
    | ORIGIN
    | {
        "match": Field("record", "With --context: why it matched.", spec=MATCH),
        "strongest": _text(
            "The study the row leads with: of the patients asked about (else the nearest), "
            "a study of treatment that reports a result, the strongest kind of source first.",
            nullable=True,
        ),
        "chosen_from": _texts(
            "The ids of the studies `strongest` was chosen among (patients as close to those "
            "asked about, the same aim, the same kind of calcinosis); where their directions "
            "differ, the table's row says its sources disagree."
        ),
        "sources_disagree": Field(
            "bool",
            "True when the row must say its sources disagree: the studies in chosen_from point "
            "different ways, or the curators record a known conflict (disagreement).",
        ),
    }
)
REFERENCE: Spec = (
    dict(Reference.FIELDS)
    | {
        "label": _text("A reader's short label."),
        "url": _text("The DOI, PubMed record or an honest PubMed search.", nullable=True),
        "link": _text("What the URL is, or why there is none."),
    }
    | ORIGIN
    | {"citation": _text("The citation in the style asked (AMA unless --style says).")}
)
SUBTYPE: Spec = dict(Subtype.FIELDS) | {"contexts": _texts("Contexts it occurs in.")} | ORIGIN
INVESTIGATION: Spec = (
    {k: v for k, v in Investigation.FIELDS.items() if k not in ("ties", "sources")}
    | {
        "rationale": _records(Tie.FIELDS, "The ties that apply to the question."),
        "subtypes": _texts("Subtypes it serves; all for every subtype."),
        "contexts": _texts("Contexts it serves."),
        "sources": Investigation.FIELDS["sources"],
    }
    | ORIGIN
)
HIT: Spec = {
    "kind": _text("The kind of record."),
    "id": _text("Its id."),
    "field": _text("The field path that matched, e.g. regimens[0].text."),
    "excerpt": _text("The match with its surroundings."),
    "caution": _record(
        Caution.FIELDS,
        "The caution of the innermost record holding the value found (a regimen, a harm, "
        "an effect, else the record itself).",
        nullable=True,
    ),
    "notes": _records(CuratorNote.FIELDS, "The curator's notes of that innermost record."),
    "enclosing_cautions": _records(
        Caution.FIELDS,
        "The cautions of the records around it, nearest first (the study's, for a hit in one "
        "of its harms); they qualify the value as much as its own. None repeats `caution`.",
    ),
    "enclosing_notes": _records(
        CuratorNote.FIELDS,
        "The curator's notes of the records around it, nearest first; none repeats `notes`.",
    ),
    "harms": _records(
        {"therapy": _text("The therapy whose harm it is.")} | dict(Statement.FIELDS),
        "The harms the sources report for the therapy a hit is in, or for each therapy the "
        "study a hit is in tried (the study's own adverse events stay in its record: "
        "`calcref studies --json`). Empty for other kinds of record.",
    ),
} | ORIGIN
LEVEL: Spec = (
    dict(EvidenceLevel.FIELDS)
    | {
        "letter": Field(
            "str",
            "The letter; null for the therapies without one (named in the chapter, or beyond it).",
            enum=("A", "B", "C", "D", "E"),
        ),
        "count": Field("int", "Therapies at this letter.", required=True),
        "therapies": _texts("Their ids."),
        "entries": _records(
            {
                "entry": _text("The entry as the chapter lists it."),
                "therapies": _texts("The therapies calcref keeps it as."),
            },
            "The chapter's entries at this letter: one entry may be two therapies.",
        ),
        "from_overlays": _records(
            {"id": _text("A therapy of this row that an overlay gave or replaced.")} | ORIGIN,
            "The therapies of this row that are local knowledge, not the sources'.",
        ),
    }
    | ORIGIN
)
STATEMENT: Spec = {
    "section": _text("clinical picture or management."),
    "kind": _text("The aspect or the kind of statement."),
    "id": _text("The principle's id; null for the clinical picture.", nullable=True),
    "text": _text("The statement."),
    "sources": _texts("Its sources."),
} | ORIGIN
PROBLEM: Spec = {
    "path": _text("The file."),
    "line": Field("int", "The line.", required=True),
    "message": _text("What is wrong."),
    "rule": _text(
        "load, or the curators' rule that found it; limit on the last line of a report that "
        "stopped at its first 1,000 problems."
    ),
}
LAYER: Spec = {
    "directory": _text("The directory."),
    "overlay": Field("bool", "An overlay, not the base.", required=True),
    "bundled": Field(
        "bool",
        "The knowledge calcref ships, told by its directory, not by its name.",
        required=True,
    ),
    "files": _texts("Its files."),
    "version": _text("Its version.", nullable=True),
    "date": _text("Its date.", nullable=True),
    "title": _text("Its title.", nullable=True),
}
INFO: Spec = {
    "calcref": _text("calcref's version."),
    "knowledge": _record(
        {k: LAYER[k] for k in ("version", "date", "title")}, "The base knowledge's manifest."
    ),
    "layers": _records(LAYER, "The knowledge stack, base first."),
    "counts": Field("record", "Records of each kind.", required=True, spec={}),
    "sources": _records(
        {
            "id": _text("The reference's id."),
            "label": _text("Its short label."),
            "kind": _text("Its kind of source.", nullable=True),
            "covers": _text("What calcref takes from it.", nullable=True),
        }
        | ORIGIN,
        "Every source calcref holds.",
    ),
    "cache": _record(
        {
            "state": _text("hit, written, not written, unsafe or off."),
            "entry": _text("The cache file.", nullable=True),
        },
        "How this run read the knowledge.",
    ),
}
CARD: Spec = SUBTYPE | {
    "workup": _records(INVESTIGATION, "Its workup."),
    "therapies": _texts("Therapies reported for it."),
}

OUTPUTS: dict[str, tuple[str, Spec]] = {
    "treat": ("array", THERAPY),
    "studies": ("array", STUDY),
    "show": ("object", THERAPY | {"references": _records(REFERENCE, "Its references.")}),
    "workup": ("array", INVESTIGATION),
    "subtypes": ("array", SUBTYPE),
    "cite": ("array", REFERENCE),
    "search": ("array", HIT),
    "levels": ("array", LEVEL),
    "overview": ("array", STATEMENT),
    "contexts": ("array", dict(Context.FIELDS) | ORIGIN),
    "info": ("object", INFO),
    "validate": ("array", PROBLEM),
}
"""Each command's JSON: an array of records, or one object, and the keys of each."""

OPTIONAL = {
    "match",
    "relation",
    "strongest",
    "chosen_from",
    "sources_disagree",
}  # keys treat adds; the rest always
CHANGES_SHAPE = {"subtypes": CARD}  # `subtypes ID` prints the card of one subtype


def output_schema(command: str) -> dict[str, Any]:
    """The JSON Schema (Draft 2020-12) of what `calcref COMMAND --json` prints."""
    shape, spec = OUTPUTS[command]
    item = _object(spec)
    if command in CHANGES_SHAPE:
        item = {"anyOf": [item, _object(CHANGES_SHAPE[command])]}
    body = {"type": "array", "items": item} if shape == "array" else item
    return {
        "$schema": DIALECT,
        "title": f"calcref {command} --json",
        "description": "Generated from calcref's record declarations. Objects are open: new "
        "keys may be added; none is renamed or removed without a major version.",
    } | body


def _object(spec: Spec) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: _property(field) for key, field in spec.items()},
        "required": [key for key in spec if key not in OPTIONAL],
    }


def _property(field: Field) -> dict[str, Any]:
    if field.type == "record":
        value: dict[str, Any] = _object(field.spec or {})
        if field.spec == {}:
            value = {"type": "object"}
    elif field.type == "records":
        value = {"type": "array", "items": _object(field.spec or {})}
    else:
        value = value_schema(field)
    if not field.required:
        value = {"anyOf": [value, {"type": "null"}]}
    return {"description": field.doc} | value
