"""Writing an answer to stdout whole, or failing loudly.

When a pipe's reader closes in the middle of a large write, the kernel reports a short
write. Python's unbuffered text stdout (`python -u`, `PYTHONUNBUFFERED=1`, as many container
images set) takes that as done and drops the rest without an error, so `calcref treat
--details | head -n 3` ended 0 as if the answer had been delivered. Written to the
descriptor until all of it is taken, a closed pipe is always BrokenPipeError and a full disk
OSError, whatever the buffering; nothing is left in Python's buffer to fail again at exit.
"""

from __future__ import annotations

import os
import sys


def deliver(text: str) -> None:
    """Write all of `text` to stdout, or raise OSError (BrokenPipeError when the reader has
    gone)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file: a test's capture, a StringIO
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    data = memoryview(text.encode(sys.stdout.encoding or "utf-8", "backslashreplace"))
    while data:
        data = data[os.write(fd, data) :]
