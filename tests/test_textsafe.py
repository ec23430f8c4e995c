"""calcref.render.textsafe: what is escaped, what passes untouched, and the fast path.

`visible` and `json_safe` return text with nothing to escape as it is, judged by
`str.isprintable()`, and send anything else through the regular expressions. The fast path is
only sound if every character the expressions escape is one `isprintable()` rejects: checked
here for every code point, so a Unicode upgrade that changes a category is caught.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from calcref.render import textsafe
from calcref.render.textsafe import json_safe, visible

EVERY_CHARACTER = "".join(map(chr, range(sys.maxunicode + 1)))

DOCUMENTED = {  # the module's promise, character class by character class
    "C0 but tab and newline": [*map(chr, range(0x00, 0x09)), *map(chr, range(0x0B, 0x20))],
    "DEL and C1": list(map(chr, range(0x7F, 0xA0))),
    "bidi": [
        "\u061c",
        "\u200e",
        "\u200f",
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
    ],
    "zero-width": ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"],
    "line and paragraph separators": ["\u2028", "\u2029"],
    "tags": list(map(chr, range(0xE0000, 0xE0080))),
    "surrogates": list(map(chr, range(0xD800, 0xE000))),
}


def _reference_visible(text: str) -> str:
    """The regular expression alone, as textsafe used it before the fast path."""
    return re.sub(textsafe.CONTROLS, textsafe._escape, text)


def _reference_json_safe(document: str) -> str:
    return re.sub(textsafe.JSON_UNESCAPED, textsafe._json_escape, document)


@pytest.mark.parametrize("characters", DOCUMENTED.values(), ids=DOCUMENTED)
def test_every_documented_character_is_escaped(characters: list[str]) -> None:
    for char in characters:
        shown = visible(f"a{char}b")
        assert char not in shown[1:-1] and shown.startswith("a\\"), repr(char)
        assert shown == _reference_visible(f"a{char}b")


@pytest.mark.parametrize("pattern", [textsafe.CONTROLS, textsafe.JSON_UNESCAPED])
def test_isprintable_rejects_every_character_the_expressions_escape(pattern: str) -> None:
    """What makes the fast path sound, over all 1,114,112 code points."""
    escaped = re.findall(pattern, EVERY_CHARACTER)
    assert len(escaped) > 300
    printable = [f"U+{ord(c):04X}" for c in escaped if c.isprintable()]
    assert not printable


def test_newline_and_tab_are_kept_without_the_expressions() -> None:
    textsafe._compiled.cache_clear()
    text = "line one\n\tline two\n"
    assert visible(text) is text
    assert json_safe(text) is text
    assert textsafe._compiled.cache_info().currsize == 0, "a regex was compiled for clean text"


def test_printable_text_is_returned_as_it_is() -> None:
    for text in ("", "Diltiazem 2–4 mg/kg/day ≥ [bold]x[/bold]", "Jiménez-Gallo 2015", "😀 ok"):
        assert visible(text) is text
        assert json_safe(text) is text


@pytest.mark.parametrize(
    "text",
    [
        "\x1b[31mRED\x1b[0m",
        "\u202eEVIL",
        "tab\tand\nnewline with \x07 bell",
        "no-break\u00a0space and \u3000 ideographic space",  # non-printable, kept as is
        "private \ue000 and unassigned \U000e0100\U0010fffd",
        "hidden\U000e0041\U000e007f tag",
        "lone \udcff surrogate",
        "\x85\x9b31m",
    ],
)
def test_the_slow_path_gives_what_the_expressions_give(text: str) -> None:
    assert visible(text) == _reference_visible(text)
    document = json.dumps({"text": text}, ensure_ascii=False)
    assert json_safe(document) == _reference_json_safe(document)
    assert json.loads(json_safe(document)) == {"text": text}


def test_every_character_in_one_string_matches_the_expressions() -> None:
    """A string of every code point (some printable, some not) leaves both functions exactly
    as the expressions alone would leave it."""
    assert visible(EVERY_CHARACTER) == _reference_visible(EVERY_CHARACTER)
    assert json_safe(EVERY_CHARACTER) == _reference_json_safe(EVERY_CHARACTER)


def test_non_printable_characters_that_are_not_escaped_pass_through() -> None:
    """isprintable() rejects more than textsafe escapes (spaces other than U+0020, private
    use, unassigned): those fall to the regular expression, which leaves them."""
    for char in ("\u00a0", "\u2009", "\ue000", "\U0010fffd"):
        assert not char.isprintable()
        assert visible(f"a{char}b") == f"a{char}b"
        assert json_safe(f'"a{char}b"') == f'"a{char}b"'
