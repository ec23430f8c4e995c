"""Write a scaled copy of calcref's knowledge base for benchmarks.

    python benchmarks/generate.py --scale 100 --out /tmp/kb100
    CALCREF_DATA=/tmp/kb100 calcref treat --context ssc --json

The bundled data/*.yaml are replicated `scale` times. Copy 0 is the bundled knowledge exactly;
copy k (k >= 1) suffixes every id it defines with `-xk` (`diltiazem-x17`, `ssc-x17`,
`chapter-x17`) and so do the aliases, which must stay unique across therapies and across
contexts. Every id a copy refers to is rewritten to the same copy: study refs and therapy lists,
`sources` and `printed` sources, context parents (so each copy carries its own context tree),
subtypes' contexts and variants, frequencies' contexts, contexts' subtypes and investigation
tie targets.

One deliberate exception: the contexts and subtypes a therapy or study is *reported in* point at
copy 0's (`ssc`, `dystrophic`), so `treat --context ssc` answers with every copy and the answer
grows linearly with the scale, as it would in a larger real knowledge base. Pass
`isolated=True` (`--isolated`) to rewrite those links to the copy too; then only the loading
cost grows and every answer stays the size of the bundled one.

The five evidence levels are not replicated (the scale has five letters). Standard library and
PyYAML only.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
FILE_NAMES = ("subtypes.yaml", "therapies.yaml")
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
ALL_SUBTYPES = "all"  # an investigation tie target meaning every subtype; never suffixed

Record = dict[str, Any]


def load_bundled(data_dir: Path = DATA_DIR) -> tuple[Record, Record]:
    """The bundled knowledge files as plain data."""
    subtypes, therapies = (
        yaml.safe_load((data_dir / name).read_text(encoding="utf-8")) for name in FILE_NAMES
    )
    return subtypes, therapies


class _Copy:
    """The id rewriting for copy `k`: copy 0 is left exactly as it is."""

    def __init__(self, k: int, isolated: bool) -> None:
        self.suffix = f"-x{k}" if k else ""
        self.isolated = isolated

    def id(self, value: str) -> str:
        return value + self.suffix

    def ids(self, values: list[str] | None) -> list[str] | None:
        return None if values is None else [self.id(v) for v in values]

    def reported(self, value: str) -> str:
        """A context or subtype a therapy or study was reported in: shared unless isolated."""
        return self.id(value) if self.isolated else value

    def sourced(self, records: list[Record] | None) -> None:
        """Statements, regimens, clinical features...: rewrite each record's `sources`."""
        for record in records or ():
            record["sources"] = self.ids(record["sources"])


def _subtype(c: _Copy, r: Record) -> None:
    r["id"] = c.id(r["id"])
    if r.get("variant_of"):
        r["variant_of"] = c.id(r["variant_of"])
    if r.get("contexts"):
        r["contexts"] = c.ids(r["contexts"])
    for frequency in r.get("frequencies") or ():
        frequency["context"] = c.id(frequency["context"])
        c.sourced(frequency["statements"])
    r["sources"] = c.ids(r["sources"])


def _context(c: _Copy, r: Record) -> None:
    r["id"] = c.id(r["id"])
    if r.get("aliases"):
        r["aliases"] = c.ids(r["aliases"])
    if r.get("parent"):
        r["parent"] = c.id(r["parent"])  # each copy's tree hangs together within the copy
    if r.get("subtypes"):
        r["subtypes"] = c.ids(r["subtypes"])
    r["sources"] = c.ids(r["sources"])


def _investigation(c: _Copy, r: Record) -> None:
    r["id"] = c.id(r["id"])
    for tie in r["ties"]:
        if tie["target"] != ALL_SUBTYPES:
            tie["target"] = c.id(tie["target"])
    c.sourced(r["ties"])
    r["sources"] = c.ids(r["sources"])


def _principle(c: _Copy, r: Record) -> None:
    r["id"] = c.id(r["id"])
    r["sources"] = c.ids(r["sources"])


def _reference(c: _Copy, r: Record) -> None:
    r["id"] = c.id(r["id"])
    for printed in r["printed"]:
        printed["source"] = c.id(printed["source"])


def _therapy(c: _Copy, r: Record) -> None:
    r["id"] = c.id(r["id"])
    if r.get("aliases"):
        r["aliases"] = c.ids(r["aliases"])
    for position in r.get("positions") or ():
        position["source"] = c.id(position["source"])
    for key in ("mechanism", "regimens", "uses", "contexts"):
        c.sourced(r.get(key))
    for link in r.get("contexts") or ():
        link["context"] = c.reported(link["context"])
    if r.get("subtypes"):
        r["subtypes"] = [c.reported(s) for s in r["subtypes"]]
    r["sources"] = c.ids(r["sources"])


def _study(c: _Copy, r: Record) -> None:
    r["id"] = c.id(r["id"])
    r["ref"] = c.id(r["ref"])
    r["therapies"] = c.ids(r["therapies"])
    for key in ("contexts", "subtypes"):
        if r.get(key):
            r[key] = [c.reported(v) for v in r[key]]
    r["sources"] = c.ids(r["sources"])


def _feature(c: _Copy, r: Record) -> None:
    r["sources"] = c.ids(r["sources"])


SUBTYPES_SECTIONS = {
    "subtypes": _subtype,
    "contexts": _context,
    "clinical_features": _feature,
    "investigations": _investigation,
    "principles": _principle,
}
THERAPIES_SECTIONS = {
    "references": _reference,
    "therapies": _therapy,
    "studies": _study,
}


def _replicate(original: Record, sections: dict, scale: int, isolated: bool) -> Record:
    out: Record = {}
    for key, records in original.items():
        rewrite = sections.get(key)
        if rewrite is None:  # evidence_levels: the scale stays five letters
            out[key] = copy.deepcopy(records)
            continue
        replicated = []
        for k in range(scale):
            c = _Copy(k, isolated)
            for record in records:
                clone = copy.deepcopy(record)
                if k:
                    rewrite(c, clone)
                replicated.append(clone)
        out[key] = replicated
    return out


def scaled(
    scale: int, *, isolated: bool = False, data_dir: Path = DATA_DIR
) -> tuple[Record, Record]:
    """The two files' contents replicated `scale` times (scale 1 is the bundled knowledge)."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    subtypes, therapies = load_bundled(data_dir)
    return (
        _replicate(subtypes, SUBTYPES_SECTIONS, scale, isolated),
        _replicate(therapies, THERAPIES_SECTIONS, scale, isolated),
    )


def generate(scale: int, out_dir: Path, *, isolated: bool = False) -> Path:
    """Write subtypes.yaml and therapies.yaml for `scale` copies into out_dir; return out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, content in zip(FILE_NAMES, scaled(scale, isolated=isolated), strict=True):
        # yaml.safe_dump's representer with libyaml's emitter when present: the same text,
        # about three times faster, which matters at 1000x (45 MB).
        text = yaml.dump(content, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100)
        (out_dir / name).write_text(text, encoding="utf-8")
    return out_dir


def counts(out_dir: Path) -> dict[str, int]:
    """Record counts and file sizes of a generated knowledge base (for reports)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # safe_load's rules, in C
    subtypes, therapies = (
        yaml.load((Path(out_dir) / name).read_text(encoding="utf-8"), Loader=loader)
        for name in FILE_NAMES
    )
    result = {key: len(subtypes[key]) for key in SUBTYPES_SECTIONS}
    result |= {key: len(therapies[key]) for key in ("evidence_levels", *THERAPIES_SECTIONS)}
    for name in FILE_NAMES:
        result[f"{name} bytes"] = (Path(out_dir) / name).stat().st_size
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100, help="copies of the knowledge (>= 1)")
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="link each copy's therapies and studies to its own contexts and subtypes, so "
        "answers do not grow with the scale",
    )
    parser.add_argument("--counts", action="store_true", help="print record counts and sizes")
    args = parser.parse_args(argv)
    if args.scale < 1:
        parser.error("--scale must be at least 1")
    out = generate(args.scale, args.out, isolated=args.isolated)
    if args.counts:
        for key, value in counts(out).items():
            print(f"{key}: {value}")
    else:
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
