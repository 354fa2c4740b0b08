"""Network scenarios against live NEST 3.10: the expanded list gives NEST's own all_to_all ports, a spike in
step k reaches its targets in the exact sample for every receptor and delay (NEST and the exact engine), the
thread count changes only the last bits of a slot's sum, and the backend's traces hold the recorded neurons
only, sorted by (stamp, neuron)."""
import textwrap

import numpy as np
import pytest

from harness.backends.nest import nest_module, run_nest
from harness.backends.python import run_python
from harness.scenario.fields import Problems
from harness.scenario.loader import parse_yaml
from harness.scenario.schema import parse_scenario

pytestmark = pytest.mark.nest


def scenario(text: str):
    problems = Problems("net.yaml")
    s = parse_scenario(parse_yaml(textwrap.dedent(text), "net.yaml"), problems)
    problems.raise_if_any()
    return s


def neuron_connections(nest, n: int) -> list[tuple[int, int, int, float]]:
    """(source, target, receptor port, weight) of every neuron-to-neuron connection (node IDs 1..n), sorted."""
    c = nest.GetConnections(synapse_model="static_synapse")
    rows = zip(c.get("source"), c.get("target"), c.get("receptor"), c.get("weight"))
    return sorted(r for r in rows if r[0] <= n and r[1] <= n)


# ------------------------------------------------------------------------------------- NEST's own all_to_all
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("autapses", [False, True])
def test_nest_all_to_all_gives_the_ports_of_the_expanded_list(threads, autapses):
    """NEST numbers a target's NMDA ports in the order its connections are made. Its own all_to_all loops
    target by target, source by source, as the harness's expansion does: the same (source, target, port),
    and a weight matrix W[target][source] is the harness's list read row by row (without the diagonal)."""
    w = np.arange(1.0, 17.0).reshape(4, 4) / 8.0  # W[target][source]
    keep = np.ones((4, 4), bool) if autapses else ~np.eye(4, dtype=bool)
    s = scenario(f"""\
        name: ports
        resolution: 0.1
        duration: 1.0
        populations:
          E: {{n: 4}}
          I: {{n: 2}}
        connections:
          - {{source: I, target: E, receptor: NMDA, weight: 0.5}}
          - {{source: E, target: E, allow_autapses: {str(autapses).lower()}, receptor: NMDA,
             weight: {w[keep].tolist()}}}
        """)
    run_nest(s, threads=threads)  # builds the explicit list with the array form; the kernel keeps it
    nest = nest_module()
    harness = neuron_connections(nest, 6)

    nest.ResetKernel()
    nest.SetKernelStatus({"local_num_threads": threads})
    E = nest.Create("iaf_bw_2001_exact", 4)
    I = nest.Create("iaf_bw_2001_exact", 2)
    nest.Connect(I, E, "all_to_all", syn_spec={"receptor_type": 3, "weight": 0.5})
    nest.Connect(E, E, {"rule": "all_to_all", "allow_autapses": autapses}, syn_spec={"receptor_type": 3, "weight": w})
    own = neuron_connections(nest, 6)
    assert harness == own
    # each E neuron: ports 3, 4 from I, then one per E source in ascending order
    for target in range(1, 5):
        ports = [(src, port) for src, tgt, port, _ in own if tgt == target]
        assert [p for _, p in sorted(ports, key=lambda sp: sp[1])] == list(range(3, 3 + len(ports)))
        assert [src for src, _ in sorted(ports, key=lambda sp: sp[1])] == [5, 6] + [
            src for src in range(1, 5) if autapses or src != target]

    nest.ResetKernel()  # the brief's exact call: a scalar weight, no autapses
    E = nest.Create("iaf_bw_2001_exact", 4)
    nest.Connect(E, E, {"rule": "all_to_all", "allow_autapses": False}, syn_spec={"receptor_type": 3, "weight": 0.6})
    c = nest.GetConnections()
    own = sorted(zip(c.get("source"), c.get("target"), c.get("receptor")))
    expanded = scenario("resolution: 0.1\nduration: 1.0\npopulations: {E: {n: 4}}\nconnections:\n"
                        "  - {source: E, target: E, allow_autapses: false, receptor: NMDA, weight: 0.6}\n").network
    ports = [3 + p for p in _ports_in_list_order(expanded)]
    assert own == sorted(zip((expanded.connections.source + 1).tolist(), (expanded.connections.target + 1).tolist(),
                             ports))


def _ports_in_list_order(network) -> list[int]:
    seen: dict[int, int] = {}
    out = []
    for t in network.connections.target.tolist():
        out.append(seen.get(t, 0))
        seen[t] = out[-1] + 1
    return out


# ------------------------------------------------------------------------------------------ delivery timing
MIN_DELAY = 5  # steps: every delay of the timing scenario is >= 0.5 ms, the dc generator's sets min_delay


def timing_scenario(delay_steps: int):
    """S fires regularly (52 steps apart, so its spikes fall on every position of a 5-step slice) and drives
    T[0] through AMPA, T[1] through GABA, T[2] through NMDA, and itself through an autapse of each."""
    d = delay_steps / 10
    return scenario(f"""\
        name: timing
        resolution: 0.1
        duration: 30.0
        populations:
          S: {{n: 1, initial: {{V_m: -56.0}}}}
          T: {{n: 3}}
        connections:
          - {{source: S, target: 'T[0]', receptor: AMPA, weight: 1.0, delay: {d}}}
          - {{source: S, target: 'T[1]', receptor: GABA, weight: 1.0, delay: {d}}}
          - {{source: S, target: 'T[2]', receptor: NMDA, weight: 1.0, delay: {d}}}
          - {{source: S, target: S, receptor: AMPA, weight: 0.5, delay: {d}}}
          - {{source: S, target: S, receptor: GABA, weight: 0.5, delay: {d}}}
          - {{source: S, target: S, receptor: NMDA, weight: 0.5, delay: {d}}}
        inputs:
          - {{device: dc_generator, target: S, amplitude: 1100.0, delay: 0.5}}
        """)


@pytest.fixture(scope="module", params=[MIN_DELAY, 3 * MIN_DELAY, MIN_DELAY + 2],
                ids=["min_delay", "3x_min_delay", "not_a_multiple"])
def timing(request):
    s = timing_scenario(request.param)
    nest, exact = run_nest(s), run_python(s)
    assert nest.provenance["min_delay_ms"] == MIN_DELAY / 10
    return request.param, s, {"nest": nest, "exact": exact}


def rises(values: np.ndarray) -> list[int]:
    """The stamps (1-based) of the samples that are larger than the one before (the first against 0)."""
    return (np.flatnonzero(np.diff(np.r_[0.0, values]) > 0) + 1).tolist()


def source_spikes(traces) -> np.ndarray:
    stamps = traces.spike_steps[traces.spike_neurons == traces.neurons.index("S[0]")]
    assert len(stamps) >= 5 and set(((stamps - 1) % MIN_DELAY).tolist()) == set(range(MIN_DELAY)), stamps
    return stamps


@pytest.mark.parametrize("backend", ["nest", "exact"])
@pytest.mark.parametrize("receptor, target", [("AMPA", "T[0]"), ("GABA", "T[1]"), ("AMPA", "S[0]"),
                                              ("GABA", "S[0]")], ids=["AMPA", "GABA", "AMPA-autapse",
                                                                      "GABA-autapse"])
def test_a_spike_in_step_k_jumps_s_in_sample_k_plus_D_plus_1(timing, backend, receptor, target):
    """Spike in step k = stamp - 1; the target reads the slot in step k + D and adds it after integrating,
    so the sample stamped k + D + 1 is the first with the jump: at every position in the min_delay slice."""
    delay, s, runs = timing
    traces = runs[backend]
    k = source_spikes(traces) - 1
    arrive = k + delay + 1
    s_values = traces[f"s_{receptor}"][:, traces.neurons.index(target)]
    assert rises(s_values) == arrive[arrive <= s.n_steps].tolist()
    assert np.all(s_values[: arrive[0] - 1] == 0.0) and s_values[arrive[0] - 1] > 0  # row r is stamp r + 1


@pytest.mark.parametrize("backend", ["nest", "exact"])
@pytest.mark.parametrize("target", ["T[2]", "S[0]"], ids=["NMDA", "NMDA-autapse"])
def test_an_nmda_spike_in_step_k_moves_s_NMDA_from_sample_k_plus_D_plus_2(timing, backend, target):
    """NMDA: the slot jumps the port's rise variable x_j in step k + D (sample k + D + 1); s_NMDA, the sum of
    the ports' s_j as the last right-hand-side call of a step saw it, first moves in the sample after:
    k + D + 2. Each later spike shows as the sample where s_NMDA's increment grows."""
    delay, s, runs = timing
    traces = runs[backend]
    k = source_spikes(traces) - 1
    first = k[0] + delay + 2
    s_nmda = traces["s_NMDA"][:, traces.neurons.index(target)]
    assert np.all(s_nmda[: first - 1] == 0.0) and s_nmda[first - 1] > 0
    increment = np.diff(np.r_[0.0, s_nmda])
    arrive = k + delay + 2
    assert rises(increment) == arrive[arrive <= s.n_steps].tolist()


def test_the_exact_engine_equals_nest_bit_for_bit_on_the_timing_scenario(timing):
    _, _, runs = timing
    assert runs["exact"].equals_exactly(runs["nest"])


# ------------------------------------------------------------------------------------------- thread count
POOL = """\
    name: pool
    resolution: 0.1
    duration: 100.0
    simulate_chunks: [35.0, 65.0]
    populations:
      E: {n: 3, params: {gsl_error_tol: 1.0e-4}, initial: {V_m: [-70.0, -66.0, -62.0]}}
      I: {n: 1, params: {g_L: 20.0, C_m: 200.0, tau_GABA: 8.0}}
    connections:
      - {source: E, target: E, allow_autapses: false, receptor: NMDA, weight: 0.6, delay: 1.0}
      - {source: E, target: I, receptor: AMPA, weight: [3.5, 3.3, 3.1], delay: 0.5}
      - {source: I, target: E, receptor: GABA, weight: [6.0, 5.5, 5.25], delay: 0.7}
      - {source: E, target: E, rule: fixed_indegree, indegree: 2, seed: 3, receptor: AMPA, weight: 1.3, delay: 0.5}
    inputs:
      - {device: poisson_spikes, target: E, receptor: AMPA, weight: 12.1, rate: [2400.0, 2000.0, 1600.0], seed: 11}
      - {device: spike_generator, target: "E[0]", receptor: NMDA, weight: 1.5, spike_times: [20.0, 21.0]}
      - {device: dc_generator, target: I, amplitude: 100.0, start: 10.0, stop: 80.0}
    """


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), np.finfo(float).tiny)))


def test_two_threads_give_the_same_spikes_and_at_most_last_bit_differences():
    s = scenario(POOL)
    one, two = run_nest(s), run_nest(s, threads=2)
    assert one.provenance["nest_threads"] == 1 and two.provenance["nest_threads"] == 2
    assert len(one.spike_steps) > 20
    assert np.array_equal(one.spike_steps, two.spike_steps)
    assert np.array_equal(one.spike_neurons, two.spike_neurons)
    for name in s.record:
        assert relative_difference(one[name], two[name]) < 1e-12, name


def test_two_threads_sum_a_slot_in_another_order():
    """Four identical sources spike in the same step into one AMPA (and one GABA) slot of T. One thread adds
    their events in node-ID order; with two threads NEST puts node IDs 2, 4 on thread 0 and 1, 3 on thread 1
    and adds thread 0's events first. With the weights 0.3, 0.1, 0.2, 0.6 the two orders round differently:
    the spikes stay identical and s_AMPA, s_GABA and the currents differ in the last bit only."""
    w = [0.3, 0.1, 0.2, 0.6]
    s = scenario(f"""\
        name: order
        resolution: 0.1
        duration: 20.0
        populations:
          S: {{n: 4, initial: {{V_m: -56.0}}}}
          T: {{n: 1}}
        connections:
          - {{source: S, target: T, receptor: AMPA, weight: {w}, delay: 0.5}}
          - {{source: S, target: T, receptor: GABA, weight: {w}, delay: 0.5}}
        inputs:
          - {{device: dc_generator, target: S, amplitude: 1100.0, delay: 0.5}}
        """)
    one, two = run_nest(s), run_nest(s, threads=2)
    nest = nest_module()
    assert nest.NodeCollection([1, 2, 3, 4]).get("thread") == (1, 0, 1, 0)  # the kernel of `two`

    def in_order(order):
        total = 0.0
        for i in order:
            total += w[i]
        return total

    by_node_id, by_thread = in_order([0, 1, 2, 3]), in_order([1, 3, 0, 2])
    assert by_node_id != by_thread  # 1.2000000000000002 vs 1.2
    spikes = one.spike_steps[one.spike_neurons == 0]
    assert np.array_equal(one.spike_steps, two.spike_steps) and np.array_equal(one.spike_neurons, two.spike_neurons)
    assert all(np.count_nonzero(one.spike_steps == stamp) == 4 for stamp in spikes)  # all four in one step
    arrive = spikes[0] + 5 - 1  # the row of stamp k + D + 1
    for name in ("s_AMPA", "s_GABA"):
        assert one[name][arrive, 4] == by_node_id and two[name][arrive, 4] == by_thread, name
    for name in ("s_AMPA", "s_GABA", "I_AMPA", "I_GABA"):
        difference = relative_difference(one[name], two[name])
        assert 0 < difference < 1e-12, (name, difference)
    assert relative_difference(one["V_m"], two["V_m"]) < 1e-12
    assert run_python(s).equals_exactly(one)  # the engine reproduces the one-thread order


# ------------------------------------------------------------------------------------------------- traces
@pytest.mark.parametrize("threads", [1, 2])
def test_the_traces_hold_the_recorded_neurons_only_sorted_by_stamp_and_neuron(threads):
    """Recorded: S[2], S[0] and T (in the file's order, any order); NEST's events come in thread order, the
    traces sorted: columns by neuron index, spikes by (stamp, column), unrecorded neurons' spikes left out."""
    text = """\
        name: recorded
        resolution: 0.1
        duration: 20.0
        populations:
          S: {n: 4, initial: {V_m: [-56.0, -57.0, -56.0, -57.0]}}
          T: {n: 1}
        connections:
          - {source: S, target: T, receptor: AMPA, weight: 2.0, delay: 0.5}
        inputs:
          - {device: dc_generator, target: S, amplitude: 1100.0, delay: 0.5}
        """
    everything = run_nest(scenario(text), threads=threads)
    s = scenario(text + "record: {neurons: ['T[0]', 'S[2]', 'S[0]'], variables: [s_AMPA, V_m]}\n")
    traces = run_nest(s, threads=threads)
    assert traces.neurons == ("S[0]", "S[2]", "T[0]")
    assert tuple(traces.variables) == ("V_m", "s_AMPA")
    for name in ("V_m", "s_AMPA"):
        assert traces[name].shape == (s.n_steps, 3)
        assert np.array_equal(traces[name], everything[name][:, [0, 2, 4]])
    assert traces.steps.tolist() == list(range(1, s.n_steps + 1))
    # spikes: the recorded sources only, (stamp, column) ascending; S[0] and S[2] spike in the same steps
    assert set(traces.spike_neurons.tolist()) == {0, 1}
    key = traces.spike_steps * 10 + traces.spike_neurons
    assert np.all(np.diff(key) > 0)
    recorded = np.isin(everything.spike_neurons, [0, 2])
    assert np.array_equal(traces.spike_steps, everything.spike_steps[recorded])
    assert np.array_equal(traces.spike_neurons, np.searchsorted([0, 2], everything.spike_neurons[recorded]))
    assert np.count_nonzero(everything.spike_neurons == 1) > 0  # an unrecorded neuron did spike
    assert np.all(np.diff(everything.spike_steps * 10 + everything.spike_neurons) > 0)
    assert np.array_equal(traces.neuron("S[2]").spike_steps, everything.neuron("S[2]").spike_steps)
    if threads == 1:
        assert run_python(s).equals_exactly(traces)
