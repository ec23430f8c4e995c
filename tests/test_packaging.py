"""Build the distributions the way a release would and install the wheel into a clean venv.

Marked slow, so the inner loop (-m 'not slow') leaves it out; every CI run runs it, never
skipped: it needs network access to PyPI for hatchling and for calcref's dependencies. Two
builds are made from a copy of the repository: the wheel straight from the tree, and an sdist
followed by a wheel built from that sdist (the path pip takes from an sdist, and the one a
wheel-only force-include of data/ would break if it leaked into the sdist). One fresh virtual
environment then installs the wheel built from the sdist and loads the knowledge, through the
public library API, from a directory outside the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import calcref
from calcref.knowledge import load

pytestmark = pytest.mark.slow  # builds distributions and a virtual environment

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "calcref"
KNOWLEDGE = ("knowledge.yaml", "subtypes.yaml", "therapies.yaml")
SUBPACKAGES = ("knowledge", "answers", "render")
NOT_SHIPPED = shutil.ignore_patterns(
    ".venv",
    "venv",
    ".git",
    "__pycache__",
    "*.pyc",
    "dist",
    "build",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
    "*.egg-info",
)


def clean_env(tmp: Path) -> dict[str, str]:
    """The environment without anything that would let the repository leak into a subprocess."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CALCREF_DATA", "CALCREF_NO_CACHE")
    }
    env.update(
        XDG_CACHE_HOME=str(tmp / "xdg-cache"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def run(command: list[str], *, cwd: Path, env: dict[str, str], timeout: int = 900) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, (
        f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-4000:]}\n"
        f"{done.stderr[-4000:]}"
    )
    return done.stdout


@dataclass(frozen=True)
class Built:
    work: Path
    wheel: Path  # built straight from the source tree
    sdist: Path
    wheel_from_sdist: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    work = tmp_path_factory.mktemp("packaging")
    env = clean_env(work)
    tree = work / "calcref-src"
    shutil.copytree(REPO, tree, ignore=NOT_SHIPPED)
    direct, via_sdist = work / "direct", work / "via-sdist"
    run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(direct), str(tree)],
        cwd=work,
        env=env,
    )
    # No --sdist/--wheel: build makes the sdist, unpacks it and builds the wheel from it.
    run([sys.executable, "-m", "build", "--outdir", str(via_sdist), str(tree)], cwd=work, env=env)
    (wheel,) = direct.glob("calcref-*.whl")
    (sdist,) = via_sdist.glob("calcref-*.tar.gz")
    (wheel_from_sdist,) = via_sdist.glob("calcref-*.whl")
    return Built(work, wheel, sdist, wheel_from_sdist)


def wheel_files(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def package_modules() -> list[str]:
    """Every module of the source tree, as the wheel names it (calcref/knowledge/load.py...)."""
    return sorted(
        f"calcref/{path.relative_to(PACKAGE).as_posix()}"
        for path in PACKAGE.rglob("*.py")
        if "__pycache__" not in path.parts
    )


@pytest.mark.parametrize("which", ["wheel", "wheel_from_sdist"])
def test_wheel_carries_the_knowledge_inside_the_package(built: Built, which: str) -> None:
    files = wheel_files(getattr(built, which))
    for name in KNOWLEDGE:
        assert files[f"calcref/data/{name}"] == (REPO / "data" / name).read_bytes()
    assert "calcref/__init__.py" in files
    for subpackage in SUBPACKAGES:
        assert f"calcref/{subpackage}/__init__.py" in files
    assert "calcref/knowledge/load.py" in files
    assert "calcref/answers/query.py" in files
    assert "calcref/render/formats.py" in files
    # Every module of the tree and nothing else: none left behind by the restructuring.
    assert sorted(n for n in files if n.endswith(".py")) == package_modules()
    # Nothing but the package and its metadata: no top-level data/, tests/ or src/.
    tops = {name.split("/", 1)[0] for name in files}
    assert tops <= {"calcref", *(t for t in tops if t.endswith(".dist-info"))}, tops


def test_sdist_carries_sources_data_and_tests(built: Built) -> None:
    with tarfile.open(built.sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in (
        "pyproject.toml",
        "src/calcref/__init__.py",
        "src/calcref/knowledge/load.py",
        "src/calcref/knowledge/stack.py",
        "src/calcref/answers/query.py",
        "src/calcref/render/formats.py",
        "data/subtypes.yaml",
        "data/therapies.yaml",
        "data/knowledge.yaml",
        "data/schema/therapies.schema.json",
        "docs/knowledge.md",
        "CHANGELOG.md",
        "tests/test_knowledge.py",
        # The shipped tests import these helpers.
        "tests/conftest.py",
        "tests/helpers.py",
        "tests/clirun.py",
        "benchmarks/generate.py",  # tests/test_yaml_fast_path.py reads its knowledge
    ):
        assert needed in names
    for module in package_modules():
        assert f"src/{module}" in names, module
    # The wheel-only force-include must not have leaked: the data lives once, at data/.
    assert not any(name.startswith("calcref/") for name in names)


def test_both_wheels_hold_the_same_files(built: Built) -> None:
    direct, from_sdist = wheel_files(built.wheel), wheel_files(built.wheel_from_sdist)
    assert set(direct) == set(from_sdist)
    for name in direct:
        if not name.endswith(".dist-info/RECORD"):
            assert direct[name] == from_sdist[name], name


def test_installed_wheel_loads_its_own_knowledge_outside_the_repository(built: Built) -> None:
    env = clean_env(built.work)
    venv = built.work / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=built.work, env=env)
    python = venv / "bin" / "python"
    run(
        [str(python), "-m", "pip", "install", "-q", str(built.wheel_from_sdist)],
        cwd=built.work,
        env=env,
    )
    assert (venv / "bin" / "calcref").exists(), "the console script was not installed"

    elsewhere = built.work / "elsewhere"
    elsewhere.mkdir()
    # The public library API: calcref.load() and calcref.answers, nothing from the CLI.
    code = (
        "import sysconfig\n"
        "import calcref\n"
        "from calcref.knowledge import stack\n"
        "kb = calcref.load()\n"
        "print(len(kb.therapies))\n"
        "print(len(calcref.answers.treat(kb, context='ssc')))\n"
        "print(stack.bundled_dir())\n"
        "print(kb.layers[0].directory)\n"
        "print(calcref.__file__)\n"
        "print(sysconfig.get_paths()['purelib'])\n"
    )
    out = run([str(python), "-c", code], cwd=elsewhere, env=env).splitlines()
    count, ssc_count, data_dir, loaded_from, package_file, site_packages = out[-6:]
    site = Path(site_packages).resolve()
    assert Path(package_file).resolve().is_relative_to(site)
    assert Path(data_dir).resolve() == site / "calcref" / "data"
    assert not Path(data_dir).resolve().is_relative_to(REPO)
    assert Path(loaded_from).resolve() == Path(data_dir).resolve()
    # The same knowledge as this checkout's bundled files, so the same answers.
    expected = load()
    assert int(count) == len(expected.therapies)
    assert int(ssc_count) == len(calcref.answers.treat(expected, context="ssc"))


def test_installed_wheel_validates_its_knowledge_and_ships_its_schemas(built: Built) -> None:
    """The curators' commands work from a wheel: the shipped schemas sit beside the files
    that name them, and the installed knowledge passes its own validation."""
    files = wheel_files(built.wheel_from_sdist)
    schemas = sorted(n for n in files if n.startswith("calcref/data/schema/"))
    assert schemas == sorted(
        f"calcref/data/schema/{p.name}" for p in (REPO / "data" / "schema").iterdir()
    )
    for name in KNOWLEDGE:
        first_line = files[f"calcref/data/{name}"].decode().splitlines()[0]
        target = first_line.split("$schema=", 1)[1] if "$schema=" in first_line else ""
        assert f"calcref/data/{target}" in files, (name, first_line)
    env = clean_env(built.work)
    venv = built.work / "venv"
    if not (venv / "bin" / "calcref").exists():
        run([sys.executable, "-m", "venv", str(venv)], cwd=built.work, env=env)
        run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                str(built.wheel_from_sdist),
            ],
            cwd=built.work,
            env=env,
        )
    done = subprocess.run(
        [str(venv / "bin" / "calcref"), "validate"],
        cwd=built.work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == "calcref: no problems in 3 files\n"
