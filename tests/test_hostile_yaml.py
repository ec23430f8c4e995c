"""Hostile knowledge files, run in a real process under time and memory ceilings.

A knowledge directory may come from anyone (CALCREF_DATA). Object-constructing tags must never
run code, alias bombs and deep nesting must be refused quickly instead of exhausting memory or
the C stack, and oversized or special files must be refused before they are read whole.
Every case runs `python -m calcref treat --json` with a 20 s timeout and a 512 MiB address-space
limit, and must end with exit code 1, one located message, and nothing on stdout.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import data_dir

from calcref.knowledge.load import MAX_FILE_BYTES
from calcref.model import KNOWLEDGE_FILES

pytestmark = pytest.mark.slow

TIMEOUT = 20
MEMORY_LIMIT = 512 * 1024 * 1024
QUICK = 5.0  # seconds: refusals must not depend on the size of what they refuse


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_calcref(directory: Path, *args: str, timeout: float = TIMEOUT):
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env["CALCREF_DATA"] = str(directory)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "calcref", *(args or ("treat", "--json"))],
        capture_output=True,
        env=env,
        timeout=timeout,
        preexec_fn=_limit_memory,
    )
    return done, time.monotonic() - started


@pytest.fixture
def knowledge(tmp_path) -> Path:
    """A private copy of the bundled knowledge to spoil."""
    directory = tmp_path / "data"
    directory.mkdir()
    for name in KNOWLEDGE_FILES:
        shutil.copyfile(data_dir() / name, directory / name)
    return directory


def assert_refused(done, path: Path, line: int | None = None, *fragments: str) -> str:
    """Exit 1, nothing on stdout, and every stderr line a located message for `path`."""
    stderr = done.stderr.decode("utf-8", errors="replace")
    assert done.returncode == 1, f"exit {done.returncode} (negative = killed by a signal)\n{stderr}"
    assert done.stdout == b""
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert lines, "no message"
    for text in lines:
        match = re.match(r"^calcref: error: (.+?):(\d+): (.+)$", text)
        assert match, text
        assert match.group(1) == str(path), text
        if line is not None:
            assert int(match.group(2)) == line, text
    for fragment in fragments:
        assert fragment in stderr, f"{fragment!r} not in {stderr}"
    return stderr


# --- tags that construct Python objects --------------------------------------------------------

TAGGED = [
    ("apply-flow", 'x: !!python/object/apply:os.system ["touch {marker}"]', "python/object/apply"),
    (
        "apply-block",
        "x: !!python/object/apply:os.system\n  - touch {marker}",
        "python/object/apply",
    ),
    ("apply-args", "x: !!python/object/apply:os.system\n  args: [touch {marker}]", "python/object"),
    ("new", 'x: !!python/object/new:os.system ["touch {marker}"]', "python/object/new:os.system"),
    ("object", "x: !!python/object:os.system {{}}", "python/object:os.system"),
    ("name", "x: !!python/name:os.system ''", "python/name:os.system"),
    ("module", "x: !!python/module:os ''", "python/module:os"),
    ("root-apply", '!!python/object/apply:os.system ["touch {marker}"]', "python/object/apply"),
    (
        "verbatim",
        'x: !<tag:yaml.org,2002:python/object/apply:os.system> ["touch {marker}"]',
        "python/object/apply",
    ),
    (
        "tag-directive",
        "%TAG !py! tag:yaml.org,2002:python/object/apply:\n---\n"
        'x: !py!os.system ["touch {marker}"]',
        "python/object/apply:os.system",
    ),
    ("key", '? !!python/object/apply:os.system ["touch {marker}"]\n: value', "python/object"),
    ("local-tag", "x: !evil value", "!evil"),
    ("binary", "x: !!binary aGVsbG8=", "binary"),
    ("set", "x: !!set {{a, b}}", "set"),
    ("timestamp", "x: 2001-12-14", "quote it"),
]


@pytest.mark.parametrize(("text", "named"), [t[1:] for t in TAGGED], ids=[t[0] for t in TAGGED])
def test_object_tags_are_refused_and_never_run(knowledge, text, named, tmp_path) -> None:
    marker = tmp_path / "pwned"
    path = knowledge / "therapies.yaml"
    body = text.format(marker=marker)
    path.write_text(body + "\n", encoding="utf-8")
    line = next(
        i
        for i, row in enumerate(body.splitlines(), 1)
        if ("!" in row or "2001" in row) and not row.startswith("%")
    )
    done, _ = run_calcref(knowledge)
    assert_refused(done, path, line, named)
    assert not marker.exists(), "a YAML tag ran a command"


def test_tag_inside_the_real_file_names_its_line(knowledge, tmp_path) -> None:
    """The tag in the middle of an otherwise valid file: refused at exactly its line."""
    marker = tmp_path / "pwned"
    path = knowledge / "therapies.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    index = next(i for i, row in enumerate(lines) if row.strip() == "name: Diltiazem")
    lines[index] = lines[index].replace(
        "Diltiazem", f'!!python/object/apply:os.system ["touch {marker}"]'
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done, _ = run_calcref(knowledge)
    assert_refused(done, path, index + 1, "python/object/apply:os.system")
    assert not marker.exists()


# --- expansion and nesting bombs ---------------------------------------------------------------


def _billion_laughs(levels: int = 10, width: int = 10) -> str:
    rows = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    rows += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(rows) + "\n"


def test_billion_laughs_is_refused_quickly(knowledge) -> None:
    """Refused at its first anchor, before any alias could expand it."""
    path = knowledge / "therapies.yaml"
    path.write_text(_billion_laughs(), encoding="utf-8")
    done, seconds = run_calcref(knowledge)
    assert_refused(done, path, 1, "anchor '&l0'")
    assert seconds < QUICK, f"took {seconds:.1f} s"


def test_alias_bomb_inside_a_valid_looking_file(knowledge) -> None:
    path = knowledge / "subtypes.yaml"
    original = path.read_text(encoding="utf-8").rstrip("\n") + "\n"
    bomb = "".join(f"  {row}\n" for row in _billion_laughs().splitlines())
    path.write_text(original + "bomb:\n" + bomb, encoding="utf-8")
    first_anchor = original.count("\n") + 2  # "bomb:", then the anchored list
    done, seconds = run_calcref(knowledge)
    assert_refused(done, path, first_anchor, "anchor")
    assert seconds < QUICK


def test_alias_bomb_of_aliases_alone_is_refused_at_the_first_alias(knowledge) -> None:
    """Aliases to anchors never defined: refused at the first one, not expanded."""
    path = knowledge / "therapies.yaml"
    rows = [f"l{i}: [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    path.write_text("l0: [lol]\n" + "\n".join(rows) + "\n", encoding="utf-8")
    done, seconds = run_calcref(knowledge)
    assert_refused(done, path, 2, "alias")
    assert seconds < QUICK


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: "[" * 100_000, id="flow-sequences-100k"),
        pytest.param(lambda: "[" * 100_000 + "]" * 100_000, id="balanced-sequences-100k"),
        pytest.param(lambda: "{a: " * 100_000, id="flow-mappings-100k"),
        pytest.param(lambda: "- " * 100_000 + "x", id="block-sequences-100k"),
        pytest.param(
            lambda: "".join(f"{' ' * i}k{i}:\n" for i in range(2_000)) + " " * 2_000 + "v",
            id="block-mappings-2k",
        ),
    ],
)
def test_deep_nesting_is_refused_without_a_crash(knowledge, build) -> None:
    path = knowledge / "therapies.yaml"
    path.write_text(build() + "\n", encoding="utf-8")
    done, seconds = run_calcref(knowledge)
    stderr = assert_refused(done, path)
    assert "nesting" in stderr or "invalid YAML" in stderr, stderr
    assert seconds < QUICK, f"took {seconds:.1f} s"


def test_depth_limit_is_reported_at_its_line(knowledge) -> None:
    """The contract, not a library's wording: libyaml (PyYAML >= 6.0.4) refuses deep flow
    nesting itself before calcref's own depth check; either way the file is refused at line 1."""
    path = knowledge / "therapies.yaml"
    path.write_text("[" * 100_000 + "\n", encoding="utf-8")
    done, _ = run_calcref(knowledge)
    assert_refused(done, path, 1)


def test_merge_keys_are_refused(knowledge) -> None:
    path = knowledge / "therapies.yaml"
    path.write_text("base: &x {a: 1}\nother:\n  <<: *x\n  b: 2\n", encoding="utf-8")
    done, _ = run_calcref(knowledge)
    assert_refused(done, path, 1, "anchor '&x'")


def test_merge_key_without_alias_is_refused(knowledge) -> None:
    path = knowledge / "therapies.yaml"
    path.write_text("other:\n  <<: {a: 1}\n  b: 2\n", encoding="utf-8")
    done, _ = run_calcref(knowledge)
    assert_refused(done, path, 2, "merge")


# --- size and special files --------------------------------------------------------------------


def test_oversized_sparse_file_is_refused_unread(knowledge) -> None:
    path = knowledge / "therapies.yaml"
    with path.open("r+b") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk, but a size over the limit
    done, seconds = run_calcref(knowledge)
    assert_refused(done, path, 1, str(MAX_FILE_BYTES))
    assert seconds < QUICK


def test_endless_device_is_refused_as_a_device(knowledge) -> None:
    """/dev/zero reports size 0 and never ends: it is refused before any read, as a device."""
    path = knowledge / "therapies.yaml"
    path.unlink()
    path.symlink_to("/dev/zero")
    done, _ = run_calcref(knowledge)
    assert_refused(done, path, 1, "not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_refused_not_waited_on(knowledge) -> None:
    """A FIFO (or /dev/stdin) in place of a file must not hang calcref waiting for a writer."""
    path = knowledge / "therapies.yaml"
    path.unlink()
    os.mkfifo(path)
    try:
        done, seconds = run_calcref(knowledge, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("calcref hung reading a named pipe in place of a knowledge file")
    assert_refused(done, path, 1)
    assert seconds < QUICK


def test_directory_in_place_of_a_file(knowledge) -> None:
    path = knowledge / "subtypes.yaml"
    path.unlink()
    path.mkdir()
    done, _ = run_calcref(knowledge)
    assert_refused(done, path, 1, "directory")


def test_huge_line_under_the_limit_is_handled(knowledge) -> None:
    """An 8 MB scalar: a clear schema error, within the time and memory ceilings."""
    path = knowledge / "therapies.yaml"
    path.write_text(path.read_text("utf-8") + "junk: " + "x" * 8_000_000 + "\n", "utf-8")
    done, seconds = run_calcref(knowledge)
    stderr = assert_refused(done, path)
    assert "unknown key 'junk'" in stderr
    assert seconds < TIMEOUT


# --- a flood of problems -----------------------------------------------------------------------


FLOOD_ITEMS = 150_000  # 2.3 MB; 900,000 problems, which took 600 MB before they were capped


@pytest.mark.parametrize("command", [("treat", "--json"), ("validate",)], ids=["treat", "validate"])
def test_a_flood_of_problems_in_a_real_process_is_bounded(tmp_path, command) -> None:
    """An overlay whose 150,000 studies each miss 6 required keys: the first 1,000 problems
    and one line saying that checking stopped, within the memory and time ceilings."""
    from calcref.knowledge.rules import MAX_PROBLEMS

    overlay = tmp_path / "flood"
    overlay.mkdir()
    path = overlay / "therapies.yaml"
    rows = "".join(f"  - id: flood-{index}\n" for index in range(FLOOD_ITEMS))
    path.write_text("studies:\n" + rows, encoding="utf-8")
    done, seconds = run_calcref(os.pathsep + str(overlay), *command)
    if command[0] == "treat":
        stderr = assert_refused(done, path)
        lines = stderr.splitlines()
    else:
        assert done.returncode == 1, done.stderr
        lines = done.stdout.decode().splitlines()
        assert all(line.startswith(f"{path}:") for line in lines)
        assert done.stderr.decode().endswith(", and more: checking stopped early\n")
    assert len(lines) == MAX_PROBLEMS + 1
    assert "more problems: checking stopped here" in lines[-1]
    assert seconds < TIMEOUT
