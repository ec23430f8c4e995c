"""Time calcref as users run it: whole processes, against the cost of `import typer`.

    python benchmarks/run.py                  # 30 interleaved rounds, 10x and 100x knowledge
    python benchmarks/run.py --quick          # 3 rounds, 10x only: the CI smoke run (< 2 min)
    python benchmarks/run.py --json           # the same results as JSON
    python benchmarks/run.py --typer-newest   # the newest Typer on PyPI against this environment

calcref is used only through its command line (the `calcref` console script beside
sys.executable, else `python -m calcref`) and the knowledge files that benchmarks/generate.py
writes, never through its modules. Every command is a fresh process with stdin closed, stdout
read from a pipe, a private XDG_CACHE_HOME and a private bytecode cache (PYTHONPYCACHEPREFIX).

Rounds are interleaved: each round runs every command once, the starting command rotating from
round to round, so drift in the machine's load hits all of them alike. Every command runs once
untimed first (bytecode, page cache, the warm rows' parse cache). A cold row runs each time with
a new, empty cache directory, made and removed outside the timed span. The bundled cold row
is reported only: the issue's cold target is measured against the bundled (warm) JSON run, and
each cold row is also given against the bundled cold run, the other way to read that target.

The baseline B is `python -c "import typer"` in the same environment: what any Typer CLI pays
before doing anything. A row's ratio is the median over rounds of its time divided by its
reference's time in the same round (B, or the bundled JSON run for the scaled knowledge).
Targets (issue 11) are printed and never asserted: the script exits 0 whatever the times (with
--strict, 1 only when a benchmarked command itself fails). Peak RSS is each process's own
(os.wait4), the median over its timed runs. Standard library only.
"""

from __future__ import annotations

import argparse
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
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATE = ROOT / "benchmarks" / "generate.py"
TREAT_JSON = ("treat", "--context", "ssc", "--json")
TREAT_TABLE = ("treat", "--context", "ssc")
SLOW_TYPER = (0, 29)  # the first Typer that builds pydantic adapters on every run
NEWEST_WITHIN = 1.10  # --typer-newest: "as fast" means within 10% of the bound's time
VERDICT_ROWS = (  # --typer-newest: (what, bench key); the first two decide
    ("calcref treat --context ssc --json", "json"),
    ("calcref --version", "version"),
    ('python -c "import typer"', "B"),
)
# What was tried against Typer 0.29.2's cost (say so when --typer-newest finds it slow).
DECLARATION_NOTE = (
    "No public way of declaring parameters avoids this in Typer 0.29.2. Parsing a command builds "
    "a pydantic TypeAdapter for every parameter whose value is not already a bool "
    "(typer/core.py _TyperParameter.process_value -> get_runtime_param -> typer/_coercion.py "
    "build_runtime_param -> typer/_adapters.py try_build_adapter), Typer's own --help option "
    "included, so a command with only bool flags pays too; the first adapter imports pydantic's "
    "schema machinery, which is nearly all of the cost. parser=, plain str, Enum and Literal "
    "parameters each build one, and typer.Option has no click_type= from 0.29 on. The only "
    "escape found drops Typer's help option and parses every non-bool option by hand."
)


@dataclass
class Bench:
    """One command to time, and how to judge it."""

    key: str
    label: str
    argv: list[str]
    env: dict[str, str]
    target: float | None = None  # the ratio to meet (None: reported only)
    against: str = "B"  # key of the bench the ratio is taken against, round by round
    cold_root: Path | None = None  # set: every run gets a new empty cache home under it
    check_json: bool = False
    times_ms: dict[int, float] = field(default_factory=dict)  # round -> wall ms
    peaks_mib: list[float] = field(default_factory=list)
    floor_mib: float = 0.0  # the timing helper's own peak at the spawn
    failure: str | None = None
    output_bytes: int | None = None
    rows: int | None = None


def console_script(python: Path) -> list[str]:
    """The `calcref` users run, beside the given interpreter, else `python -m calcref`."""
    for name in ("calcref", "calcref.exe"):
        if (python.parent / name).is_file():
            return [str(python.parent / name)]
    return [str(python), "-m", "calcref"]


def base_env(cache_home: Path, pycache: Path) -> dict[str, str]:
    """This process's environment without calcref settings, with a private cache home.

    Bytecode is always written, to a private PYTHONPYCACHEPREFIX: an installed calcref runs
    from .pyc files, and with PYTHONDONTWRITEBYTECODE set (or an editable install never run
    before) every run would compile calcref's modules from source.
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
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


# Each run is started, timed and reaped by this small helper, run as `python -I -S`, never by
# this script: Linux starts a child's max RSS at the RSS of the process that spawned it (the
# child shares its memory until exec), so os.wait4 in a spawner that has grown would report the
# spawner's peak. The helper reports its own peak at the spawn, a floor under every figure.
_HELPER = r"""
import json, os, signal, sys, time
argv, timeout, count_rows = json.loads(sys.argv[1])
try:
    with open("/proc/self/status", "rb") as status:
        floor = next((int(l.split()[1]) for l in status if l.startswith(b"VmHWM:")), 0)
except OSError:
    floor = 0
read_end, write_end = os.pipe()
stdin = os.open(os.devnull, os.O_RDONLY)
killed = []
start = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[
    (os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, write_end, 1)])
os.close(write_end)
def kill(*_):
    killed.append(True)
    os.kill(pid, signal.SIGKILL)
signal.signal(signal.SIGALRM, kill)
signal.setitimer(signal.ITIMER_REAL, timeout)
chunks = []
while chunk := os.read(read_end, 1 << 16):
    chunks.append(chunk)
_, status, usage = os.wait4(pid, 0)
elapsed = (time.perf_counter() - start) * 1000
signal.setitimer(signal.ITIMER_REAL, 0)
out = b"".join(chunks)
rows = None
if count_rows:
    try:
        rows = len(json.loads(out))
    except ValueError:
        rows = -1
print(json.dumps([os.waitstatus_to_exitcode(status), elapsed, usage.ru_maxrss, floor,
                  len(out), rows, bool(killed)]))
"""


def run_once(bench: Bench, timeout: float) -> tuple[float, float] | None:
    """One run: (wall ms, peak RSS MiB), or None after recording a failure."""
    env = bench.env
    cold_home = None
    if bench.cold_root is not None:
        bench.cold_root.mkdir(parents=True, exist_ok=True)
        cold_home = Path(tempfile.mkdtemp(dir=bench.cold_root))
        env = env | {"XDG_CACHE_HOME": str(cold_home)}
    payload = json.dumps([bench.argv, timeout, bench.check_json])
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _HELPER, payload],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout + 60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        bench.failure = f"timed out after {timeout:.0f} s"
        return None
    finally:
        if cold_home is not None:
            shutil.rmtree(cold_home, ignore_errors=True)
    tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(no stderr)"]
    try:
        code, elapsed, maxrss, floor, size, rows, killed = json.loads(done.stdout)
    except ValueError:
        bench.failure = f"the timing helper failed: {tail[0][:200]}"
        return None
    if killed:
        bench.failure = f"timed out after {timeout:.0f} s"
        return None
    if code != 0:
        bench.failure = f"exit {code}: {tail[0][:200]}"
        return None
    if bench.output_bytes is None:
        bench.output_bytes, bench.rows = size, rows
        if rows == -1:
            bench.failure = "stdout is not JSON"
            return None
    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
    bench.floor_mib = max(bench.floor_mib, floor / 1024)
    return elapsed, maxrss * unit / 2**20


_PROBE = """
import importlib.metadata as m, json, platform
def v(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return None
try:
    import yaml
    libyaml = bool(getattr(yaml, "__with_libyaml__", False))
except ImportError:
    libyaml = None
print(json.dumps({"python": platform.python_implementation() + " " + platform.python_version(),
    "calcref": v("calcref"), "typer": v("typer"), "pydantic": v("pydantic"), "rich": v("rich"),
    "pyyaml": v("PyYAML"), "libyaml": libyaml}))
"""


def probe(python: Path) -> dict[str, object]:
    """Versions in the environment under test, asked of its own interpreter."""
    done = subprocess.run(
        [str(python), "-c", _PROBE], capture_output=True, text=True, check=False, timeout=120
    )
    try:
        info = json.loads(done.stdout)
    except ValueError:
        info = {"error": (done.stderr.strip().splitlines() or ["probe failed"])[-1]}
    info["executable"] = str(python)
    return info


def machine() -> dict[str, object]:
    load = None
    if hasattr(os, "getloadavg"):
        load = [round(x, 2) for x in os.getloadavg()]
    return {
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "load_average_at_start": load,
    }


def version_tuple(text: str | None) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text or "")[:3])


def slow_typer(info: dict) -> bool:
    return bool(info.get("typer")) and version_tuple(str(info["typer"])) >= SLOW_TYPER


# --- measuring ---------------------------------------------------------------------------------


def interleave(benches: list[Bench], rounds: int, timeout: float, log) -> None:
    """One untimed run each, then `rounds` rounds of every bench, starting point rotating."""
    for bench in benches:
        if run_once(bench, timeout) is None:
            log(f"FAILED {bench.label}: {bench.failure}")
    for index in range(rounds):
        shift = index % len(benches)
        for bench in benches[shift:] + benches[:shift]:
            if bench.failure is not None:
                continue
            measured = run_once(bench, timeout)
            if measured is None:
                log(f"FAILED {bench.label}: {bench.failure}")
                continue
            bench.times_ms[index] = measured[0]
            bench.peaks_mib.append(measured[1])
        log(f"round {index + 1}/{rounds} done")


def paired_ratio(bench: Bench, base: Bench | None) -> float | None:
    """Median over rounds of bench's time over base's time in the same round."""
    if base is None:
        return None
    ratios = [t / base.times_ms[r] for r, t in bench.times_ms.items() if r in base.times_ms]
    return statistics.median(ratios) if ratios else None


def result_rows(benches: list[Bench]) -> list[dict[str, object]]:
    by_key = {b.key: b for b in benches}
    rows = []
    for bench in benches:
        times = list(bench.times_ms.values())
        ratio = paired_ratio(bench, by_key.get(bench.against))
        rows.append(
            {
                "key": bench.key,
                "command": bench.label,
                "runs": len(times),
                "median_ms": statistics.median(times) if times else None,
                "min_ms": min(times) if times else None,
                "max_ms": max(times) if times else None,
                "ratio_to_B": paired_ratio(bench, by_key.get("B")),
                "ratio_to_bundled_cold": (
                    paired_ratio(bench, by_key.get("cold")) if bench.key.endswith("-cold") else None
                ),
                "against": bench.against,
                "ratio": ratio,
                "target": bench.target,
                "met": None if bench.target is None or ratio is None else ratio <= bench.target,
                "peak_rss_mib": statistics.median(bench.peaks_mib) if bench.peaks_mib else None,
                "output_bytes": bench.output_bytes,
                "json_rows": bench.rows,
                "failure": bench.failure,
            }
        )
    return rows


def generate(scale: int, out: Path, shared: bool, log) -> None:
    start = time.perf_counter()
    # A child process with this interpreter: generate.py needs PyYAML, this script does not.
    subprocess.run(
        [sys.executable, str(GENERATE), "--scale", str(scale), "--out", str(out)]
        + ([] if shared else ["--isolated"]),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    log(f"generated {scale}x knowledge in {time.perf_counter() - start:.1f} s")


def standard_benches(args: argparse.Namespace, work: Path, log) -> list[Bench]:
    py = Path(sys.executable)
    calcref = console_script(py)
    pycache = work / "pycache"
    env = base_env(work / "cache-warm", pycache)
    benches = [
        Bench("B", 'python -c "import typer"', [str(py), "-c", "import typer"], env),
        Bench(
            "json",
            "calcref " + " ".join(TREAT_JSON),
            [*calcref, *TREAT_JSON],
            env,
            1.15,
            check_json=True,
        ),
        Bench(
            "table",
            "calcref " + " ".join(TREAT_TABLE) + " (piped)",
            [*calcref, *TREAT_TABLE],
            env,
            1.8,
        ),
        Bench("version", "calcref --version", [*calcref, "--version"], env, 0.8),
        Bench(
            "no-cache",
            "CALCREF_NO_CACHE=1 calcref " + " ".join(TREAT_JSON),
            [*calcref, *TREAT_JSON],
            env | {"CALCREF_NO_CACHE": "1"},
            1.5,
            check_json=True,
        ),
    ]
    benches.append(  # the reference a cold run of larger knowledge may also be read against
        Bench(
            "cold",
            "calcref " + " ".join(TREAT_JSON) + " (bundled knowledge, cold cache)",
            [*calcref, *TREAT_JSON],
            base_env(work / "cache-cold", pycache),
            against="json",
            cold_root=work / "cache-cold",
            check_json=True,
        )
    )
    scales = [(10, 1.1, 2.0)]
    if not args.quick and args.report_scale:
        scales.append((args.report_scale, None, None))
    for scale, warm_target, cold_target in scales:
        data = work / f"kb{scale}"
        generate(scale, data, args.shared, log)
        for kind, target in (("warm", warm_target), ("cold", cold_target)):
            home = work / f"cache-{scale}x-{kind}"
            benches.append(
                Bench(
                    f"{scale}x-{kind}",
                    f"calcref {' '.join(TREAT_JSON)} ({scale}x knowledge, {kind} cache)",
                    [*calcref, *TREAT_JSON],
                    base_env(home, pycache) | {"CALCREF_DATA": str(data)},
                    target,
                    against="json",
                    cold_root=home if kind == "cold" else None,
                    check_json=True,
                )
            )
    return benches


def measure(args: argparse.Namespace, log) -> dict[str, object]:
    rounds = 3 if args.quick else args.rounds
    started = time.perf_counter()
    info = probe(Path(sys.executable)) | machine()
    with tempfile.TemporaryDirectory(prefix="calcref-bench-") as tmp:
        benches = standard_benches(args, Path(tmp), log)
        interleave(benches, rounds, args.timeout, log)
    return {
        "mode": "standard",
        "environment": info,
        "rounds": rounds,
        "quick": args.quick,
        "wall_s": round(time.perf_counter() - started, 1),
        "results": result_rows(benches),
        "rss_floor_mib": max((b.floor_mib for b in benches), default=None),
        "warning": typer_warning(info),
    }


# --- --typer-newest ----------------------------------------------------------------------------


def _pip(python: Path, *pip_args: str, log) -> subprocess.CompletedProcess[str]:
    argv = [str(python), "-m", "pip", "--disable-pip-version-check", *pip_args]
    log("$ " + " ".join(argv))
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)


def newest_venv(venv: Path, log) -> tuple[Path, str | None]:
    """A new virtual environment with the newest Typer on the index and this checkout.

    The checkout is installed without its dependencies (its own pin would refuse the newer
    Typer); they are installed from pyproject.toml with the Typer requirement replaced.
    Returns the interpreter and the newest version the index listed (None if pip could not
    say; then Typer is installed with --upgrade). Raises RuntimeError when pip fails.
    """
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    listed = _pip(python, "index", "versions", "typer", log=log)
    match = re.search(r"^typer \(([^)]+)\)", listed.stdout, re.MULTILINE)
    newest = match.group(1) if match else None
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = [d for d in project["dependencies"] if not re.match(r"typer\b", d.strip(), re.I)]
    typer_req = f"typer=={newest}" if newest else "typer"
    for step in (
        ("install", "--quiet", "--upgrade", typer_req, *deps),
        ("install", "--quiet", "--no-deps", str(ROOT)),
    ):
        done = _pip(python, *step, log=log)
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-5:])
            raise RuntimeError(f"pip {' '.join(step)} failed:\n{tail}")
    return python, newest


def measure_newest(args: argparse.Namespace, log) -> dict[str, object]:
    rounds = 3 if args.quick else args.rounds
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="calcref-typer-newest-") as tmp:
        work = Path(tmp)
        log("creating a virtual environment with the newest Typer and this checkout")
        python, listed = newest_venv(work / "venv", log)
        envs = {"bound": Path(sys.executable), "newest": python}
        infos = {name: probe(py) | machine() for name, py in envs.items()}
        benches = []
        for name, py in envs.items():
            env = base_env(work / f"cache-{name}", work / "pycache")
            calcref = console_script(py)
            typer = infos[name].get("typer")
            benches += [
                Bench(
                    f"B@{name}",
                    f'python -c "import typer" (typer {typer})',
                    [str(py), "-c", "import typer"],
                    env,
                    against=f"B@{name}",
                ),
                Bench(
                    f"json@{name}",
                    f"calcref {' '.join(TREAT_JSON)} (typer {typer})",
                    [*calcref, *TREAT_JSON],
                    env,
                    against=f"B@{name}",
                    check_json=True,
                ),
                Bench(
                    f"version@{name}",
                    f"calcref --version (typer {typer})",
                    [*calcref, "--version"],
                    env,
                    against=f"B@{name}",
                ),
            ]
        interleave(benches, rounds, args.timeout, log)
    rows = result_rows(benches)
    for row in rows:  # each venv's own B
        row["ratio_to_B"] = row["ratio"] if row["key"] != row["against"] else 1.0
    by_key = {b.key: b for b in benches}
    verdict = {}
    for what, key in VERDICT_ROWS:
        newest, bound = by_key[f"{key}@newest"], by_key[f"{key}@bound"]
        ratio = paired_ratio(newest, bound)
        verdict[what] = {
            "newest_over_bound": ratio,
            "as_fast": None if ratio is None else ratio <= NEWEST_WITHIN,
        }
    return {
        "mode": "typer-newest",
        "environments": infos,
        "newest_listed": listed,
        "rounds": rounds,
        "quick": args.quick,
        "wall_s": round(time.perf_counter() - started, 1),
        "results": rows,
        "rss_floor_mib": max((b.floor_mib for b in benches), default=None),
        "verdict": verdict,
        "conclusion": newest_conclusion(infos, verdict),
    }


def newest_conclusion(infos: dict[str, dict], verdict: dict[str, dict]) -> str:
    bound, newest = infos["bound"].get("typer"), infos["newest"].get("typer")
    lines = []
    if slow_typer(infos["bound"]):
        lines.append(
            f"This environment has typer {bound}, not one within the bound: run from an "
            "environment installed with the project's pin for a meaningful comparison."
        )
    decisive = [what for what, _ in VERDICT_ROWS[:2]]
    if any(verdict[what]["newest_over_bound"] is None for what in decisive):
        return " ".join([*lines, "No comparison: a command failed."])
    slow = [f"`{what}`" for what in decisive if not verdict[what]["as_fast"]]
    if not slow_typer(infos["newest"]):
        lines.append(
            f"The newest Typer is below {'.'.join(map(str, SLOW_TYPER))}: no bound to lift."
        )
    elif not slow:
        lines.append(
            f"Typer {newest} starts as fast as the bound (within {NEWEST_WITHIN - 1:.0%}): the "
            "<0.29 bound in pyproject.toml can be lifted."
        )
    else:
        lines.append(
            f"Typer {newest} is more than {NEWEST_WITHIN - 1:.0%} slower on "
            f"{' and '.join(slow)}: keep the <0.29 bound. {DECLARATION_NOTE}"
        )
    return " ".join(lines)


# --- reporting ---------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _ref_name(key: str) -> str:
    return {"B": "B", "json": "bundled JSON"}.get(key, key.split("@")[0])


def markdown(report: dict) -> str:
    lines = [
        "| command | median ms | min–max | ×B | target | ratio | met? | peak RSS MiB |",
        "| --- | ---: | ---: | ---: | --- | ---: | --- | ---: |",
    ]
    for row in report["results"]:
        command = f"`{row['command']}`"
        if row["runs"] != report["rounds"]:
            command += f" (n={row['runs']})"
        if row["failure"]:
            command += f" **FAILED: {row['failure']}**"
        span = f"{_ms(row['min_ms'])}–{_ms(row['max_ms'])}" if row["runs"] else "—"
        to_b = f"{row['ratio_to_B']:.2f}" if row["ratio_to_B"] is not None else "—"
        if row["key"] == row["against"]:
            target, ratio, met = "baseline", "", ""
        else:
            ref = _ref_name(row["against"])
            ratio = f"{row['ratio']:.2f}× {ref}" if row["ratio"] is not None else "—"
            if row["target"] is None:
                target, met = "report only", ""
            else:
                target = f"≤ {row['target']:g}× {ref}"
                met = {True: "yes", False: "**no**", None: "—"}[row["met"]]
        peak = f"{row['peak_rss_mib']:.1f}" if row["peak_rss_mib"] is not None else "—"
        lines.append(
            f"| {command} | {_ms(row['median_ms'])} | {span} | {to_b} | {target} | {ratio} "
            f"| {met} | {peak} |"
        )
    lines.append("")
    lines.append(
        "Ratios are medians over rounds of each run against its reference in the same round; "
        "×B is the same against B. Peak RSS is the median of os.wait4's max RSS over the timed "
        "runs"
        + (
            f"; the timing helper's own peak ({report['rss_floor_mib']:.1f} MiB) is a floor "
            "under it."
            if report.get("rss_floor_mib")
            else "."
        )
    )
    colds = [
        f"{r['key'].split('-')[0]} {r['ratio_to_bundled_cold']:.2f}×"
        for r in report["results"]
        if r.get("ratio_to_bundled_cold") is not None
    ]
    if colds:
        lines += [
            "",
            "Cold runs against the bundled cold run in the same round (the issue's cold target "
            f"read as cold against cold): {'; '.join(colds)}.",
        ]
    sizes = [
        f"{r['command'].rsplit('(', 1)[-1].split(',')[0] if '(' in r['command'] else 'bundled'}: "
        f"{r['json_rows']} therapies, {r['output_bytes'] / 1024:.0f} KiB"
        for r in report["results"]
        if r["json_rows"] is not None and "cold" not in r["key"] and "no-cache" not in r["key"]
    ]
    if sizes and report["mode"] == "standard":
        lines += ["", f"Answers (`treat --context ssc --json`): {'; '.join(sizes)}."]
    envs = (
        report["environments"]
        if report["mode"] == "typer-newest"
        else {"this environment": report["environment"]}
    )
    lines.append("")
    for name, env in envs.items():
        if "error" in env:
            lines.append(f"Environment ({name}): {env['executable']}: {env['error']}.")
            continue
        lines.append(
            f"Environment ({name}): {env['python']}, typer {env['typer']}, pydantic "
            f"{env['pydantic']}, rich {env['rich']}, PyYAML {env['pyyaml']} (libyaml: "
            f"{env['libyaml']}), calcref {env['calcref']}; {env['executable']}."
        )
    any_env = next(iter(envs.values()))
    lines.append(
        f"{any_env.get('machine')}, {any_env.get('cpus')} CPUs, load average "
        f"{any_env.get('load_average_at_start')} at start. {report['rounds']} interleaved "
        f"rounds{' (--quick)' if report['quick'] else ''}, {report['wall_s']} s in all. Times "
        "on a shared machine move from run to run: compare ratios, not milliseconds, and rerun "
        "before trusting the second decimal."
    )
    if report.get("verdict"):
        by_key = {row["key"]: row for row in report["results"]}
        bound, newest = (report["environments"][n].get("typer") for n in ("bound", "newest"))
        lines += [
            "",
            f"| command | typer {bound} ms | typer {newest} ms | newest ÷ bound | "
            f"within {NEWEST_WITHIN - 1:.0%}? |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for what, key in VERDICT_ROWS:
            ratio = report["verdict"][what]["newest_over_bound"]
            fast = report["verdict"][what]["as_fast"]
            lines.append(
                f"| {what} | {_ms(by_key[f'{key}@bound']['median_ms'])} "
                f"| {_ms(by_key[f'{key}@newest']['median_ms'])} "
                f"| {'—' if ratio is None else f'{ratio:.2f}'} "
                f"| {'—' if fast is None else ('yes' if fast else '**no**')} |"
            )
    if report.get("conclusion"):
        lines += ["", report["conclusion"]]
    if report.get("warning"):
        lines += ["", f"**{report['warning']}**"]
    return "\n".join(lines) + "\n"


def typer_warning(info: dict) -> str | None:
    if not slow_typer(info):
        return None
    return (
        f"WARNING: typer {info['typer']} is installed. From 0.29 Typer imports pydantic and "
        "builds a pydantic adapter while parsing every command, about +80 to +100 ms and +11 MiB "
        'a run here. calcref pins "typer>=0.28,<0.29": reinstall with that pin before trusting '
        "these numbers."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds (default 30)")
    parser.add_argument(
        "--quick", action="store_true", help="3 rounds, 10x knowledge only (the CI smoke run)"
    )
    parser.add_argument(
        "--report-scale",
        type=int,
        default=100,
        help="the scaled knowledge reported without a target (default 100; 0 to skip)",
    )
    parser.add_argument(
        "--shared",
        action="store_true",
        help="scaled copies report into the bundled contexts, so answers grow with the scale "
        "(default: each copy is isolated, the knowledge grows and the answer stays the same)",
    )
    parser.add_argument(
        "--typer-newest",
        action="store_true",
        help="install the newest Typer from the package index and this checkout in a temporary "
        "virtual environment, and time it against this environment",
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds before one run counts as failed"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--verbose", action="store_true", help="progress on stderr with --json")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a benchmarked command fails (never for its time)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    def log(message: str) -> None:
        if not args.json or args.verbose:
            print(f"[bench] {message}", file=sys.stderr, flush=True)

    if args.typer_newest:
        try:
            report = measure_newest(args, log)
        except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
            print(f"ERROR: could not set up the newest Typer: {exc}", file=sys.stderr)
            return 1
    else:
        report = measure(args, log)
        if report["warning"]:
            print("!" * 79, report["warning"], "!" * 79, sep="\n", file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2) if args.json else markdown(report))
    failed = [r for r in report["results"] if r["failure"]]
    if failed:
        print(f"ERROR: {len(failed)} benchmarked command(s) failed.", file=sys.stderr)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
