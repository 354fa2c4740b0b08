"""The NEST backend against analytic facts and the timing rules of docs/model.md ("Timing"), with live NEST 3.10."""
import math

import numpy as np
import pytest
from conftest import SCENARIO_DIR

from harness import grid
from harness.backends.nest import run_nest
from harness.scenario.schema import load_scenario

pytestmark = pytest.mark.nest


def run_text(write_scenario, text):
    return run_nest(load_scenario(write_scenario(text)))


def first_stamp(values, baseline):
    changed = np.flatnonzero(values != baseline)
    assert changed.size, "the input never showed up"
    return int(changed[0]) + 1  # sample i is stamped i + 1


def test_rest_stays_exactly_at_E_L():
    traces = run_nest(load_scenario(SCENARIO_DIR / "rest_no_input.yaml"))
    assert np.all(traces["V_m"] == -70.0)
    for name in ("s_AMPA", "s_GABA", "s_NMDA", "I_AMPA", "I_GABA", "I_NMDA"):
        assert np.all(traces[name] == 0.0), name
    assert traces.spike_steps.size == 0
    assert traces.steps.tolist() == list(range(1, 2001))


def test_single_ampa_spike_decays_exponentially(write_scenario):
    # At 0.01 ms the RKF45 truncation error of the decay (~z^6/1000 per step, z = dt/tau) is far below
    # 1e-12; at 0.1 ms it would be ~1e-10, a property of the integrator rather than of the harness.
    w, t_spike, delay, tau = 3.0, 2.0, 0.5, 2.0
    traces = run_text(write_scenario, f"""
        resolution: 0.01
        duration: 20.0
        inputs:
          - device: spike_generator
            receptor: AMPA
            weight: {w}
            delay: {delay}
            spike_times: [{t_spike}]
        """)
    t_arrival = t_spike + delay
    arrived = traces.times_ms >= t_arrival - 1e-9
    assert first_stamp(traces["s_AMPA"], 0.0) == round(t_arrival / 0.01)
    t = traces.times_ms[arrived]
    expected = w * np.exp(-(t - t_arrival) / tau)
    np.testing.assert_allclose(traces["s_AMPA"][arrived], expected, rtol=1e-12, atol=0)
    assert np.all(traces["s_AMPA"][~arrived] == 0.0)


@pytest.mark.parametrize("receptor, variable", [("AMPA", "s_AMPA"), ("GABA", "s_GABA")])
@pytest.mark.parametrize("delay", [0.1, 0.3, 2.0])
def test_spike_is_read_at_step_S_plus_D_minus_1(write_scenario, receptor, variable, delay):
    traces = run_text(write_scenario, f"""
        resolution: 0.1
        duration: 20.0
        initial: {{V_m: -60.0}}
        inputs:
          - device: spike_generator
            receptor: {receptor}
            weight: 2.5
            delay: {delay}
            spike_times: [5.0]
            spike_multiplicities: [3]
        """)
    S, D = 50, round(delay / 0.1)
    stamp = first_stamp(traces[variable], 0.0)
    assert stamp == S + D  # read in step S + D - 1, sampled at its end
    assert traces[variable][stamp - 1] == 2.5 * 3  # weight x multiplicity, added after integration


def test_nmda_spike_moves_s_nmda_one_step_later(write_scenario):
    traces = run_text(write_scenario, """
        resolution: 0.1
        duration: 20.0
        inputs:
          - device: spike_generator
            receptor: NMDA
            weight: 2.0
            delay: 0.4
            spike_times: [5.0]
        """)
    # x_j jumps in step S + D - 1; s_j first grows while step S + D integrates, stamped S + D + 1.
    assert first_stamp(traces["s_NMDA"], 0.0) == 50 + 4 + 1


@pytest.mark.parametrize("start, delay", [(5.0, 0.1), (5.0, 1.0), (0.0, 0.1), (0.0, 1.0)])
def test_dc_generator_timing(write_scenario, start, delay):
    stop = 12.0
    traces = run_text(write_scenario, f"""
        resolution: 0.1
        duration: 20.0
        inputs:
          - device: dc_generator
            amplitude: 100.0
            start: {start}
            stop: {stop}
            delay: {delay}
        """)
    D = round(delay / 0.1)
    start_steps = round(start / 0.1)
    # Felt during (start + d, stop + d]; start 0 acts like start = dt (generator step -1 does not exist).
    first_felt_step = max(start_steps, 1) + D
    assert first_stamp(traces["V_m"], -70.0) == first_felt_step + 1
    v = traces["V_m"]
    rising = np.diff(v) > 0
    last_rise_stamp = int(np.flatnonzero(rising)[-1]) + 2
    assert last_rise_stamp == round(stop / 0.1) + D


def test_step_current_generator_timing(write_scenario):
    traces = run_text(write_scenario, """
        resolution: 0.1
        duration: 20.0
        inputs:
          - device: step_current_generator
            amplitude_times: [3.0, 8.0]
            amplitude_values: [-150.0, 0.0]
            delay: 0.5
        """)
    v = traces["V_m"]
    assert first_stamp(v, -70.0) == 30 + 5 + 1  # a_i acts from the interval starting at t_i + d
    falling_until = int(np.flatnonzero(np.diff(v) < 0)[-1]) + 2
    assert falling_until == 80 + 5


def test_refractory_clamp_lasts_rounded_up_steps():
    scenario = load_scenario(SCENARIO_DIR / "t_ref_off_grid.yaml")
    traces = run_nest(scenario)
    R = grid.refractory_counts(2.05, scenario.tics_per_step)
    assert R == 21
    v = traces["V_m"]
    assert traces.spike_steps.size > 5
    for stamp in traces.spike_steps[:-1]:
        i = stamp - 1
        assert np.all(v[i:i + R + 1] == -60.0), "reset in the spike step, clamped R steps after it"
        assert v[i + R + 1] != -60.0
        assert v[i - 1] < -55.0 <= v[i - 1] + 100  # the step before was sub-threshold as recorded


def test_t_ref_zero_has_no_clamp():
    traces = run_nest(load_scenario(SCENARIO_DIR / "t_ref_zero.yaml"))
    v = traces["V_m"]
    for stamp in traces.spike_steps[:-1]:
        assert v[stamp - 1] == -60.0 and v[stamp] != -60.0


def test_spike_stamps_and_times_agree():
    scenario = load_scenario(SCENARIO_DIR / "odd_resolution_0013.yaml")
    traces = run_nest(scenario)
    assert traces.spike_steps.size > 0
    assert np.array_equal(traces.spike_times_ms, 0.001 * (traces.spike_steps * 13))
    assert traces.times_ms[0] == grid.step_length_ms(13) == 0.013000000000000001
    assert math.isclose(traces.times_ms[-1], 65.0)


def test_chunked_run_equals_single_run(write_scenario):
    body = """
        resolution: 0.1
        duration: 60.0
        params: {gsl_error_tol: 1.0e-6}
        inputs:
          - device: dc_generator
            amplitude: 450.0
          - device: spike_generator
            receptor: NMDA
            weight: 2.0
            spike_times: [9.9, 10.0, 30.0]
        """
    single = run_text(write_scenario, body)
    chunked = run_nest(load_scenario(write_scenario(body + "simulate_chunks: [10.0, 0.1, 19.9, 30.0]\n", "c.yaml")))
    assert single.spike_steps.size > 0
    assert chunked.equals_exactly(single)
