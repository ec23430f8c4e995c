"""Make knowledge strings safe to put on a terminal, in every output format.

A knowledge file may come from anyone. Control characters and terminal escape sequences are
shown as visible escapes (\\x1b, \\u202e) instead of being sent raw, so a file cannot move the
cursor, recolour the screen or reorder text with bidirectional overrides. The characters a
reader cannot see but a program acts on are escaped the same way: the Unicode line and
paragraph separators (U+2028, U+2029: a line break to some editors and JavaScript, none to a
terminal), the zero-width characters (U+200B–U+200D, U+2060, U+FEFF: a word that looks like
another) and the tag characters (U+E0000–U+E007F: text hidden inside a string). A lone
surrogate (how Python keeps the bytes of a file name that is not valid UTF-8) is escaped too,
so it can be written to any stream. Printable text, square brackets included, passes
through untouched.

Regular expressions rather than str.translate: most text holds nothing to escape, and a regex
scan of a large JSON document costs a few milliseconds where translate costs a hundred.
"""

from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVISIBLE = "\u200b-\u200d\u2060\ufeff\u2028\u2029\U000e0000-\U000e007f\ud800-\udfff"
_CONTROLS = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}{_INVISIBLE}]")
_JSON_UNESCAPED = re.compile(f"[\x7f-\x9f{_BIDI}{_INVISIBLE}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells a character beyond the BMP as a UTF-16 surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def visible(text: str) -> str:
    """`text` with every control, bidi-override or invisible character replaced by a visible
    escape (tables, Markdown, CSV, citations). Tab and newline are kept."""
    return _CONTROLS.sub(_escape, text)


def json_safe(document: str) -> str:
    """A JSON document with DEL, the C1 controls, the bidi controls and the invisible
    characters as \\uXXXX escapes (json.dumps already escapes the C0 ones): still valid JSON,
    decoding to the same text."""
    return _JSON_UNESCAPED.sub(_json_escape, document)
