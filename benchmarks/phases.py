"""Where a load's time goes, phase by phase, in one process: the floors under the 10x targets.

    python benchmarks/phases.py               # the bundled and 10x knowledge, best of 15
    python benchmarks/phases.py --scale 100   # the bundled and 100x knowledge
    python benchmarks/phases.py --quick       # best of 3: the CI smoke run

run.py times what a user waits for, whole processes, and says whether each target is met;
this script says what a miss is made of. Unlike run.py it imports calcref's own modules (and
PyYAML, to time libyaml's events alone), so its figures are pieces, not answers: each is the
best of its runs in this process, with the garbage collector paused as calcref pauses it.
The scaled knowledge is what benchmarks/generate.py writes (`--isolated`, as run.py uses).
Targets are printed as budgets, never asserted: the script exits 0 whatever the times.
"""

from __future__ import annotations

import argparse
import gc
import marshal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

import calcref
from calcref import model
from calcref.knowledge import cache, stack, yamlread

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # benchmarks/generate.py, beside this script

LOAD = sys.modules["calcref.knowledge.load"]  # the module: the package exports its function
WARM_TARGET, COLD_TARGET = 1.1, 2.0  # issue 11: runs of 10x knowledge, against the bundled run
BUNDLED_RUN_MS = 70.0  # the bundled JSON run on the README's machine (README, Performance)
COLD_PATH = ("cold: read, parse and check", "cold: build the records", "cold: encode the entry")
EVENTS = "cold: libyaml's events alone"


def best(step: Callable[[], Any], repeats: int) -> float:
    """The fastest of `repeats` runs of `step`, in ms."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def phases(layers: tuple[stack.Layer, ...], repeats: int) -> dict[str, float]:
    """Each phase of a warm and of a cold load of `layers`, in ms."""
    files = LOAD.read(layers)
    key_parts = LOAD._key_parts(files)
    texts = [raw.decode("utf-8") for lf in files for _, raw in lf.files.values()]
    with tempfile.TemporaryDirectory() as home:
        directory = Path(home)
        LOAD.load(layers, directory)  # writes the entry the warm phases read
        key = cache.make_key(calcref.__version__, key_parts)
        payload = cache.read(directory, key)
        records = LOAD._records(payload)
        parsed = LOAD.parse_and_validate(files)
        kb = LOAD.build(parsed)
        events = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return {
            "warm: read the files": best(lambda: LOAD.read(layers), repeats),
            "warm: hash them for the key": best(
                lambda: cache.make_key(calcref.__version__, key_parts), repeats
            ),
            "warm: read and decode the entry": best(lambda: cache.read(directory, key), repeats),
            "warm: check and build the records": best(lambda: LOAD._records(payload), repeats),
            "warm: the knowledge base's lookups": best(
                lambda: model.KnowledgeBase(records, LOAD._layers(payload["layers"])), repeats
            ),
            "warm: load() in all": best(lambda: LOAD.load(layers, directory), repeats),
            EVENTS: best(
                lambda: [sum(1 for _ in yaml.parse(t, Loader=events)) for t in texts], repeats
            ),
            "cold: calcref's reader": best(
                lambda: [yamlread.parse("k.yaml", t) for t in texts], repeats
            ),
            "cold: read, parse and check": best(lambda: LOAD.parse_and_validate(files), repeats),
            "cold: build the records": best(lambda: LOAD.build(parsed), repeats),
            "cold: encode the entry": best(lambda: marshal.dumps(LOAD.to_cache(kb)), repeats),
        }


def report(bundled: dict[str, float], scaled: dict[str, float], scale: int, run_ms: float) -> str:
    lines = [f"| phase (ms, best of runs) | bundled | {scale}x |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {bundled[name]:.2f} | {scaled[name]:.2f} |" for name in bundled]
    extra = scaled["warm: load() in all"] - bundled["warm: load() in all"]
    cold = sum(scaled[name] for name in COLD_PATH) - bundled["warm: load() in all"]
    lines += [
        "",
        f"A warm load of {scale}x knowledge takes {extra:.1f} ms more than the bundled one; the "
        f"warm target allows about {(WARM_TARGET - 1) * run_ms:.0f} ms more in all "
        f"({WARM_TARGET:g}x a {run_ms:.0f} ms bundled run), answering included.",
        f"A cold load of {scale}x knowledge takes about {cold:.0f} ms more than a warm bundled "
        f"one; the cold target, read against the warm bundled run, allows about "
        f"{(COLD_TARGET - 1) * run_ms:.0f} ms more in all, and libyaml's events alone take "
        f"{scaled[EVENTS]:.0f} ms.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10, help="the scaled knowledge (default 10)")
    parser.add_argument("--quick", action="store_true", help="best of 3 runs instead of 15")
    parser.add_argument(
        "--bundled-run-ms",
        type=float,
        default=BUNDLED_RUN_MS,
        help="the bundled JSON run's median from run.py on this machine (default: the README's)",
    )
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 15
    gc.disable()
    with tempfile.TemporaryDirectory() as out:
        generate.generate(args.scale, Path(out), isolated=True)
        bundled = phases(stack.bundled(), repeats)
        scaled = phases(stack.from_setting(out), repeats)
    print(report(bundled, scaled, args.scale, args.bundled_run_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
