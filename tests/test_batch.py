"""Batched runs (one kernel / one Population for many scenarios) give exactly the single-run results."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from harness.backends.batch import plan_batches, python_batch_runs, run_batched, run_nest_batch, run_python_batch
from harness.backends.nest import run_nest
from harness.backends.python import min_delay_steps, run_python
from harness.fuzz.run import load_generated
from harness.fuzz.strategies import scenario_batches
from harness.scenario.schema import load_scenario


@pytest.mark.nest
@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_batches(max_size=5))
def test_batched_runs_equal_single_runs_bit_for_bit(raws):
    scenarios = load_generated(raws)
    nest_batched = run_batched(scenarios, run_nest_batch)
    python_batched = run_batched(scenarios, run_python_batch)
    for scenario, nb, pb in zip(scenarios, nest_batched, python_batched):
        assert nb.equals_exactly(run_nest(scenario)), scenario.name
        assert pb.equals_exactly(run_python(scenario)), scenario.name


ORDER_SENSITIVE = """\
name: order_sensitive
resolution: 0.1
duration: 3.0
inputs:   # all three land in slot 14, sent in steps 9, 11, 10; own min_delay 3 steps
  # big = 5e7 nS (the largest jump the schema allows on 500 pF), whose ulp (7.5e-9) swallows 1e-9
  - {device: spike_generator, receptor: AMPA, weight: 5.0e7, delay: 0.5, spike_times: [1.0]}
  - {device: spike_generator, receptor: AMPA, weight: 1.0e-9, delay: 0.3, spike_times: [1.2]}
  - {device: spike_generator, receptor: AMPA, weight: -5.0e7, delay: 0.4, spike_times: [1.1]}
"""
SHORT_DELAY = """\
name: short_delay
resolution: 0.1
duration: 3.0
inputs:
  - {device: spike_generator, receptor: AMPA, weight: 1.0, delay: 0.1, spike_times: [0.5]}
"""


@pytest.mark.nest
def test_a_shared_min_delay_would_change_a_slot_sum_so_the_plan_separates_them(write_scenario):
    order = load_scenario(write_scenario(ORDER_SENSITIVE, "order.yaml"))
    short = load_scenario(write_scenario(SHORT_DELAY, "short.yaml"))
    assert (min_delay_steps(order), min_delay_steps(short)) == (3, 1)
    # Forced into one kernel (min_delay 1), NEST really sums the slot differently: the pitfall is real ...
    forced = run_nest_batch([order, short], min_delay=1)[0]
    alone = run_nest(order)
    assert not forced.equals_exactly(alone)
    assert alone["s_AMPA"][14] == 0.0 and forced["s_AMPA"][14] != 0.0  # (+big + 1) - big vs (+big - big) + 1
    # ... the Python side, told the batch's min_delay, follows NEST there too ...
    assert python_batch_runs([order, short], min_delay=1)[0].traces.equals_exactly(forced)
    # ... and the planner keeps them apart, so batched results equal single runs.
    assert sorted(b.indices for b in plan_batches([order, short])) == [(0,), (1,)]
    assert run_batched([order, short], run_nest_batch)[0].equals_exactly(alone)


@pytest.mark.nest
def test_scenarios_whose_sums_do_not_depend_on_min_delay_share_a_kernel(write_scenario):
    short = load_scenario(write_scenario(SHORT_DELAY, "short.yaml"))
    long_delay = load_scenario(write_scenario(SHORT_DELAY.replace("short_delay", "long_delay")
                                              .replace("delay: 0.1", "delay: 0.7"), "long.yaml"))
    (batch,) = plan_batches([short, long_delay])
    assert batch.indices == (0, 1) and batch.min_delay_steps == 1
    assert run_batched([short, long_delay], run_nest_batch)[1].equals_exactly(run_nest(long_delay))


def test_scenarios_on_different_grids_never_share_a_batch(write_scenario):
    a = load_scenario(write_scenario(SHORT_DELAY, "a.yaml"))
    b = load_scenario(write_scenario(SHORT_DELAY.replace("duration: 3.0", "duration: 2.0"), "b.yaml"))
    assert sorted(b_.indices for b_ in plan_batches([a, b])) == [(0,), (1,)]


def test_python_batch_reports_integrator_paths_and_nmda_extremes(write_scenario):
    path = write_scenario("""\
        resolution: 1.0
        duration: 20.0
        params: {gsl_error_tol: 1.0e-8}
        inputs:
          - {device: spike_generator, receptor: NMDA, weight: 2.0, spike_times: [2.0, 5.0],
             spike_multiplicities: [3, 1]}
          - {device: dc_generator, amplitude: 600.0}
        """)
    (run,) = python_batch_runs([load_scenario(path)])
    assert sum(run.step_paths.values()) == 20
    assert any(rejected > 0 for _, rejected in run.step_paths)  # stiff: some tries are rejected
    assert run.min_x == 0.0 and 0.0 <= run.min_s < run.max_s < 1.0
    assert np.isfinite(run.traces["V_m"]).all()
