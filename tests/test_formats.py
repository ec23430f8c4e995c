"""calcref.render.formats: piped JSON is exactly what json.dumps writes.

`to_json(..., pretty=False)` calls the json module's C encoder itself, to spare importing the
module; these tests hold it to json.dumps with the same options, output and errors alike.
"""

from __future__ import annotations

import json
import math

import pytest
from helpers import load_active

from calcref.answers import records
from calcref.render import formats
from calcref.render.textsafe import json_safe


def dumps(data: object) -> str:
    return json_safe(json.dumps(data, ensure_ascii=False, separators=(",", ":"))) + "\n"


SAMPLES = {
    "scalars": [None, True, False, 0, -7, 10**30, 1.5, -0.0, "", "a"],
    "floats": [math.inf, -math.inf, math.nan, 1e-300, 2.5e300],
    "text": ["Jiménez-Gallo ≥ 2–4 mg", 'quote " backslash \\ slash /', "\x00\x1f\x7f\x85"],
    "unicode": ["😀", "\u2028\u2029", "\u202eEVIL", "lone \udcff surrogate", "\U000e0041"],
    "nested": {"a": [{"b": {"c": [[], {}, [None]]}}], "": {"k": ("tuple", 1)}},
    "keys": {3: "int", 2.5: "float", True: "bool", None: "none", "s": "str"},
    "string": "just a string",
}


@pytest.mark.parametrize("data", SAMPLES.values(), ids=SAMPLES)
def test_compact_json_is_json_dumps(data: object) -> None:
    assert formats.to_json(data, pretty=False) == dumps(data)


def test_every_answer_of_the_bundled_knowledge_is_json_dumps() -> None:
    kb = load_active()
    answers = [
        records.info(kb, "0"),
        [records.therapy(kb, t) for t in kb.therapies],
        [records.study(kb, s) for s in kb.studies],
        [records.reference(kb, r) for r in kb.references],
        [records.subtype(kb, s) for s in kb.subtypes],
    ]
    for data in answers:
        assert formats.to_json(data, pretty=False) == dumps(data)


def test_errors_are_json_dumps_errors() -> None:
    for value in ({"x": object()}, [{1, 2}], b"bytes"):
        with pytest.raises(TypeError) as ours:
            formats.to_json(value, pretty=False)
        with pytest.raises(TypeError) as theirs:
            json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        assert str(ours.value) == str(theirs.value)
    circular: list[object] = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference"):
        formats.to_json(circular, pretty=False)


def test_without_the_c_encoder_json_dumps_writes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "_json", None)  # `from _json import ...` fails
    data = SAMPLES["nested"]
    assert formats.to_json(data, pretty=False) == dumps(data)
