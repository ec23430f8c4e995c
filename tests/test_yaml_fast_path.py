"""The fast YAML reader against PyYAML: the same values, or a bail.

`yamlread._fast` reads the block YAML of knowledge files without PyYAML, and returns None
("ask PyYAML") on anything it is not sure of. A bail only costs time; a value different from
PyYAML's would be a wrong clinical statement. So every test here is differential: where the
fast reader answers, its answer must equal `yamlread._parse_with_pyyaml`'s in values, types,
key order, `.line`, `.key_lines`, `.item_lines` and shared strings; and where PyYAML reports a
problem, the fast reader must have bailed. The bundled knowledge must not bail at all: the
speed of a cold load depends on it.
"""

from __future__ import annotations

import os
import re
import sys
from functools import reduce
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from calcref.knowledge import stack, yamlread
from calcref.knowledge.yamlread import LineDict, LineList

BUNDLED = sorted(stack.bundled_dir().glob("*.yaml"))
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def assert_same(fast: object, slow: object, where: str = "root") -> None:
    """Equal values and types, key order and every recorded line, recursively."""
    assert type(fast) is type(slow), f"{where}: {type(fast).__name__} != {type(slow).__name__}"
    if isinstance(slow, LineDict):
        assert fast.line == slow.line, f"{where}: line {fast.line} != {slow.line}"
        assert list(fast) == list(slow), f"{where}: keys {list(fast)} != {list(slow)}"
        assert list(fast.key_lines.items()) == list(slow.key_lines.items()), where
        for key in slow:
            assert_same(fast[key], slow[key], f"{where}.{key}")
    elif isinstance(slow, LineList):
        assert fast.line == slow.line, f"{where}: line {fast.line} != {slow.line}"
        assert len(fast) == len(slow), f"{where}: {len(fast)} items != {len(slow)}"
        assert fast.item_lines == slow.item_lines, where
        for index, (a, b) in enumerate(zip(fast, slow, strict=True)):
            assert_same(a, b, f"{where}[{index}]")
    else:
        assert fast == slow, f"{where}: {fast!r} != {slow!r}"


def assert_strings_shared(value: object) -> None:
    """Equal strings of one file are one object (the parse cache's size depends on it)."""
    seen: dict[str, int] = {}

    def visit(node: object) -> None:
        strings = []
        if isinstance(node, dict):
            strings = list(node)
            for child in node.values():
                visit(child)
        elif isinstance(node, list):
            for child in node:
                visit(child)
        elif isinstance(node, str):
            strings = [node]
        for string in strings:
            assert seen.setdefault(string, id(string)) == id(string), f"{string!r} copied"

    visit(value)


def check(text: str) -> object:
    """The fast reader's answer, held to PyYAML's; None when it bailed."""
    fast = yamlread._fast(text)
    slow, problems = yamlread._parse_with_pyyaml("k.yaml", text)
    if currently_in_test_context():
        event("bailed" if fast is None else "fast")
    if fast is not None:
        assert problems == [], f"the fast reader read what PyYAML refuses: {problems}"
        assert_same(fast, slow)
        assert_strings_shared(fast)
    return fast


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_knowledge_takes_the_fast_path(path: Path) -> None:
    assert check(path.read_text(encoding="utf-8")) is not None, "the bundled file bailed"


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_windows_line_endings_take_the_fast_path_to_the_same_values(path: Path) -> None:
    """A curator's file saved on Windows: PyYAML reads each CRLF as one line break (given as
    \\n inside folded and block scalars), and so does the fast reader."""
    text = path.read_text(encoding="utf-8").replace("\n", "\r\n")
    assert check(text) is not None, "the CRLF file bailed"


def test_generated_knowledge_takes_the_fast_path(tmp_path: Path) -> None:
    """PyYAML's own emitter's layout (flush sequences, plain and single-quoted scalars folded
    over lines, `{}`): what benchmarks/generate.py writes."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import generate
    finally:
        sys.path.remove(str(BENCHMARKS))
    generate.generate(2, tmp_path, isolated=True)
    for name in generate.FILE_NAMES:
        assert check((tmp_path / name).read_text(encoding="utf-8")) is not None, name


def test_resolvers_are_pyyamls() -> None:
    """The copied table lists PyYAML's resolvers for the same first characters, in order."""
    theirs = {
        first: [tag.rsplit(":", 1)[1] for tag, _ in resolvers]
        for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }
    ours = {
        first: [tag for tag, _ in resolvers] for first, resolvers in yamlread._RESOLVERS.items()
    }
    assert ours == theirs


def _pyyaml_tag(value: str) -> str:
    for tag, pattern in yaml.resolver.Resolver.yaml_implicit_resolvers.get(value[:1], ()):
        if pattern.match(value):
            return tag.rsplit(":", 1)[1]
    return "str"


def _our_tag(value: str) -> str:
    for tag, pattern in yamlread._RESOLVERS.get(value[:1], ()):
        if pattern.match(value):
            return tag
    return "str"


@given(st.text(alphabet="0123456789+-._:eExXbo~nNulTtrRfasYyOF<=!&* ", max_size=14))
def test_resolver_patterns_match_what_pyyamls_match(value: str) -> None:
    assert _our_tag(value) == _pyyaml_tag(value)


def test_keys_that_are_not_strings_are_exactly_the_bool_and_null_words() -> None:
    words = [w for w in re.findall(r"[A-Za-z]+", yamlread._BOOL_WORDS + " null Null NULL")]
    assert {w for w in words if _pyyaml_tag(w) != "str"} == yamlread._NOT_STRING_KEYS


def deep(levels: int, leaf: str) -> str:
    """`levels` mappings, one inside the other, the innermost one's key holding `leaf`."""
    return (
        "".join(f"{'  ' * d}k:\n" for d in range(levels - 1)) + f"{'  ' * (levels - 1)}k: {leaf}\n"
    )


# The pinned cases: what the fast reader returns, as a reader can follow it.
PINNED = {
    "folded block with blank lines": (
        "a: >-\n  one\n  two\n\n  three\n\n\n  four\nb: >\n  x\n  y\n\n",
        {"a": "one two\nthree\n\nfour", "b": "x y\n"},
    ),
    "literal blocks": ("a: |\n  one\n\n  two\nb: |-\n  x\n", {"a": "one\n\ntwo\n", "b": "x"}),
    "sequence at the key's own column": ("a:\n- x\n- y\nb: 1\n", {"a": ["x", "y"], "b": 1}),
    "mapping on the dash line": (
        "a:\n  - a: 1\n    b: 2\n  -\n    c: 3\n  -\n",
        {"a": [{"a": 1, "b": 2}, {"c": 3}, None]},
    ),
    "plain scalar folded over lines": (
        "a: one\n  two\n\n  three\nb: x\n",
        {"a": "one two\nthree", "b": "x"},
    ),
    "single-quoted over lines": ("a: 'it''s\n  here'\n", {"a": "it's here"}),
    "double-quoted": ('a: "say \\"hi\\" \\\\ ok"\n', {"a": 'say "hi" \\ ok'}),
    "flow list and empty mapping": (
        "a: [x y, z]\nb: []\nc: {}\n",
        {"a": ["x y", "z"], "b": [], "c": {}},
    ),
    "bools and nulls": (
        "a: yes\nb: No\nc: ~\nd:\ne: null\nf: on\ng: OFF\n",
        {"a": True, "b": False, "c": None, "d": None, "e": None, "f": True, "g": False},
    ),
    "decimals": ("a: 0\nb: -12\nc: +7\nd: 123456789\n", {"a": 0, "b": -12, "c": 7, "d": 123456789}),
    "strings that look like numbers but are not": (
        "a: 95%\nb: 200 mg/day\nc: 822-9\nd: 0.71–1.12\ne: <1.2 g/day\nf: -x\ng: 1 to 2\nh: 1e3\n",
        {
            "a": "95%",
            "b": "200 mg/day",
            "c": "822-9",
            "d": "0.71–1.12",
            "e": "<1.2 g/day",
            "f": "-x",
            "g": "1 to 2",
            "h": "1e3",
        },
    ),
    "comments and blank lines": ("# c\n\na: 1\n  # c\n\nb:\n  # c\n  - x\n", {"a": 1, "b": ["x"]}),
    # PyYAML refuses a longer key (test_what_the_fast_reader_leaves_to_pyyaml).
    "a key of 1024 characters": ("k" * 1024 + ": 1\n", {"k" * 1024: 1}),
    # Inside a plain scalar only `: `, ` #` and a comment line end it; the rest is its text.
    "continuation lines that look like other syntax": (
        "a: one\n  - two\n  ? three\n  [four]\n  'five'\nb: x\n",
        {"a": "one - two ? three [four] 'five'", "b": "x"},
    ),
    "a comment-like line inside quoted and block scalars": (
        "a: 'x\n  # y'\nb: >\n  x\n  # y\n",
        {"a": "x # y", "b": "x # y\n"},
    ),
    "an indentless sequence's item goes on one column in": ("a:\n- x\n y\n", {"a": ["x y"]}),
    # The 41st level, a flow list or `{}` included, is PyYAML's refusal: the bail list.
    "40 levels of nesting": (deep(40, "1"), reduce(lambda value, _: {"k": value}, range(40), 1)),
}


@pytest.mark.parametrize("name", PINNED)
def test_pinned_example(name: str) -> None:
    text, expected = PINNED[name]
    assert check(text) == expected


@pytest.mark.parametrize(
    "value",
    ["017", "0x1F", "1:7", "1_000", "1.5", ".5", "2020-01-02", "<<", "=", "1234567890"],
)
def test_a_scalar_pyyaml_converts_or_refuses_bails(value: str) -> None:
    assert check(f"a: {value}\n") is None


@pytest.mark.parametrize(
    "text",
    [
        "a: b: c\n",
        "a: x #c\n",
        "a: &x 1\n",
        "a: *x\n",
        "a: !tag 1\n",
        "---\na: 1\n",
        "a: 1\n...\n",
        "a: 1\na: 2\n",
        "yes: 1\n",
        "- a\n",
        "",
        "a:\n\tb: 1\n",
        "a: 1 \n",
        "a: >+\n  x\n",
        "a: >2\n   x\n",
        "a: >\n  x\n    y\n",
        "a: {b: 1}\n",
        "a: [b, [c]]\n",
        "a: 'x\nb: 1\n",
        'a: "x\\ty"\n',
        "a: x\r\nb: y\rc: z\n",  # a lone carriage return: YAML 1.1 breaks the line there
        "a:\n  b\n",
        # A simple key is at most 1024 characters to libyaml (and PyYAML's own scanner).
        pytest.param("k" * 1025 + ": 1\n", id="key of 1025 characters"),
        pytest.param("a:\n- x: 1\n  " + "k" * 1025 + ":\n", id="nested key of 1025 characters"),
        "a: one\n  # c\n  two\n",
        pytest.param(deep(41, "1"), id="41 levels"),
        pytest.param(deep(40, "[]"), id="a flow list as the 41st level"),
        pytest.param(deep(40, "{}"), id="{} as the 41st level"),
    ],
)
def test_what_the_fast_reader_leaves_to_pyyaml(text: str) -> None:
    assert check(text) is None


@pytest.mark.parametrize(
    "char", ["\t", "\r", "\x85", "\u2028", "\u2029", "\ufeff", "\x7f", "\ud800"]
)
def test_a_character_yaml_treats_apart_is_left_to_pyyaml(char: str) -> None:
    assert yamlread._fast(f"a: x{char}y\n") is None


def test_a_file_of_more_lines_than_any_knowledge_base_is_left_to_pyyaml(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PyYAML streams such a file in less than half the memory of the reader's line lists
    (the bound made small here, so the test is quick)."""
    assert yamlread._MAX_LINES >= 100 * 6_300  # a hundred times the bundled files still fit
    monkeypatch.setattr(yamlread, "_MAX_LINES", 10)
    assert yamlread._fast("a:\n" + "- x\n" * 9) is not None  # 10 lines
    assert yamlread._fast("a:\n" + "- x\n" * 10) is None  # 11 lines


def test_every_character_the_unsafe_class_names_is_not_printable() -> None:
    """The fast reader compiles its class of unsafe characters only for a text that is not
    printable throughout: that skips nothing only if no character of the class is printable."""
    everything = "".join(map(chr, range(0x110000)))
    unsafe = re.findall(yamlread._UNSAFE, everything)
    assert len(unsafe) > 2000  # the control characters, line breaks, surrogates, BOM...
    assert not any(char.isprintable() for char in unsafe)


def test_a_problem_is_still_pyyamls_located_problem() -> None:
    text = "a: 1\nb:\n  c: 2024-01-02\n  d: &x 1\n"
    assert yamlread._fast(text) is None
    result, problems = yamlread.parse("k.yaml", text)
    assert result is None
    assert problems == yamlread._parse_with_pyyaml("k.yaml", text)[1]
    assert [(p.line, p.message) for p in problems] == [
        (3, "'2024-01-02' reads as a date: quote it")
    ]


# The same examples every run (CI must not fail on a draw); CALCREF_FUZZ_EXAMPLES=20000 runs
# that many fresh ones instead, as a change to the fast reader deserves.
DEEP = int(os.environ.get("CALCREF_FUZZ_EXAMPLES") or 0)


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=DEEP or examples,
        deadline=None,
        derandomize=not DEEP,
        suppress_health_check=[HealthCheck.too_slow],
    )


# Documents drawn from the subset's grammar, with scalars chosen to hit the resolver's and the
# scanner's edge cases.
TRICKY = [
    "yes", "No", "TRUE", "off", "y", "n", "~", "null", "Null", "", "017", "0x1F", "0b1", "1:7",
    "2020-01-02", "2020-1-2 3:04:05", "1.5", ".5", ".inf", "1_000", "-", "-1", "+1", "-x", "95%",
    "a: b", "a #b", "a#b", "a:b", "a:", "<<", "=", "é", "–1", "≥ 20", "#x", "&a", "*a", "!t",
    "? x", ": x", "[x]", "{x}", "'q'", '"q"', "x'y", 'x"y', "a\\b", "|", ">", "%x", "@x", "`x",
    "0", "12", "1234567890", "x  y", " x", "x ", "a,b", "---", "...", "- x",
]  # fmt: skip
BENIGN = ["alpha", "beta gamma", "x", "2 mg/kg", "é ≥ 5", "a-b", "it's", "12"]
# Mostly words and keys the fast reader reads, so that it answers often enough to be tested.
WORD = st.sampled_from(BENIGN * 20 + TRICKY) | st.text(alphabet="ab1 -:#'\"é.", max_size=8)
KEY = st.sampled_from(["a", "b", "id", "text", "x-y", "_k", "c", "d"] * 10 + ["no", "1", "a b"])
STYLES = ["plain", "single", "double", "folded", "literal", "flow", "multi", "empty", "{}"]


def leaf() -> st.SearchStrategy:
    return st.tuples(
        st.just("leaf"),
        st.sampled_from(STYLES),
        st.lists(WORD, min_size=1, max_size=3),
        st.sampled_from([">-", ">", "|", "|-"]),
    )


def tree() -> st.SearchStrategy:
    return st.recursive(
        leaf(),
        lambda children: st.one_of(
            st.tuples(
                st.just("map"),
                st.lists(
                    st.tuples(KEY, children), min_size=1, max_size=4, unique_by=lambda e: e[0]
                ),
            ),
            st.tuples(st.just("seq"), st.lists(children, min_size=1, max_size=4)),
        ),
        max_leaves=10,
    )


def inline(node: tuple, col: int) -> tuple[str, list[str]]:
    """A leaf's text after `key: ` or `- `, and the lines that follow it (at `col` + 2)."""
    _, style, words, indicator = node
    pad = " " * (col + 2)
    text = " ".join(words)
    if style == "single":
        return "'" + text.replace("'", "''") + "'", []
    if style == "double":
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"', []
    if style in ("folded", "literal"):
        head = indicator if style == "folded" else indicator.replace(">", "|")
        return head, [pad + w if w.strip() else "" for w in words]
    if style == "flow":
        return "[" + ", ".join(words) + "]", []
    if style == "multi":
        return words[0], [pad + w if w.strip() else "" for w in words[1:]]
    if style == "empty":
        return "", []
    if style == "{}":
        return "{}", []
    return text, []


def render(node: tuple, col: int, lines: list[str], gaps: st.DataObject) -> None:
    """Append the block lines of a mapping or sequence at column `col`."""
    pad = " " * col
    items = node[1]
    for index, item in enumerate(items):
        if index and gaps.draw(st.booleans()):
            lines.append(
                gaps.draw(st.sampled_from(["", "", pad + "# c", "# c", "", pad + "# c", "  "]))
            )
        if node[0] == "map":
            key, child = item
            head = f"{pad}{key}:"
        else:
            child = item
            head = f"{pad}-"
        if child[0] == "leaf":
            text, below = inline(child, col)
            lines.append(f"{head} {text}" if text else head)
            lines.extend(below)
        elif node[0] == "seq" and child[0] == "map" and gaps.draw(st.booleans()):
            inner: list[str] = []
            render(child, col + 2, inner, gaps)
            lines.append(f"{head} {inner[0][col + 2 :]}")  # `- key: value`
            lines.extend(inner[1:])
        else:
            lines.append(head)
            step = 0 if node[0] == "map" and child[0] == "seq" and gaps.draw(st.booleans()) else 2
            render(child, col + step, lines, gaps)


@pytest.mark.slow  # fuzz: the slow tier, as the other fuzz and mutation tests
@fuzz(300)
@given(
    st.tuples(
        st.just("map"),
        st.lists(st.tuples(KEY, tree()), min_size=1, max_size=4, unique_by=lambda e: e[0]),
    ),
    st.data(),
)
def test_generated_documents_read_as_pyyaml_reads_them(root: tuple, data: st.DataObject) -> None:
    lines: list[str] = []
    render(root, 0, lines, data)
    check("\n".join(lines) + "\n")


MUTATIONS = ["delete", "duplicate", "indent", "dedent", "indent1", "comment", "colon", "tab",
             "quote", "anchor", "alias", "tag", "document", "dash", "blank", "crlf",
             "cr"]  # fmt: skip


def mutate(lines: list[str], kind: str, at: int) -> None:
    line = lines[at]
    if kind == "delete":
        del lines[at]
    elif kind == "duplicate":
        lines.insert(at, line)
    elif kind == "indent":
        lines[at] = "  " + line
    elif kind == "dedent":
        lines[at] = line[2:] if line.startswith("  ") else line
    elif kind == "indent1":
        lines[at] = " " + line
    elif kind == "comment":
        lines[at] = line + " #x"
    elif kind == "colon":
        lines[at] = line[: len(line) // 2] + ": " + line[len(line) // 2 :]
    elif kind == "tab":
        lines[at] = "\t" + line
    elif kind == "quote":
        lines[at] = line + "'"
    elif kind in ("anchor", "alias", "tag"):
        mark = {"anchor": "&a ", "alias": "*a ", "tag": "!t "}[kind]
        lines[at] = re.sub(r"(: |- )", r"\1" + mark, line, count=1)
    elif kind == "document":
        lines.insert(at, "---")
    elif kind == "crlf":  # this line alone ends in CRLF
        lines[at] = line + "\r"
    elif kind == "cr":  # a lone carriage return mid-line
        lines[at] = line[: len(line) // 2] + "\r" + line[len(line) // 2 :]
    elif kind == "dash":
        lines[at] = re.sub(r"^( *)", r"\1- ", line, count=1)
    else:
        lines.insert(at, "")


SUBTYPES = next(p for p in BUNDLED if p.name == "subtypes.yaml").read_text(encoding="utf-8")


@pytest.mark.slow
@fuzz(150)
@given(st.lists(st.tuples(st.sampled_from(MUTATIONS), st.floats(0, 1)), min_size=1, max_size=3))
def test_mutated_knowledge_reads_as_pyyaml_reads_it(mutations: list[tuple[str, float]]) -> None:
    lines = SUBTYPES.split("\n")
    for kind, where in mutations:
        mutate(lines, kind, min(int(where * len(lines)), len(lines) - 1))
    check("\n".join(lines))
