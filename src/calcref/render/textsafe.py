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

Most text holds nothing to escape, and `str.isprintable()` says so in C without a regular
expression: every character escaped here is one it calls non-printable (the controls; the
format characters, bidi, zero-width and tags among them; the line and paragraph separators;
the surrogates; the tag block's unassigned code points), so printable text, or text whose
only non-printable characters are newlines and tabs, is returned as it is
(tests/test_textsafe.py checks every code point). Anything else goes through a regular
expression, compiled on first use: the two cost about a millisecond to compile, which most
runs never pay. Regular expressions rather than str.translate: a regex scan of a large JSON
document costs a few milliseconds where translate costs a hundred.
"""

from __future__ import annotations

import re
from functools import cache

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVISIBLE = "\u200b-\u200d\u2060\ufeff\u2028\u2029\U000e0000-\U000e007f\ud800-\udfff"
CONTROLS = f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}{_INVISIBLE}]"
"""What `visible` escapes: every C0 control but tab and newline, DEL, C1, bidi, invisible."""
JSON_UNESCAPED = f"[\x7f-\x9f{_BIDI}{_INVISIBLE}]"
"""What `json_safe` escapes: what json.dumps leaves raw of the above."""


@cache
def _compiled(characters: str) -> re.Pattern[str]:
    return re.compile(characters)


def _clean(text: str) -> bool:
    """Nothing in `text` to escape: every character printable, or a newline or a tab."""
    return text.isprintable() or text.replace("\n", "").replace("\t", "").isprintable()


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
    if _clean(text):
        return text
    return _compiled(CONTROLS).sub(_escape, text)


def one_line(text: str) -> str:
    """`visible(text)` with its newlines escaped too: a message on stderr is one line, so a
    script reading `calcref: ...` lines never meets a second line without the prefix."""
    return visible(text).replace("\n", "\\n")


def json_safe(document: str) -> str:
    """A JSON document with DEL, the C1 controls, the bidi controls and the invisible
    characters as \\uXXXX escapes (json.dumps already escapes the C0 ones): still valid JSON,
    decoding to the same text."""
    if _clean(document):
        return document
    return _compiled(JSON_UNESCAPED).sub(_json_escape, document)
