"""The public Population API: update order, refractoriness, ports, vectorisation and errors."""
import numpy as np
import pytest

from harness import grid
from harness.model import DEFAULTS, Population, PortsFrozenError


def driven(n=1, steps=600, amp=900.0, **kwargs):
    pop = Population(n, **kwargs)
    rec = pop.run(steps, current=np.full(steps, amp))
    return pop, rec


def test_step_length_is_tics_based():
    pop = Population(resolution=0.013)
    assert pop.tics_per_step == 13
    assert pop.step_ms == 0.013000000000000001 == grid.step_length_ms(13)
    assert pop.integration_step[0] == 0.013000000000000001
    with pytest.raises(ValueError, match="whole number of tics"):
        Population(resolution=0.0125)


def test_refractory_counts_round_t_ref_up():
    assert grid.refractory_counts(2.05, 100) == 21
    assert grid.refractory_counts(2.0, 100) == 20
    assert grid.refractory_counts(0.0, 100) == 0


@pytest.mark.parametrize("t_ref, R", [(2.05, 21), (2.0, 20), (0.3, 3)])
def test_v_is_reset_then_clamped_for_R_steps(t_ref, R):
    pop, rec = driven(params={"t_ref": t_ref})
    V = rec.traces["V_m"][:, 0]
    first = rec.spike_stamps[0] - 1  # the step in which the spike happened
    assert np.all(V[first:first + R + 1] == -60.0)  # reset + R clamped steps
    assert V[first + R + 1] != -60.0
    assert np.all(np.diff(rec.spike_stamps) > R)


def test_t_ref_zero_means_no_clamp():
    pop, rec = driven(params={"t_ref": 0.0})
    V = rec.traces["V_m"][:, 0]
    k = rec.spike_stamps[0] - 1
    assert V[k] == -60.0 and V[k + 1] > -60.0


def test_threshold_is_inclusive_and_uses_integrated_v():
    pop = Population(params={"V_th": -69.99, "V_reset": -75.0, "t_ref": 0.0})
    pop.step()  # V stays exactly at -70 without input: no spike
    assert not pop.spikes()[0].size
    pop2 = Population(params={"V_th": -70.0, "V_reset": -71.0, "t_ref": 0.0})
    assert pop2.step()[0]  # V = -70 >= V_th = -70


def test_current_is_felt_from_the_next_step():
    pop = Population()
    pop.step(current=100.0)
    assert pop.V_m[0] == -70.0  # read now, used as I_stim in the next step
    pop.step()
    assert pop.V_m[0] > -70.0


def test_spike_jumps_come_after_integration_and_currents_from_y_minus():
    pop = Population(V_m=-60.0)
    pop.step(ampa=2.0)
    rec = pop.recordables()
    assert rec["s_AMPA"][0] == 2.0  # jump after the integration of this step
    assert rec["I_AMPA"][0] == 0.0  # I_AMPA from y-, before the jump
    pop.step()
    assert pop.recordables()["I_AMPA"][0] != 0.0


def test_nmda_ports_are_numbered_in_order_and_weighted_sum_recorded():
    pop = Population()
    assert pop.add_nmda_port(5.0).tolist() == [0]
    assert pop.add_nmda_port(10.0).tolist() == [1]
    pop.step(nmda=[1.0, 0.0])
    for _ in range(20):
        pop.step()
    x, s = pop.nmda_state
    assert x[0, 0] > 0 and x[0, 1] == 0 and s[0, 1] == 0
    assert pop.recordables()["s_NMDA"][0] == 0.0 + s[0, 0] * 5.0 + s[0, 1] * 10.0

    swapped = Population()
    swapped.add_nmda_port(5.0)
    swapped.add_nmda_port(10.0)
    swapped.step(nmda=[0.0, 1.0])
    for _ in range(20):
        swapped.step()
    assert swapped.recordables()["s_NMDA"][0] == 2.0 * pop.recordables()["s_NMDA"][0]


def test_a_population_equals_its_neurons_simulated_alone():
    """Heterogeneous parameters, tolerances, port counts (zero-weight padding) and inputs: bit identical."""
    rng = np.random.default_rng(11)
    n, steps = 5, 300
    params = {"gsl_error_tol": [1e-3, 1e-9, 1e-6, 1e-3, 1e-8], "t_ref": [2.0, 0.0, 2.05, 1.0, 2.0],
              "C_m": [500.0, 250.0, 400.0, 500.0, 300.0], "E_L": [-70.0, -65.0, -72.0, -70.0, -70.0]}
    port_weights = [[5.0, 10.0, 3.0], [], [2.0], [-4.0, 8.0], [1.0, 1.0, 1.0]]
    ampa = (rng.random((steps, n)) < 0.05) * rng.uniform(0, 4, (steps, n))
    gaba = (rng.random((steps, n)) < 0.03) * 2.0
    nmda = (rng.random((steps, n, 3)) < 0.02) * rng.integers(1, 3, (steps, n, 3)).astype(float)
    current = np.repeat(rng.uniform(200, 700, (steps // 50, n)), 50, axis=0)
    for i, w in enumerate(port_weights):
        nmda[:, i, len(w):] = 0.0
    pop = Population(n, resolution=0.5, params=params, V_m=[-70.0, -60.0, -65.0, -70.0, -58.0])
    for i, w in enumerate(port_weights):
        for weight in w:
            pop.add_nmda_port(weight, neurons=[i])
    rec = pop.run(steps, ampa=ampa, gaba=gaba, nmda=nmda, current=current)
    assert len(set(pop.integration_step.tolist())) > 1  # the neurons really took different sub-steps
    for i, w in enumerate(port_weights):
        alone = Population(1, resolution=0.5, params={k: [v[i]] for k, v in params.items()}, V_m=pop_initial(i))
        for weight in w:
            alone.add_nmda_port(weight)
        ri = alone.run(steps, ampa=ampa[:, i:i + 1], gaba=gaba[:, i:i + 1],
                       nmda=nmda[:, i:i + 1, :len(w)], current=current[:, i:i + 1])
        for name, trace in rec.traces.items():
            assert trace[:, i].tobytes() == ri.traces[name][:, 0].tobytes(), (i, name)
        assert np.array_equal(rec.spikes_of(i), ri.spike_stamps)
        assert alone.integration_step[0] == pop.integration_step[i]


def pop_initial(i):
    return [-70.0, -60.0, -65.0, -70.0, -58.0][i]


def test_h_persists_across_runs():
    a = Population(params={"gsl_error_tol": 1e-8}, resolution=1.0)
    a.run(100, current=np.full(100, 600.0))
    a.run(100, current=np.full(100, 600.0))
    b = Population(params={"gsl_error_tol": 1e-8}, resolution=1.0)
    b.run(200, current=np.full(200, 600.0))
    assert a.V_m[0] == b.V_m[0] and a.integration_step[0] == b.integration_step[0]


def test_ports_are_frozen_after_the_first_step():
    pop = Population()
    pop.add_nmda_port(5.0)
    pop.set_nmda_weight(0, 0, 6.0)  # allowed before the first step
    pop.step()
    with pytest.raises(PortsFrozenError, match="before the first step"):
        pop.add_nmda_port(1.0)
    with pytest.raises(PortsFrozenError, match="constant weights"):
        pop.set_nmda_weight(0, 0, 7.0)


def test_input_to_a_missing_port_is_rejected():
    pop = Population(2)
    pop.add_nmda_port(5.0, neurons=[0])
    with pytest.raises(ValueError, match="does not have"):
        pop.step(nmda=[[0.0], [1.0]])


@pytest.mark.parametrize("params, pattern", [
    ({"V_reset": -50.0}, r"V_reset = -50.0 .*V_reset < V_th"),
    ({"C_m": 0.0}, r"C_m = 0.0 .*C_m > 0"),
    ({"t_ref": -1.0}, r"t_ref = -1.0 .*t_ref >= 0"),
    ({"tau_decay_NMDA": -2.0}, r"tau_decay_NMDA > 0"),
    ({"alpha": 0.0}, r"alpha > 0"),
    ({"conc_Mg2": 0.0}, r"conc_Mg2 > 0"),
    ({"gsl_error_tol": 0.0}, r"gsl_error_tol > 0"),
    ({"tau_AMPA": [2.0, 0.0]}, r"tau_AMPA = 0.0 \(neuron 1\)"),
    ({"g_l": 3.0}, r"unknown"),
])
def test_bad_parameters_are_rejected(params, pattern):
    with pytest.raises(ValueError, match=pattern):
        Population(2, params=params)


def test_failed_set_params_changes_nothing():
    pop = Population()
    with pytest.raises(ValueError):
        pop.set_params(V_th=-65.0, V_reset=-60.0)
    assert pop.get_params()["V_th"][0] == DEFAULTS["V_th"]


def test_tolerance_change_after_first_step_is_ignored_like_nest():
    a, b = Population(resolution=1.0), Population(resolution=1.0)
    for pop in (a, b):
        pop.run(20, current=np.full(20, 600.0))
    b.set_params(gsl_error_tol=1e-10)
    for pop in (a, b):
        pop.run(50, current=np.full(50, 600.0))
    assert b.get_params()["gsl_error_tol"][0] == 1e-10  # reported ...
    assert a.V_m[0] == b.V_m[0]  # ... but not used, as in NEST


def test_state_can_be_set_only_before_the_first_step():
    pop = Population(V_m=-65.0)
    assert pop.V_m[0] == -65.0
    pop.step()
    with pytest.raises(RuntimeError, match="before the first step"):
        pop.set_state(V_m=-60.0)


def test_host_state_is_a_read_only_copy():
    pop = Population(2, V_m=[-65.0, -66.0])
    pop.add_nmda_port(1.0)
    before = pop.host_state()  # before the first step: the state it will start from
    assert np.array_equal(before.y, [[-65.0, 0, 0, 0, 0], [-66.0, 0, 0, 0, 0]])
    assert np.array_equal(before.h, [0.1, 0.1]) and not before.tries.any()
    pop.step(current=500.0)
    pop.step(nmda=1.0)
    held = pop.host_state()
    for array in held:
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1
    assert held.tries.tolist() == [2, 2]
    pop.step()
    assert not np.array_equal(held.y, pop.host_state().y)  # a snapshot: the engine's state moved on
    assert np.array_equal(pop.host_state().y[:, 0], pop.V_m)


def test_v_m_starts_at_minus_70_whatever_e_l():
    assert Population(params={"E_L": -60.0}).V_m[0] == -70.0
