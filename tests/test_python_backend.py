"""The Python backend: NEST's input timing rules, and bit parity with live NEST 3.10."""
import numpy as np
import pytest

from harness.backends.python import input_slots, min_delay_steps, run_python
from harness.model import DEFAULTS, libm
from harness.scenario.types import RECORDABLES, CurrentInput, Scenario, SpikeInput


def spikes(receptor, weight, delay, stamps, mult=None):
    stamps = np.asarray(stamps, dtype=np.int64)
    mult = np.ones_like(stamps) if mult is None else np.asarray(mult, dtype=np.int64)
    return SpikeInput("spike_generator", receptor, weight, delay, stamps, mult)


def dc(amplitude, weight=1.0, delay=1, start=0, stop=None):
    return CurrentInput("dc_generator", weight, delay, start, stop, amplitude=amplitude)


def step_current(times, values, weight=1.0, delay=1, start=0, stop=None):
    return CurrentInput("step_current_generator", weight, delay, start, stop,
                        amplitude_steps=np.asarray(times, dtype=np.int64),
                        amplitude_values=np.asarray(values, dtype=np.float64))


def scenario(name, inputs, n_steps, resolution=0.1, tics=100, params=None, initial=None, chunks=None):
    return Scenario(name=name, description="", path="", model="iaf_bw_2001_exact", resolution=resolution,
                    tics_per_step=tics, n_steps=n_steps, chunk_steps=tuple(chunks or (n_steps,)),
                    params={**DEFAULTS, **(params or {})},
                    initial={"V_m": -70.0, "s_AMPA": 0.0, "s_GABA": 0.0, **(initial or {})},
                    inputs=tuple(inputs), record=RECORDABLES, content_hash="test")


# ------------------------------------------------------------------------------------ timing rules
def test_spike_is_read_at_stamp_plus_delay_minus_one():
    slots = input_slots(scenario("t", [spikes("AMPA", 2.0, 3, [5], [2]), spikes("GABA", 1.5, 1, [7])], 20))
    assert np.flatnonzero(slots["AMPA"]).tolist() == [5 + 3 - 1]
    assert slots["AMPA"][7] == 4.0  # weight * multiplicity
    assert np.flatnonzero(slots["GABA"]).tolist() == [7]


def test_nmda_ports_get_multiplicity_only_in_connection_order():
    sc = scenario("t", [spikes("NMDA", 5.0, 1, [3], [2]), spikes("AMPA", 1.0, 1, [3]),
                        spikes("NMDA", 10.0, 2, [3])], 10)
    nmda = input_slots(sc)["NMDA"]
    assert nmda.shape == (10, 2)
    assert nmda[3, 0] == 2.0 and nmda[4, 1] == 1.0 and nmda.sum() == 3.0


def test_dc_default_start_is_read_from_step_delay():
    current = input_slots(scenario("t", [dc(100.0, weight=2.0, delay=4)], 12))["current"]
    assert current.tolist() == [0.0] * 4 + [200.0] * 8  # generator step 0 is read at k = 0 + D


def test_dc_start_stop_window():
    current = input_slots(scenario("t", [dc(1.0, delay=2, start=5, stop=8)], 15))["current"]
    # active generator steps s with 5 < s + 2 <= 8: s = 4, 5, 6; read at s + 2
    assert np.flatnonzero(current).tolist() == [6, 7, 8]


def test_step_current_switches_one_step_early():
    current = input_slots(scenario("t", [step_current([4, 9], [10.0, -3.0], delay=2)], 14))["current"]
    # the amplitude becomes a_i at generator step S_i - 1, read at S_i - 1 + D
    assert current.tolist() == [0.0] * 5 + [10.0] * 5 + [-3.0] * 4


def test_min_delay_includes_recorders():
    assert min_delay_steps(scenario("t", [spikes("AMPA", 1.0, 30, [1])], 5)) == 10  # 1.0 ms at 0.1
    assert min_delay_steps(scenario("t", [spikes("AMPA", 1.0, 3, [1])], 5)) == 3
    assert min_delay_steps(scenario("t", [], 5, resolution=0.013, tics=13)) == 77


def order_case(chunks=None):
    big = 2.0 ** 53
    # all three land in slot 14; sent in steps 9, 11, 10 by generators created in the order +big, 1, -big
    inputs = [spikes("AMPA", big, 5, [10]), spikes("AMPA", 1.0, 3, [12]), spikes("AMPA", -big, 4, [11])]
    return scenario("order", inputs, 40, chunks=chunks)


def test_slot_sum_follows_nest_event_order():
    # one update call [9, 12): generator order -> (0 + big) + 1 = big, - big = 0
    assert input_slots(order_case())["AMPA"][14] == 0.0
    # a Simulate chunk ending at 11 puts step 11 in a later call: big - big first, then + 1
    assert input_slots(order_case(chunks=(11, 29)))["AMPA"][14] == 1.0


def test_traces_have_one_sample_per_step_and_spike_stamps():
    sc = scenario("t", [dc(800.0)], 300)
    tr = run_python(sc)
    assert tr.steps.tolist() == list(range(1, 301))
    assert set(tr.variables) == set(RECORDABLES)
    assert tr.provenance["backend"] == "python"
    assert tr.spike_steps.size and np.all(tr["V_m"][tr.spike_steps - 1] == -60.0)


# ------------------------------------------------------------------------------------ live NEST parity
def mixed_inputs(n_steps, seed, nmda_scale=1.0):
    rng = np.random.default_rng(seed)

    def times(k):
        return np.sort(rng.integers(1, n_steps, k))

    return [
        dc(300.0),
        spikes("AMPA", 2.0, 1, times(40), rng.integers(1, 3, 40)),
        spikes("NMDA", 5.0 * nmda_scale, 2, times(30), rng.integers(1, 3, 30)),
        spikes("AMPA", 1.5, 3, times(40)),
        spikes("GABA", 3.0, 1, times(30)),
        spikes("NMDA", 10.0 * nmda_scale, 10, np.repeat(times(10), 2)),  # duplicate times
        step_current([n_steps // 4, n_steps // 2], [100.0, -50.0], delay=5),
        spikes("NMDA", 3.0 * nmda_scale, 1, times(20)),
    ]


def windowed_inputs(n_steps, seed):
    rng = np.random.default_rng(seed)

    def times(k):
        return np.sort(rng.integers(1, n_steps, k))

    return [
        dc(-150.0, weight=-2.0, delay=3, start=500, stop=2200),
        spikes("AMPA", 2.0, 4, times(60), rng.integers(1, 4, 60)),
        step_current([200, 900, 1500], [200.0, 350.0, -20.0], weight=1.5, delay=7, start=300, stop=2500),
        spikes("NMDA", -4.0, 3, times(30)),  # negative NMDA weight
        spikes("GABA", 1.0, 5, times(40), rng.integers(1, 3, 40)),
        spikes("NMDA", 8.0, 6, times(25), rng.integers(1, 3, 25)),
        spikes("NMDA", 8.0, 6, times(25)),
        dc(450.0, delay=3),
    ]


PARITY_CASES = {
    "A_default": lambda: scenario("A", mixed_inputs(2000, 1), 2000),
    "C_dt1_V0": lambda: scenario("C", mixed_inputs(300, 2), 300, resolution=1.0, tics=1000,
                                 initial={"V_m": -65.0}),
    "D_stiff_dt1_tol1e-8": lambda: scenario("D", mixed_inputs(300, 3), 300, resolution=1.0, tics=1000,
                                            params={"gsl_error_tol": 1e-8}, initial={"V_m": -65.0}),
    "G_dt0.013": lambda: scenario("G", mixed_inputs(1500, 4), 1500, resolution=0.013, tics=13,
                                  params={"gsl_error_tol": 1e-7}),
    "F_tref0": lambda: scenario("F", mixed_inputs(1500, 5), 1500, params={"t_ref": 0.0}),
    "E_tref2.05_chunks": lambda: scenario("E", mixed_inputs(1500, 6), 1500, params={"t_ref": 2.05,
                                          "gsl_error_tol": 1e-5}, chunks=(500, 617, 1, 382)),
    "H_windows_negative_nmda": lambda: scenario(
        "H", windowed_inputs(3000, 7), 3000, chunks=(777, 1000, 1, 1222),
        params={"t_ref": 2.05, "E_L": -68.0, "V_th": -52.0, "tau_AMPA": 1.7},
        initial={"V_m": -60.0, "s_AMPA": 0.3, "s_GABA": 0.1}),
    "order_no_cut": lambda: order_case(),
    "order_cut": lambda: order_case(chunks=(11, 29)),
}


@pytest.fixture(scope="module")
def run_nest():
    pytest.importorskip("nest")
    from harness.backends.nest import run_nest

    return run_nest


def assert_bit_identical(nest_traces, python_traces):
    assert np.array_equal(nest_traces.spike_steps, python_traces.spike_steps)
    assert np.array_equal(nest_traces.steps, python_traces.steps)
    for name in RECORDABLES:
        a, b = nest_traces[name], python_traces[name]
        assert a.tobytes() == b.tobytes(), f"{name}: max |diff| {np.max(np.abs(a - b))}"


@pytest.mark.nest
@pytest.mark.parametrize("case", list(PARITY_CASES))
def test_bit_parity_with_live_nest(case, run_nest):
    sc = PARITY_CASES[case]()
    nest_traces = run_nest(sc)
    assert_bit_identical(nest_traces, run_python(sc))
    if case.startswith(("A", "H")):
        assert nest_traces.spike_steps.size > 3  # the scenario really spikes


@pytest.mark.nest
def test_order_case_is_sensitive_in_nest_too(run_nest):
    assert run_nest(order_case())["s_AMPA"][14] == 0.0
    assert run_nest(order_case(chunks=(11, 29)))["s_AMPA"][14] == 1.0


LOW_BITS = np.uint64(0xF)  # arguments whose bit pattern ends in 1111: about 1 in 16


def one_ulp_up_for_a_fixed_share(exp, bumped: list):
    """``exp`` moved one ulp up wherever the argument's float64 bit pattern ends in ``LOW_BITS``.

    Which arguments move depends only on their bits, so the same ones move on every machine. (NumPy's own
    ``np.exp`` is no such control: it differs from glibc's only where NumPy picks an AVX-512 kernel.)"""

    def perturbed(x):
        x = np.ascontiguousarray(x, dtype=np.float64)
        result = np.array(exp(x), dtype=np.float64)
        chosen = (x.view(np.uint64) & LOW_BITS) == LOW_BITS
        result[chosen] = np.nextafter(result[chosen], np.inf)
        bumped.append(int(np.count_nonzero(chosen)))
        return result

    return perturbed


@pytest.mark.nest
def test_parity_check_detects_a_one_ulp_exp(run_nest, monkeypatch):
    """Negative control: the C library's exp, one ulp up for a fixed share of its arguments, breaks parity,
    in the current that the Mg block feeds; the same run with exp untouched passes."""
    sc = PARITY_CASES["A_default"]()
    nest_traces = run_nest(sc)
    assert_bit_identical(nest_traces, run_python(sc))
    bumped = []
    monkeypatch.setattr(libm, "exp", one_ulp_up_for_a_fixed_share(libm.exp, bumped))
    perturbed = run_python(sc)
    assert sum(bumped) > 100  # the Mg block called the perturbed exp, and many of its arguments moved
    with pytest.raises(AssertionError, match="I_NMDA"):
        assert_bit_identical(nest_traces, perturbed)


def test_stiff_case_exercises_rejections(monkeypatch):
    """The stiff parity case is only a test of the retry logic if tries are really rejected there."""
    from harness.model import evolve
    from harness.model.control import DECREASE, adjust_step

    decreases = []

    def counting(yerr, h_old, eps_abs):
        status, h = adjust_step(yerr, h_old, eps_abs)
        decreases.append(int(np.count_nonzero(status == DECREASE)))
        return status, h

    monkeypatch.setattr(evolve, "adjust_step", counting)
    run_python(PARITY_CASES["D_stiff_dt1_tol1e-8"]())
    assert sum(decreases) > 20 and len(decreases) > 5 * 300  # many sub-steps per step, some retried
