"""Make knowledge strings safe to put on a terminal, in every output format.

A knowledge file may come from anyone. Control characters and terminal escape sequences are
shown as visible escapes (\\x1b, \\u202e) instead of being sent raw, so a file cannot move the
cursor, recolour the screen or reorder text with bidirectional overrides. Printable text,
square brackets included, passes through untouched.

Regular expressions rather than str.translate: most text holds nothing to escape, and a regex
scan of a large JSON document costs a few milliseconds where translate costs a hundred.
"""

from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_JSON_UNESCAPED = re.compile(f"[\x7f-\x9f{_BIDI}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def visible(text: str) -> str:
    """`text` with every control or bidi-override character replaced by a visible escape
    (tables, Markdown, CSV, citations). Tab and newline are kept."""
    return _CONTROLS.sub(_escape, text)


def json_safe(document: str) -> str:
    """A JSON document with DEL, the C1 controls and the bidi controls as \\uXXXX escapes
    (json.dumps already escapes the C0 ones): still valid JSON, decoding to the same text."""
    return _JSON_UNESCAPED.sub(_json_escape, document)
