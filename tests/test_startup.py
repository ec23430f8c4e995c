"""What each path imports: the start-up contract of the Speed issue, checked without timing.

`python -X importtime` lists every module a process imports, so these tests see exactly what a
user's run pays for, and would fail the day someone imports Rich or PyYAML at module level.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def imported_modules(tmp_path: Path, *args: str) -> tuple[set[str], subprocess.CompletedProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALCREF_")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "calcref", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    modules = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip())
    return modules, done


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


# calcref's own modules that pull the heavy dependencies in: the Rich renderers, and the
# parsing and checking modules that a warm cache never needs. PyYAML comes in only with
# `pyyamlread`, when the fast reader leaves a file to it: never for the bundled knowledge.
RICH_RENDERERS = {"calcref.render.tables", "calcref.render.chart"}
PARSING = {"calcref.knowledge.yamlread", "calcref.knowledge.rules", "calcref.knowledge.merge"}
PYYAML = "calcref.knowledge.pyyamlread"


@pytest.mark.slow
def test_json_path_never_imports_rich(tmp_path: Path) -> None:
    modules, done = imported_modules(tmp_path, "treat", "--context", "ssc", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert modules, "importtime printed nothing: the test would prove nothing"
    assert {"calcref.answers.query", "calcref.render.formats"} <= modules
    assert "rich" not in top_level(modules)
    assert not RICH_RENDERERS & modules
    # nor the flat formats' cell layout, though the answer's gap is said on stderr
    assert "calcref.render.columns" not in modules


@pytest.mark.slow
def test_warm_cache_answers_without_pyyaml(tmp_path: Path) -> None:
    cold, done = imported_modules(tmp_path, "treat", "--context", "ssc", "--json")
    assert done.returncode == 0
    assert PARSING.issubset(cold), "the first run must parse the knowledge files"
    assert "yaml" not in top_level(cold) and PYYAML not in cold, "the bundled files read fast"
    warm, done = imported_modules(tmp_path, "treat", "--context", "ssc", "--json")
    assert done.returncode == 0
    assert "calcref.knowledge.load" in warm
    assert "yaml" not in top_level(warm)
    assert not PARSING & warm


@pytest.mark.slow
def test_table_path_does_import_rich(tmp_path: Path) -> None:
    """The counterpart that shows the JSON test can fail: tables do need Rich."""
    modules, done = imported_modules(tmp_path, "treat", "--context", "ssc")
    assert done.returncode == 0
    assert "rich" in top_level(modules)
    assert "calcref.render.tables" in modules


@pytest.mark.slow
@pytest.mark.parametrize("args", [["--version"], ["-V"]])
def test_version_imports_no_cli_framework_and_reads_the_knowledge_from_the_cache(
    tmp_path: Path, args: list[str]
) -> None:
    cold, done = imported_modules(tmp_path, *args)
    assert done.returncode == 0 and done.stdout.startswith("calcref ")
    assert "knowledge " in done.stdout
    assert PARSING.issubset(cold), "the first run must parse the knowledge files"
    warm, done = imported_modules(tmp_path, *args)
    assert done.returncode == 0 and "knowledge " in done.stdout
    assert "calcref.knowledge.load" in warm
    assert not {"typer", "click", "yaml", "rich"} & top_level(warm)
    assert not {"calcref.cli", *PARSING, PYYAML, *RICH_RENDERERS} & warm


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["treat", "--context", "ssc", "--json"],
        ["treat", "--context", "ssc"],
        ["--version"],
        ["validate"],
    ],
    ids=["json", "table", "version", "validate"],
)
def test_no_pydantic_on_any_path(tmp_path: Path, args: list[str]) -> None:
    """Typer 0.29+ pulls in pydantic and costs ~100 ms a run; pyproject pins below it."""
    modules, done = imported_modules(tmp_path, *args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert modules, "importtime printed nothing: the test would prove nothing"
    assert "pydantic" not in top_level(modules)


@pytest.mark.slow
def test_warm_runs_import_neither_openssl_nor_json(tmp_path: Path) -> None:
    """The parse cache is keyed with BLAKE2b and read with marshal: no warm run imports
    hashlib (which loads OpenSSL, about 3 ms), and only a JSON answer imports json (1.3 ms)."""
    cold, done = imported_modules(tmp_path, "treat", "--context", "ssc")
    assert done.returncode == 0 and PARSING.issubset(cold)
    table, done = imported_modules(tmp_path, "treat", "--context", "ssc")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "calcref.knowledge.cache" in table and "yaml" not in top_level(table)
    assert not {"hashlib", "_hashlib", "json"} & table
    as_json, done = imported_modules(tmp_path, "treat", "--context", "ssc", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "json" in as_json  # the check sees json where it is imported
    assert not {"hashlib", "_hashlib"} & as_json
