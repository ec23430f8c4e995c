"""The questions asked of the knowledge: resolve names, filter, rank, search.

Pure functions of a `KnowledgeBase` and plain values: no printing, no exits, no formatting,
so every output format answers from the same results. `answers.records` turns results into
the plain records of the JSON contract.
"""

from calcref.answers.query import (
    references,
    resolve,
    subtypes,
    therapy_references,
    treat,
    workup,
)

__all__ = ["references", "resolve", "subtypes", "therapy_references", "treat", "workup"]
