"""The JSON each command prints validates against the schema `calcref schema --output`
publishes (generated from the record declarations), for every command and its main
questions, so a script written against the schema reads every answer."""

from __future__ import annotations

import functools
import json

import jsonschema
import pytest
from clirun import ok

from calcref.answers.contract import CARD, OUTPUTS

RUNS = {
    "treat": [[], ["--context", "ssc"], ["--subtype", "calciphylaxis"], ["--context", "jdm"]],
    "studies": [[], ["--context", "dialysis"]],
    "show": [["warfarin"], ["sodium-thiosulfate-intraperitoneal"], ["colchicine"]],
    "workup": [[], ["--subtype", "calciphylaxis"]],
    "subtypes": [[], ["calciphylaxis"]],
    "cite": [[], ["--therapy", "rituximab"]],
    "search": [["thiosulfate", "--all"], ["1.2", "g"]],
    "levels": [[]],
    "overview": [[]],
    "contexts": [[]],
    "info": [[]],
    "validate": [[]],
}


@functools.cache
def _published(command: str) -> str:
    return ok("schema", "--output", command).stdout


def published(command: str) -> dict:
    """The schema `calcref schema --output COMMAND` prints (run once per command)."""
    return json.loads(_published(command))


def test_every_command_with_json_has_a_schema_and_a_run():
    assert set(RUNS) == set(OUTPUTS)


@pytest.mark.parametrize(
    ("command", "args"), [(c, a) for c, runs in RUNS.items() for a in runs], ids=str
)
def test_json_output_validates_against_its_published_schema(command, args):
    schema = published(command)
    jsonschema.Draft202012Validator.check_schema(schema)
    document = json.loads(ok(command, *args, "--json").stdout)
    # jsonschema.validate() would check the schema against the metaschema again
    jsonschema.Draft202012Validator(schema).validate(document)
    assert_declared_order(command, document)


def assert_declared_order(command: str, document: object) -> None:
    """The declaration is the order too: an empty CSV answer takes its header from it (every
    key a record of the command can have), so its columns stand in the order the records of
    a non-empty answer print theirs."""
    declared = list(OUTPUTS[command][1])
    for record in document if isinstance(document, list) else [document]:
        if command == "subtypes" and "workup" in record:  # a subtype's card
            declared = list(CARD)
        assert list(record) == [key for key in declared if key in record]


def test_the_schema_is_strict_where_it_matters():
    """A record missing a key, or a letter off the scale, is refused: the schema is not a
    formality that anything passes."""
    schema = published("treat")
    (record, *_) = json.loads(ok("treat", "--context", "ssc", "--json").stdout)
    broken = [dict(record, evidence="F")]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)
    missing = [{k: v for k, v in record.items() if k != "place"}]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(missing, schema, cls=jsonschema.Draft202012Validator)


def test_the_schemas_ship_with_the_package():
    """Generated from the package itself, so an installed calcref prints them offline."""
    for command in OUTPUTS:
        assert published(command)["title"] == f"calcref {command} --json"
