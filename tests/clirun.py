"""Running the app in process, shared by the CliRunner tests.

Every in-process run goes through `invoke`, so every test also checks the error contract:
only SystemExit may end a command, and no traceback ever reaches stdout or stderr.
"""

from __future__ import annotations

import traceback

import pytest
from typer.testing import CliRunner, Result

from calcref.cli import app

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the app; only SystemExit may end it (anything else would be a traceback)."""
    result = runner.invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(*result.exc_info)) if result.exc_info else ""
        pytest.fail(f"calcref {' '.join(args)} raised instead of exiting:\n{trace}")
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout
    return result


def ok(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the app and require exit code 0."""
    result = invoke(*args, env=env)
    assert result.exit_code == 0, f"exit {result.exit_code}; stderr: {result.stderr}"
    return result
