"""The installed entry point and `python -m calcref` as real processes.

stdout, stderr and the exit status are checked separately. The in-process CliRunner tests
(test_cli.py) cover behaviour in depth; these make sure the console script and the module
entry point give the same answers, and check what only a real process shows: terminal
detection (colour and the Unicode chart on a pseudo-terminal, none when NO_COLOR is set).
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clirun import ENTRY_POINT, MODULE, call, process_env
from helpers import yaml_data

import calcref
from calcref.knowledge.stack import bundled_dir as calcref_data

pytestmark = pytest.mark.slow  # every test here starts the installed entry point

SCRIPT = [str(ENTRY_POINT)]
BOTH = pytest.mark.parametrize("launcher", [SCRIPT, MODULE], ids=["entry-point", "python-m"])

SGR = re.compile(rb"\x1b\[([0-9;]*)m")


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch):
    """The console script exists (conftest clears the caller's display variables)."""
    if not ENTRY_POINT.exists():
        pytest.skip("the calcref console script is not installed next to this Python")


def run(launcher: list[str], *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [*launcher, *args], capture_output=True, env=process_env(**env), timeout=120
    )
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
    return result


def in_process(*args: str) -> str:
    return in_process_result(*args).stdout


def in_process_result(*args: str):
    result = call(list(args))
    assert result.exit_code == 0, result.stderr
    return result


def treat_gap_lines(context: str) -> bytes:
    """What `treat --context <context>` writes on stderr beside data on stdout: one
    "calcref: gap: ..." line for each gap of therapies.yaml about the context or one of its
    subtypes, in file order (the same rule test_cli's gap_stderr states)."""
    data = calcref_data()
    therapies = yaml_data(data / "therapies.yaml")
    subtypes_yaml = yaml_data(data / "subtypes.yaml")
    found = next(c for c in subtypes_yaml["contexts"] if c["id"] == context)
    subtypes = set(found.get("subtypes", []))
    lines = [
        f"calcref: gap: {' '.join(gap['text'].split())}\n"
        for gap in therapies.get("gaps", [])
        if context in gap.get("contexts", []) or subtypes & set(gap.get("subtypes", []))
    ]
    return "".join(lines).encode("utf-8")


# --- version and help --------------------------------------------------------------------------


@BOTH
@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(launcher, flag):
    result = run(launcher, flag)
    assert result.returncode == 0
    manifest = yaml_data(calcref_data() / "knowledge.yaml")
    stated = f"{manifest['version']} ({manifest['date']})"
    expected = f"calcref {calcref.__version__}\nknowledge {stated}\n"
    assert result.stdout == expected.encode()
    assert result.stderr == b""


@BOTH
def test_no_arguments_prints_help_and_exits_0(launcher):
    result = run(launcher)
    assert result.returncode == 0
    assert result.stdout.startswith(b"Usage: calcref [OPTIONS] COMMAND [ARGS]...")
    assert result.stderr == b""


@pytest.mark.parametrize(
    "command",
    ["subtypes", "workup", "treat", "cite", "show", "search", "levels", "overview", "contexts"],
)
def test_command_help_from_the_entry_point(command):
    result = run(SCRIPT, command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"Usage: calcref {command} [OPTIONS]".encode())
    assert b"Example: calcref " + command.encode() in result.stdout
    assert result.stderr == b""


# --- the same answers as in process ------------------------------------------------------------


@BOTH
def test_treat_ssc_json(launcher):
    result = run(launcher, "treat", "--context", "ssc", "--json")
    assert result.returncode == 0
    gaps = treat_gap_lines("ssc")
    assert gaps  # the SSc gap lines (e.g. traineau2020's rare high-level evidence)
    assert result.stderr == gaps
    records = json.loads(result.stdout.decode("utf-8"))
    minocycline = next(r for r in records if r["id"] == "minocycline")
    assert {s["ref"]: s["n"] for s in minocycline["studies"]} == {
        "balin2012": 6,
        "robertson2003": 9,
    }
    crest = run(launcher, "treat", "--context", "CREST", "--json")
    assert crest.stdout == result.stdout
    assert crest.stderr == result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["subtypes", "--json"],
        ["subtypes", "metastatic", "--json"],
        ["workup", "--subtype", "metastatic", "--json"],
        ["treat", "--context", "jdm", "--json"],
        ["cite", "--therapy", "minocycline", "--style", "bibtex"],
        ["cite", "--style", "ris"],
        ["show", "colchicine", "--json"],
        ["search", "myeloma", "--json"],
        ["levels", "--json"],
        ["levels", "--format", "csv"],
        ["overview", "--json"],
        ["contexts", "--format", "markdown"],
        ["treat", "--context", "ssc", "--chart"],
    ],
)
def test_entry_point_gives_the_same_output_as_in_process(args):
    result = run(SCRIPT, *args)
    assert result.returncode == 0
    # Only treat's JSON has something on stderr: the gap lines beside its data.
    if args[0] == "treat" and "--json" in args:
        expected_stderr = treat_gap_lines(args[args.index("--context") + 1])
        assert expected_stderr
    else:
        expected_stderr = b""
    assert result.stderr == expected_stderr
    assert result.stderr.decode("utf-8") == in_process_result(*args).stderr
    # CliRunner reports CRLF (RIS) as LF, so compare with line ends normalised.
    assert result.stdout.decode("utf-8").replace("\r\n", "\n") == in_process(*args)


def test_module_and_entry_point_agree():
    args = ("workup", "--context", "ssc", "--json")
    assert run(MODULE, *args).stdout == run(SCRIPT, *args).stdout


def test_calcref_format_environment_variable():
    result = run(SCRIPT, "levels", CALCREF_FORMAT="json")
    assert result.returncode == 0
    assert json.loads(result.stdout)[4]["count"] == 6


# --- errors ----------------------------------------------------------------------------------


@BOTH
def test_unknown_context_is_exit_2_with_one_line(launcher):
    result = run(launcher, "treat", "--context", "sscc")
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.count(b"\n") == 1
    assert result.stderr.startswith(b"calcref: error: unknown context 'sscc'")
    assert b"did you mean 'ssc'?" in result.stderr


@BOTH
def test_unknown_option_is_exit_2(launcher):
    result = run(launcher, "treat", "--no-such-option")
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr == b"calcref: error: No such option: --no-such-option\n"


@BOTH
def test_broken_knowledge_is_exit_1_with_located_problems(launcher, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    repo_data = Path(__file__).resolve().parents[1] / "data"
    shutil.copyfile(repo_data / "subtypes.yaml", data / "subtypes.yaml")
    (data / "therapies.yaml").write_text("therapies: [unclosed\n", encoding="utf-8")
    result = run(launcher, "treat", "--json", CALCREF_DATA=str(data))
    assert result.returncode == 1
    assert result.stdout == b""
    lines = result.stderr.decode("utf-8").splitlines()
    assert lines
    for line in lines:
        assert re.match(r"^calcref: error: .+:\d+: .+$", line), line


# --- what a pipe and a terminal see ------------------------------------------------------------


def test_piped_table_has_no_ansi_and_no_ellipsis():
    result = run(SCRIPT, "treat", "--details", "--chart")
    assert result.returncode == 0
    assert b"\x1b" not in result.stdout
    assert "…".encode() not in result.stdout
    assert b"########===  n=11: 8 complete, 3 responded, degree not given" in result.stdout


def run_in_terminal(*args: str, **env: str) -> tuple[int, bytes]:
    """Run the entry point with stdout on a 160-column pseudo-terminal; (status, output).
    The pager is off (CALCREF_PAGER=), so the whole answer reaches the terminal; the pager
    has its own tests in test_point_of_care.py."""
    pty = pytest.importorskip("pty")
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    process = subprocess.Popen(
        [*SCRIPT, *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env=process_env(TERM="xterm-256color", **{"CALCREF_PAGER": ""} | env),
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    status = process.wait(timeout=60)
    stderr = process.stderr.read() if process.stderr else b""
    if process.stderr:
        process.stderr.close()
    assert b"Traceback" not in stderr, stderr
    return status, b"".join(chunks)


def colour_codes(output: bytes) -> set[int]:
    """SGR parameters that set a foreground or background colour."""
    found = set()
    for params in SGR.findall(output):
        for param in params.split(b";"):
            if param and (30 <= int(param) <= 49 or 90 <= int(param) <= 107):
                found.add(int(param))
    return found


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_a_terminal_gets_colour_and_unicode_bars():
    status, output = run_in_terminal("treat", "--context", "ssc", "--chart")
    assert status == 0
    assert colour_codes(output), "a terminal should be coloured (else the NO_COLOR test is void)"
    assert "████████▒▒▒".encode() in output
    assert b"########===" not in output


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@pytest.mark.parametrize(
    "args", [["treat", "--context", "ssc"], ["show", "colchicine"], ["workup"], ["cite"]]
)
def test_no_color_means_no_colour_even_on_a_terminal(args):
    status, output = run_in_terminal(*args, NO_COLOR="1")
    assert status == 0
    assert output.strip()
    assert colour_codes(output) == set()
