"""The harness proves it can fail: every broken variant of the reimplementation is caught by the gate."""
import contextlib
import io
import json

import pytest
from conftest import SCENARIO_DIR

from harness import grid
from harness.backends import python as python_backend
from harness.backends.python import run_python
from harness.cli import main
from harness.judge.selftest import VARIANTS, run_variant
from harness.model import neuron, population, rhs
from harness.network import delivery
from harness.network import engine as network_engine
from harness.scenario.schema import load_scenario

EXPECTED_VARIANTS = {"currents-from-first-rhs", "stimulus-without-delay", "spike-jump-late", "h-reset-every-step",
                     "refractory-round-down", "nmda-unweighted", "tau-reciprocal", "network-spike-late",
                     "network-order-reversed", "network-transposed"}


@pytest.fixture(scope="module")
def selftest_run(tmp_path_factory):
    """The selftest as the CLI runs it (all variants, their own scenarios): exit code, table, JSON findings."""
    report = tmp_path_factory.mktemp("selftest") / "selftest.json"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["selftest", "--json", str(report)])
    return code, buffer.getvalue(), json.loads(report.read_text())


@pytest.mark.nest
@pytest.mark.slow
def test_every_variant_is_caught_and_the_cli_says_so(selftest_run):
    code, printed, doc = selftest_run
    assert code == 0, printed
    assert set(VARIANTS) == EXPECTED_VARIANTS
    for name in VARIANTS:
        assert name in printed
    n = len(doc["catches"])
    assert f"selftest: {n} of {n} broken runs caught" in printed and "reimplementation on the same" in printed
    assert doc["status"] == "pass" and doc["control"] == "pass"


@pytest.mark.nest
@pytest.mark.slow
def test_each_catch_names_the_variable_and_the_first_divergence(selftest_run):
    by_variant = {}
    for catch in selftest_run[2]["catches"]:
        by_variant.setdefault(catch["variant"], []).append(catch)
        assert catch["caught"] and catch["reason"] == "caught", catch
        assert catch["verdict"] == "regression"
        assert catch["first_ms"] is not None and catch["first_ms"] > 0
        assert set(catch["first_diverging"]) & VARIANTS[catch["variant"]].first_diverging
    assert set(by_variant) == EXPECTED_VARIANTS
    assert {c["scenario"] for c in by_variant["refractory-round-down"]} == {"t_ref_off_grid"}
    assert {c["scenario"] for c in by_variant["h-reset-every-step"]} == {"stiff_dt1"}
    # s*(1/tau) is a last-bit difference: only the exact profile can see it, roundoff (rel 1e-12) cannot.
    (tau,) = by_variant["tau-reciprocal"]
    assert 0 < tau["max_abs"] < 1e-12 and tau["max_rel"] < 1e-12
    # the refractory period ends one step early: V_m alone differs at the first step it is released
    (refractory,) = by_variant["refractory-round-down"]
    assert refractory["first_diverging"] == ["V_m"]
    # a network's summation order in a slot: a last-bit difference, of a neuron the probe names
    (order,) = by_variant["network-order-reversed"]
    assert 0 < order["max_abs"] < 1e-12 and "[" in order["where"]
    # a spike delivered late shows first in a target's synaptic variables, named with the target neuron
    for catch in by_variant["network-spike-late"]:
        assert {"s_AMPA", "s_NMDA"} & set(catch["first_diverging"]) and "R[0]." in catch["where"]
    # recorded currents from the start state: the state itself (V_m, s_*) is untouched
    for catch in by_variant["currents-from-first-rhs"]:
        assert not {"V_m", "s_AMPA", "s_GABA"} & set(catch["first_diverging"])


@pytest.mark.nest
def test_a_variant_on_a_scenario_that_cannot_show_it_is_not_caught_exit_1(capsys):
    # rest_no_input never spikes, so a wrong refractory count cannot show there: the selftest must say so.
    code = main(["selftest", "--variant", "refractory-round-down", "--scenario",
                 str(SCENARIO_DIR / "rest_no_input.yaml"), "--workers", "1"])
    assert code == 1
    printed = capsys.readouterr().out
    assert "NOT caught: the broken reimplementation passes" in printed and "FAILED" in printed


@pytest.mark.nest
def test_selftest_missing_references_exit_2(tmp_path, capsys):
    code = main(["selftest", "--variant", "tau-reciprocal", "--references", str(tmp_path), "--workers", "1"])
    assert code == 2
    assert "no stored reference" in capsys.readouterr().out


def test_selftest_unknown_variant_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["selftest", "--variant", "tau-reciprokal"])
    assert exc.value.code == 2 and "did you mean 'tau-reciprocal'" in capsys.readouterr().err


def test_a_variant_leaves_the_model_as_it_found_it(write_scenario):
    originals = (neuron.advance, neuron.synaptic_currents, neuron.derivative, population.update, rhs.nmda_weighted_sum,
                 grid.refractory_counts, python_backend.input_slots)
    scenario = load_scenario(write_scenario("""
        resolution: 0.5
        duration: 20.0
        params: {t_ref: 0.75, gsl_error_tol: 1.0e-9}
        inputs:
          - {device: dc_generator, amplitude: 900.0}
          - {device: spike_generator, receptor: NMDA, weight: 2.0, spike_times: [1.0]}
          - {device: spike_generator, receptor: GABA, weight: 5.0, spike_times: [2.0]}
    """))
    network = load_scenario(SCENARIO_DIR / "net_summation_order.yaml")
    network_hooks = (delivery.register_order, delivery.SpikeDelivery.deliver, network_engine.Network.__init__)
    before = {s.name: run_python(s) for s in (scenario, network)}
    for name in VARIANTS:
        chosen = network if name.startswith("network-") else scenario
        broken = run_variant(name, chosen)
        assert not broken.equals_exactly(before[chosen.name]), name  # every mistake shows on these busy scenarios
    assert originals == (neuron.advance, neuron.synaptic_currents, neuron.derivative, population.update,
                         rhs.nmda_weighted_sum, grid.refractory_counts, python_backend.input_slots)
    assert network_hooks == (delivery.register_order, delivery.SpikeDelivery.deliver, network_engine.Network.__init__)
    assert all(run_python(s).equals_exactly(before[s.name]) for s in (scenario, network))
