"""Entry point for `calcref` and `python -m calcref`."""

from __future__ import annotations

import gc
import signal
import sys


def main() -> None:
    # Ctrl-C ends calcref at once, quietly, as the signal does any program (the shell reports
    # 130): never a KeyboardInterrupt traceback from whatever was running, imports included.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # Importing Typer and calcref makes some 29,000 objects, all but a few hundred of them
    # kept until the process ends, and the cyclic collector would scan them some 34 times
    # on the way: about a twelfth of a `treat --json` run. So it is paused while they are
    # imported; then they are frozen (never scanned again, the few hundred cyclic leftovers
    # kept, a few kilobytes) and collection resumes for the command itself.
    gc.disable()
    try:
        if sys.argv[1:] in (["--version"], ["-V"]) and _version_answered():
            return
        from calcref.cli import main as cli_main
    finally:
        gc.freeze()
        gc.enable()
    cli_main()


def _version_answered() -> bool:
    """`--version` alone is answered before the CLI framework is imported: it needs only the
    knowledge's manifest, which a warm cache holds. A problem with the knowledge, or with
    stdout, is left to the CLI, which reports it under the usual error contract."""
    if sys.stdout is None:  # stdout closed: the CLI says so, as for every command
        return False
    from calcref.errors import CalcrefError
    from calcref.render.formats import knowledge_versions
    from calcref.settings import Settings
    from calcref.version import __version__

    try:
        text = f"calcref {__version__}\n" + knowledge_versions(Settings.here().kb().layers)
    except CalcrefError:
        return False
    from calcref.stdout import deliver

    try:
        deliver(text)
    except OSError:  # a full disk or a closed pipe: nothing buffered; the CLI tries again
        return False  # and reports it under the usual contract
    return True


if __name__ == "__main__":
    main()
