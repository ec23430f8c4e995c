"""The README's example output is real: every line it shows is a line calcref prints.

Each fenced block that starts with `$ calcref ...` is run through a shell (pipes into `jq`,
`head` and `tail` included) at the width the examples were drawn with. A README line of `...`
stands for lines left out; every other line must appear, in order, in the real output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"```\n(\$ calcref .*?)```", re.S)
ELIDED = re.compile(r"^\s*(\.\.\.|…)\s*$")


def examples() -> list[tuple[str, list[str]]]:
    found = []
    for block in BLOCK.findall(README.read_text(encoding="utf-8")):
        lines = block.rstrip("\n").split("\n")
        command_lines = [lines[0]]
        # Several commands may share a block: each `$ ` line starts a new example.
        shown: list[str] = []
        for line in lines[1:]:
            if line.startswith("$ "):
                found.append((command_lines[-1][2:], shown))
                command_lines.append(line)
                shown = []
            else:
                shown.append(line)
        found.append((command_lines[-1][2:], shown))
    return found


EXAMPLES = examples()


def run(command: str) -> str:
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, COLUMNS="100", PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode in (0, 2), done.stderr  # the error example exits 2 on purpose
    return done.stdout + done.stderr


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.slow  # runs a shell (the installed calcref) or a Python process
@pytest.mark.parametrize(("command", "shown"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example_is_real_output(command: str, shown: list[str]) -> None:
    if "| jq" in command and shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    if "> refs.bib" in command:
        command = command.replace("> refs.bib", "> /dev/null")
    actual = [line.rstrip() for line in run(command).splitlines()]
    position = 0
    for line in shown:
        if ELIDED.match(line) or not line.strip():
            continue
        wanted = line.rstrip()
        try:
            position = actual.index(wanted, position) + 1
        except ValueError:
            pytest.fail(f"README shows a line calcref does not print (in order): {wanted!r}")


LIBRARY_SECTION = re.compile(r"## Use as a library\n(.*?)\n## ", re.S)
EXAMPLE = re.compile(r"```python\n(.*?)```\n\nprints\n\n```text\n(.*?)```", re.S)


def library_examples() -> list[tuple[str, str]]:
    section = LIBRARY_SECTION.search(README.read_text(encoding="utf-8")).group(1)
    return EXAMPLE.findall(section)


def test_the_library_section_has_its_two_examples() -> None:
    assert len(library_examples()) == 2


@pytest.mark.slow  # runs a shell (the installed calcref) or a Python process
@pytest.mark.parametrize("index", [0, 1])
def test_the_library_example_prints_what_the_readme_shows(tmp_path, index) -> None:
    """Each "Use as a library" example runs as written, outside the repository, and prints
    the lines shown under it."""
    code, shown = library_examples()[index]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == shown
