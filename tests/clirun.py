"""Running calcref: in process, shared by the CliRunner tests, and as a real process.

Every in-process run goes through `invoke`, which calls `calcref.cli.run` (the same function
the console script calls) inside CliRunner's isolation (captured streams, the test's
environment), so every test also checks the error contract: `run` returns an exit code and
nothing else may end a command; no traceback ever reaches stdout or stderr.

A real process is the installed console script (ENTRY_POINT) or `python -m calcref` (MODULE),
in `process_env()`: the test's environment, with conftest's isolation.
"""

from __future__ import annotations

import os
import shutil
import sys
import traceback
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from calcref.cli import run

runner = CliRunner()


def call(args: list[str], env: dict[str, str | None] | None = None) -> Result:
    """Run calcref in process and capture what it did, raising nothing (an exception it let
    escape is in `result.exception`)."""
    exception = exc_info = None
    with runner.isolation(env=env) as (stdout, stderr, output):
        try:
            code = run(list(args))
        except SystemExit as exc:  # only an eager click callback could still exit this way
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:
            exception, exc_info, code = exc, sys.exc_info(), 1
        sys.stdout.flush()
        sys.stderr.flush()
        return Result(
            runner,
            stdout.getvalue(),
            stderr.getvalue(),
            output.getvalue(),
            None,
            code,
            exception,
            exc_info,
        )


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run calcref; it must return an exit code (anything raised would be a traceback)."""
    result = call(list(args), env)
    exception, exc_info = result.exception, result.exc_info
    if exception is not None:
        trace = "".join(traceback.format_exception(*exc_info)) if exc_info else ""
        pytest.fail(f"calcref {' '.join(args)} raised instead of exiting:\n{trace}")
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout
    assert "internal error" not in result.stderr, result.stderr
    return result


def ok(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run calcref and require exit code 0."""
    result = invoke(*args, env=env)
    assert result.exit_code == 0, f"exit {result.exit_code}; stderr: {result.stderr}"
    return result


# --- calcref as a real process -----------------------------------------------------------------

ENTRY_POINT = Path(sys.executable).parent / "calcref"
"""The installed console script, beside this Python (or on PATH in a venv laid out otherwise;
tests that need it skip where it is not installed)."""
if not ENTRY_POINT.exists():  # pragma: no cover - a venv laid out differently
    ENTRY_POINT = Path(shutil.which("calcref") or ENTRY_POINT)
MODULE = [sys.executable, "-m", "calcref"]


def process_env(**changes: str | None) -> dict[str, str]:
    """The environment for calcref as a real process: this test's (conftest's session cache,
    without the caller's variables conftest lists) with `changes`; None removes a variable."""
    env = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
