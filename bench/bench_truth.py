"""What the truth costs: seconds per 1,000 steps (per 1,000 neuron-steps for a network) of ``harness.truth`` on
the catalogue, against NEST on the same scenario in the same run.

For each scenario: NEST (one run), one truth solution (DOP853, rtol = atol = 1e-12) and the convergence
check's second solution at 1e-13, each timed on its own. The gate never pays this: it reads the stored
truth (``reference_traces/truth/``); ``make truth-references`` does, once per change of a scenario.

    .venv/bin/python bench/bench_truth.py                      # every scenario under scenarios/
    .venv/bin/python bench/bench_truth.py scenarios/ampa_only.yaml
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("PYNEST_QUIET", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.backends.nest import run_nest  # noqa: E402
from harness.scenario.schema import load_scenario  # noqa: E402
from harness.truth.engine import CHECK_FACTOR, DEFAULT_TOLERANCE, solve  # noqa: E402


def timed(run, *args):
    start = time.perf_counter()
    run(*args)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=sorted(str(p) for p in (ROOT / "scenarios").rglob("*.yaml")))
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; seconds per 1,000 neuron-steps")
    print("| scenario | neurons | steps | NEST | truth 1e-12 | check 1e-13 | truth / NEST |")
    print("|---|---|---|---|---|---|---|")
    totals = [0.0, 0.0, 0.0, 0]
    run_nest(load_scenario(args.scenarios[0]))  # NEST's import and first kernel set-up are not the scenario's
    for path in args.scenarios:
        scenario = load_scenario(path)
        n = scenario.network.n if scenario.is_network else 1
        work = scenario.n_steps * n / 1000
        nest = timed(run_nest, scenario)
        truth = timed(solve, scenario, "DOP853", DEFAULT_TOLERANCE)
        check = timed(solve, scenario, "DOP853", DEFAULT_TOLERANCE / CHECK_FACTOR)
        for i, value in enumerate((nest, truth, check)):
            totals[i] += value
        totals[3] += work
        print(f"| `{scenario.name}` | {n} | {scenario.n_steps} | {nest / work:.3g} | {truth / work:.3g} | "
              f"{check / work:.3g} | {truth / nest:.0f} |", flush=True)
    nest, truth, check, work = totals
    print(f"| all ({work * 1000:,.0f} neuron-steps) | | | {nest / work:.3g} | {truth / work:.3g} | "
          f"{check / work:.3g} | {truth / nest:.0f} |")
    print(f"total: NEST {nest:.1f} s, truth {truth:.1f} s, check {check:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
