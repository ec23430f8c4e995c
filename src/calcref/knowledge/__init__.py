"""Reading, checking, merging and caching the knowledge files.

    from calcref.knowledge import load, stack
    kb = load(stack.from_setting(":/srv/clinic-knowledge"), cache_dir=None)

Nothing here reads the environment, prints or exits: the caller says which directories and
which cache directory to use, and problems come back as KnowledgeError.
"""

from calcref.knowledge import stack
from calcref.knowledge.load import load, validate

__all__ = ["load", "stack", "validate"]
