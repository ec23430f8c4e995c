"""Entry point for `calcref` and `python -m calcref`."""

from __future__ import annotations


def main() -> None:
    from calcref.cli import run

    run()


if __name__ == "__main__":
    main()
