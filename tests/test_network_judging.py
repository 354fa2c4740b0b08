"""Judging a network's traces: per neuron, one cut-off at the network's first spike difference, neurons named.

Synthetic traces (no NEST): the rules of harness.judge.network on cases where the answer is known.
"""
import dataclasses
import json

import numpy as np
import pytest

from harness.judge.comparator import compare
from harness.judge.tolerances import profile_tolerances
from harness.report.summary import comparison_json, comparison_table, junit_xml
from harness.traces.traces import TraceFileError, Traces

NEURONS = ("E[0]", "E[1]", "I[0]")
N_STEPS = 100


def network_traces(spikes=((10, 0), (30, 1), (50, 2))) -> Traces:
    rng = np.random.default_rng(5)
    variables = {name: rng.normal(size=(N_STEPS, len(NEURONS))) for name in ("V_m", "s_AMPA")}
    stamps = np.array([s for s, _ in spikes], dtype=np.int64)
    columns = np.array([c for _, c in spikes], dtype=np.int64)
    return Traces(scenario="net", tics_per_step=100, steps=np.arange(1, N_STEPS + 1, dtype=np.int64),
                  variables=variables, spike_steps=stamps, spike_neurons=columns, neurons=NEURONS,
                  provenance={"backend": "test"})


def judged(reference, candidate, profile="exact"):
    return compare(reference, candidate, profile_tolerances(profile, 1e-3), reference_name="nest",
                   candidate_name="python")


def test_identical_networks_pass_with_every_neuron_and_variable_judged():
    result = judged(network_traces(), network_traces())
    assert result.status == "pass"
    assert set(result.variables) == {f"{n}.{v}" for n in NEURONS for v in ("V_m", "s_AMPA")}
    assert all(v.samples_judged == N_STEPS and v.neuron in NEURONS for v in result.variables.values())
    assert set(result.neuron_spikes) == set(NEURONS) and result.first_divergence() is None


def test_a_difference_is_named_by_neuron_and_variable():
    candidate = network_traces()
    candidate.variables["s_AMPA"][20, 2] += 1e-13
    result = judged(network_traces(), candidate)
    assert result.status == "fail"
    assert result.failures == ["I[0].s_AMPA"]
    assert result.first_divergence() == ("I[0].s_AMPA", pytest.approx(2.1))
    assert result.variables["I[0].s_AMPA"].neuron == "I[0]"
    doc = json.loads(json.dumps(comparison_json(result)))
    assert doc["first_divergence"]["what"] == "I[0].s_AMPA"
    assert "I[0].s_AMPA" in junit_xml("t", [result])


def test_after_a_spike_difference_anywhere_no_neuron_is_held_to_the_tolerance_but_spikes_are():
    # E[1]'s spike moves by one step (within a 1-step window): from there on E[0]'s inputs may differ, so
    # a big difference of E[0] after it is left out (reported), one before it still fails.
    candidate = network_traces(spikes=((10, 0), (31, 1), (50, 2)))
    candidate.variables["V_m"][60, 0] += 5.0
    tolerances = dataclasses.replace(profile_tolerances("exact", 1e-3), spike_window_steps=1)
    result = compare(network_traces(), candidate, tolerances, reference_name="nest", candidate_name="python")
    assert result.status == "pass", comparison_table(result)
    assert result.judged_until_step == 30
    (cut,) = [u for u in result.unjudged if u.to_step is None]
    assert cut.from_step == 30 and "E[1]" in cut.reason and cut.samples == 3 * (N_STEPS - 29)  # stamps of every neuron
    assert all(v.samples_judged == 29 for v in result.variables.values())
    candidate.variables["V_m"][5, 0] += 5.0  # before the cut-off: judged, fails
    result = compare(network_traces(), candidate, tolerances, reference_name="nest", candidate_name="python")
    assert result.failures == ["E[0].V_m"]


def test_a_spike_mismatch_names_the_neuron():
    candidate = network_traces(spikes=((10, 0), (30, 1)))  # I[0]'s spike is missing
    result = judged(network_traces(), candidate)
    assert result.status == "fail" and "I[0] spikes" in result.failures
    assert result.first_divergence() == ("I[0] spikes", pytest.approx(5.0))
    assert "E[0] spikes" not in result.failures


def test_different_neurons_or_a_single_neuron_candidate_is_an_error_not_a_verdict():
    other = network_traces()
    other.neurons = ("E[0]", "E[1]", "I[1]")
    assert judged(network_traces(), other).status == "error"
    single = network_traces().neuron("E[0]")
    result = judged(network_traces(), single)
    assert result.status == "error" and "one neuron" in result.error


def test_network_traces_round_trip_bit_for_bit_and_a_broken_file_is_refused(tmp_path):
    traces = network_traces()
    npz, _ = traces.save(tmp_path / "net")
    loaded = Traces.load(npz)
    assert loaded.equals_exactly(traces) and loaded.neurons == NEURONS
    assert loaded.variables["V_m"].shape == (N_STEPS, 3)
    bad = network_traces()
    bad.spike_neurons = np.array([0, 1, 7])  # a spike of no recorded neuron
    bad.save(tmp_path / "bad")
    with pytest.raises(TraceFileError, match="spike_neurons"):
        Traces.load(tmp_path / "bad.npz")
