"""µs per neuron-step of the JAX engine beside NEST 3.10 (1 and 2 threads) and the exact engine, in one run.

The workload is bench_exact's: N neurons with P NMDA ports each at 0.1 ms, a 400 pA DC drive, one AMPA
train and one 10 Hz train per port, shared by all neurons. Every engine records V_m of the first
min(N, 100) neurons (the exact engine can only record all of them). Only the simulation loop is timed.
The JAX engine's compile time (first call, minus the steady-state time of the steps it ran) is reported
in its own column; its steady-state time excludes it. The number of steps per configuration is
min(duration, neuron-step budget / N), at least 100, so that N = 100,000 stays affordable. Then the
per-step API (one neuron, one port) is timed. Prints a Markdown table with ratios and writes a plot
of µs per neuron-step against N to reports/bench/. A benchmark, not a test: it asserts nothing.

Timings on a shared machine are noisy: other processes running at the same time slow any column, so NEST and
the JAX engine are timed --repeat times (default 3) and the best time is kept (the exact engine once).

    .venv/bin/python bench/bench_jax.py --quick      # N = 1, 100, 1000; ports 1, 10; 100 ms
    .venv/bin/python bench/bench_jax.py              # N = 1 ... 100,000; ports 1, 10, 100; up to 1 s
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench_exact  # noqa: E402
from bench_exact import RESOLUTION, port_weights, slot_arrays  # noqa: E402

from harness.jax_engine import JaxPopulation  # noqa: E402  (sets XLA up before anything else starts JAX)
from harness.jax_engine import platform as jax_platform  # noqa: E402

os.environ.setdefault("PYNEST_QUIET", "1")
RECORDED = 100
REPORT_DIR = Path(__file__).resolve().parents[1] / "reports" / "bench"


def time_nest(n: int, n_ports: int, n_steps: int, threads: int) -> float:
    return bench_exact.time_nest(n, n_ports, n_steps, threads, recorded=RECORDED)


def time_jax(n: int, n_ports: int, n_steps: int, repeat: int = 1) -> tuple[float, float, int]:
    """(steady-state seconds for n_steps, best of ``repeat`` runs; compile seconds; shards used)."""
    ampa, nmda, current = slot_arrays(n_ports, n_steps + 256)
    pop = JaxPopulation(n, resolution=RESOLUTION)
    for w in port_weights(n_ports):
        pop.add_nmda_port(float(w))
    chosen = np.arange(min(n, RECORDED))
    run = lambda a, b: pop.run(b - a, ampa=ampa[a:b], nmda=nmda[a:b], current=current[a:b],  # noqa: E731
                               record=("V_m",), record_neurons=chosen)
    start = time.perf_counter()
    run(0, 256)  # one segment: compiles, then runs 256 steps
    first = time.perf_counter() - start
    steady = float("inf")
    for _ in range(repeat):  # the population runs on; only the time matters
        start = time.perf_counter()
        run(256, 256 + n_steps)
        steady = min(steady, time.perf_counter() - start)
    return steady, max(first - steady * 256 / n_steps, 0.0), pop.shards


def time_per_step_api(steps: int = 300) -> float:
    pop = JaxPopulation(1, resolution=RESOLUTION)
    pop.add_nmda_port(1.0)
    ampa, nmda, current = slot_arrays(1, steps + 1)
    pop.step(current=0.0)  # compiles
    start = time.perf_counter()
    for k in range(steps):
        pop.step(ampa=ampa[k], nmda=nmda[k], current=current[k])
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="N = 1, 100, 1000; ports 1, 10; 100 ms")
    parser.add_argument("--duration", type=float, default=None, help="biological ms per run (default 1000)")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--ports", type=int, nargs="+", default=None)
    parser.add_argument("--budget", type=float, default=2e6, help="neuron-steps per configuration (default 2e6)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="time NEST and the JAX engine this many times and keep the best (default 3)")
    parser.add_argument("--exact-max-n", type=int, default=1000, help="skip the exact engine above this N")
    args = parser.parse_args()
    duration = args.duration or (100.0 if args.quick else 1000.0)
    sizes = args.sizes or ([1, 100, 1000] if args.quick else [1, 10, 100, 1000, 10000, 100000])
    ports = args.ports or ([1, 10] if args.quick else [1, 10, 100])
    import jax
    import nest

    lines = [f"# JAX engine vs NEST {nest.__version__} and the exact engine, up to {duration:g} ms at {RESOLUTION} ms; "
             f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, jax {jax.__version__} "
             f"({jax.default_backend()}: {jax.devices()[0].device_kind}, "
             f"XLA_FLAGS={jax_platform.description()['xla_flags']!r})",
             "",
             "| N | ports | steps | NEST 1 thread | NEST 2 threads | exact engine | JAX engine | JAX shards "
             "| JAX compile (s) | JAX / NEST 1 | JAX / NEST 2 |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    rows = []
    for p in ports:
        for n in sizes:
            n_steps = int(min(round(duration / RESOLUTION), max(100, args.budget // n)))
            per = n * n_steps / 1e6  # seconds -> µs per neuron-step
            nest1 = min(time_nest(n, p, n_steps, 1) for _ in range(args.repeat)) / per
            nest2 = min(time_nest(n, p, n_steps, 2) for _ in range(args.repeat)) / per
            exact = bench_exact.time_exact(n, p, n_steps) / per if n <= args.exact_max_n else float("nan")
            steady, compile_s, shards = time_jax(n, p, n_steps, args.repeat)
            jax_us = steady / per
            rows.append((n, p, nest1, nest2, exact, jax_us))
            line = (f"| {n} | {p} | {n_steps} | {nest1:.3g} | {nest2:.3g} | {exact:.3g} | {jax_us:.3g} | {shards} "
                    f"| {compile_s:.1f} "
                    f"| {jax_us / nest1:.3g} | {jax_us / nest2:.3g} |")
            lines.append(line)
            print(line, flush=True)
    api = time_per_step_api() * 1e6
    lines += ["", f"Per-step API (JaxPopulation.step, one neuron, one port): {api:.0f} µs per step"]
    print(lines[-1])
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (REPORT_DIR / "bench_jax.md").write_text("\n".join(lines) + "\n")
    plot(rows, REPORT_DIR / "bench_jax.png")
    print(f"wrote {REPORT_DIR / 'bench_jax.md'} and {REPORT_DIR / 'bench_jax.png'}")


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ports = sorted({r[1] for r in rows})
    fig, axes = plt.subplots(1, len(ports), figsize=(5 * len(ports), 4), squeeze=False, sharey=True)
    for ax, p in zip(axes[0], ports):
        mine = [r for r in rows if r[1] == p]
        N = [r[0] for r in mine]
        for column, label in ((2, "NEST 1 thread"), (3, "NEST 2 threads"), (4, "exact engine"), (5, "JAX engine")):
            ax.plot(N, [r[column] for r in mine], marker="o", label=label)
        ax.set(xscale="log", yscale="log", xlabel="N neurons", title=f"{p} NMDA port(s)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("µs per neuron-step")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
