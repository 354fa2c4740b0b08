"""µs per neuron-step of the exact engine (harness.model) against NEST 3.10, measured side by side.

Each configuration simulates N neurons with P NMDA ports each for --duration ms at 0.1 ms: a 400 pA DC
drive, one AMPA train, and one 10 Hz train per NMDA port (shared by all neurons, port j from generator j),
recording V_m of every neuron at every step on both sides. Only the simulation loop is timed (NEST's
Simulate, the engine's Population.run), not network construction. This is a benchmark, not a test:
it prints numbers and ratios and asserts nothing about speed.

    .venv/bin/python bench/bench_exact.py                 # the full table, 1 s of biological time
    .venv/bin/python bench/bench_exact.py --duration 100  # quicker
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

os.environ.setdefault("PYNEST_QUIET", "1")

RESOLUTION = 0.1
TPS = 100
DC_PA = 400.0
AMPA_WEIGHT = 5.0
NMDA_RATE_HZ = 10.0
SEGMENT = 500  # steps per Population.run call: keeps recordings small for N = 1000


def spike_trains(n_ports: int, n_steps: int, seed: int = 1) -> tuple[np.ndarray, list[np.ndarray]]:
    """Grid steps (>= 1) of the AMPA train and of each port's train, fixed by the seed."""
    rng = np.random.default_rng(seed)
    p = NMDA_RATE_HZ * RESOLUTION / 1000.0
    ampa = np.flatnonzero(rng.random(n_steps) < 5 * p) + 1
    ports = [np.flatnonzero(rng.random(n_steps) < p) + 1 for _ in range(n_ports)]
    return ampa, ports


def port_weights(n_ports: int) -> np.ndarray:
    return 0.5 + np.arange(n_ports) * (1.0 / max(n_ports, 1))


def slot_arrays(n_ports: int, n_steps: int):
    """Per-step slots shared by all neurons (no neuron axis): read in step k = S + D - 1, D = 1 step."""
    ampa_steps, ports = spike_trains(n_ports, n_steps)
    ampa = np.zeros(n_steps)
    np.add.at(ampa, ampa_steps[ampa_steps < n_steps], AMPA_WEIGHT)
    nmda = np.zeros((n_steps, n_ports))
    for j, steps in enumerate(ports):
        np.add.at(nmda[:, j], steps[steps < n_steps], 1.0)
    current = np.full(n_steps, DC_PA)
    current[0] = 0.0  # a dc_generator starting at 0 is first read in step 1 (docs/model.md, "Timing")
    return ampa, nmda, current


def time_nest(n: int, n_ports: int, n_steps: int, threads: int, recorded: int | None = None) -> float:
    """NEST's Simulate time; V_m of the first ``recorded`` neurons (default: all) is recorded."""
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": RESOLUTION, "local_num_threads": threads})
    neurons = nest.Create("iaf_bw_2001_exact", n)
    ampa, ports = spike_trains(n_ports, n_steps)
    dc = nest.Create("dc_generator", params={"amplitude": DC_PA})
    nest.Connect(dc, neurons)
    gen = nest.Create("spike_generator", params={"spike_times": (ampa * RESOLUTION).tolist()})
    nest.Connect(gen, neurons, syn_spec={"weight": AMPA_WEIGHT, "receptor_type": 1})
    for steps, w in zip(ports, port_weights(n_ports)):
        gen = nest.Create("spike_generator", params={"spike_times": (steps * RESOLUTION).tolist()})
        nest.Connect(gen, neurons, syn_spec={"weight": float(w), "receptor_type": 3})
    mm = nest.Create("multimeter", params={"interval": RESOLUTION, "record_from": ["V_m"]})
    nest.Connect(mm, neurons if recorded is None else neurons[:min(n, recorded)])
    start = time.perf_counter()
    nest.Simulate(n_steps * RESOLUTION)
    return time.perf_counter() - start


def time_exact(n: int, n_ports: int, n_steps: int) -> float:
    from harness.model import Population

    pop = Population(n, resolution=RESOLUTION)
    for w in port_weights(n_ports):
        pop.add_nmda_port(float(w))
    ampa, nmda, current = slot_arrays(n_ports, n_steps)
    start = time.perf_counter()
    for a in range(0, n_steps, SEGMENT):
        b = min(a + SEGMENT, n_steps)
        pop.run(b - a, ampa=ampa[a:b], nmda=nmda[a:b], current=current[a:b], record=("V_m",))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=1000.0, help="biological ms per run (default 1000)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--ports", type=int, nargs="+", default=[1, 10, 100])
    args = parser.parse_args()
    n_steps = round(args.duration / RESOLUTION)
    import nest

    print(f"# exact engine vs NEST {nest.__version__}, {args.duration:g} ms at {RESOLUTION} ms, "
          f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| N | ports | NEST 1 thread | NEST 2 threads | exact engine | exact / NEST 1 thread |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        for p in args.ports:
            per = n * n_steps / 1e6  # µs per neuron-step = seconds / (neuron-steps / 1e6)
            nest1 = time_nest(n, p, n_steps, 1) / per
            nest2 = time_nest(n, p, n_steps, 2) / per
            exact = time_exact(n, p, n_steps) / per
            print(f"| {n} | {p} | {nest1:.3g} | {nest2:.3g} | {exact:.3g} | {exact / nest1:.3g} |", flush=True)


if __name__ == "__main__":
    main()
