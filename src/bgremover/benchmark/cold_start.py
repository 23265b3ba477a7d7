"""Cold start: process start to cut-out on disk, for ``bgremover remove`` and ``rembg i``, and where ours goes.

Each command runs in turn, a few rounds, interleaved like the warm benchmark. ``profile_phases``
then splits our cold start into phases (interpreter, imports, settings and catalog, model load,
first cut-out), and ``slowest_imports`` lists the heaviest imports of the CLI, so that a slow start
names its cause. Run as a script (``python cold_start.py --phases PRESET IN OUT``) it is
the profiled child: only the standard library is imported before the clock starts.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ColdCommand:
    name: str
    argv: list[str]
    output: Path  # must exist, non-empty, after the command
    env: dict[str, str] | None = None


@dataclass
class ColdResult:
    name: str
    seconds: list[float]
    argv: list[str]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def run_once(cmd: ColdCommand) -> float:
    """Seconds from spawning the process to its exit, with the output checked on disk."""
    cmd.output.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd.argv, env=cmd.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode != 0 or not cmd.output.is_file() or cmd.output.stat().st_size == 0:
        from bgremover.benchmark.measure import BenchmarkFailed

        raise BenchmarkFailed(f"cold start of {cmd.name} failed (exit {proc.returncode}, "
                              f"output {cmd.output} {'present' if cmd.output.is_file() else 'missing'}): "
                              f"{proc.stderr.strip()[-600:]}")
    return dt


def measure_cold_start(commands: Sequence[ColdCommand], runs: int = 3,
                       progress: Callable[[str], None] | None = None) -> list[ColdResult]:
    """Median-able cold-start times; one untimed run each first so every command reads from a warm page cache."""
    say = progress or (lambda _m: None)
    for c in commands:
        say(f"cold start: priming {c.name}")
        run_once(c)
    times: dict[str, list[float]] = {c.name: [] for c in commands}
    for i in range(runs):
        say(f"cold start: round {i + 1}/{runs}")
        k = i % len(commands)
        for c in list(commands[k:]) + list(commands[:k]):
            times[c.name].append(run_once(c))
    return [ColdResult(c.name, times[c.name], c.argv) for c in commands]


def profile_phases(preset: str, src: Path, dst: Path) -> dict[str, float]:
    """Our cold start split into phases, measured in a fresh interpreter."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    interpreter = time.perf_counter() - t0
    out = subprocess.run([sys.executable, str(Path(__file__)), "--phases", preset, str(src), str(dst)],
                         check=True, capture_output=True, text=True).stdout
    return {"interpreter": interpreter, **json.loads(out.strip().splitlines()[-1])}


def slowest_imports(modules: Sequence[str] = ("bgremover.cli.main", "bgremover.pipeline.remover"),
                    top: int = 8) -> list[tuple[str, float]]:
    """Packages by the import time they add to ``modules`` (``python -X importtime``), slowest first.

    The default is what ``bgremover remove`` imports: the CLI root, then the engine. A package's time
    is the cumulative time of each place it is entered from another package; what it imports in turn
    is inside its figure too (pydantic_settings includes the pydantic it pulls in).
    """
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {', '.join(modules)}"], check=True,
                         capture_output=True, text=True).stderr
    return rank_imports(err, skip=modules[0].split(".")[0], top=top)


def rank_imports(importtime_log: str, skip: str = "", top: int = 8) -> list[tuple[str, float]]:
    rows = []
    for line in importtime_log.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append((depth, name.strip().split(".")[0], int(parts[1]) / 1e6))
    total: dict[str, float] = {}
    roots: list[str] = []  # package at each depth on the current path; the log is post-order, read backwards
    for depth, pkg, cumulative in reversed(rows):
        del roots[depth:]
        parent = roots[depth - 1] if 0 < depth <= len(roots) else None
        if pkg != parent and pkg != skip:
            total[pkg] = total.get(pkg, 0.0) + cumulative
        roots.append(pkg)
    return sorted(total.items(), key=lambda kv: -kv[1])[:top]


def _phases_child(preset: str, src: str, dst: str) -> None:
    """Time each phase of a cold cut-out in this (fresh) process and print them as JSON."""
    marks: dict[str, float] = {}
    t = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        marks[name] = now - t
        t = now

    import bgremover.cli.main  # noqa: F401  (what `bgremover` imports before any command runs)

    mark("import_cli")
    from bgremover.pipeline.remover import CutoutOptions, Remover

    mark("import_engine")
    remover = Remover()
    mark("settings_catalog")
    remover.load_models(preset)  # checksum (or its remembered result) and ONNX sessions
    mark("model_load")
    data = Path(src).read_bytes()
    Path(dst).write_bytes(remover.remove(data, CutoutOptions(model=preset)).data)
    mark("first_cutout")
    print(json.dumps(marks))


if __name__ == "__main__":
    here = Path(__file__).resolve().parent  # not sys.path[0]: our modules must not shadow top-level ones
    sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != here]
    if len(sys.argv) == 5 and sys.argv[1] == "--phases":
        _phases_child(*sys.argv[2:5])
    else:
        sys.exit("usage: cold_start.py --phases PRESET INPUT OUTPUT")
