"""Scenarios verified per minute: batched (one kernel + one Population per batch) vs one scenario at a time.

    .venv/bin/python bench/fuzz_throughput.py [N_BATCHES]

Both sides do the same work per scenario: NEST run, Python run, bit comparison. The one-by-one side runs
in-process (ResetKernel per scenario), which is already cheaper than one process per case.
"""
import sys
import time

from hypothesis import HealthCheck, given, settings

from harness.backends.batch import run_batched, run_nest_batch, run_python_batch
from harness.backends.nest import run_nest
from harness.backends.python import run_python
from harness.fuzz.run import load_generated
from harness.fuzz.strategies import scenario_batches


def generated_batches(n):
    out = []

    @settings(max_examples=n, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(scenario_batches())
    def collect(raws):
        out.append(load_generated(raws))

    collect()
    return out[:n]


def main(n=50):
    batches = generated_batches(n)
    scenarios = [s for b in batches for s in b]
    t0 = time.perf_counter()
    for b in batches:
        for ref, got in zip(run_batched(b, run_nest_batch), run_batched(b, run_python_batch)):
            assert ref.equals_exactly(got)
    batched = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s in scenarios:
        assert run_nest(s).equals_exactly(run_python(s))
    single = time.perf_counter() - t0
    steps = sum(s.n_steps for s in scenarios)
    print(f"{len(scenarios)} scenarios ({steps} neuron-steps) in {len(batches)} batches")
    print(f"batched:    {batched:6.1f} s  {60 * len(scenarios) / batched:7.0f} scenarios/min")
    print(f"one by one: {single:6.1f} s  {60 * len(scenarios) / single:7.0f} scenarios/min")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
