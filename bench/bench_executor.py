"""The process pool against a local Dask cluster: start-up, per-task overhead, and the gate over the catalogue.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_executor.py [--reps 3] [--gate-reps 2] [--no-gate]

Runs alternate (pool, dask, pool, dask, ...) so that load from other processes falls on both alike; the
table shows medians and the spread (min-max). docs/executor.md has the numbers and the decision they led to.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.executor.dispatch import map_tasks  # noqa: E402

EXECUTORS = {"pool": None, "dask": "local"}
TINY = REPO / "scenarios" / "rest_no_input.yaml"


def empty() -> None:
    return None


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def start_up(scheduler, workers):
    """Start the workers and run one empty task on each: what a command pays before its first scenario."""
    return timed(lambda: map_tasks(empty, [()] * workers, scheduler=scheduler, workers=workers, desc="bench"))


def per_task(task, items_for, scheduler, workers, few: int, many: int) -> float:
    """Seconds per task beyond start-up: the slope between ``few`` and ``many`` tasks (one client each)."""
    t_few = timed(lambda: map_tasks(task, items_for(few), scheduler=scheduler, workers=workers, desc="bench"))
    t_many = timed(lambda: map_tasks(task, items_for(many), scheduler=scheduler, workers=workers, desc="bench"))
    return (t_many - t_few) / (many - few)


def gate(scheduler, workers):
    from harness.judge.gate import run_gate
    from harness.scenario.discovery import find_scenarios
    from harness.scenario.schema import load_scenarios

    scenarios = load_scenarios(find_scenarios([str(REPO / "scenarios")]))
    result = []
    seconds = timed(lambda: result.append(run_gate(scenarios, reference_dir=REPO / "reference_traces",
                                                   workers=workers, scheduler=scheduler)))
    assert result[0].status == "pass", result[0].status
    return seconds


def alternate(measure, reps: int) -> dict:
    samples = {name: [] for name in EXECUTORS}
    for _ in range(reps):
        for name, scheduler in EXECUTORS.items():
            samples[name].append(measure(scheduler))
    return samples


def row(label: str, unit: str, scale: float, samples: dict) -> str:
    cells = []
    for name in EXECUTORS:
        values = [v * scale for v in samples[name]]
        cells.append(f"{statistics.median(values):9.2f} ({min(values):.2f}-{max(values):.2f})")
    ratio = statistics.median(samples["dask"]) / statistics.median(samples["pool"])
    return f"| {label:34s} | {unit:4s} | {cells[0]:>24s} | {cells[1]:>24s} | {ratio:5.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--gate-reps", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-gate", action="store_true")
    args = parser.parse_args()
    from harness.backends.nest import run_nest
    from harness.scenario.schema import load_scenario

    tiny = load_scenario(TINY)
    w = args.workers
    rows = [
        ("start-up, 1 empty task per worker", "s", 1.0,
         alternate(lambda s: start_up(s, w), args.reps)),
        ("per empty task (slope 10 -> 210)", "ms", 1e3,
         alternate(lambda s: per_task(empty, lambda n: [()] * n, s, w, 10, 210), args.reps)),
        (f"per tiny NEST run ({tiny.n_steps} steps, 4 -> 44)", "ms", 1e3,
         alternate(lambda s: per_task(run_nest, lambda n: [(tiny,)] * n, s, w, 4, 44), args.reps)),
    ]
    if not args.no_gate:
        rows.append(("gate over scenarios/ (29 files)", "s", 1.0, alternate(lambda s: gate(s, w), args.gate_reps)))
    print(f"{w} workers; median (min-max) of alternating runs\n")
    print(f"| {'measure':34s} | unit | {'process pool':>24s} | {'local Dask cluster':>24s} | dask/pool |")
    print(f"|{'-' * 36}|------|{'-' * 26}|{'-' * 26}|-------|")
    for label, unit, scale, samples in rows:
        print(row(label, unit, scale, samples))


if __name__ == "__main__":
    main()
