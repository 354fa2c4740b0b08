"""Seconds per run of a network scenario: NEST 3.10 with 1 and 2 threads, the exact engine and the JAX engine.

Two networks, each run by every backend side by side in one process (and checked bit for bit against
NEST with one thread, so a fast wrong answer cannot look good):

* the catalogue's scaled-down Wang 2002 decision network (``scenarios/net_wang2002_decision.yaml``);
* ``random_1000``: 1000 neurons (800 E, 200 I), 10 NMDA inputs per neuron (fixed_indegree from E), 10 AMPA
  from E and 5 GABA from I per neuron, irregular weights, delays 1-3 ms, a Poisson drive per neuron,
  V_m of 20 neurons recorded, min_delay 1 ms (10 steps); built below, 1 s unless --duration says otherwise.

What is timed is the whole backend call (NEST: kernel, network, Simulate, collecting events; engines:
ring buffers, delivery, stepping), since network construction and delivery are part of the cost. The JAX
engine is timed twice: the first call includes compiling (or loading from the persistent cache), the
second is warm. ``--profile`` prints where the JAX engine's warm time goes (device calls vs host-side
delivery). A benchmark, not a test: it prints numbers and asserts only parity.

    .venv/bin/python bench/bench_network.py                  # both networks, 1 s
    .venv/bin/python bench/bench_network.py --duration 200   # quicker
"""
from __future__ import annotations

import argparse
import functools
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("PYNEST_QUIET", "1")

ROOT = Path(__file__).resolve().parents[1]
DECISION = ROOT / "scenarios" / "net_wang2002_decision.yaml"


def random_1000(duration: float) -> dict:
    return {
        "name": "random_1000", "resolution": 0.1, "duration": duration,
        "populations": {"E": {"n": 800}, "I": {"n": 200, "params": {"g_L": 20.0, "C_m": 200.0}}},
        "connections": [
            {"source": "E", "target": "E", "rule": "fixed_indegree", "indegree": 10, "allow_autapses": False,
             "seed": 1, "receptor": "NMDA", "weight": 0.37, "delay": 1.0},
            {"source": "E", "target": "I", "rule": "fixed_indegree", "indegree": 10, "seed": 2,
             "receptor": "NMDA", "weight": 0.29, "delay": 1.5},
            {"source": "E", "target": "E", "rule": "fixed_indegree", "indegree": 10, "seed": 3,
             "receptor": "AMPA", "weight": 1.13, "delay": 2.0},
            {"source": "I", "target": "E", "rule": "fixed_indegree", "indegree": 5, "seed": 4,
             "receptor": "GABA", "weight": 4.71, "delay": 1.2},
            {"source": "E", "target": "I", "rule": "fixed_indegree", "indegree": 10, "seed": 5,
             "receptor": "AMPA", "weight": 0.83, "delay": 3.0},
        ],
        "inputs": [{"device": "poisson_spikes", "target": "E", "receptor": "AMPA", "weight": 2.1,
                    "rate": 2200.0, "seed": 7, "delay": 1.0},
                   {"device": "poisson_spikes", "target": "I", "receptor": "AMPA", "weight": 1.6,
                    "rate": 1800.0, "seed": 8, "delay": 1.0}],
        "record": {"neurons": [f"E[{i}]" for i in range(15)] + [f"I[{i}]" for i in range(5)],
                   "variables": ["V_m"]},
    }


def scenarios(duration: float | None):
    import yaml

    from harness.scenario.fields import Problems
    from harness.scenario.schema import load_scenario, parse_scenario

    out = []
    if DECISION.exists():
        decision = load_scenario(DECISION)
        if duration is not None:
            raw = yaml.safe_load(DECISION.read_text())
            raw["duration"] = min(duration, raw["duration"])
            raw.pop("simulate_chunks", None)
            decision = parse_scenario(raw, Problems(str(DECISION)))
        out.append(decision)
    out.append(parse_scenario(random_1000(duration or 1000.0), Problems("random_1000")))
    return out


def timed(run, *args, **kwargs):
    started = time.perf_counter()
    result = run(*args, **kwargs)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=None, help="ms of biological time (default: 1 s)")
    parser.add_argument("--profile", action="store_true", help="where the JAX engine's warm time goes")
    args = parser.parse_args()

    from harness.backends.jax import run_python_jax
    from harness.backends.nest import run_nest
    from harness.backends.python import run_python

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.processor() or platform.platform()}")
    header = ("network", "neurons", "connections", "steps", "NEST 1 thr", "NEST 2 thr", "exact", "JAX cold",
              "JAX warm", "JAX warm / NEST 2 thr", "parity")
    rows = []
    for s in scenarios(args.duration):
        n1, t_n1 = timed(run_nest, s, 1)
        _, t_n2 = timed(run_nest, s, 2)
        exact, t_exact = timed(run_python, s)
        _, t_cold = timed(run_python_jax, s)
        jax_traces, t_warm = timed(run_python_jax, s)
        same = exact.equals_exactly(n1) and jax_traces.equals_exactly(n1)
        rows.append((s.name, str(s.network.n), str(len(s.network.connections)), str(s.n_steps), f"{t_n1:.2f}",
                     f"{t_n2:.2f}", f"{t_exact:.2f}", f"{t_cold:.2f}", f"{t_warm:.2f}", f"{t_warm / t_n2:.2f}",
                     "bit-identical" if same else "DIFFERS"))
        if args.profile:
            profile_jax(s)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("seconds per run (whole backend call):")
    for row in [header, *rows]:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)))


def profile_jax(scenario) -> None:
    """The warm JAX run split into the device calls (Population.run) and the rest (delivery, buffers)."""
    from harness.jax_engine import JaxPopulation
    from harness.network import Network

    spent = {"run": 0.0}
    real_run = JaxPopulation.run

    @functools.wraps(real_run)  # keeps the signature, which Network reads to pass record_neurons
    def run(self, *a, **k):
        started = time.perf_counter()
        try:
            return real_run(self, *a, **k)
        finally:
            spent["run"] += time.perf_counter() - started

    JaxPopulation.run = run
    try:
        network = Network(scenario, JaxPopulation)
        calls = len(network.calls())
        started = time.perf_counter()
        network.run({})
        total = time.perf_counter() - started
    finally:
        JaxPopulation.run = real_run
    print(f"  {scenario.name}: JAX warm {total:.2f} s over {calls} update calls: device calls "
          f"{spent['run']:.2f} s ({1e3 * spent['run'] / calls:.2f} ms per call), host side "
          f"{total - spent['run']:.2f} s")


if __name__ == "__main__":
    main()
