"""Entry point for `calcref` and `python -m calcref`."""

from __future__ import annotations

import sys


def main() -> None:
    # `--version` alone is answered before the CLI framework is imported: it is the one
    # question that needs neither Typer nor the knowledge base.
    if sys.argv[1:] in (["--version"], ["-V"]):
        from calcref import __version__

        try:
            sys.stdout.write(f"calcref {__version__}\n")
            sys.stdout.flush()
        except (OSError, AttributeError):  # a full disk, a closed pipe or a closed stdout
            sys.exit(1)
        return
    from calcref.cli import run

    run()


if __name__ == "__main__":
    main()
