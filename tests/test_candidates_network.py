"""Protocol version 2: network scenarios through the candidates, bit-identical to NEST, every bad output an error."""
import ast
import json
import textwrap

import numpy as np
import pytest
from conftest import REPO

from harness.backends.nest import run_nest
from harness.candidates import (
    CandidateError,
    engine_runner,
    load_registry,
    network_loop,
    protocol,
    protocol_network,
    run_candidate,
)
from harness.candidates.parity import check_candidate
from harness.errors import UsageError
from harness.model import Population
from harness.network import Network
from harness.scenario.schema import load_scenario

REGISTRY = load_registry()

# The example network (3 E neurons in an NMDA pool, one I neuron), unchanged.
POOL = """
name: nmda_pool_asymmetric
description: Three E neurons coupled all-to-all through NMDA without autapses, driven asymmetrically, with one I neuron.
model: iaf_bw_2001_exact
resolution: 0.1
duration: 400.0
simulate_chunks: [150.0, 250.0]
populations:
  E:
    n: 3
    params: {gsl_error_tol: 1.0e-4}
    initial: {V_m: [-70.0, -66.0, -62.0]}
  I:
    n: 1
    params: {g_L: 20.0, C_m: 200.0, tau_GABA: 8.0}
connections:
  - {source: E, target: E, rule: all_to_all, allow_autapses: false, receptor: NMDA, weight: 0.6, delay: 1.0}
  - {source: E, target: I, rule: all_to_all, receptor: AMPA, weight: 3.5, delay: 0.5}
  - {source: I, target: E, rule: all_to_all, receptor: GABA, weight: [6.0, 5.5, 5.25], delay: 0.7}
  - {source: E, target: E, rule: fixed_indegree, indegree: 1, allow_autapses: true, seed: 3,
     receptor: AMPA, weight: 1.25, delay: 2.0}
inputs:
  - {device: poisson_spikes, target: E, receptor: AMPA, weight: 12.0, rate: [2400.0, 2000.0, 1600.0], seed: 11}
  - {device: spike_generator, target: "E[0]", receptor: NMDA, weight: 1.5, spike_times: [50.0, 51.0]}
  - {device: dc_generator, target: I, amplitude: 100.0, start: 100.0, stop: 300.0}
record:
  neurons: [E, "I[0]"]
  variables: [V_m, s_NMDA, I_NMDA, I_GABA]
"""

# A summation-order probe: synchronous sources with irregular weights and generators into the same AMPA and
# GABA slots, min_delay 0.5 ms with a Simulate chunk ending inside a slice, step currents, NMDA ports from
# the network and from generators, autapses, and a recorded subset (D[0], D[1], D[3], D[4] spike unrecorded).
ORDER = """
name: order_probe
description: generator and network events into one slot with irregular weights; min_delay 0.5 ms, a cut slice
model: iaf_bw_2001_exact
resolution: 0.1
duration: 60.0
simulate_chunks: [23.7, 36.3]
populations:
  D:
    n: 5
  T:
    n: 2
    params: {tau_GABA: 7.3}
    initial: {V_m: [-64.5, -69.25]}
connections:
  - {source: D, target: T, rule: all_to_all, receptor: AMPA, delay: 0.5,
     weight: [0.1137, 0.2291, 0.3317, 0.4453, 0.5519, 0.6673, 0.7101, 0.8339, 0.9157, 1.0333]}
  - {source: D, target: T, rule: all_to_all, receptor: GABA, weight: 0.3371, delay: 0.8}
  - {source: D, target: T, rule: all_to_all, receptor: NMDA, weight: 0.0917, delay: 1.3}
  - {source: T, target: T, rule: all_to_all, allow_autapses: true, receptor: AMPA, weight: 0.777, delay: 0.6}
inputs:
  - {device: dc_generator, target: D, amplitude: 900.0, delay: 0.5}
  - {device: step_current_generator, target: "T[1]", amplitude_times: [5.0, 20.0, 40.0],
     amplitude_values: [120.5, 333.3, -50.25], delay: 0.7}
  - {device: dc_generator, target: T, amplitude: [55.5, 71.3], start: 10.0, stop: 50.0, delay: 0.5}
  - {device: poisson_spikes, target: T, receptor: AMPA, weight: [0.3137, 0.1731], rate: 6000.0, seed: 7, delay: 0.5}
  - {device: poisson_spikes, target: T, receptor: GABA, weight: 0.2719, rate: 6000.0, seed: 8, delay: 0.8}
  - {device: poisson_spikes, target: T, receptor: NMDA, weight: 0.0433, rate: 3000.0, seed: 9, delay: 0.9}
  - {device: spike_generator, target: "T[0]", receptor: AMPA, weight: 0.0731, spike_times: [10.0, 10.0, 10.1, 30.0],
     delay: 0.5}
record:
  neurons: ["T[0]", "T[1]", "D[2]"]
  variables: [V_m, s_AMPA, s_GABA, s_NMDA, I_NMDA]
"""
NETWORKS = {"pool": POOL, "order": ORDER}


@pytest.fixture(scope="module")
def networks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("networks")
    out = {}
    for name, text in NETWORKS.items():
        path = folder / f"{name}.yaml"
        path.write_text(textwrap.dedent(text).lstrip())
        out[name] = load_scenario(path)
    return out


# ------------------------------------------------------------------------------ the in-house candidates
@pytest.mark.nest
@pytest.mark.parametrize("name", ["order", pytest.param("pool", marks=pytest.mark.slow)])
@pytest.mark.parametrize("candidate", ["engine", pytest.param("nest", marks=pytest.mark.slow)])
def test_in_house_candidates_through_protocol_2_equal_nest_bit_for_bit(networks, name, candidate):
    scenario = networks[name]
    traces = run_candidate(REGISTRY[candidate], scenario)
    reference = run_nest(scenario)
    assert traces.neurons == reference.neurons and traces.variables["V_m"].shape == (scenario.n_steps,
                                                                                      len(reference.neurons))
    assert len(reference.spike_steps) > 0
    assert traces.equals_exactly(reference)
    assert traces.provenance["protocol_version"] == 2
    assert traces.provenance["candidate_info"]["protocol_version"] == 2


@pytest.mark.nest
def test_the_order_probe_is_sensitive_to_the_order_of_additions(networks):
    # Generator events added ahead of the network's (as a port that starts from the dense generator slots
    # does) give other bits here: so the bit-identical runs above check the order, not just the sums.
    scenario = networks["order"]
    inputs = protocol.compile_inputs(scenario)
    inputs.arrays["event_call"][:] = 0
    variables, stamps, neurons = engine_runner.simulate_network(inputs)
    reference = run_nest(scenario)
    assert any(not np.array_equal(variables[k], reference.variables[k]) for k in reference.variables)


def test_spikes_of_unrecorded_neurons_are_ignored_not_refused(networks):
    traces = run_candidate(REGISTRY["engine"], networks["order"])
    assert traces.neurons == ("D[2]", "T[0]", "T[1]")  # recorded in neuron order, whatever the file's order
    assert traces.provenance["unrecorded_spikes_ignored"] > 0  # D[0], D[1], D[3], D[4] spike too
    assert set(traces.spike_neurons.tolist()) <= {0, 1, 2}


# ------------------------------------------------------------------------------ the inputs
def test_compiled_network_inputs_carry_the_network_in_nest_s_order(networks):
    scenario = networks["pool"]
    net, n_steps = scenario.network, scenario.n_steps
    compiled = protocol.compile_inputs(scenario)
    meta, a = compiled.meta, compiled.arrays
    assert (meta["format_version"], meta["n_neurons"], meta["n_steps"]) == (2, 4, n_steps)
    assert meta["neuron_labels"] == ["E[0]", "E[1]", "E[2]", "I[0]"] and meta["record_neurons"] == [0, 1, 2, 3]
    assert a["param_g_L"].tolist() == [25.0, 25.0, 25.0, 20.0]
    assert a["initial_V_m"].tolist() == [-70.0, -66.0, -62.0, -70.0]
    assert np.array_equal(a["connection_source"], net.connections.source)
    assert np.array_equal(a["connection_delay_steps"], net.connections.delay_steps)
    # Ports in NEST's order: E[0] has its two NMDA connections, then the NMDA spike_generator.
    ports = net.nmda_ports()
    assert a["nmda_port_count"].tolist() == [len(p) for p in ports] == [3, 2, 2, 0]
    assert a["nmda_port_connection"][0].tolist() == [0, 1, -1] and a["nmda_port_generator"][0].tolist() == [-1, -1, 3]
    assert a["nmda_weights"][0].tolist() == [0.6, 0.6, 1.5]
    for name in ("ampa", "gaba", "current"):
        assert a[name].shape == (n_steps, 4)
    assert a["nmda"].shape == (n_steps, 4, 3)
    # The NMDA spikes at 50 and 51 ms with delay 0.1 ms reach E[0]'s port 2 in steps 500 and 510 (stamp + D - 1).
    assert np.flatnonzero(a["nmda"][:, 0, 2]).tolist() == [500, 510] and not a["nmda"][:, :, :2].any()
    # The update calls are the engine's, and every event is listed in the call that sends it.
    assert a["update_calls"].tolist() == [list(c) for c in Network(scenario, Population).calls()]
    calls = a["update_calls"]
    sent_in = np.searchsorted(calls[:, 0], a["event_send_step"], side="right") - 1
    assert np.array_equal(sent_in, a["event_call"]) and np.all(np.diff(a["event_call"]) >= 0)
    for key in ("delivery", "generators", "dense_slots", "nmda_ports", "update_calls"):
        assert key in meta["conventions"]


def test_the_generator_events_add_up_to_the_dense_slots_bit_for_bit(networks):
    # The two views of the external inputs agree: the event list added in order gives the dense arrays.
    compiled = protocol.compile_inputs(networks["order"])
    a, n_steps = compiled.arrays, compiled.meta["n_steps"]
    slots = network_loop.Slots(compiled.meta["n_neurons"], a["nmda_weights"].shape[1], n_steps + 1)
    g = a["event_generator"]
    slots.add(a["generator_receptor"][g], a["event_step"], a["generator_target"][g], a["generator_port"][g],
              a["event_value"])
    summed = slots.take(0, n_steps)
    for name in ("ampa", "gaba", "current", "nmda"):
        assert summed[name].tobytes() == a[name].tobytes(), name
    assert a["gaba"].any() and a["current"].any() and a["nmda"].any()


def test_network_loop_imports_nothing_but_numpy_and_the_standard_library():
    # brainpy_runner.py imports it by path under .venv-brainpy's interpreter, where the harness is absent.
    tree = ast.parse((REPO / "harness" / "candidates" / "network_loop.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                 and node.level == 0}
    assert imported <= {"__future__", "json", "pathlib", "numpy"}


def test_a_network_too_large_to_hand_over_is_an_error(networks, monkeypatch):
    monkeypatch.setattr(protocol_network, "MAX_INPUT_BYTES", 1000)
    with pytest.raises(CandidateError) as err:
        run_candidate(REGISTRY["engine"], networks["pool"])
    assert err.value.status == "error" and "protocol v2 inputs would take" in str(err.value)


# ------------------------------------------------------------------------------ versions
def _toy(tmp_path, script: str, protocols=None, name="toy"):
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(script))
    entry = {"command": ["{python}", "{root}/" + f"{name}.py", "{inputs}", "{outputs}"], "timeout_s": 60,
             "profile": "exact"}
    if protocols is not None:
        entry["protocols"] = protocols
    (tmp_path / "candidates.yaml").write_text(json.dumps({"candidates": {name: entry}}))
    return load_registry(tmp_path / "candidates.yaml")[name]


def test_a_version_1_candidate_given_a_network_is_an_error_and_is_not_run(tmp_path, networks):
    marker = tmp_path / "ran"
    toy = _toy(tmp_path, f"open({str(marker)!r}, 'w').write('ran')")  # no `protocols`: version 1 only
    with pytest.raises(CandidateError) as err:
        run_candidate(toy, networks["pool"])
    assert err.value.status == "error" and not marker.exists()
    assert "speaks protocol version 1 only" in str(err.value) and "handed over in version 2" in str(err.value)


@pytest.mark.nest
def test_a_version_1_candidate_on_a_network_gets_the_verdict_error(tmp_path, networks):
    toy = _toy(tmp_path, "raise SystemExit(0)")
    [outcome] = check_candidate(toy, [networks["order"]])
    assert (outcome.verdict, outcome.ok) == ("error", False)
    assert "speaks protocol version 1 only" in outcome.comparison.error


def test_a_candidate_that_ignores_the_version_and_writes_one_neuron_is_an_error(tmp_path, networks):
    # It claims version 2 but writes version 1 traces: the missing neuron axis is caught.
    toy = _toy(tmp_path, """
        import json, sys
        from pathlib import Path
        import numpy as np
        meta = json.loads((Path(sys.argv[1]) / "inputs.json").read_text())
        n = meta["n_steps"]
        arrays = {name: np.zeros(n) for name in meta["record"]}
        np.savez(Path(sys.argv[2]) / "traces.npz", steps=np.arange(1, n + 1), spike_steps=np.zeros(0, int),
                 spike_neurons=np.zeros(0, int), **arrays)
    """, protocols=[1, 2])
    with pytest.raises(CandidateError) as err:
        run_candidate(toy, networks["order"])
    assert "V_m has shape (600,), expected (600, 3): protocol version 2 traces have a neuron axis" in str(err.value)


def test_an_input_folder_of_an_unknown_version_is_refused_by_the_runners(tmp_path, networks, capsys):
    compiled = protocol.compile_inputs(networks["order"])
    compiled.meta["format_version"] = 3
    protocol.write_inputs(compiled, tmp_path / "in")
    assert engine_runner.main([str(tmp_path / "in"), str(tmp_path / "out")]) == 2
    assert "not nest-parity-candidate-inputs version 1 or 2" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="not nest-parity-candidate-inputs version 2"):
        network_loop.load_inputs(tmp_path / "in")


def test_the_brainpy_runner_refuses_unknown_versions_and_population_on_a_network(tmp_path, networks, capsys):
    # Its guards run before brainpy is imported, so they are checked even where brainpy is not installed.
    from harness.candidates import brainpy_runner

    compiled = protocol.compile_inputs(networks["order"])
    protocol.write_inputs(compiled, tmp_path / "v2")
    assert brainpy_runner.main([str(tmp_path / "v2"), str(tmp_path / "out"), "--population", "3"]) == 2
    assert "--population applies to single-neuron scenarios" in capsys.readouterr().err
    compiled.meta["format_version"] = 3
    protocol.write_inputs(compiled, tmp_path / "v3")
    assert brainpy_runner.main([str(tmp_path / "v3"), str(tmp_path / "out")]) == 2
    assert "not nest-parity-candidate-inputs version 1 or 2" in capsys.readouterr().err


@pytest.mark.parametrize("protocols, message", [
    ([3], "protocols: [3]; allowed: a list of distinct versions from 1, 2"),
    ([], "protocols: []"), ([1, 1], "protocols: [1, 1]"), ("2", "protocols: '2'"), ([True], "protocols: [True]"),
])
def test_registry_protocols_are_validated(tmp_path, protocols, message):
    entry = {"command": ["x", "{outputs}"], "protocols": protocols}
    (tmp_path / "candidates.yaml").write_text(json.dumps({"candidates": {"toy": entry}}))
    with pytest.raises(UsageError) as err:
        load_registry(tmp_path / "candidates.yaml")
    assert message in str(err.value) and "candidates.toy" in str(err.value)


def test_the_registry_declares_who_speaks_version_2():
    assert REGISTRY["engine"].protocols == REGISTRY["nest"].protocols == (1, 2)
    assert REGISTRY["brainpy-pop3"].protocols == (1,)  # its --population experiment is single-neuron only


# ------------------------------------------------------------------------------ malformed network traces
SPOILED = """
    import json, sys
    from pathlib import Path
    import numpy as np
    arrays = dict(np.load(CORRECT))
    TAMPER
    np.savez(Path(sys.argv[2]) / "traces.npz", **arrays)
"""


@pytest.fixture(scope="module")
def correct_output(tmp_path_factory, networks):
    """The arrays a correct version 2 candidate writes for the order probe, in a file of their own."""
    variables, stamps, neurons = engine_runner.simulate_network(protocol.compile_inputs(networks["order"]))
    path = tmp_path_factory.mktemp("correct") / "correct.npz"
    np.savez(path, steps=np.arange(1, networks["order"].n_steps + 1), spike_steps=stamps, spike_neurons=neurons,
             **variables)
    return path


@pytest.fixture
def spoiled(tmp_path, correct_output):
    return lambda tamper: _toy(tmp_path, SPOILED.replace("CORRECT", repr(str(correct_output)))
                               .replace("TAMPER", tamper), protocols=[1, 2])


def test_the_unspoiled_network_toy_passes(spoiled, networks, correct_output):
    traces = run_candidate(spoiled("pass"), networks["order"])
    assert traces.variables["V_m"].tobytes() == np.load(correct_output)["V_m"].tobytes()


INFO = 'open(Path(sys.argv[2]) / "candidate.json", "w").write(json.dumps({"protocol_version": VERSION}))'


@pytest.mark.parametrize("tamper, message", [
    ('arrays["V_m"] = arrays["V_m"][:, 0]', "V_m has shape (600,), expected (600, 3): protocol version 2 traces "
                                            "have a neuron axis, one column per recorded neuron (D[2], T[0], T[1])"),
    ('arrays["V_m"] = arrays["V_m"][:, :2]', "V_m has 2 columns, expected 3: one per recorded neuron"),
    ('arrays["s_GABA"] = arrays["s_GABA"][:-1]', "s_GABA has shape (599, 3), expected (600, 3)"),
    ('arrays["V_m"] = arrays["V_m"][:, :, None]', "V_m has shape (600, 3, 1), expected (600, 3)"),
    ('arrays["I_NMDA"][100, 1] = np.nan', "I_NMDA of neuron T[0] is not finite (nan) from step 101 on (1 samples"),
    ('arrays["V_m"][7:, 2] = np.inf', "V_m of neuron T[1] is not finite (inf) from step 8 on"),
    ('arrays["V_m"] = arrays["V_m"].astype(np.float16)', "V_m must be float32 or float64, got float16"),
    ('arrays["spike_neurons"][0] = 7', "spike_neurons holds 7, which is not a neuron of the network (neuron "
                                       "indices 0..6; 1 such spikes)"),
    ('arrays["spike_neurons"][0] = -1', "spike_neurons holds -1, which is not a neuron of the network"),
    ('del arrays["spike_neurons"]', "lacks spike_neurons; protocol version 2 reports spike_neurons"),
    ('arrays["spike_neurons"] = arrays["spike_neurons"][1:]', "one neuron index per spike"),
    ('arrays["spike_neurons"] = arrays["spike_neurons"].astype(float)', "spike_neurons must be a 1-D integer array"),
    ('arrays["spike_steps"] = arrays["spike_steps"][::-1].copy(); '
     'arrays["spike_neurons"] = arrays["spike_neurons"][::-1].copy()', "sorted by (spike_steps, spike_neurons)"),
    ('arrays["spike_steps"] = np.append(arrays["spike_steps"], arrays["spike_steps"][-1]); '
     'arrays["spike_neurons"] = np.append(arrays["spike_neurons"], arrays["spike_neurons"][-1])', "without repeats"),
    ('arrays["spike_steps"][-1] = 601', "spike_steps must lie in 1..600"),
    ('arrays["steps"] = arrays["steps"][:-1]', "steps must be 1..600"),
    ('arrays["V_m_all"] = arrays["V_m"]', "unknown arrays V_m_all; allowed: steps, spike_steps, spike_neurons"),
    ('arrays["V_m"] = np.tile(arrays["V_m"], 2)', "V_m claims shape (600, 6) of float64 in its header: more than "
                                                  "the 600 x 3 values of one per step and recorded neuron"),
    ('arrays["spike_neurons"] = np.zeros(4201, int)', "spike_neurons claims shape (4201,)"),
    (INFO.replace("VERSION", "1"), "candidate.json says protocol_version 1, but its inputs were version 2 "
                                   "(a network scenario)"),
])
def test_malformed_network_traces_are_errors_never_comparisons(spoiled, networks, tamper, message):
    with pytest.raises(CandidateError) as err:
        run_candidate(spoiled(tamper), networks["order"])
    assert err.value.status == "error"
    assert "malformed output" in str(err.value) and message in str(err.value)


def test_a_network_candidate_that_writes_nothing_is_an_error(tmp_path, networks):
    with pytest.raises(CandidateError, match="wrote no traces.npz"):
        run_candidate(_toy(tmp_path, "pass", protocols=[2]), networks["order"])


def test_a_version_2_only_candidate_given_one_neuron_is_an_error(tmp_path):
    with pytest.raises(CandidateError, match="speaks protocol version 2 only"):
        run_candidate(_toy(tmp_path, "pass", protocols=[2]), load_scenario(REPO / "scenarios" / "ampa_only.yaml"))


def test_a_matching_protocol_version_in_candidate_json_is_accepted(spoiled, networks):
    traces = run_candidate(spoiled(INFO.replace("VERSION", "2")), networks["order"])
    assert traces.provenance["candidate_info"] == {"protocol_version": 2}
