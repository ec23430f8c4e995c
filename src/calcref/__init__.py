"""calcref: an offline clinical reference for calcinosis cutis. A reference, not medical advice.

The library is usable without the command line:

    from calcref import answers, load
    kb = load()                                  # the bundled knowledge, no cache
    for result in answers.treat(kb, context="ssc"):
        print(result.therapy.name, result.match.kind)
"""

from __future__ import annotations

from typing import Any

from calcref.version import __version__

__all__ = ["__version__", "answers", "load"]


def __getattr__(name: str) -> Any:
    """`load` and `answers` on first use, so `calcref --version` imports neither."""
    if name == "load":
        from calcref.knowledge import load

        return load
    if name == "answers":
        import calcref.answers

        return calcref.answers
    raise AttributeError(f"module 'calcref' has no attribute {name!r}")
