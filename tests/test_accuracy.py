"""The accuracy ladder: stored truth references, the truth's convergence flag, and the as-accurate-as-nest
profile on the truth itself, on correct but different integrators and on ports that are wrong.

NEST and the truth come from reference_traces/ (no NEST run here); the candidates are the exact engine with
one mistake (the selftest variants) or the engines' step logic with another scipy integrator.
"""
import numpy as np
import pytest
from conftest import REFERENCE_DIR, SCENARIO_DIR

from harness.backends.python import run_python
from harness.cli import main
from harness.errors import UsageError
from harness.judge.accuracy import FACTOR, judge_accuracy
from harness.judge.distances import distance
from harness.judge.selftest import VARIANTS, run_variant
from harness.scenario.schema import load_scenario
from harness.traces.references import load_reference, record_reference, reference_path
from harness.truth import run_truth
from harness.truth.engine import TruthPopulation


def stored(name: str):
    scenario = load_scenario(SCENARIO_DIR / f"{name}.yaml")
    return (scenario, load_reference(scenario, REFERENCE_DIR),
            load_reference(scenario, REFERENCE_DIR, kind="truth"))


ABSOLUTE = 100 * np.finfo(float).eps  # the smallest rtol scipy takes: error control by atol alone, as GSL's


def scipy_port(method: str, tolerance: float, relative: float | None = ABSOLUTE):
    """A port that solves each step with scipy's ``method`` (another integrator, the same model) to
    ``atol = tolerance`` and ``rtol = relative`` (None: the tolerance too)."""
    cls = type("Port", (TruthPopulation,), {"method": method, "tolerance": tolerance, "relative": relative})
    return lambda scenario: run_python(scenario, population_class=cls, provenance={"backend": method})


# ------------------------------------------------------------------------------------ stored truth
def test_a_truth_reference_round_trips_and_refuses_a_silent_overwrite(tmp_path):
    scenario, _, truth = stored("stiff_dt1")
    first = record_reference(scenario, truth, force=False, directory=tmp_path, kind="truth")
    assert first.status == "written" and first.path == tmp_path / "truth" / "stiff_dt1.npz"
    loaded = load_reference(scenario, tmp_path, kind="truth")
    assert loaded.equals_exactly(truth) and loaded.provenance["convergence"] == truth.provenance["convergence"]
    assert record_reference(scenario, loaded, force=False, directory=tmp_path, kind="truth").status == "unchanged"
    moved = load_reference(scenario, tmp_path, kind="truth")
    moved.variables["V_m"][5] = np.nextafter(moved.variables["V_m"][5], 0.0)  # one ulp
    before = first.path.read_bytes()
    refused = record_reference(scenario, moved, force=False, directory=tmp_path, kind="truth")
    assert refused.status == "refused" and "V_m differs" in refused.detail and "--force" in refused.detail
    assert first.path.read_bytes() == before
    assert record_reference(scenario, moved, force=True, directory=tmp_path, kind="truth").status == "written"
    assert load_reference(scenario, tmp_path, kind="truth").variables["V_m"][5] == moved.variables["V_m"][5]


def test_a_truth_is_not_taken_for_nests_output_nor_the_other_way_round(tmp_path):
    scenario, nest, truth = stored("stiff_dt1")
    truth.save(tmp_path / "stiff_dt1")  # a truth where NEST's reference belongs
    with pytest.raises(UsageError, match="is a truth solution, not NEST's output"):
        load_reference(scenario, tmp_path)
    (tmp_path / "truth").mkdir()
    nest.save(tmp_path / "truth" / "stiff_dt1")
    with pytest.raises(UsageError, match="is not a truth solution"):
        load_reference(scenario, tmp_path, kind="truth")


def test_a_missing_truth_reference_says_how_to_record_it(tmp_path):
    scenario = load_scenario(SCENARIO_DIR / "stiff_dt1.yaml")
    with pytest.raises(UsageError, match=r"record it with `nest-parity record --truth .*stiff_dt1.yaml`"):
        load_reference(scenario, tmp_path, kind="truth")


def test_every_catalogue_scenario_has_a_converged_truth_reference():
    for path in sorted(SCENARIO_DIR.rglob("*.yaml")):
        scenario = load_scenario(path)
        truth = load_reference(scenario, REFERENCE_DIR, kind="truth")  # raises when missing or stale
        figure = truth.provenance["convergence"]
        assert figure["spikes"] == "identical", path
        assert figure["rtol"] == truth.provenance["rtol"] / 10


@pytest.mark.slow
def test_record_truth_on_the_command_line_refuses_to_overwrite_a_different_one(tmp_path, capsys):
    scenario, _, truth = stored("stiff_dt1")
    changed = load_reference(scenario, REFERENCE_DIR, kind="truth")
    changed.variables["V_m"][0] += 1.0
    changed.save(reference_path("stiff_dt1", tmp_path, "truth").with_suffix(""))
    assert main(["record", "--truth", str(SCENARIO_DIR / "stiff_dt1.yaml"), "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert "refused" in out.out and "solved again at rtol 1e-13" in out.out
    assert load_reference(scenario, tmp_path, kind="truth").variables["V_m"][0] == changed.variables["V_m"][0]


@pytest.mark.slow
def test_a_fresh_truth_agrees_with_the_stored_one_within_its_convergence_figure():
    scenario, _, truth = stored("stiff_dt1")
    fresh = run_truth(scenario)
    moved = distance(fresh, truth)
    figure = truth.provenance["convergence"]["max_abs"]
    # scipy's error norm goes through BLAS, whose kernels differ between CPUs in the last bits; the
    # convergence figure bounds what such a change can move
    for name, d in moved.variables.items():
        assert d <= 10 * figure[name] + 1e-12 * np.abs(truth.variables[name]).max(), name


# ------------------------------------------------------------------------------- convergence flag
@pytest.mark.slow
def test_a_loose_truth_is_flagged_unconverged_and_the_profile_refuses_to_judge_with_it():
    scenario, nest, truth = stored("stiff_dt1")
    loose = run_truth(scenario, tolerance=1e-5)
    comparison, ladder = judge_accuracy(nest, loose, truth, candidate_name="truth")
    assert comparison.status == "error" and "not converged" in comparison.error
    assert ladder.unconverged()
    # the control: the stored truth (rtol 1e-12) is converged on the same scenario
    comparison, ladder = judge_accuracy(nest, truth, truth, candidate_name="truth")
    assert ladder.unconverged() == [] and comparison.status == "pass"


def test_a_truth_without_a_convergence_figure_is_not_judged():
    scenario, nest, truth = stored("stiff_dt1")
    truth.provenance = {k: v for k, v in truth.provenance.items() if k != "convergence"}
    comparison, _ = judge_accuracy(nest, truth, nest, candidate_name="nest")
    assert comparison.status == "error" and "not checked for convergence" in comparison.error


# ------------------------------------------------------------------------------------ the profile
@pytest.mark.parametrize("name", ["large_weights", "mixed_inputs"])
def test_the_truth_and_nest_itself_pass_and_the_bound_is_factor_times_nests_distance(name):
    scenario, nest, truth = stored(name)
    comparison, ladder = judge_accuracy(nest, truth, truth, candidate_name="truth")
    assert comparison.status == "pass"
    comparison, ladder = judge_accuracy(nest, truth, nest, candidate_name="nest")
    assert comparison.status == "pass"
    d = ladder.nest_truth.get("V_m")
    assert comparison.variables["V_m"].tolerance.abs == FACTOR * d + ladder.floors["V_m"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["large_weights", "stiff_dt1"])
def test_a_different_but_accurate_integrator_passes(name):
    # scipy's Dormand-Prince RK45 given NEST's own absolute gsl_error_tol: another method, another error
    # norm, up to ~5 times NEST's distance to the truth on large_weights (docs/accuracy.md)
    scenario, nest, truth = stored(name)
    port = scipy_port("RK45", scenario.params["gsl_error_tol"])(scenario)
    comparison, ladder = judge_accuracy(nest, truth, port, candidate_name="rk45")
    assert ladder.candidate_nest.get("V_m") > 10 * ladder.floors["V_m"]  # it is not NEST
    assert comparison.status == "pass", comparison.failures


@pytest.mark.slow
def test_a_port_that_hands_scipy_nests_tolerance_as_a_relative_one_is_less_accurate_and_fails():
    # rtol = 1e-3 lets V_m (~ -60 mV) drift by ~0.06 mV per step: 340 times NEST's distance on large_weights
    scenario, nest, truth = stored("large_weights")
    port = scipy_port("RK45", scenario.params["gsl_error_tol"], relative=None)(scenario)
    comparison, ladder = judge_accuracy(nest, truth, port, candidate_name="rk45-relative")
    assert comparison.status == "fail" and "V_m" in comparison.failures
    assert ladder.candidate_truth.get("V_m") > 100 * ladder.nest_truth.get("V_m")


# Mistakes that change the model fail; a different rounding (a reciprocal, another order of additions) and
# another step control are as accurate as NEST, which is the honest verdict (docs/accuracy.md).
AS_ACCURATE = {"tau-reciprocal", "h-reset-every-step", "network-order-reversed"}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_selftest_variant_gets_the_verdict_its_accuracy_deserves(variant):
    scenario, nest, truth = stored(VARIANTS[variant].scenarios[0])
    comparison, ladder = judge_accuracy(nest, truth, run_variant(variant, scenario), candidate_name=variant)
    assert comparison.status == ("pass" if variant in AS_ACCURATE else "fail"), comparison.failures


def test_a_port_with_brainpys_refractory_rounding_fails():
    # brainpy.state's finding: the refractory count rounded down (t_ref = 2.05 ms at 0.1 ms: 20 steps, not 21)
    scenario, nest, truth = stored("t_ref_off_grid")
    comparison, ladder = judge_accuracy(nest, truth, run_variant("refractory-round-down", scenario),
                                        candidate_name="rounded")
    assert comparison.status == "fail" and "V_m" in comparison.failures
    assert ladder.candidate_truth.get("V_m") > 1e3 * ladder.nest_truth.get("V_m")


# ------------------------------------------------------------------------------------ the command
def test_compare_with_the_profile_prints_the_ladder_and_judges_against_the_truth(capsys, tmp_path):
    out_json = tmp_path / "c.json"
    assert main(["compare", str(SCENARIO_DIR / "large_weights.yaml"), "--reference", "stored", "--candidate",
                 "stored-truth", "--profile", "as-accurate-as-nest", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "profile as-accurate-as-nest: PASS" in out and "accuracy ladder" in out and "I_GABA (pA)" in out
    import json

    ladder = json.loads(out_json.read_text())["comparisons"][0]["ladder"]
    assert 30 < ladder["nest_truth"]["max_abs"]["I_GABA"] < 50  # issue 17: NEST is 39 pA from the truth there
    assert ladder["truth_unconverged"] == []


def test_the_profile_needs_nest_as_the_reference(capsys):
    assert main(["compare", str(SCENARIO_DIR / "stiff_dt1.yaml"), "--reference", "stored-truth",
                 "--candidate", "python", "--profile", "as-accurate-as-nest"]) == 2
    assert "the reference must be NEST" in capsys.readouterr().err
