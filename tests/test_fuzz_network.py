"""Fuzzing networks: the generated networks are valid and cover every rule, receptor and device; the exact
engine's observed run is ``run_python``'s; the per-neuron checks use each neuron's own parameters; a short
fuzz run passes against live NEST on both engines; and a delivery deliberately one step late is found,
shrunk and written as a network YAML that reproduces it."""
import argparse
import dataclasses
import math
from collections import Counter

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings

from harness import grid
from harness.backends.nest import run_nest
from harness.backends.python import min_delay_steps, run_python
from harness.fuzz.checks import network_invariant_violations, network_parity_differences, weights_onto
from harness.fuzz.network_strategies import DURATION_MS, MAX_NEURONS, RECEPTORS, RULES, network_dicts
from harness.fuzz.networks import NetworkRun, exact_network_run
from harness.fuzz.regressions import case_id, write_regression
from harness.fuzz.run import (
    NETWORKS_CI,
    NETWORKS_CI_JAX,
    PROFILES,
    add_fuzz_arguments,
    run_fuzz,
    without_local_constants,
)
from harness.network.delivery import SpikeDelivery
from harness.scenario.schema import load_scenario
from harness.scenario.types import CurrentInput, SpikeInput


def fuzz_args(tmp_path, **overrides):
    values = {"examples": None, "seed": None, "profile": "ci", "regressions_dir": str(tmp_path / "regressions"),
              "database": str(tmp_path / "examples"), "networks": None, "networks_only": True}
    return argparse.Namespace(**{**values, **overrides})


def load_raw(raw, folder):
    path = folder / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_scenario(path)


# ------------------------------------------------------------------------------------------ the strategy
def draw_networks(n: int) -> list[dict]:
    drawn = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(network_dicts())
    def collect(raw):
        drawn.append(raw)

    with without_local_constants():
        collect()
    return drawn


def test_generated_networks_are_valid_and_cover_every_rule_receptor_device_and_delay_kind(tmp_path):
    seen = Counter()
    for i, raw in enumerate(draw_networks(150)):
        scenario = load_raw({**raw, "name": f"net_{i}"}, tmp_path)  # raises ScenarioError on anything invalid
        net = scenario.network
        assert 2 <= net.n <= MAX_NEURONS and 1 <= len(net.populations) <= 3
        assert DURATION_MS[0] <= scenario.duration + 1e-9 and scenario.duration <= DURATION_MS[1] + 1e-9
        for entry in raw["connections"]:
            seen[entry["rule"]] += 1
            seen[entry["receptor"]] += 1
            if entry["rule"] == "all_to_all":
                seen[f"all_to_all autapses {entry.get('allow_autapses', True)}"] += 1
            seen["per-connection weights"] += isinstance(entry.get("weight"), list)
            seen["per-connection delays"] += isinstance(entry.get("delay"), list)
        c = net.connections
        seen["autapse"] += int(np.any(c.source == c.target))
        seen["NMDA connection into a neuron with an NMDA generator too"] += any(
            {k for k, _, _ in ports} == {"connection", "input"} for ports in net.nmda_ports())
        md = min_delay_steps(scenario)
        delays = np.r_[c.delay_steps, [i.delay_steps for _, i in net.inputs]]
        assert delays.min(initial=md) >= md  # a sanity check of min_delay itself
        if md > 1:
            seen["min_delay of several steps"] += 1
            seen["delay between multiples of min_delay"] += int(np.any(c.delay_steps % md != 0))
            seen["delay of several min_delay"] += int(np.any(c.delay_steps >= 2 * md))
        tolerances = net.params["gsl_error_tol"]
        seen["stiff and non-stiff neighbours"] += int(tolerances.min() <= 1e-6 < 1e-4 <= tolerances.max())
        seen["big weight"] += int(np.any(np.abs(c.weight) >= 100.0))
        seen["tiny weight"] += int(np.any((np.abs(c.weight) > 0) & (np.abs(c.weight) <= 1e-3)))
        seen["simulate_chunks"] += len(scenario.chunk_steps) > 1
        seen["record selection"] += len(net.record_neurons) < net.n or len(scenario.record) < 7
        for entry in raw["inputs"]:
            seen[entry["device"]] += 1
            seen["per-target list"] += any(isinstance(entry.get(k), list) for k in ("rate", "weight", "amplitude"))
        kinds = {type(i).__name__ for _, i in net.inputs}
        assert kinds <= {"SpikeInput", "CurrentInput"} and all(
            isinstance(i, (SpikeInput, CurrentInput)) for _, i in net.inputs)
        seen["populations with per-neuron params"] += any(
            isinstance(v, list) for p in raw["populations"].values() for v in p.get("params", {}).values())
    for key in (*RULES, *RECEPTORS, "all_to_all autapses True", "all_to_all autapses False", "autapse",
                "per-connection weights", "per-connection delays", "NMDA connection into a neuron with an NMDA "
                "generator too", "min_delay of several steps", "delay between multiples of min_delay",
                "delay of several min_delay", "stiff and non-stiff neighbours", "big weight", "tiny weight",
                "simulate_chunks", "record selection", "poisson_spikes", "spike_generator", "dc_generator",
                "per-target list", "populations with per-neuron params"):
        assert seen[key] >= 2, (key, seen)


def test_a_network_regression_file_loads_as_the_same_network(tmp_path):
    raw = draw_networks(30)[-1]
    path, created = write_regression(raw, "something differed.", tmp_path)
    assert created and path.name == f"fuzz_{case_id(raw)}.yaml"
    written = yaml.safe_load(path.read_text())
    assert case_id(written) == case_id(raw) and written["populations"] == raw["populations"]
    scenario, original = load_scenario(path), load_raw(raw, tmp_path)
    assert scenario.is_network and scenario.name == path.stem and "something differed." in scenario.description
    pairs = zip(dataclasses.astuple(scenario.network.connections), dataclasses.astuple(original.network.connections))
    for a, b in pairs:
        assert np.array_equal(a, b)
    assert write_regression({**raw, "name": "again"}, "found twice.", tmp_path) == (path, False)


# ------------------------------------------------------------------------------------------ checks
TWO_NEURONS = """\
name: two_neurons
resolution: 0.1
duration: 40.0
populations:
  E:
    n: 2
    params: {t_ref: [0.5, 3.0], V_reset: [-65.0, -58.0], gsl_error_tol: [1.0e-8, 1.0e-3]}
connections:
  - {source: "E[0]", target: "E[1]", rule: one_to_one, receptor: NMDA, weight: 0.5, delay: 0.7}
  - {source: "E[1]", target: "E[0]", rule: one_to_one, receptor: GABA, weight: 2.0, delay: 1.3}
  - {source: E, target: E, rule: all_to_all, allow_autapses: true, receptor: AMPA, weight: 1.5, delay: 2.0}
inputs:
  - {device: dc_generator, target: E, amplitude: [900.0, 700.0]}
"""


def test_the_observed_exact_engine_is_run_python_bit_for_bit(write_scenario):
    scenario = load_scenario(write_scenario(TWO_NEURONS))
    run = exact_network_run(scenario)
    assert run.traces.equals_exactly(run_python(scenario))
    assert len(run.traces.spike_steps) >= 4 and sum(run.step_paths.values()) == 2 * scenario.n_steps
    assert run.min_x[1] >= 0 and 0 < run.max_s[1] < 1 and math.isinf(run.max_s[0])  # E[0] has no NMDA port
    assert network_invariant_violations(scenario, run) == []


def test_the_invariants_are_checked_with_each_neurons_own_parameters(write_scenario):
    scenario = load_scenario(write_scenario(TWO_NEURONS))
    run = exact_network_run(scenario)
    net = scenario.network
    assert weights_onto(net) == [{"AMPA": [1.5, 1.5], "GABA": [2.0]}, {"AMPA": [1.5, 1.5], "GABA": []}]
    R = [grid.refractory_counts(t, scenario.tics_per_step) for t in net.params["t_ref"]]
    assert R == [5, 30]
    v_m = run.traces.variables["V_m"]
    # E[0]'s spike window is 5 steps: a sample of E[1]'s 30-step window would be flagged if E[0]'s counts
    # were used, so check each column against its own neuron.
    s1 = int(run.traces.neuron("E[1]").spike_steps[0])
    assert np.all(v_m[s1 - 1:s1 + 30, 1] == -58.0)
    s0 = int(run.traces.neuron("E[0]").spike_steps[0])
    v_m[s0 - 1 + R[0], 0] += 1.0  # E[0]'s last clamped sample moves off its own V_reset
    problems = network_invariant_violations(scenario, run)
    assert len(problems) == 1 and problems[0].startswith("E[0]: V_m is") and "-65.0" in problems[0]
    v_m[s0 - 1 + R[0], 0] -= 1.0
    # s_j = 1.0005 is within E[1]'s error budget (tolerance 1e-3), not within E[0]'s (1e-8)
    within = NetworkRun(run.traces, run.step_paths, run.min_x, run.min_s, np.array([-np.inf, 1.0005]))
    assert network_invariant_violations(scenario, within) == []
    beyond = NetworkRun(run.traces, run.step_paths, run.min_x, run.min_s, np.array([-np.inf, 1.002]))
    assert network_invariant_violations(scenario, beyond) == [
        "E[1]: NMDA gating variable s_j reached 1.002, beyond 1 + gsl_error_tol = 1.001"]


@pytest.mark.nest
def test_network_parity_names_the_neuron_and_sees_one_ulp(write_scenario):
    scenario = load_scenario(write_scenario(TWO_NEURONS))
    reference, run = run_nest(scenario), exact_network_run(scenario)
    assert network_parity_differences(reference, run.traces) == []
    run.traces.variables["s_GABA"][7, 1] = np.nextafter(run.traces.variables["s_GABA"][7, 1], 1.0)
    (problem,) = network_parity_differences(reference, run.traces)
    assert problem.startswith("E[1]: s_GABA differs in 1 sample(s), first at step 8")


def test_bad_network_usage_exits_2(tmp_path, capsys):
    assert run_fuzz(fuzz_args(tmp_path, networks=0)) == 2  # --networks-only with nothing to fuzz
    assert "--networks-only" in capsys.readouterr().err
    assert run_fuzz(fuzz_args(tmp_path, networks=-1)) == 2
    parser = add_fuzz_arguments(argparse.ArgumentParser(exit_on_error=False))
    with pytest.raises((SystemExit, argparse.ArgumentError)):
        parser.parse_args(["--networks", "-2"])
    args = parser.parse_args(["--networks", "4", "--networks-only"])
    assert args.networks == 4 and args.networks_only
    assert PROFILES["ci"].networks == NETWORKS_CI and PROFILES["ci"].jax_networks == NETWORKS_CI_JAX


# ------------------------------------------------------------------------------------------ fuzz runs
@pytest.mark.nest
@pytest.mark.slow
def test_the_ci_networks_pass_on_the_exact_engine(tmp_path, capsys):
    """The ci profile's fixed network examples, against live NEST (``make test`` runs them after the batches)."""
    assert run_fuzz(fuzz_args(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "no parity or invariant failure" in out and f"{NETWORKS_CI} networks (" in out
    assert "checked 0 scenarios in 0 batches" in out and not (tmp_path / "regressions").exists()


@pytest.mark.nest
@pytest.mark.jax
@pytest.mark.slow
def test_the_jax_engine_matches_nest_on_fuzzed_networks(tmp_path, capsys):
    assert run_fuzz(fuzz_args(tmp_path, candidate="python-jax")) == 0
    out = capsys.readouterr().out
    assert "no parity or invariant failure" in out and f"{NETWORKS_CI_JAX} networks (" in out
    assert "integrator paths not counted by this engine" in out


@pytest.mark.nest
@pytest.mark.slow
def test_a_delivery_one_step_late_is_found_shrunk_and_written_as_a_network(tmp_path, capsys, monkeypatch):
    """Negative control: every spike delivered one step late (as if the delay were one step longer)."""
    on_time = SpikeDelivery.deliver

    def one_step_late(self, buffers, calls, stamps, neurons):
        on_time(self, buffers, calls, stamps + 1, neurons)

    monkeypatch.setattr(SpikeDelivery, "deliver", one_step_late)
    # Without the time budget the shrunk case is the same on a fast and a slow machine (here it takes ~15 s).
    monkeypatch.setitem(PROFILES, "dev", dataclasses.replace(PROFILES["dev"], shrink_seconds=math.inf))
    assert run_fuzz(fuzz_args(tmp_path, profile="dev", seed=1, networks=20)) == 1
    out = capsys.readouterr().out
    (path,) = (tmp_path / "regressions").glob("fuzz_*.yaml")
    assert f"wrote {path}" in out
    scenario = load_scenario(path)  # a valid network scenario file ...
    net = scenario.network
    assert net is not None and "differs" in scenario.description and "make compare SCENARIO=" in scenario.description
    assert net.n == 2 and len(net.connections) <= 4 and len(net.inputs) <= 2  # ... shrunk to a small one ...
    reference = run_nest(scenario)
    assert network_parity_differences(reference, run_python(scenario))  # ... that still fails when reloaded ...
    monkeypatch.setattr(SpikeDelivery, "deliver", on_time)
    assert reference.equals_exactly(run_python(scenario))  # ... because of the late delivery alone
