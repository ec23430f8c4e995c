"""Corrupted knowledge files: every corruption is refused whole, located, and never half-used.

Each case starts from the bundled files, applies one generated corruption to a private copy
and runs `calcref treat --context ssc --json` on it. The answer must be exit code 1, nothing on
stdout (no answer from a half-loaded base), and stderr lines that each read
`calcref: error: <path>:<line>: <message>` with a path naming a knowledge file, a line inside
that file, and at least one line naming the corrupted file. For structural corruptions the
exact line and message are checked too. Truncations that happen to leave a valid file (cut at
a record boundary) must instead answer normally.

Corruptions are generated from the field declarations (calcref.model.FILES) with a seeded
random.Random, so every run tries the same CORRUPTIONS cases.
"""

from __future__ import annotations

import copy
import functools
import json
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from clirun import call
from helpers import data_dir

from calcref.errors import KnowledgeError
from calcref.knowledge import stack
from calcref.knowledge.load import parse_and_validate, read
from calcref.model import FILES, KNOWLEDGE_FILES, Field

pytestmark = pytest.mark.slow

SEED = 20_251_121
ARGV = ["treat", "--context", "ssc", "--json"]
PROBLEM = re.compile(r"^calcref: error: (?P<path>.+?):(?P<line>\d+): (?P<message>.+)$")

# kind → how many cases of it each run tries
PLAN: dict[str, int] = {
    "delete-required-key": 30,
    "unknown-key": 20,
    "wrong-type": 40,
    "unknown-evidence-letter": 12,
    "unknown-line": 8,
    "unknown-enum-value": 10,
    "dangling-id": 30,
    "odd-dangling-id": 6,
    "duplicate-id": 16,
    "invalid-yaml": 16,
    "non-utf8-bytes": 16,
    "whole-file-encoding": 4,
    "control-character": 8,
    "truncation": 30,
    "binary-noise": 10,
    "noise-overwrite": 10,
    "empty-or-not-a-mapping": 14,
    "not-a-file": 4,
}
CASES = [(kind, index) for kind, count in PLAN.items() for index in range(count)]
CORRUPTIONS = len(CASES)
"""Corruptions tried per run (all deterministic)."""


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    def ignore_aliases(self, data: object) -> bool:
        return True


def dump(data: object) -> bytes:
    text = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=4096)
    return text.encode("utf-8")


@functools.cache
def bundled() -> dict[str, tuple[bytes, dict]]:
    directory = data_dir()
    raw = {name: (directory / name).read_bytes() for name in KNOWLEDGE_FILES}
    return {
        name: (raw[name], yaml.safe_load(raw[name].decode("utf-8"))) for name in KNOWLEDGE_FILES
    }


# --- walking the data with the schema ----------------------------------------------------------

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Slot:
    """One key the schema knows, in one record, present or not."""

    path: Path_  # to the record holding the key
    key: str
    rule: Field
    present: bool


@dataclass(frozen=True)
class Records:
    """A list of records whose `id` defines a namespace."""

    path: Path_
    namespace: str
    length: int


def walk(file_name: str, data: dict) -> tuple[list[Slot], list[tuple[Path_, dict]], list[Records]]:
    slots: list[Slot] = []
    containers: list[tuple[Path_, dict]] = []
    lists: list[Records] = []

    def visit(record: dict, spec: dict[str, Field], path: Path_) -> None:
        containers.append((path, spec))
        for key, rule in spec.items():
            slots.append(Slot(path, key, rule, key in record))
            value = record.get(key)
            if rule.type == "records" and isinstance(value, list):
                id_rule = (rule.spec or {}).get("id")
                if id_rule is not None and id_rule.defines:
                    lists.append(Records((*path, key), id_rule.defines, len(value)))
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        visit(item, rule.spec or {}, (*path, key, index))
            elif rule.type == "record" and isinstance(value, dict):
                visit(value, rule.spec or {}, (*path, key))

    visit(data, FILES[file_name], ())
    return slots, containers, lists


def get(data: object, path: Path_) -> object:
    for step in path:
        data = data[step]  # type: ignore[index]
    return data


def node_at(node: yaml.Node, path: Path_) -> yaml.Node:
    for step in path:
        if isinstance(step, int):
            node = node.value[step]
        else:
            node = next(value for key, value in node.value if key.value == step)
    return node


def line_of_node(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def key_line(raw: bytes, path: Path_, key: str) -> int:
    root = yaml.compose(raw.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    mapping = node_at(root, path)
    return line_of_node(next(k for k, _ in mapping.value if k.value == key))


def node_line(raw: bytes, path: Path_) -> int:
    root = yaml.compose(raw.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return line_of_node(node_at(root, path))


# --- building one corruption ------------------------------------------------------------------


@dataclass
class Corruption:
    file_name: str
    content: bytes | None  # None: `special` says what to put there instead
    special: str | None = None  # "directory" | "missing"
    line: int | None = None  # the exact line one problem must name
    fragment: str | None = None  # text that problem's message must contain
    at_or_after: int | None = None  # some problem must be at this line or later
    may_stay_valid: bool = False  # truncation at a record boundary


def _pick_file(rng: random.Random) -> str:
    return rng.choice(KNOWLEDGE_FILES)


def _structural(kind: str, index: int, rng: random.Random) -> Corruption:
    file_name = _pick_file(rng)
    data = copy.deepcopy(bundled()[file_name][1])
    slots, containers, lists = walk(file_name, data)
    present = [s for s in slots if s.present]

    if kind == "delete-required-key":
        slot = rng.choice([s for s in present if s.rule.required])
        del get(data, slot.path)[slot.key]  # type: ignore[attr-defined]
        out = dump(data)
        return Corruption(
            file_name,
            out,
            line=node_line(out, slot.path),
            fragment=f"missing required key '{slot.key}'",
        )

    if kind == "unknown-key":
        path, _ = rng.choice(containers)
        key = rng.choice(["zz-unknown", "Name", "evidence_level", "ID", "née", "x y"])
        key = f"{key}-{index}"
        get(data, path)[key] = rng.choice(["x", 1, ["a"], {"b": "c"}, None])  # type: ignore[index]
        out = dump(data)
        return Corruption(
            file_name, out, line=key_line(out, path, key), fragment=f"unknown key '{key}'"
        )

    if kind == "wrong-type":
        slot = rng.choice(present)
        wrong: dict[str, list] = {
            "str": [["a", "b"], {"k": "v"}, 12, True, 1.5, "", "   "],
            "int": ["12", [1], {"n": 1}, 1.5, True, -3],
            "bool": ["yes", 1, ["true"], "false"],
            "strs": [{"a": "b"}, "just text", [1, 2], [["nested"]], [None]],
            "record": [["a"], "text", 3],
            "records": [{"a": "b"}, "text", ["not-a-mapping"], 7],
        }
        choices = list(wrong[slot.rule.type])
        if slot.rule.required:
            choices.append(None)
        value = rng.choice(choices)
        get(data, slot.path)[slot.key] = value  # type: ignore[index]
        out = dump(data)
        line = key_line(out, slot.path, slot.key)
        fragment = f"'{slot.key}' must "
        if slot.rule.type == "records" and value == ["not-a-mapping"]:
            line = node_line(out, (*slot.path, slot.key, 0))
            fragment = "must be a mapping"
        elif (
            slot.rule.type == "strs"
            and isinstance(value, list)
            and value
            and not (isinstance(value[0], str))
        ):
            fragment = f"'{slot.key}' must be a list of strings"
        elif value == -3:
            fragment = f"'{slot.key}' must not be negative"
        return Corruption(file_name, out, line=line, fragment=fragment)

    if kind in ("unknown-evidence-letter", "unknown-line", "unknown-enum-value"):
        wanted = {
            "unknown-evidence-letter": lambda s: s.key in ("evidence", "letter"),
            "unknown-line": lambda s: s.key == "line",
            "unknown-enum-value": lambda s: s.key not in ("evidence", "letter", "line"),
        }[kind]
        candidates = [
            (name, s)
            for name in KNOWLEDGE_FILES
            for s in walk(name, bundled()[name][1])[0]
            if s.rule.enum and wanted(s) and (s.present or s.key == "line")
        ]
        file_name, slot = rng.choice(candidates)
        data = copy.deepcopy(bundled()[file_name][1])
        bogus = {
            "unknown-evidence-letter": ["F", "Z", "a", "AA", "A+", "1", "E-", "ⓐ"],
            "unknown-line": ["fourth", "First", "1st", "zeroth", "second-line", "last"],
            "unknown-enum-value": ["other", "Article", "unknown", "n/a", "CHAPTER"],
        }[kind]
        value = rng.choice(bogus)
        get(data, slot.path)[slot.key] = value  # type: ignore[index]
        out = dump(data)
        return Corruption(
            file_name,
            out,
            line=key_line(out, slot.path, slot.key),
            fragment=f"is '{value}', expected one of",
        )

    if kind in ("dangling-id", "odd-dangling-id"):
        slot = rng.choice([s for s in present if s.rule.ref])
        namespace = slot.rule.ref
        if kind == "dangling-id":
            value = f"no-such-{namespace}-{index}"
        else:
            value = ["no\nsuch", "tab\there", "\x1b[31mred", "\u202eevil", "x" * 5000, "ünï"][
                index % 6
            ]
        record = get(data, slot.path)
        if slot.rule.type == "strs" and record[slot.key]:  # type: ignore[index]
            item = rng.randrange(len(record[slot.key]))  # type: ignore[index]
            record[slot.key][item] = value  # type: ignore[index]
            out = dump(data)
            line = node_line(out, (*slot.path, slot.key, item))
        else:
            record[slot.key] = value if slot.rule.type == "str" else [value]  # type: ignore[index]
            out = dump(data)
            line = key_line(out, slot.path, slot.key)
            if slot.rule.type == "strs":
                line = node_line(out, (*slot.path, slot.key, 0))
        fragment = f"id '{value}'" if kind == "dangling-id" else None
        return Corruption(file_name, out, line=line, fragment=fragment)

    if kind == "duplicate-id":
        candidates = [r for r in lists if r.length >= 2]
        chosen = rng.choice(candidates)
        records = get(data, chosen.path)
        first = rng.randrange(chosen.length - 1)
        if rng.random() < 0.5:
            second = rng.randrange(first + 1, chosen.length)
            records[second]["id"] = records[first]["id"]  # type: ignore[index]
        else:
            records.append(copy.deepcopy(records[first]))  # type: ignore[attr-defined]
            second = chosen.length
        out = dump(data)
        duplicate = records[first]["id"]  # type: ignore[index]
        return Corruption(
            file_name,
            out,
            line=key_line(out, (*chosen.path, second), "id"),
            fragment=f"duplicate {chosen.namespace} id '{duplicate}'",
        )
    raise AssertionError(kind)


INVALID_SNIPPETS = [
    "key: [unclosed",
    "{[",
    '"unterminated',
    "x: 'unterminated",
    "a: b: c",
    "]",
    "}",
    "@reserved",
    "`reserved",
    "- [a, b",
    "\tx: tab",
    "%YAML 1.1",
]
BAD_BYTES = [
    b"\xff",
    b"\xfe\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xe2\x82",
    b"\x80",
    b"\xf8\x88\x80\x80\x80",
    b"\xc3",
]
CONTROL_CHARACTERS = ["\x00", "\x1b", "\x07", "\x08", "\x0c", "\x1f", "\x9b", "\ufffe"]
NOT_A_MAPPING = [
    b"",
    b"   \n\n",
    b"# only a comment\n",
    b"---\n",
    b"null\n",
    b"- a\n- b\n",
    b"text\n",
]


def _line_at(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _char_boundary(raw: bytes, rng: random.Random) -> int:
    """A random offset that does not split a UTF-8 character."""
    while True:
        offset = rng.randrange(len(raw))
        if raw[offset] & 0xC0 != 0x80:
            return offset


def _bytes_level(kind: str, index: int, rng: random.Random) -> Corruption:
    file_name = KNOWLEDGE_FILES[index % 2]
    raw, _ = bundled()[file_name]

    if kind == "invalid-yaml":
        lines = raw.split(b"\n")
        at = rng.randrange(len(lines))
        snippet = INVALID_SNIPPETS[index % len(INVALID_SNIPPETS)].encode()
        out = b"\n".join([*lines[:at], snippet, *lines[at:]])
        return Corruption(file_name, out, at_or_after=at + 1)

    if kind == "non-utf8-bytes":
        offset = _char_boundary(raw, rng)
        out = raw[:offset] + BAD_BYTES[index % len(BAD_BYTES)] + raw[offset:]
        return Corruption(file_name, out, line=_line_at(out, offset), fragment="not valid UTF-8")

    if kind == "whole-file-encoding":
        text = raw.decode("utf-8")
        if index < 2:
            out = text.encode("utf-16")
            return Corruption(file_name, out, line=1, fragment="not valid UTF-8")
        out = text.encode("cp1252", errors="replace")
        first = next(i for i, byte in enumerate(out) if byte >= 0x80)
        return Corruption(file_name, out, line=_line_at(out, first), fragment="not valid UTF-8")

    if kind == "control-character":
        # Inside a value, where the YAML reader (not the schema) has to refuse it.
        anchors = [m.end() for m in re.finditer(rb": [A-Za-z]", raw)]
        offset = rng.choice(anchors) - 1
        char = CONTROL_CHARACTERS[index % len(CONTROL_CHARACTERS)].encode("utf-8")
        out = raw[:offset] + char + raw[offset:]
        return Corruption(file_name, out, line=_line_at(out, offset))

    if kind == "truncation":
        cuts = sorted({0, 1, len(raw) - 1, *(rng.randrange(len(raw)) for _ in range(3))})
        offset = cuts[index % len(cuts)] if index < 6 else rng.randrange(len(raw))
        return Corruption(file_name, raw[:offset], may_stay_valid=True)

    if kind == "binary-noise":
        out = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4096)))
        return Corruption(file_name, out)

    if kind == "noise-overwrite":
        offset = rng.randrange(len(raw) - 64)
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(16, 64)))
        return Corruption(file_name, raw[:offset] + noise + raw[offset + len(noise) :])

    if kind == "empty-or-not-a-mapping":
        out = NOT_A_MAPPING[(index // 2) % len(NOT_A_MAPPING)]
        return Corruption(file_name, out, line=1)

    if kind == "not-a-file":
        return Corruption(file_name, None, special=("directory", "missing")[index // 2], line=1)
    raise AssertionError(kind)


STRUCTURAL = {
    "delete-required-key",
    "unknown-key",
    "wrong-type",
    "unknown-evidence-letter",
    "unknown-line",
    "unknown-enum-value",
    "dangling-id",
    "odd-dangling-id",
    "duplicate-id",
}


def make(kind: str, index: int) -> Corruption:
    rng = random.Random(f"{SEED}:{kind}:{index}")
    if kind in STRUCTURAL:
        return _structural(kind, index, rng)
    return _bytes_level(kind, index, rng)


# --- running ----------------------------------------------------------------------------------


def install(corruption: Corruption, directory: Path) -> Path:
    directory.mkdir()
    for name in KNOWLEDGE_FILES:
        (directory / name).write_bytes(bundled()[name][0])
    target = directory / corruption.file_name
    if corruption.special == "directory":
        target.unlink()
        target.mkdir()
    elif corruption.special == "missing":
        target.unlink()
    else:
        assert corruption.content is not None
        target.write_bytes(corruption.content)
    return target


def lines_in(path: Path) -> int:
    """Lines an editor shows: a position just after the final newline is still a line."""
    if not path.is_file():
        return 1
    return path.read_bytes().count(b"\n") + 1


def still_valid(directory: Path) -> bool:
    try:
        parse_and_validate(read(stack.of(directory, [])))
    except KnowledgeError:
        return False
    return True


def run(directory: Path):
    return call(ARGV, env={"CALCREF_DATA": str(directory)})


@pytest.mark.parametrize(("kind", "index"), CASES, ids=[f"{k}-{i:02d}" for k, i in CASES])
def test_corruption_is_refused_whole(kind, index, tmp_path) -> None:
    corruption = make(kind, index)
    directory = tmp_path / "data"
    target = install(corruption, directory)
    result = run(directory)

    assert "Traceback" not in result.stdout + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    if corruption.may_stay_valid and still_valid(directory):
        assert result.exit_code in (0, 2), result.stderr  # 2: the cut removed the ssc context
        if result.exit_code == 0:
            assert isinstance(json.loads(result.stdout), list)
        return

    assert result.exit_code == 1, f"exit {result.exit_code}; stderr:\n{result.stderr}"
    assert result.stdout == "", "something was answered from a half-loaded knowledge base"
    problems = []
    for text in result.stderr.splitlines():
        match = PROBLEM.match(text)
        assert match, f"not a located one-line problem: {text!r}\nall stderr:\n{result.stderr}"
        path = Path(match["path"])
        line = int(match["line"])
        assert path.parent == directory and path.name in KNOWLEDGE_FILES, text
        assert 1 <= line <= lines_in(path), f"line {line} outside {path} ({lines_in(path)})"
        problems.append((path, line, match["message"]))
    assert problems, "no problem reported"
    assert any(path == target for path, _, _ in problems), "the corrupted file is not named"
    if corruption.line is not None:
        assert any(
            path == target
            and line == corruption.line
            and (corruption.fragment is None or corruption.fragment in message)
            for path, line, message in problems
        ), (
            f"expected {target.name}:{corruption.line} with {corruption.fragment!r}; "
            f"got:\n{result.stderr}"
        )
    if corruption.at_or_after is not None:
        assert max(line for path, line, _ in problems if path == target) >= corruption.at_or_after


def test_plan_is_large_enough() -> None:
    assert CORRUPTIONS >= 200


def test_redumped_knowledge_is_still_valid(tmp_path) -> None:
    """The structural corruptions re-dump the files: unmutated, that round trip must load."""
    directory = tmp_path / "data"
    directory.mkdir()
    for name in KNOWLEDGE_FILES:
        (directory / name).write_bytes(dump(bundled()[name][1]))
    result = run(directory)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)


def test_corruptions_are_deterministic() -> None:
    for kind, index in CASES[::7]:
        first, second = make(kind, index), make(kind, index)
        assert first == second


def test_cut_at_a_record_boundary_still_answers(tmp_path) -> None:
    """Dropping the last study, cut exactly at its `- id:` line, leaves a valid, smaller base."""
    raw = bundled()["therapies.yaml"][0]
    cut = raw.rindex(b"\n  - id: ") + 1
    directory = tmp_path / "data"
    install(Corruption("therapies.yaml", raw[:cut]), directory)
    assert still_valid(directory)
    result = run(directory)
    assert result.exit_code == 0, result.stderr
    assert isinstance(json.loads(result.stdout), list)
    shutil.rmtree(directory)
