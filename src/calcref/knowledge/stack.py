"""Which directories make up a knowledge stack: a base, then any overlays.

A setting such as CALCREF_DATA's names them, separated as PATH is (the CLI reads the variable
and passes its value here). The first is the base, a complete knowledge
base; each later one is an overlay that extends it. An empty first entry stands for the
bundled knowledge, as an empty MANPATH entry stands for the default path, so
`CALCREF_DATA=:$HOME/clinic` is the bundled knowledge plus a clinic's overlay.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from calcref.errors import KnowledgeError
from calcref.model import FILE_NAMES, KNOWLEDGE_FILES, Value

DATA_ENV = "CALCREF_DATA"  # named in messages about a setting; read only by the CLI
# What answers call the bundled knowledge's layer (a record's `layer`). Reserved: a user's
# directory of that name is named as the path it is, `./bundled` (see Layer.name).
BUNDLED = "bundled"
MAX_OVERLAYS = 16  # a bound on the files read (and the memory used) for one answer


class Layer(Value):
    """One directory of the stack; an overlay holds only the files it adds to. `given` is the
    directory as the setting spelled it ("./clinic/"), which answers repeat: a path says
    where a record came from in the user's own words, the same on every machine. The one
    exception is a directory spelled `bundled`, BUNDLED, the name answers give the bundled
    knowledge: it is named `./bundled`, the same directory, so that no answer can pass a
    user's edited copy off as calcref's own knowledge."""

    directory: Path
    overlay: bool
    given: str | None = None

    @property
    def name(self) -> str:
        name = str(self.directory) if self.given is None else self.given
        return os.path.join(os.curdir, name) if name == BUNDLED else name

    def paths(self) -> list[tuple[str, Path]]:
        """The files to read, by name. A base must have both knowledge files (a missing one is
        reported when read); the manifest is optional, and an overlay holds what it holds."""
        return [
            (name, self.directory / name)
            for name in FILE_NAMES
            if (name in KNOWLEDGE_FILES and not self.overlay) or (self.directory / name).exists()
        ]


@cache
def bundled_dir() -> Path:
    """The knowledge shipped with calcref: inside the package in a wheel, at the repository's
    top-level data/ in an editable install or a source checkout. Found once a process:
    resolving the path costs a tenth of a millisecond, and answers ask for it again."""
    here = Path(__file__).resolve().parent.parent  # the calcref package
    for candidate in (here / "data", here.parent.parent / "data"):
        if (candidate / KNOWLEDGE_FILES[0]).is_file():
            return candidate
    raise KnowledgeError(f"knowledge files not found next to {here}; reinstall calcref")


def bundled() -> tuple[Layer, ...]:
    """The bundled knowledge alone."""
    return (Layer(bundled_dir(), overlay=False),)


def from_setting(setting: str | None) -> tuple[Layer, ...]:
    """The stack a CALCREF_DATA-style setting names; None means the bundled knowledge."""
    if setting is None:
        return bundled()
    entries = setting.split(os.pathsep)
    empty = next((n for n, entry in enumerate(entries[1:], 2) if not entry), None)
    if empty is not None:  # e.g. CALCREF_DATA=:$UNSET, a variable that was never set
        raise KnowledgeError(
            f"{DATA_ENV}={setting!r}: entry {empty} is empty; only the first entry may be "
            "empty (it stands for the bundled knowledge)"
        )
    base = Path(entries[0]) if entries[0] else None
    layers = of(base, [Path(entry) for entry in entries[1:]], setting)
    given = entries if base else [None, *entries[1:]]
    return tuple(layer._replace(given=text) for layer, text in zip(layers, given, strict=True))


def of(base: Path | None, overlays: list[Path], setting: str | None = None) -> tuple[Layer, ...]:
    """A stack from a base (None: the bundled knowledge) and overlays, every one checked."""
    if len(overlays) > MAX_OVERLAYS:
        raise KnowledgeError(
            f"{len(overlays)} overlays given; at most {MAX_OVERLAYS} may stack on one base"
        )
    layers = (
        Layer(base if base is not None else bundled_dir(), overlay=False),
        *(Layer(path, overlay=True) for path in overlays),
    )
    seen: set[Path] = set()
    for layer in layers:
        where = _describe(setting, layer.directory)
        if not str(layer.directory).strip() or not layer.directory.is_dir():
            raise KnowledgeError(f"{where} is not a directory")
        resolved = layer.directory.resolve()
        if resolved in seen:
            raise KnowledgeError(f"{where} is listed twice")
        seen.add(resolved)
        if layer.overlay and not any((layer.directory / n).exists() for n in KNOWLEDGE_FILES):
            raise KnowledgeError(
                f"{where} holds neither {' nor '.join(KNOWLEDGE_FILES)}, so it adds nothing"
            )
    return layers


def _describe(setting: str | None, directory: Path) -> str:
    if setting is None:
        return f"'{directory}'"
    if setting == str(directory):
        return f"{DATA_ENV}={setting!r}"
    return f"{DATA_ENV}={setting!r}: '{directory}'"
