"""Candidates on the accuracy ladder (docs/accuracy.md): every outcome carries candidate↔NEST, NEST↔truth,
candidate↔truth and the truth's convergence figure, and the profile ``as-accurate-as-nest`` tells a port that
is only different from NEST from one that is less accurate than NEST.

The ports here are test-only runners (tests/accuracy_runner.py): ``different`` solves NEST's time-discrete
model with scipy's DOP853 at rtol = atol = 1e-6 (correct, not GSL's RKF45); ``refractory`` is the exact
engine with the refractory count ceil(t_ref/dt) in floating point, brainpy.state's finding
(scenarios/ports/brainpy/port_brainpy_refractory_rounding.yaml). Most tests judge against the stored NEST
references and stored truths (no NEST run); the ``nest`` ones need a scenario that has neither.
"""
import json
import math
import shutil

import pytest
from conftest import REPO, SCENARIO_DIR

from harness.candidates import load_registry
from harness.candidates.cli import main
from harness.candidates.ladder_view import worst
from harness.candidates.parity import check_candidate, collect, judge
from harness.candidates.report import CandidateSection, catalogue_profiles, render_markdown, summary_document
from harness.judge.tolerances import ACCURACY_PROFILE
from harness.scenario.schema import load_scenario

RUNNER = REPO / "tests" / "accuracy_runner.py"
PORTS = SCENARIO_DIR / "ports" / "brainpy"
REGISTRY = load_registry()


def _registry(tmp_path, findings: str | None = None) -> dict:
    """The test ports, registered in a candidates.yaml of their own (``findings``: a folder under tmp_path)."""
    entries = {
        "different": {"command": ["{python}", str(RUNNER), "{inputs}", "{outputs}", "--solve", "DOP853", "1e-6"],
                      "profile": ACCURACY_PROFILE, "timeout_s": 300},
        "refractory": {"command": ["{python}", str(RUNNER), "{inputs}", "{outputs}", "--ceil-refractory"],
                       "profile": "integrator", "timeout_s": 300},
    }
    if findings:
        for entry in entries.values():
            entry["findings"] = findings
    (tmp_path / "candidates.yaml").write_text(json.dumps({"candidates": entries}))
    return load_registry(tmp_path / "candidates.yaml")


def _scenario(name):
    return load_scenario(SCENARIO_DIR / f"{name}.yaml")


# ------------------------------------------------------------------------------ the ladder on every outcome
@pytest.mark.parametrize("name", ["mixed_inputs", "net_ampa_pair"])
def test_the_engine_carries_the_ladder_with_no_distance_to_nest_and_passes_as_accurate_as_nest(name):
    engine = REGISTRY["engine"]
    [run] = collect(engine, [_scenario(name)], reference="stored")
    exact, accurate = judge(engine, run, reference="stored"), judge(engine, run, reference="stored",
                                                                     profile=ACCURACY_PROFILE)
    assert exact.comparison.profile == "exact" and exact.verdict == "pass"
    ladder = exact.ladder
    assert ladder is exact.comparison.ladder and ladder.candidate_nest is not None
    assert set(ladder.candidate_nest.variables) == set(ladder.nest_truth.variables)
    assert all(d == 0 for d in ladder.candidate_nest.variables.values())
    assert ladder.candidate_nest.spikes == "identical"
    # The engine is NEST bit for bit, so its distance to the truth is NEST's, and NEST's is not zero.
    assert ladder.candidate_truth.variables == ladder.nest_truth.variables
    assert ladder.nest_truth.get("V_m") > 0
    assert ladder.convergence is not None and not ladder.unconverged()
    assert ladder.notes[0].startswith("stored truth reference")
    assert (accurate.comparison.profile, accurate.comparison.reference, accurate.verdict) == (
        ACCURACY_PROFILE, "truth", "pass")
    assert accurate.ladder.candidate_truth.variables == ladder.candidate_truth.variables


def test_a_different_but_accurate_port_fails_integrator_and_passes_as_accurate_as_nest(tmp_path):
    # large_weights: NEST's own error is large (tens of pA in I_GABA), so the integrator heuristic fails the
    # port that is closer to the truth than NEST is (issue 17's table).
    different = _registry(tmp_path)["different"]
    [run] = collect(different, [_scenario("large_weights")], reference="stored")
    by_registry = judge(different, run, reference="stored")  # its registry profile: as-accurate-as-nest
    integrator = judge(different, run, reference="stored", profile="integrator")
    exact = judge(different, run, reference="stored", profile="exact")
    assert by_registry.comparison.profile == ACCURACY_PROFILE and by_registry.verdict == "pass"
    assert integrator.verdict == "fail" and "I_GABA" in integrator.comparison.failures
    assert exact.verdict == "fail"
    ladder = by_registry.ladder
    assert ladder.candidate_nest.get("I_GABA") > 1.0  # different from NEST by picoamperes...
    for name in ("V_m", "I_GABA"):  # ...and closer to the truth than NEST
        assert ladder.candidate_truth.get(name) < ladder.nest_truth.get(name)
    w = worst(ladder)
    assert w.share is not None and w.share <= 1 and w.unit in ("mV", "nS", "pA")


def test_a_port_with_a_real_error_fails_as_accurate_as_nest(tmp_path):
    refractory = _registry(tmp_path)["refractory"]
    rounding, off_grid = load_scenario(PORTS / "port_brainpy_refractory_rounding.yaml"), _scenario("t_ref_off_grid")
    wrong, right = check_candidate(refractory, [rounding, off_grid], reference="stored", profile=ACCURACY_PROFILE)
    assert (wrong.comparison.status, wrong.verdict, wrong.ok) == ("fail", "fail", False)
    assert "V_m" in wrong.comparison.failures
    # One step of clamp too many: millivolts where NEST is at round-off from the truth.
    assert wrong.ladder.candidate_truth.get("V_m") > 1e-3 > 1e-12 > wrong.ladder.nest_truth.get("V_m")
    assert worst(wrong.ladder).name == "V_m" and worst(wrong.ladder).share > 1
    # At dt = 0.1 ms the float rounding agrees with NEST's: the same port passes there.
    assert right.verdict == "pass" and all(d == 0 for d in right.ladder.candidate_nest.variables.values())


# ------------------------------------------------------------------------------ findings and their claims
@pytest.mark.slow
def test_a_finding_judged_under_another_profile_informs_and_is_never_fixed(tmp_path):
    # Copies of two brainpy findings (same experiments, so their stored references apply) owned by the ports.
    findings = tmp_path / "findings"
    findings.mkdir()
    for name in ("port_brainpy_substep_drift", "port_brainpy_refractory_rounding"):
        shutil.copy(PORTS / f"{name}.yaml", findings)
    registry = _registry(tmp_path, findings="findings")
    drift, rounding = (load_scenario(findings / f"{n}.yaml") for n in ("port_brainpy_substep_drift",
                                                                     "port_brainpy_refractory_rounding"))
    # Both claim a failure under roundoff, and both ports do fail there: expected-fail.
    [claimed] = check_candidate(registry["different"], [drift], reference="stored")
    assert (claimed.comparison.profile, claimed.verdict, claimed.claim_applies) == ("roundoff", "expected-fail", True)
    # Under as-accurate-as-nest the different port passes: "only different", a plain pass, not "fixed".
    [other] = check_candidate(registry["different"], [drift], reference="stored", profile=ACCURACY_PROFILE)
    assert (other.comparison.status, other.verdict, other.ok, other.claim_applies) == ("pass", "pass", True, False)
    # The refractory port still fails there: less accurate than NEST, the known finding.
    [real] = check_candidate(registry["refractory"], [rounding], reference="stored", profile=ACCURACY_PROFILE)
    assert (real.comparison.status, real.verdict, real.ok) == ("fail", "expected-fail", True)


FINDING = """\
name: toy_accuracy_finding
resolution: 0.01
duration: 12.0
params: {t_ref: 1.12}
tolerances: {profile: as-accurate-as-nest}
expect: fail
expect_reason: refractory steps ceil(t_ref/dt) in floating point, 113 instead of 112
inputs:
  - {device: dc_generator, amplitude: 1200.0}
"""


@pytest.mark.slow
@pytest.mark.nest
def test_a_finding_pinned_to_as_accurate_as_nest_is_judged_so_against_a_truth_solved_now(tmp_path):
    findings = tmp_path / "findings"
    findings.mkdir()
    (findings / "finding.yaml").write_text(FINDING)
    registry = _registry(tmp_path, findings="findings")
    [outcome] = check_candidate(registry["refractory"], [load_scenario(findings / "finding.yaml")])
    assert outcome.comparison.profile == ACCURACY_PROFILE  # the finding's, over the registry's integrator
    assert (outcome.comparison.status, outcome.verdict, outcome.ok) == ("fail", "expected-fail", True)
    note = outcome.ladder.notes[0]
    assert "no stored truth reference for toy_accuracy_finding" in note and "solved now" in note
    assert outcome.ladder.convergence is not None and not outcome.ladder.unconverged()


# ------------------------------------------------------------------------------ the command line
@pytest.mark.slow
def test_run_prints_the_ladder_and_refuses_the_accuracy_profile_without_nest(tmp_path, capsys):
    registry = tmp_path / "candidates.yaml"
    _registry(tmp_path)
    path = str(SCENARIO_DIR / "mixed_inputs.yaml")
    assert main(["--registry", str(registry), "run", "different", path, "--reference", "stored"]) == 0
    out = capsys.readouterr().out
    assert f"pass          mixed_inputs ({ACCURACY_PROFILE}, vs truth)" in out
    assert "accuracy ladder" in out and "different-truth" in out and "V_m (mV)" in out
    assert main(["run", "engine", path, "--profile", ACCURACY_PROFILE, "--reference", "stored-truth"]) == 2
    assert "the reference must be NEST" in capsys.readouterr().err
    assert main(["run", "engine", path, "--profile", ACCURACY_PROFILE, "--truth", "none"]) == 2
    assert "--truth none leaves nothing to judge" in capsys.readouterr().err


@pytest.mark.slow
def test_run_json_carries_the_ladder_and_compact_lines(tmp_path, capsys):
    engine = ["run", "engine", str(SCENARIO_DIR / "ampa_only.yaml"), str(SCENARIO_DIR / "gaba_only.yaml"),
              "--reference", "stored", "--json", str(tmp_path / "run.json")]
    assert main(engine) == 0
    out = capsys.readouterr().out
    assert out.count("ladder (worst: ") == 2 and "engine-NEST 0," in out
    document = json.loads((tmp_path / "run.json").read_text())
    ladder = document["comparisons"][0]["ladder"]
    assert set(ladder) >= {"candidate_nest", "nest_truth", "candidate_truth", "truth_convergence"}
    assert ladder["candidate_nest"]["max_abs"]["V_m"] == 0 and ladder["nest_truth"]["max_abs"]["V_m"] > 0


# ------------------------------------------------------------------------------ the report
@pytest.mark.slow
def test_the_report_shows_both_verdicts_the_worst_recordable_and_the_findings_reading(tmp_path):
    findings = tmp_path / "findings"
    findings.mkdir()
    shutil.copy(PORTS / "port_brainpy_refractory_rounding.yaml", findings)
    refractory = _registry(tmp_path, findings="findings")["refractory"]
    profiles = catalogue_profiles([ACCURACY_PROFILE])
    assert profiles == ("integrator", ACCURACY_PROFILE, "exact")
    runs = collect(refractory, [_scenario("large_weights")], reference="stored")
    section = CandidateSection(refractory, runs, collect(refractory, [load_scenario(findings / f.name)
                                                                       for f in findings.iterdir()],
                                                         reference="stored"),
                               profiles=profiles, also=(ACCURACY_PROFILE,))
    section.judge("stored")
    text = render_markdown("t", [section], reference="stored")
    # The port's refractory rounding changes nothing at dt = 0.1 ms: it is NEST there, bit for bit.
    assert "| scenario | steps | integrator | as-accurate-as-nest | exact | V_m (mV) |" in text
    assert "| large_weights | 1500 | pass | pass | pass |" in text
    assert "Summary: integrator 1 pass; as-accurate-as-nest 1 pass; exact 1 pass." in text
    ladder_row = next(line for line in text.splitlines() if line.startswith("| large_weights |") and "stored" in line)
    assert "(pA)" in ladder_row or "(mV)" in ladder_row or "(nS)" in ladder_row
    row = next(line for line in text.splitlines() if line.startswith("| `port_brainpy_refractory_rounding`"))
    assert "| roundoff | fail | fail | expected-fail | **fail**: less accurate than NEST | V_m 0.019 mV vs " in row
    document = summary_document([section])
    verdicts = document["verdicts"]
    assert {(v["scenario"], v["profile"]) for v in verdicts} == {
        ("large_weights", p) for p in profiles} | {("port_brainpy_refractory_rounding", p)
                                                    for p in ("roundoff", ACCURACY_PROFILE)}
    w = next(v["ladder_worst"] for v in verdicts if v["profile"] == ACCURACY_PROFILE
             and v["scenario"] == "port_brainpy_refractory_rounding")
    assert w["variable"] == "V_m" and w["unit"] == "mV" and w["share_of_bound"] > 1
    assert all("ladder" in c for c in document["comparisons"])
    assert not math.isnan(document["comparisons"][0]["ladder"]["nest_truth"]["max_abs"]["I_GABA"])
