"""Parity fuzzing: generated scenarios are valid and on the grid, NEST and the reimplementation agree on
every one (the bounded `ci` profile), the invariant checks catch violations, and a failure is shrunk and
written as a scenario file that reproduces it."""
import argparse
import dataclasses
import math

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from harness import grid
from harness.backends.batch import PythonRun, python_batch_runs
from harness.backends.nest import run_nest
from harness.fuzz.checks import (
    invariant_violations,
    nmda_state_violations,
    parity_differences,
    refractory_violations,
    synaptic_sign_violations,
)
from harness.fuzz.regressions import write_regression
from harness.fuzz.run import PROFILES, add_fuzz_arguments, run_fuzz
from harness.fuzz.strategies import grid_ms, scenario_dicts
from harness.scenario.schema import load_scenario
from harness.scenario.types import SpikeInput


def fuzz_args(tmp_path, **overrides):
    values = {"examples": None, "seed": None, "profile": "ci", "regressions_dir": str(tmp_path / "regressions"),
              "database": str(tmp_path / "examples")}
    return argparse.Namespace(**{**values, **overrides})


# ------------------------------------------------------------------------------------------ strategies
def test_grid_ms_writes_times_that_parse_back_onto_the_grid():
    assert grid_ms(9, 13) == 0.117 and 0.013 * 9 == 0.11699999999999999  # the naive product: ugly text
    assert grid_ms(1, 13) == 0.013 and grid.steps_to_ms(1, 13) == 0.013000000000000001  # NEST's ms: too
    for tps in (13, 25, 100, 1000):
        for steps in range(0, 3000, 7):
            ms = float(yaml.safe_load(yaml.safe_dump(grid_ms(steps, tps))))
            assert grid.on_grid(ms, tps) and grid.ms_to_steps(ms, tps) == steps


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(raw=scenario_dicts())
def test_generated_scenarios_pass_the_real_validator(raw, tmp_path_factory):
    path = tmp_path_factory.mktemp("gen") / "case.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    scenario = load_scenario(path)  # raises ScenarioError on anything invalid or off the grid
    assert scenario.tics_per_step in (13, 25, 100, 1000)
    assert grid_ms(scenario.n_steps, scenario.tics_per_step) == raw["duration"]
    assert len(scenario.nmda_inputs) <= 40
    weights = [i.weight for i in scenario.nmda_inputs]
    assert len(set(weights)) == len(weights)  # distinct port weights
    for item in scenario.inputs:
        if isinstance(item, SpikeInput):
            assert (item.multiplicities >= 0).all()


# ------------------------------------------------------------------------------------------ the ci run
@pytest.mark.nest
@pytest.mark.slow
def test_ci_profile_finds_nest_and_the_reimplementation_identical(tmp_path, capsys):
    """What `make test` runs: about 50 derandomized batches through live NEST, every check on each."""
    assert run_fuzz(fuzz_args(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "no parity or invariant failure" in out
    summary = out.split("checked ", 1)[1]
    assert int(summary.split()[0]) >= 50  # scenarios (50 batches of 1-8)
    assert not (tmp_path / "regressions").exists()


@pytest.mark.nest
@pytest.mark.jax
@pytest.mark.slow
def test_the_jax_engine_matches_nest_on_fuzzed_batches(tmp_path, capsys):
    """The JAX engine (``--candidate python-jax``) on the first derandomized ci batches, against live NEST.

    Bit parity on every recordable and spike; the NMDA state bounds are the exact engine's to check."""
    assert run_fuzz(fuzz_args(tmp_path, examples=6, candidate="python-jax")) == 0
    out = capsys.readouterr().out
    assert "no parity or invariant failure" in out
    assert "integrator paths not counted by this engine" in out  # the JAX runner did the work
    assert int(out.split("checked ", 1)[1].split()[0]) >= 6


def test_bad_usage_exits_2(tmp_path, capsys):
    assert run_fuzz(fuzz_args(tmp_path, examples=0)) == 2
    assert run_fuzz(fuzz_args(tmp_path, profile="nightly")) == 2
    assert "nightly" in capsys.readouterr().err
    parser = add_fuzz_arguments(argparse.ArgumentParser(exit_on_error=False))
    for argv in (["--examples", "-3"], ["--seed", "x"], ["--profile", "weekly"]):
        with pytest.raises((SystemExit, argparse.ArgumentError)):
            parser.parse_args(argv)
    assert parser.parse_args(["--examples", "5", "--seed", "3"]).examples == 5


# ------------------------------------------------------------------------------------------ failures
def one_ulp_off_with_nmda(scenarios, min_delay=None):
    """A deliberately broken candidate: V_m's last sample one ulp high whenever there is an NMDA port."""
    runs = python_batch_runs(scenarios, min_delay)
    for scenario, run in zip(scenarios, runs):
        if scenario.nmda_inputs:
            v = run.traces.variables["V_m"]
            v[-1] = np.nextafter(v[-1], np.inf)
    return runs


@pytest.mark.nest
@pytest.mark.slow
def test_a_failure_is_shrunk_and_written_as_a_scenario_that_still_fails(tmp_path, capsys, monkeypatch):
    # Without the time budget the shrunk case is the same on a fast and a slow machine (here it takes ~6 s).
    monkeypatch.setitem(PROFILES, "dev", dataclasses.replace(PROFILES["dev"], shrink_seconds=math.inf))
    args = fuzz_args(tmp_path, profile="dev", examples=30, seed=1)
    assert run_fuzz(args, candidate=one_ulp_off_with_nmda) == 1
    out = capsys.readouterr().out
    (path,) = (tmp_path / "regressions").glob("fuzz_*.yaml")
    assert f"wrote {path}" in out and f"make compare SCENARIO={path}" in out
    scenario = load_scenario(path)  # a valid scenario file ...
    assert "V_m differs" in scenario.description and "make compare SCENARIO=" in scenario.description
    assert len(scenario.inputs) == 1 and scenario.nmda_inputs  # ... shrunk to the one input that matters ...
    broken = one_ulp_off_with_nmda([scenario])[0].traces
    assert parity_differences(run_nest(scenario), broken)  # ... that still fails when reloaded


def test_regressions_are_never_overwritten(tmp_path):
    raw = {"name": "x", "resolution": 0.1, "duration": 1.0}
    path, created = write_regression(raw, "first.", tmp_path)
    assert created and path.name.startswith("fuzz_") and load_scenario(path).name == path.stem
    assert write_regression({**raw, "name": "y"}, "again.", tmp_path) == (path, False)  # same case: kept
    path.write_text(path.read_text().replace("duration: 1.0", "duration: 2.0"))  # edited by hand
    edited = path.read_text()
    second, created = write_regression(raw, "third.", tmp_path)
    assert created and second != path and path.read_text() == edited
    assert second.name == f"{path.stem}_2.yaml" and not list(tmp_path.glob(".*.tmp"))


# ------------------------------------------------------------------------------------------ invariants
OVERSHOOT = """\
name: nmda_overshoot
resolution: 1.0
duration: 3.0
params: {alpha: 2.0, gsl_error_tol: 0.01}
inputs:
  - {device: spike_generator, receptor: NMDA, weight: 1.0, spike_times: [1.0], spike_multiplicities: [15]}
"""


@pytest.mark.nest
def test_nest_itself_lets_s_nmda_overshoot_1_within_the_error_budget(write_scenario):
    """Found by the fuzzer: s_j < 1 is not an invariant of the discretised model, NEST's included."""
    scenario = load_scenario(write_scenario(OVERSHOOT))
    s_nmda = run_nest(scenario)["s_NMDA"]  # one port of weight 1: s_NMDA is s_0
    assert 1.0 < s_nmda.max() < 1.0 + scenario.params["gsl_error_tol"]
    (run,) = python_batch_runs([scenario])
    assert run.max_s == s_nmda.max() and not nmda_state_violations(scenario, run)
    tighter = PythonRun(run.traces, run.step_paths, run.min_x, run.min_s, 1.0 + 0.02)
    assert nmda_state_violations(scenario, tighter)


REFRACTORY = """\
name: refractory
resolution: 0.1
duration: 30.0
params: {t_ref: 0.25}
inputs:
  - {device: dc_generator, amplitude: 1500.0}
  - {device: spike_generator, receptor: AMPA, weight: 5.0, spike_times: [3.0]}
"""


def test_invariant_checks_pass_on_nest_behaviour_and_catch_violations(write_scenario):
    scenario = load_scenario(write_scenario(REFRACTORY))
    (run,) = python_batch_runs([scenario])
    spikes = run.traces.spike_steps
    assert len(spikes) >= 2 and invariant_violations(scenario, run) == []
    R = grid.refractory_counts(0.25, 100)
    assert R == 3
    v_m = run.traces.variables["V_m"]
    v_m[spikes[0] - 1 + R] += 1.0  # the last clamped sample moves off V_reset
    assert "not V_reset" in refractory_violations(scenario, run.traces)[0]
    v_m[spikes[0] - 1 + R] -= 1.0
    run.traces.variables["s_AMPA"][5] = -1e-300
    assert "s_AMPA went negative" in synaptic_sign_violations(scenario, run.traces)[0]
    run.traces.spike_steps = np.array([spikes[0], spikes[0] + R])
    assert any("refractory steps" in p for p in refractory_violations(scenario, run.traces))


@pytest.mark.nest
def test_parity_differences_see_one_ulp_and_signed_zero(write_scenario):
    scenario = load_scenario(write_scenario(REFRACTORY))
    reference = run_nest(scenario)
    (run,) = python_batch_runs([scenario])
    assert parity_differences(reference, run.traces) == []
    run.traces.variables["I_GABA"][0] = -0.0  # NEST records +0.0 here: equal as numbers, not as bits
    assert reference["I_GABA"][0] == 0.0 and "I_GABA differs" in parity_differences(reference, run.traces)[0]


@pytest.mark.nest
def test_flushed_subnormals_are_the_only_difference_forgiven_to_a_flushing_candidate(write_scenario):
    scenario = load_scenario(write_scenario(REFRACTORY))
    reference = run_nest(scenario)
    (run,) = python_batch_runs([scenario])
    tiny = np.finfo(np.float64).tiny
    reference.variables["s_AMPA"][3], run.traces.variables["s_AMPA"][3] = 3e-310, 0.0  # XLA's flush to zero
    reference.variables["I_AMPA"][5], run.traces.variables["I_AMPA"][5] = -1.06e-307, -0.0  # after a flush
    reference.variables["s_GABA"][6], run.traces.variables["s_GABA"][6] = 6.65e-308, 4.45e-308  # normal, both
    assert parity_differences(reference, run.traces, flushes_subnormals=True) == []
    assert len(parity_differences(reference, run.traces)) == 3  # bit for bit, they differ
    run.traces.variables["s_AMPA"][7] = reference["s_AMPA"][7] + tiny * 2.0 ** 60  # far above a flush's reach
    assert reference["s_AMPA"][7] != run.traces["s_AMPA"][7]
    assert "s_AMPA differs" in parity_differences(reference, run.traces, flushes_subnormals=True)[0]
