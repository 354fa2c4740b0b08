"""What a sweep costs: variants per minute on a local Dask cluster of 1 and 2 workers, the per-task overhead
against the batch size, and what ``sweeps/release.yaml`` at 1x, 10x and 1,000x its size would cost on a
cluster, with NEST alone (batched, in this process) measured side by side in the same run.

    .venv/bin/python bench/bench_sweep.py                    # 32 variants of mixed_inputs, batch sizes 1 4 16
    .venv/bin/python bench/bench_sweep.py --variants 64 --repeats 2

Each sweep runs into a fresh temporary folder, so nothing is skipped as already done; its wall time includes
starting the cluster (each worker imports NEST once). The release-sweep estimate scales the measured worker
seconds per variant of the release sweep: those of its last whole run when its results are here
(``make sweep``), else of a few of its batches run now (which pay the JAX engine's compilations that a whole
run amortises, so they err high); a cluster runs ceil(tasks / workers) rounds of tasks, plus its start-up.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYNEST_QUIET", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.sweep import store  # noqa: E402
from harness.sweep.expand import expand  # noqa: E402
from harness.sweep.run import run_sweep  # noqa: E402
from harness.sweep.spec import load_sweep  # noqa: E402

RELEASE = ROOT / "sweeps" / "release.yaml"
SIZES = (1, 10, 1000)
NODES = (1, 10, 100)
CORES_PER_NODE = 32
STARTUP_S = 5.0  # a cluster's workers up and NEST imported (about 3 s here); a batch scheduler's queue comes on top


def sweep_text(variants: int, batch_size: int) -> str:
    tols = [10.0 ** -(2 + i % 5) for i in range(variants)]
    scales = [0.5 + 0.1 * (i // 5) for i in range(variants)]
    return (f"name: bench\nbase: {ROOT / 'scenarios' / 'mixed_inputs.yaml'}\n"
            f"zip:\n  - params.gsl_error_tol: {tols}\n    weight_scale: {scales}\n"
            f"candidates: [python]\nbatch_size: {batch_size}\n")


def timed_sweep(folder: Path, variants: int, batch_size: int, workers: int) -> tuple[float, float]:
    """(wall seconds, mean worker seconds per variant) of one fresh sweep."""
    path = folder / f"bench-{variants}-{batch_size}.yaml"
    path.write_text(sweep_text(variants, batch_size))
    sweep = load_sweep(path)
    out = Path(tempfile.mkdtemp(prefix="sweep-", dir=folder))
    started = time.perf_counter()
    outcome = run_sweep(sweep, expand(sweep), out, workers=workers)
    wall = time.perf_counter() - started
    if outcome.status != "pass":
        raise SystemExit(f"the bench sweep did not pass: {outcome.summary(sweep.name)}")
    seconds = store.read_results(out).drop_duplicates("variant_id")["seconds"]
    return wall, float(seconds.mean())


def alone(folder: Path, variants: int, runner) -> float:
    """Seconds one backend alone takes for the same variants, batched in this process (imported already)."""
    from harness.backends.batch import run_batched

    path = folder / "alone.yaml"
    path.write_text(sweep_text(variants, variants))
    scenarios = [v.scenario for v in expand(load_sweep(path))]
    run_batched(scenarios[:1], runner)  # the import and the first kernel are not the variants'
    started = time.perf_counter()
    run_batched(scenarios, runner)
    return time.perf_counter() - started


def measured_release(sweep) -> float | None:
    """Worker seconds per variant of the last whole run of the release sweep (``make sweep``), if its results
    are here and are of this sweep file: a whole run amortises what a sample cannot (the JAX engine compiles a
    program per batch shape once per worker)."""
    results = ROOT / "reports" / "sweeps" / sweep.name
    try:
        if store.read_manifest(results).get("content_hash") != sweep.content_hash:
            return None
    except Exception:  # noqa: BLE001  (no results: sample instead)
        return None
    seconds = store.read_results(results).drop_duplicates("variant_id")["seconds"].dropna()
    return float(seconds.mean()) if len(seconds) else None


def release_estimate(folder: Path, workers: int) -> None:
    if not RELEASE.is_file():
        print(f"\n{RELEASE} not found: no release estimate")
        return
    sweep = load_sweep(RELEASE)
    variants = [v for v in expand(sweep) if v.valid]
    measured = measured_release(sweep)
    if measured is not None:
        print(f"\nsweeps/release.yaml: {len(variants)} valid variants; from its last whole run "
              f"(reports/sweeps/{sweep.name}): {measured:.3f} worker-seconds per variant")
        return _estimate_table(sweep, variants, measured)
    # Whole tasks, as the sweep batches them: the first base's first batch at each resolution (each resolution
    # is a third of the sweep). That base is the sweep's longest (300 ms), so the estimate errs high.
    first = variants[0].base
    sample = []
    for resolution in sorted({v.scenario.resolution for v in variants}):
        sample += [v for v in variants if v.base == first and v.scenario.resolution == resolution][:sweep.batch_size]
    out = Path(tempfile.mkdtemp(prefix="release-sample-", dir=folder))
    run_sweep(sweep, sample, out, workers=workers)
    per_variant = float(store.read_results(out).drop_duplicates("variant_id")["seconds"].mean())
    print(f"\nsweeps/release.yaml: {len(variants)} valid variants; {len(sample)} of {first} sampled here (one "
          f"batch of {sweep.batch_size} per resolution): {per_variant:.3f} worker-seconds per variant")
    _estimate_table(sweep, variants, per_variant)


def _estimate_table(sweep, variants: list, per_variant: float) -> None:
    task = sweep.batch_size * per_variant
    print(f"A task ({sweep.batch_size} variants) takes {task:.1f} s; a cluster runs ceil(tasks / workers) rounds of "
          f"tasks, plus {STARTUP_S:g} s to start its workers (each imports NEST); one worker per core.")
    print(f"| size | variants | tasks | {' | '.join(f'{n} node(s) x {CORES_PER_NODE} cores' for n in NODES)} |")
    print("|---|---|---|" + "---|" * len(NODES))
    for size in SIZES:
        n = len(variants) * size
        tasks = math.ceil(n / sweep.batch_size)
        cells = [_duration(STARTUP_S + math.ceil(tasks / (nodes * CORES_PER_NODE)) * task) for nodes in NODES]
        print(f"| {size}x | {n:,} | {tasks:,} | {' | '.join(cells)} |")
    here = _duration(len(variants) * per_variant / os.cpu_count())
    print(f"(on this machine's {os.cpu_count()} cores: 1x takes {here})")


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "< 1 s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--no-release", action="store_true", help="skip the release-sweep estimate")
    parser.add_argument("--release-only", action="store_true", help="only the release-sweep estimate")
    args = parser.parse_args()
    from harness.traces.provenance import machine_description

    print(f"{machine_description()}; {args.variants} variants of "
          f"mixed_inputs (3,000 steps each), candidate python, profile exact; medians of {args.repeats}")
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        folder = Path(tmp)
        if args.release_only:
            release_estimate(folder, 2)
            return 0
        from harness.backends.batch import run_nest_batch, run_python_batch

        nest = alone(folder, args.variants, run_nest_batch)
        engine = alone(folder, args.variants, run_python_batch)
        print(f"NEST alone, batched in one process: {nest:.2f} s, {60 * args.variants / nest:.0f} variants/min; the "
              f"exact engine alone, batched: {engine:.2f} s, {60 * args.variants / engine:.0f} variants/min\n")
        print("| workers | batch size | wall s | variants/min | worker s per variant | sweep / NEST alone |")
        print("|---|---|---|---|---|---|")
        per_variant = {}
        for batch_size in args.batch_sizes:
            for workers in (1, 2):
                runs = [timed_sweep(folder, args.variants, batch_size, workers) for _ in range(args.repeats)]
                wall = statistics.median(r[0] for r in runs)
                per = statistics.median(r[1] for r in runs)
                per_variant.setdefault(batch_size, per)
                print(f"| {workers} | {batch_size} | {wall:.1f} | {60 * args.variants / wall:.0f} | {per:.3f} | "
                      f"{wall / nest:.1f} |")
        small, large = min(per_variant), max(per_variant)
        if small != large:  # worker seconds per variant = overhead / batch size + marginal cost
            overhead = (per_variant[small] - per_variant[large]) / (1 / small - 1 / large)
            marginal = per_variant[large] - overhead / large
            print(f"\nper task: {overhead:.2f} s of overhead (one NEST kernel set-up and one engine stepping loop "
                  f"whatever the batch's size), plus {marginal:.3f} s per variant (fitted from batch sizes {small} "
                  f"and {large}, 1 worker)")
        if not args.no_release:
            release_estimate(folder, 2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
