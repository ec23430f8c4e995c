"""Make knowledge strings safe to put on a terminal, in every output format.

A knowledge file may come from anyone. Control characters and terminal escape sequences are
shown as visible escapes (\\x1b, \\u202e) instead of being sent raw, so a file cannot move the
cursor, recolour the screen or reorder text with bidirectional overrides. Printable text,
square brackets included, passes through untouched.
"""

from __future__ import annotations

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_C0_C1 = (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))

VISIBLE = {code: f"\\x{code:02x}" for code in _C0_C1} | {code: f"\\u{code:04x}" for code in _BIDI}
"""Visible stand-ins for text output (tables, Markdown, CSV, citations)."""

JSON_ESCAPES = {code: f"\\u{code:04x}" for code in (*range(0x7F, 0xA0), *_BIDI)}
"""JSON already escapes C0 controls; these make DEL, the C1 controls and the bidi controls
\\uXXXX escapes too (still valid JSON, decoding to the original character)."""


def visible(text: str) -> str:
    """`text` with every control or bidi-override character replaced by a visible escape."""
    return text.translate(VISIBLE)
