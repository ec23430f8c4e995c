"""What a table is drawn for: the width, whether it is a terminal, whether colour is wanted.

The CLI measures these once, from the real terminal and environment, and passes them down;
nothing below it looks at either.
"""

from __future__ import annotations

from calcref.model import Value

PIPED_WIDTH = 80  # piped, when neither COLUMNS nor a controlling terminal says otherwise


class Screen(Value):
    width: int = PIPED_WIDTH
    terminal: bool = False  # colour and live width; piped output is plain
    no_color: bool = False
