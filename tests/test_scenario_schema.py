"""The schema: the issue's example loads unchanged, defaults are NEST's, Poisson expansion follows the rule."""
import numpy as np
import pytest
from conftest import CATALOGUE, REFERENCE_DIR, SCENARIO_DIR

from harness import grid
from harness.model.parameters import DEFAULTS, INITIAL_STATE
from harness.scenario.schema import load_scenario
from harness.scenario.types import RECORDABLES, CurrentInput


def test_example_scenario_loads_and_normalises():
    s = load_scenario(SCENARIO_DIR / "mixed_inputs.yaml")
    assert (s.name, s.model, s.resolution, s.tics_per_step, s.n_steps) == (
        "mixed_inputs", "iaf_bw_2001_exact", 0.1, 100, 3000)
    assert s.chunk_steps == (1000, 2000)
    assert s.initial == {"V_m": -65.0, "s_AMPA": 0.0, "s_GABA": 0.0}
    assert s.params["t_ref"] == 2.0 and s.params["C_m"] == 500.0
    ampa, gaba, nmda1, nmda2, poisson, dc, step = s.inputs
    assert ampa.receptor == "AMPA" and ampa.weight == 40.0 and ampa.delay_steps == 10
    assert ampa.spike_steps.tolist() == [100, 105, 500, 500]
    assert ampa.multiplicities.tolist() == [1, 2, 1, 1]
    assert gaba.delay_steps == 1  # default delay = resolution
    assert nmda2.delay_steps == 25
    assert [i.weight for i in s.nmda_inputs] == [0.5, 2.0, 1.0]
    assert poisson.device == "poisson_spikes" and poisson.receptor == "NMDA"
    assert isinstance(dc, CurrentInput) and (dc.start_steps, dc.stop_steps, dc.amplitude) == (500, 2500, 300.0)
    assert step.amplitude_steps.tolist() == [1000, 2000] and step.amplitude_values.tolist() == [150.0, 0.0]
    assert s.record == RECORDABLES


def test_defaults_are_nests(write_scenario):
    s = load_scenario(write_scenario("duration: 10.0\ninputs:\n  - device: dc_generator\n"
                                     "  - device: spike_generator\n    receptor: 3\n    spike_times: []\n"))
    assert s.resolution == 0.1 and s.params == DEFAULTS and s.initial == INITIAL_STATE
    assert s.params["C_m"] == 500.0  # the code's default, not the documentation's 250
    dc, spikes = s.inputs
    assert (dc.amplitude, dc.weight, dc.delay_steps, dc.start_steps, dc.stop_steps) == (0.0, 1.0, 1, 0, None)
    assert spikes.receptor == "NMDA" and spikes.weight == 1.0 and len(spikes.spike_steps) == 0
    assert s.chunk_steps == (100,)
    assert s.record == RECORDABLES


def test_record_subset_keeps_nest_order(write_scenario):
    s = load_scenario(write_scenario("duration: 1.0\nrecord: [I_NMDA, V_m]\n"))
    assert s.record == ("V_m", "I_NMDA")


def test_odd_resolution_steps_are_exact(write_scenario):
    s = load_scenario(write_scenario("resolution: 0.013\nduration: 1.3\ninputs:\n  - device: spike_generator\n"
                                     "    receptor: AMPA\n    delay: 0.039\n    spike_times: [0.013, 1.287]\n"))
    assert s.tics_per_step == 13 and s.n_steps == 100
    assert s.inputs[0].spike_steps.tolist() == [1, 99] and s.inputs[0].delay_steps == 3
    assert grid.step_length_ms(13) == 0.013000000000000001


def _poisson_by_the_rule(seed, rate, dt, n_steps, start, stop):
    """The documented rule, written out literally: one draw per step, window compared in tics."""
    u = np.random.default_rng(seed).random(n_steps)
    tps = grid.ms_to_tics(dt)
    times = []
    for step in range(1, n_steps + 1):
        tics = step * tps
        if u[step - 1] < rate * dt / 1000 and grid.ms_to_tics(start) < tics and (
                stop is None or tics <= grid.ms_to_tics(stop)):
            times.append(step)
    return times


@pytest.mark.parametrize("rate, start, stop, dt, duration", [
    (40.0, 0.0, 250.0, 0.1, 300.0),
    (500.0, 10.0, None, 0.1, 50.0),
    (2000.0, 0.013, 6.5, 0.013, 13.0),
    (0.0, 0.0, None, 0.1, 10.0),
])
def test_poisson_expansion_follows_the_rule(write_scenario, rate, start, stop, dt, duration):
    text = (f"resolution: {dt}\nduration: {duration}\ninputs:\n  - device: poisson_spikes\n    receptor: NMDA\n"
            f"    rate: {rate}\n    seed: 7\n    start: {start}\n"
            + (f"    stop: {stop}\n" if stop is not None else ""))
    s = load_scenario(write_scenario(text))
    expected = _poisson_by_the_rule(7, rate, dt, s.n_steps, start, stop)
    assert s.inputs[0].spike_steps.tolist() == expected
    assert s.inputs[0].multiplicities.tolist() == [1] * len(expected)
    if rate > 100:
        assert len(expected) > 5  # the case really draws spikes


def test_same_seed_same_times_different_seed_different_times(write_scenario):
    def times(seed):
        text = (f"duration: 1000.0\ninputs:\n  - device: poisson_spikes\n    receptor: AMPA\n    rate: 50.0\n"
                f"    seed: {seed}\n")
        return load_scenario(write_scenario(text)).inputs[0].spike_steps.tolist()
    assert times(3) == times(3)
    assert times(3) != times(4)


def test_comments_and_key_order_do_not_change_the_content_hash(write_scenario):
    a = load_scenario(write_scenario("duration: 10.0  # ms\nresolution: 0.1\n", "a.yaml"))
    b = load_scenario(write_scenario("resolution: 0.1\nduration: 10.0\n", "b.yaml"))
    c = load_scenario(write_scenario("resolution: 0.1\nduration: 20.0\n", "c.yaml"))
    assert a.content_hash == b.content_hash != c.content_hash


def test_catalogue_has_the_required_cases_each_with_description_and_reference():
    assert len(CATALOGUE) >= 14
    names = set()
    for path in CATALOGUE:
        s = load_scenario(path)
        assert s.description and "\n" not in s.description.strip(), path
        assert (REFERENCE_DIR / f"{s.name}.npz").exists(), f"no stored reference for {s.name}"
        names.add(s.name)
    assert len(names) == len(CATALOGUE)
    by_name = {p.stem: load_scenario(p) for p in CATALOGUE}
    assert by_name["stiff_dt1"].resolution == 1.0 and by_name["stiff_dt1"].params["gsl_error_tol"] == 1e-8
    assert by_name["odd_resolution_0013"].tics_per_step == 13
    assert by_name["t_ref_zero"].params["t_ref"] == 0.0
    assert by_name["t_ref_off_grid"].params["t_ref"] == 2.05
    assert len(by_name["nmda_25_ports"].nmda_inputs) == 25
    assert len({i.weight for i in by_name["nmda_25_ports"].nmda_inputs}) == 25
    assert len(by_name["multi_chunk"].chunk_steps) > 2
    assert not by_name["rest_no_input"].inputs
