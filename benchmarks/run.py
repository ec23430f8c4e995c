"""Time calcref as users run it: whole processes, against the cost of `import typer`.

    python benchmarks/run.py            # 30 interleaved rounds, scaled 100x and 1000x
    python benchmarks/run.py --quick    # 3 rounds, scaled 10x only: the CI smoke run
    python benchmarks/run.py --json     # the same results as JSON

Every command runs as a fresh process of this interpreter's environment (the `calcref` console
script beside sys.executable, else `python -m calcref`), stdin closed and stdout read from a
pipe, with a private XDG_CACHE_HOME and bytecode cache (PYTHONPYCACHEPREFIX) in a temporary
directory. Rounds are interleaved: each round runs every command once in a fixed order, so
drift in the machine's load hits all of them alike. Each command runs once untimed first (which
writes the bytecode and fills the parse cache for the warm rows); the cold rows empty their
cache directory before every run, outside the timed span.

The baseline B is `python -c "import typer"`: what any Typer CLI pays before doing anything.
Ratios are medians over B's median. Targets are printed with the results and never asserted:
the script exits 0 whatever the times (with --strict, 1 only when a benchmarked command
itself fails). Standard library only, plus benchmarks/generate.py for the scaled knowledge.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

GENERATE = Path(__file__).resolve().parent / "generate.py"
TREAT_JSON = ("treat", "--context", "ssc", "--json")
TREAT_TABLE = ("treat", "--context", "ssc")
SLOW_TYPER = (0, 29)


@dataclass
class Bench:
    """One command to time, and how to judge it."""

    key: str
    label: str
    argv: list[str]
    env: dict[str, str]
    target: float | None = None  # the ratio to beat (None: reported only)
    against: str = "B"  # key of the bench the target ratio is measured against
    cold_cache: Path | None = None  # emptied before every run
    max_runs: int | None = None  # None: every round
    budget_s: float | None = None  # stop timing once the timed runs add up to this
    check_json: bool = False
    times_ms: list[float] = field(default_factory=list)
    failure: str | None = None
    output_bytes: int | None = None
    rows: int | None = None

    def wanted(self, round_index: int) -> bool:
        if self.failure is not None:
            return False
        if self.max_runs is not None and round_index >= self.max_runs:
            return False
        return not (self.budget_s is not None and sum(self.times_ms) / 1000 >= self.budget_s)


def calcref_command() -> list[str]:
    """The console script users run, from this interpreter's environment if it has one."""
    bindir = Path(sys.executable).parent
    for name in ("calcref", "calcref.exe"):
        if (bindir / name).is_file():
            return [str(bindir / name)]
    return [sys.executable, "-m", "calcref"]


def base_env(cache_home: Path) -> dict[str, str]:
    """This process's environment without calcref settings, with a private cache home.

    Bytecode is always written, to a private PYTHONPYCACHEPREFIX beside the cache: an installed
    calcref runs from .pyc files, and with PYTHONDONTWRITEBYTECODE set (or an editable install
    never run before) every run would compile calcref's modules from source, about 15 ms.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALCREF_")}
    for name in (
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONPROFILEIMPORTTIME",
        "PYTHONTRACEMALLOC",
        "PYTHONDEVMODE",
        "PYTHONVERBOSE",
    ):
        env.pop(name, None)
    env["XDG_CACHE_HOME"] = str(cache_home)
    env["PYTHONPYCACHEPREFIX"] = str(cache_home.parent / "pycache")
    return env


def run_once(bench: Bench, timeout: float) -> float | None:
    """One timed run; returns milliseconds, or None after recording a failure."""
    if bench.cold_cache is not None:
        shutil.rmtree(bench.cold_cache / "calcref", ignore_errors=True)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            bench.argv,
            env=bench.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        bench.failure = f"timed out after {timeout:.0f} s"
        return None
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(no stderr)"]
        bench.failure = f"exit {done.returncode}: {tail[0][:200]}"
        return None
    if bench.output_bytes is None:
        bench.output_bytes = len(done.stdout)
        if bench.check_json:
            try:
                bench.rows = len(json.loads(done.stdout))
            except ValueError:
                bench.failure = "stdout is not JSON"
                return None
    return elapsed


# Runs in a fresh, small interpreter. Linux starts a child's ru_maxrss at the peak RSS of the
# memory it was spawned from (subprocess uses vfork, and exec keeps that peak), so os.wait4 on a
# child of this script, which has read megabytes of scaled output by then, would report this
# script's peak instead (measured: a spawner that once touched 200 MiB reports 211 MiB for a
# 22 MiB child). The helper's own peak, a floor under every figure, is reported beside it.
_RSS_HELPER = """
import json, os, resource, subprocess, sys
proc = subprocess.Popen(json.loads(sys.argv[1]), stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
try:  # this process's own memory; RUSAGE_SELF would include its spawner's peak too
    with open("/proc/self/status") as status_file:
        floor = next(int(l.split()[1]) for l in status_file if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps([proc.returncode, usage.ru_maxrss, floor]))
"""


def peak_rss_mib(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float] | None:
    """Median max RSS of the command, in MiB, from os.wait4 (RUSAGE_CHILDREN is a max over all
    children), with the floor the spawning helper imposes; None if the command failed."""
    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
    peaks, floors = [], []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _RSS_HELPER, json.dumps(argv)],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        try:
            code, peak, floor = json.loads(done.stdout)
        except ValueError:
            return None
        if code != 0:
            return None
        peaks.append(peak * unit / 2**20)
        floors.append(floor * unit / 2**20)
    return statistics.median(peaks), max(floors)


def typer_version() -> str | None:
    try:
        return metadata.version("typer")
    except metadata.PackageNotFoundError:
        return None


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def environment() -> dict[str, object]:
    def dist(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    libyaml = None
    with contextlib.suppress(ImportError):
        import yaml

        libyaml = bool(getattr(yaml, "__with_libyaml__", False))
    load = None
    with contextlib.suppress(OSError, AttributeError):
        load = [round(x, 2) for x in os.getloadavg()]
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "calcref": dist("calcref"),
        "typer": typer_version(),
        "rich": dist("rich"),
        "pyyaml": dist("PyYAML"),
        "libyaml": libyaml,
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "load_average_at_start": load,
    }


def build_benches(args: argparse.Namespace, work: Path, log) -> list[Bench]:
    py = sys.executable
    calcref = calcref_command()
    warm_home = work / "cache-warm"
    env = base_env(warm_home)
    benches = [
        Bench("B", 'python -c "import typer"', [py, "-c", "import typer"], env),
        Bench("pass", "python -c pass", [py, "-c", "pass"], env),
        Bench("json", "calcref " + " ".join(TREAT_JSON), [*calcref, *TREAT_JSON], env, 1.3),
        Bench(
            "table",
            "calcref " + " ".join(TREAT_TABLE) + " (piped)",
            [*calcref, *TREAT_TABLE],
            env,
            2.0,
        ),
        Bench("version", "calcref --version", [*calcref, "--version"], env, 1.1),
    ]
    for bench in benches:
        bench.check_json = bench.key == "json"
    scales = [(args.scale, None, 2.5, 5.0)]
    if not args.quick and args.big_scale:
        scales.append((args.big_scale, args.big_rounds, None, None))
    for scale, max_runs, warm_target, cold_target in scales:
        start = time.perf_counter()
        data = work / f"kb{scale}"
        # In a child process: a parent that once held the 1000x knowledge would carry that
        # peak RSS into every child it spawns (Linux keeps it across fork and exec).
        subprocess.run(
            [sys.executable, str(GENERATE), "--scale", str(scale), "--out", str(data)]
            + ([] if args.shared else ["--isolated"]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        log(f"generated {scale}x knowledge in {time.perf_counter() - start:.1f} s")
        cold_home = work / f"cache-cold-{scale}"
        for kind, home, target in (
            ("warm", warm_home, warm_target),
            ("cold", cold_home, cold_target),
        ):
            scaled_env = base_env(home) | {"CALCREF_DATA": str(data)}
            benches.append(
                Bench(
                    f"{scale}x-{kind}",
                    f"calcref {' '.join(TREAT_JSON)} ({scale}x, {kind} cache)",
                    [*calcref, *TREAT_JSON],
                    scaled_env,
                    target,
                    against="json",
                    cold_cache=home if kind == "cold" else None,
                    max_runs=max_runs,
                    budget_s=args.big_budget if max_runs else None,
                    check_json=True,
                )
            )
    return benches


def measure(args: argparse.Namespace) -> dict[str, object]:
    def log(message: str) -> None:
        if not args.json or args.verbose:
            print(f"[bench] {message}", file=sys.stderr, flush=True)

    rounds = 3 if args.quick else args.rounds
    if args.quick:
        args.scale = 10
    info = environment()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="calcref-bench-") as tmp:
        work = Path(tmp)
        benches = build_benches(args, work, log)
        # Untimed first run: compiles .pyc, fills the page cache and the warm parse cache. The
        # cold rows skip it: their warm twin has just read the same files.
        for bench in benches:
            if bench.cold_cache is None:
                run_once(bench, args.timeout)
                if bench.failure:
                    log(f"FAILED {bench.label}: {bench.failure}")
        for index in range(rounds):
            for bench in benches:
                if bench.wanted(index):
                    elapsed = run_once(bench, args.timeout)
                    if elapsed is not None:
                        bench.times_ms.append(elapsed)
                    elif bench.failure:
                        log(f"FAILED {bench.label}: {bench.failure}")
            log(f"round {index + 1}/{rounds} done")
        by_key = {b.key: b for b in benches}
        json_bench = by_key["json"]
        memory = []
        mem_runs = 1 if args.quick else 3
        for label, bench in (
            ("calcref treat --context ssc --json", json_bench),
            (f"the same, {args.scale}x knowledge, warm cache", by_key[f"{args.scale}x-warm"]),
        ):
            measured = peak_rss_mib(bench.argv, bench.env, mem_runs)
            memory.append(
                {
                    "label": label,
                    "max_rss_mib": measured[0] if measured else None,
                    "floor_mib": measured[1] if measured else None,
                    "target_mib": 60 if bench is json_bench else None,
                }
            )
    medians = {b.key: statistics.median(b.times_ms) for b in benches if b.times_ms}
    rows = []
    for bench in benches:
        median = medians.get(bench.key)
        base = medians.get(bench.against)
        vs_b = median / medians["B"] if median and medians.get("B") else None
        vs_target = median / base if median and base else None
        rows.append(
            {
                "key": bench.key,
                "command": bench.label,
                "runs": len(bench.times_ms),
                "median_ms": median,
                "min_ms": min(bench.times_ms) if bench.times_ms else None,
                "max_ms": max(bench.times_ms) if bench.times_ms else None,
                "ratio_to_B": vs_b,
                "target": bench.target,
                "target_against": bench.against if bench.target else None,
                "ratio_to_target_base": vs_target,
                "met": None
                if bench.target is None or vs_target is None
                else vs_target <= bench.target,
                "output_bytes": bench.output_bytes,
                "json_rows": bench.rows,
                "failure": bench.failure,
            }
        )
    return {
        "environment": info,
        "rounds": rounds,
        "quick": args.quick,
        "scale": args.scale,
        "wall_s": round(time.perf_counter() - started, 1),
        "results": rows,
        "memory": memory,
    }


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def markdown(report: dict) -> str:
    env = report["environment"]
    lines = [
        "| command | median ms | min–max | ratio | target | met? |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in report["results"]:
        command = f"`{row['command']}`"
        if row["runs"] != report["rounds"]:
            command += f" (n={row['runs']})"
        if row["failure"]:
            command += f" **FAILED: {row['failure']}**"
        span = f"{_ms(row['min_ms'])}–{_ms(row['max_ms'])}" if row["min_ms"] else "—"
        ratio = f"{row['ratio_to_B']:.2f}×B" if row["ratio_to_B"] else "—"
        if row["key"] == "B":
            ratio, target, met = "1.00×B", "baseline", ""
        elif row["target"] is None:
            target, met = "report only", ""
        else:
            name = "B" if row["target_against"] == "B" else "bundled json"
            target = f"≤ {row['target']:g}× {name}"
            if row["target_against"] != "B" and row["ratio_to_target_base"]:
                target += f" (now {row['ratio_to_target_base']:.2f}×)"
            met = {True: "yes", False: "**no**", None: "—"}[row["met"]]
        lines.append(
            f"| {command} | {_ms(row['median_ms'])} | {span} | {ratio} | {target} | {met} |"
        )
    lines += [
        "",
        "| peak memory (max RSS, os.wait4) | MiB | target | met? |",
        "| --- | ---: | --- | --- |",
    ]
    for item in report["memory"]:
        mib, target = item["max_rss_mib"], item["target_mib"]
        cell = f"{mib:.1f}" if mib is not None else "failed"
        met = "" if target is None or mib is None else ("yes" if mib < target else "**no**")
        goal = f"< {target} MiB" if target else "report only"
        lines.append(f"| `{item['label']}` | {cell} | {goal} | {met} |")
    floors = [m["floor_mib"] for m in report["memory"] if m["floor_mib"] is not None]
    if floors:
        lines.append(
            f"\nMax RSS comes from os.wait4 in a small helper process; Linux counts the "
            f"spawner's own peak ({max(floors):.1f} MiB here) as a floor under any child's figure."
        )
    sizes = [
        f"{r['command'].split('(')[-1].rstrip(')') if '(' in r['command'] else 'bundled'}: "
        f"{r['json_rows']} therapies, {r['output_bytes'] / 1024:.0f} KiB"
        for r in report["results"]
        if r["json_rows"] is not None and not r["key"].endswith("cold")
    ]
    if sizes:
        lines += ["", f"Answer sizes (`treat --context ssc --json`): {'; '.join(sizes)}."]
    lines += [
        "",
        f"Environment: {env['python']}, typer {env['typer']}, rich {env['rich']}, "
        f"PyYAML {env['pyyaml']} (libyaml: {env['libyaml']}), calcref {env['calcref']}; "
        f"{env['machine']}, {env['cpus']} CPUs, load average {env['load_average_at_start']}. "
        f"{report['rounds']} interleaved rounds{' (--quick)' if report['quick'] else ''}, "
        f"{report['wall_s']} s in all.",
    ]
    return "\n".join(lines) + "\n"


def typer_warning() -> str | None:
    installed = typer_version()
    if installed is None or version_tuple(installed) < SLOW_TYPER:
        return None
    return (
        f"WARNING: typer {installed} is installed. Typer 0.29+ requires pydantic and builds a "
        "pydantic adapter for every parameter on every invocation, which adds roughly 100 ms to "
        "each calcref run (a one-command app measured ~220 ms against ~85 ms on 0.28). calcref "
        'pins "typer>=0.28,<0.29" for start-up speed: reinstall with that pin before trusting '
        "these numbers."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds (default 30)")
    parser.add_argument(
        "--quick", action="store_true", help="3 rounds, 10x knowledge only (the CI smoke run)"
    )
    parser.add_argument("--scale", type=int, default=100, help="scaled knowledge (default 100)")
    parser.add_argument(
        "--big-scale", type=int, default=1000, help="the report-only large scale (0 to skip)"
    )
    parser.add_argument(
        "--big-rounds", type=int, default=5, help="rounds that include the large scale"
    )
    parser.add_argument(
        "--big-budget",
        type=float,
        default=300,
        help="seconds of timed runs after which a large-scale command is not run again",
    )
    parser.add_argument(
        "--timeout", type=float, default=900, help="seconds before one run counts as failed"
    )
    parser.add_argument(
        "--shared",
        action="store_true",
        help="scaled copies report into the bundled contexts, so answers grow with the scale "
        "(default: each copy is isolated, the knowledge grows and the answer stays the same)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--verbose", action="store_true", help="progress on stderr with --json")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a benchmarked command fails (never for its time)",
    )
    args = parser.parse_args(argv)
    warning = typer_warning()
    if warning:
        print("!" * 79, warning, "!" * 79, sep="\n", file=sys.stderr, flush=True)
    report = measure(args)
    report["warning"] = warning
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(markdown(report))
        if warning:
            print(f"**{warning}**")
    failed = [r for r in report["results"] if r["failure"]]
    if failed:
        print(f"ERROR: {len(failed)} benchmarked command(s) failed.", file=sys.stderr)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
