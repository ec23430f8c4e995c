"""The architecture, checked from the imports: cli → render → answers → knowledge → model.

Every `import` in every module of the package (including the ones inside functions, which
calcref uses to keep start-up light) may only reach its own layer or a lower one. The package
face (`calcref/__init__.py`, which hands `load` and `answers` to library users) is exempt.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import calcref

PACKAGE = Path(calcref.__file__).parent
LAYERS = {"model": 0, "errors": 0, "version": 0, "knowledge": 1, "answers": 2, "render": 3}
TOP = 4  # cli.py, settings.py, __main__.py: the command line and its boundary


def layer_of(module: str) -> int:
    """The layer of a module named `calcref.x.y` (or `calcref` itself, the package face)."""
    parts = module.split(".")
    if len(parts) == 1:
        return TOP  # the package face hands the library to its users: nothing imports it
    return LAYERS.get(parts[1], TOP)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every calcref import in a file, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "calcref":  # `from calcref import answers` names a subpackage
                names = [f"calcref.{a.name}" if a.name in LAYERS else "calcref" for a in node.names]
            found += [(node.lineno, n) for n in names if n.split(".")[0] == "calcref"]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("calcref")]
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def test_the_layers_are_packages():
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"} >= {
        "knowledge",
        "answers",
        "render",
    }


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_run_downwards(path: Path):
    module = ".".join(("calcref", *path.relative_to(PACKAGE).with_suffix("").parts))
    own = layer_of(module)
    upward = [(line, name) for line, name in imports_of(path) if layer_of(name) > own]
    assert not upward, f"{module} (layer {own}) imports a higher layer: {upward}"


def test_only_the_table_renderer_imports_rich_and_only_the_cli_typer():
    for path in MODULES:
        text = path.read_text("utf-8")
        relative = str(path.relative_to(PACKAGE))
        if relative != "render/tables.py":
            assert "from rich" not in text and "import rich" not in text, relative
        if relative != "cli.py":
            assert "import typer" not in text, relative
        assert "typer._click" not in text, relative


def test_nothing_below_the_cli_reads_the_environment_prints_or_exits():
    for path in MODULES:
        relative = str(path.relative_to(PACKAGE))
        if layer_of("calcref." + relative.split("/")[0].removesuffix(".py")) == TOP:
            continue
        text = path.read_text("utf-8")
        for forbidden in ("os.environ", "os.getenv", "sys.exit", "sys.stdout", "sys.stderr"):
            assert forbidden not in text, f"{relative} uses {forbidden}"
        assert not re.search(r"(?<![.\w])print\(", text), f"{relative} prints"
