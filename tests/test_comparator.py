"""The comparator's rules on hand-made traces: tolerance arithmetic, spikes, grids, NaN, headroom."""
import json
import math

import numpy as np
import pytest
from conftest import REFERENCE_DIR, SCENARIO_DIR
from stored_copies import copy_reference

from harness.cli import main
from harness.errors import ScenarioError, UsageError
from harness.judge.comparator import compare
from harness.judge.tolerances import Tolerance, Tolerances, profile_tolerances, resolve_tolerances
from harness.scenario.schema import load_scenario
from harness.scenario.types import RECORDABLES
from harness.traces.traces import Traces

TPS = 100  # 0.1 ms steps


def traces(values: dict, spikes=(), n=None, tps=TPS, first_step=1) -> Traces:
    n = n or len(next(iter(values.values())))
    return Traces(scenario="synthetic", tics_per_step=tps, steps=np.arange(first_step, first_step + n, dtype=np.int64),
                  variables={k: np.asarray(v, dtype=np.float64) for k, v in values.items()},
                  spike_steps=np.asarray(spikes, dtype=np.int64))


def tolerances(abs_=0.0, rel=0.0, window=0, names=("V_m",)) -> Tolerances:
    return Tolerances("custom", {name: Tolerance(abs_, rel) for name in names}, window)


def judge(ref, cand, tol):
    return compare(ref, cand, tol, reference_name="ref", candidate_name="cand")


# ------------------------------------------------------------------------------------------- arithmetic
def test_exactly_at_abs_plus_rel_times_ref_passes_and_one_ulp_above_fails():
    # ref 1.0, abs 0.25, rel 0.5: allowed = 0.75 exactly; 1.75 - 1.0 = 0.75 exactly in float64.
    tol = tolerances(abs_=0.25, rel=0.5)
    ref = traces({"V_m": [1.0, 1.0]})
    at_bound = judge(ref, traces({"V_m": [1.0, 1.75]}), tol)
    assert at_bound.status == "pass"
    assert at_bound.variables["V_m"].max_abs == 0.75
    assert at_bound.variables["V_m"].headroom == 1.0
    above = judge(ref, traces({"V_m": [1.0, np.nextafter(1.75, np.inf)]}), tol)
    assert above.status == "fail"
    v = above.variables["V_m"]
    assert not v.passed and v.first_violation_ms == pytest.approx(0.2) and v.headroom < 1.0


def test_the_bound_is_symmetric_and_uses_the_reference_magnitude():
    tol = tolerances(abs_=0.0, rel=0.5)
    ref = traces({"V_m": [-4.0, -4.0]})
    assert judge(ref, traces({"V_m": [-6.0, -2.0]}), tol).status == "pass"  # |diff| 2 = 0.5 * |-4|
    below = judge(ref, traces({"V_m": [-4.0, np.nextafter(-6.0, -np.inf)]}), tol)
    assert below.status == "fail" and below.variables["V_m"].first_violation_ms == pytest.approx(0.2)


def test_exact_profile_rejects_a_one_ulp_difference_and_reports_where():
    ref = traces({"V_m": [-70.0, -69.5, -69.0]})
    cand = traces({"V_m": [-70.0, np.nextafter(-69.5, 0.0), -69.0]})
    result = judge(ref, cand, profile_tolerances("exact"))
    v = result.variables["V_m"]
    assert result.status == "fail" and result.failures == ["V_m"]
    assert v.max_abs == np.spacing(69.5) and v.worst_ms == pytest.approx(0.2)
    assert v.first_violation_ms == pytest.approx(0.2) and v.headroom == 0.0
    assert result.first_divergence() == ("V_m", pytest.approx(0.2))


def test_identical_traces_pass_with_infinite_headroom_and_no_worst_sample():
    ref = traces({"V_m": [1.0, 2.0]}, spikes=[2])
    result = judge(ref, traces({"V_m": [1.0, 2.0]}, spikes=[2]), profile_tolerances("exact"))
    v = result.variables["V_m"]
    assert result.status == "pass" and v.headroom == math.inf and v.worst_ms is None
    assert v.first_violation_ms is None and v.max_rel == 0.0 and result.first_divergence() is None


def test_max_rel_is_infinite_where_the_reference_is_zero():
    result = judge(traces({"V_m": [0.0, 2.0]}), traces({"V_m": [1e-300, 2.0]}), tolerances(abs_=1.0))
    assert result.status == "pass" and result.variables["V_m"].max_rel == math.inf


def test_worst_sample_is_the_largest_difference_not_the_first():
    ref = traces({"V_m": [0.0, 0.0, 0.0, 0.0]})
    result = judge(ref, traces({"V_m": [0.0, 1.0, 3.0, 2.0]}), tolerances(abs_=0.5))
    v = result.variables["V_m"]
    assert v.first_violation_ms == pytest.approx(0.2) and v.worst_ms == pytest.approx(0.3) and v.max_abs == 3.0
    assert v.headroom == pytest.approx(0.5 / 3.0)


# ------------------------------------------------------------------------------------------- NaN
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_nan_or_inf_candidate_never_passes_even_with_a_huge_tolerance(bad):
    ref = traces({"V_m": [1.0, 1.0, 1.0]})
    result = judge(ref, traces({"V_m": [1.0, bad, 1.0]}), tolerances(abs_=1e300, rel=1e300))
    v = result.variables["V_m"]
    assert result.status == "fail" and v.first_violation_ms == pytest.approx(0.2) and v.worst_ms == pytest.approx(0.2)
    assert v.headroom == 0.0


def test_nan_on_both_sides_fails_too():
    result = judge(traces({"V_m": [np.nan]}), traces({"V_m": [np.nan]}), tolerances(abs_=1.0))
    assert result.status == "fail" and math.isnan(result.variables["V_m"].max_abs)


# ------------------------------------------------------------------------------------------- spikes
def test_a_shifted_spike_is_reported_and_the_traces_are_judged_only_before_it():
    n = 100
    ref_v = np.linspace(-70, -55, n)
    cand_v = ref_v.copy()
    cand_v[49:] = -60.0  # the candidate spikes (and resets) one step early, so everything after differs
    ref = traces({"V_m": ref_v}, spikes=[51, 80])
    cand = traces({"V_m": cand_v}, spikes=[50, 79])
    result = judge(ref, cand, profile_tolerances("exact"))
    assert result.status == "fail" and result.failures == ["spikes"]
    assert not result.spikes.match and result.ms(result.spikes.first_violation_step) == pytest.approx(5.0)
    assert result.ms(result.judged_until_step) == pytest.approx(5.0)
    v = result.variables["V_m"]
    assert v.passed and v.samples_judged == 49 and v.max_abs == 0.0  # stamps 1..49, before stamp 50
    assert result.first_divergence() == ("spikes", pytest.approx(5.0))


def test_a_divergence_before_the_spike_shift_is_named_first():
    ref_v = np.zeros(100)
    cand_v = np.zeros(100)
    cand_v[29] = 1e-9  # stamp 30, before the spike difference at stamp 50
    cand_v[60:] = 5.0  # after the shift: not judged, so not reported as the worst sample
    result = judge(traces({"V_m": ref_v}, spikes=[60]), traces({"V_m": cand_v}, spikes=[50]),
                   profile_tolerances("exact"))
    v = result.variables["V_m"]
    assert v.first_violation_ms == pytest.approx(3.0) and v.max_abs == 1e-9 and v.worst_ms == pytest.approx(3.0)
    assert result.first_divergence() == ("V_m", pytest.approx(3.0))


def test_spike_window_allows_shifts_up_to_the_window_and_the_traces_are_still_judged_after_them():
    # Issue 15: the traces used to be judged only before stamp 40 here (a false pass of anything after it).
    ref = traces({"V_m": np.zeros(100)}, spikes=[40, 70])
    cand = traces({"V_m": np.zeros(100)}, spikes=[41, 69])
    one = judge(ref, cand, tolerances(window=1))
    assert one.spikes.match and one.status == "pass" and one.judged_until_step is None
    v = one.variables["V_m"]  # aligned by the spikes: the reference's stamps 68, 69 have no partner
    assert v.samples_judged == 98 and v.samples_left_out == 2
    assert [(u.from_step, u.to_step) for u in one.unjudged] == [(68, 70)]
    zero = judge(ref, cand, tolerances(window=0))
    assert not zero.spikes.match and zero.status == "fail"


@pytest.mark.parametrize("ref_spikes, cand_spikes, first", [([10, 20], [10], 20), ([10], [10, 20], 20),
                                                            ([], [5], 5), ([30], [], 30)])
def test_missing_or_extra_spikes_fail_at_the_first_unmatched_one(ref_spikes, cand_spikes, first):
    result = judge(traces({"V_m": np.zeros(50)}, spikes=ref_spikes),
                   traces({"V_m": np.zeros(50)}, spikes=cand_spikes), tolerances(window=3))
    assert result.status == "fail" and result.spikes.first_violation_step == first


# ------------------------------------------------------------------------------------------- grids
@pytest.mark.parametrize("cand, reason", [
    (dict(n=4), "sample counts differ"),
    (dict(tps=10), "tics per step"),
    (dict(first_step=2), "sample stamps differ"),
])
def test_grid_mismatch_is_an_error_not_a_join(cand, reason):
    ref = traces({"V_m": np.zeros(5)})
    other = traces({"V_m": np.zeros(cand.get("n", 5))}, **cand)
    result = judge(ref, other, profile_tolerances("exact"))
    assert result.status == "error" and reason in result.error and result.variables == {}


def test_a_missing_variable_is_an_error():
    result = judge(traces({"V_m": [0.0], "I_NMDA": [0.0]}), traces({"V_m": [0.0]}), profile_tolerances("exact"))
    assert result.status == "error" and "does not record I_NMDA" in result.error


# ------------------------------------------------------------------------------------------- profiles
def test_profiles():
    assert profile_tolerances("exact")["V_m"] == Tolerance(0.0, 0.0)
    assert profile_tolerances("roundoff")["I_NMDA"] == Tolerance(0.0, 1e-12)
    integrator = profile_tolerances("integrator", gsl_error_tol=1e-6)
    assert (integrator["V_m"].abs, integrator["V_m"].rel) == (pytest.approx(1e-5), 0.0)
    assert (integrator["I_AMPA"].abs, integrator["I_AMPA"].rel) == (pytest.approx(1e-3), pytest.approx(1e-5))
    assert integrator.spike_window_steps == 1
    assert set(integrator.variables) == set(RECORDABLES)
    with pytest.raises(UsageError, match="did you mean 'roundoff'"):
        profile_tolerances("roundof")


class _Scenario:  # just what resolve_tolerances reads
    def __init__(self, block, tol=1e-3):
        self.tolerances, self.params = block, {"gsl_error_tol": tol}


def test_scenario_block_overrides_profile_per_variable_and_flag_overrides_profile():
    block = {"profile": "roundoff", "V_m": {"abs": 1e-9}, "spikes": {"window_steps": 2}}
    resolved = resolve_tolerances(_Scenario(block))
    assert resolved.profile == "roundoff"
    assert resolved["V_m"] == Tolerance(1e-9, 1e-12)  # abs overridden, rel kept from the profile
    assert resolved["s_AMPA"] == Tolerance(0.0, 1e-12) and resolved.spike_window_steps == 2
    flagged = resolve_tolerances(_Scenario(block), "exact")
    assert flagged.profile == "exact" and flagged["V_m"] == Tolerance(1e-9, 0.0) and flagged["I_GABA"].rel == 0.0
    assert resolve_tolerances(_Scenario({})).profile == "exact"
    assert resolve_tolerances(_Scenario({"profile": "integrator"}, tol=1e-8))["V_m"].abs == pytest.approx(1e-7)


def test_scenario_tolerance_block_is_validated_with_suggestions(write_scenario):
    path = write_scenario("""
        duration: 1.0
        tolerances:
          profile: integrater
          V_m: {abs: -1.0}
          spikes: {window_steps: 0.5}
    """)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    text = exc.value.format()
    assert "tolerances.profile: unknown tolerance profile 'integrater' (did you mean 'integrator'?)" in text
    assert "tolerances.V_m.abs: -1.0 is negative" in text and "tolerances.spikes.window_steps: 0.5" in text


def test_scenario_tolerance_block_is_normalised(write_scenario):
    scenario = load_scenario(write_scenario("""
        duration: 1.0
        tolerances: {profile: roundoff, I_NMDA: {rel: 1e-9}, spikes: {window_steps: 1}}
    """))
    assert scenario.tolerances == {"profile": "roundoff", "I_NMDA": {"rel": 1e-9}, "spikes": {"window_steps": 1}}
    assert resolve_tolerances(scenario)["I_NMDA"] == Tolerance(0.0, 1e-9)


# ------------------------------------------------------------------------------------------- the CLI
# Real runs: live NEST and the reimplementation on a catalogue scenario, stored references copied (and
# changed on purpose) into a temporary folder.
REST = str(SCENARIO_DIR / "rest_no_input.yaml")


@pytest.mark.nest
def test_compare_passes_and_writes_json_and_junit(tmp_path, capsys):
    out_json, out_xml = tmp_path / "r" / "c.json", tmp_path / "r" / "c.xml"
    assert main(["compare", REST, "--json", str(out_json), "--junit", str(out_xml)]) == 0
    printed = capsys.readouterr().out
    assert "rest_no_input: nest (reference) vs python (candidate), profile exact: PASS" in printed
    doc = json.loads(out_json.read_text())
    assert doc["command"] == "compare" and doc["status"] == "pass"
    (c,) = doc["comparisons"]
    assert (c["scenario"], c["status"], c["reference"], c["candidate"]) == ("rest_no_input", "pass", "nest", "python")
    assert set(c["variables"]) == set(RECORDABLES)
    assert c["variables"]["V_m"] == {"max_abs": 0.0, "max_rel": 0.0, "tol_abs": 0.0, "tol_rel": 0.0, "worst_ms": None,
                                     "first_violation_ms": None, "headroom": "inf", "samples_judged": 2000,
                                     "pass": True, "samples_left_out": 0, "reason": None}
    assert c["unjudged"] == [] and c["judged_until_ms"] is None
    assert c["spikes"]["match"] is True and c["spikes"]["reference_steps"] == c["spikes"]["candidate_steps"] == []
    xml = out_xml.read_text()
    assert 'tests="8" failures="0" errors="0"' in xml and 'name="I_NMDA"' in xml
    assert not [p for p in out_json.parent.iterdir() if p.name.endswith(".tmp")]


def test_compare_one_ulp_off_in_a_stored_reference_exits_1_and_names_it(tmp_path, capsys):
    copy_reference("rest_no_input", tmp_path, variable="V_m", index=499)
    out_json = tmp_path / "c.json"
    code = main(["compare", REST, "--reference", "stored", "--references", str(tmp_path), "--json", str(out_json)])
    assert code == 1
    printed = capsys.readouterr().out
    assert "FAIL" in printed and "first divergence: V_m at 50 ms" in printed
    v = json.loads(out_json.read_text())["comparisons"][0]["variables"]["V_m"]
    assert v["pass"] is False and v["first_violation_ms"] == 50.0 and v["max_abs"] > 0
    # the same file passes under roundoff: one ulp is far below 1e-12 relative
    assert main(["compare", REST, "--reference", "stored", "--references", str(tmp_path), "--profile", "roundoff"]) == 0


@pytest.mark.nest
def test_compare_live_nest_against_a_stored_reference_with_a_moved_spike_exits_1(tmp_path, capsys):
    copy_reference("dc_regular_firing", tmp_path, spikes=Traces.load(
        REFERENCE_DIR / "dc_regular_firing").spike_steps + 1)
    code = main(["compare", str(SCENARIO_DIR / "dc_regular_firing.yaml"), "--reference", "stored", "--candidate",
                 "nest", "--references", str(tmp_path)])
    assert code == 1
    printed = capsys.readouterr().out
    assert "first mismatch at 77.9 ms" in printed and "judged only before the first spike difference" in printed


def test_compare_missing_stored_reference_exits_2_with_a_clear_message(tmp_path, capsys):
    assert main(["compare", REST, "--reference", "stored", "--references", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no stored reference" in err and "rest_no_input" in err and "Traceback" not in err


def test_compare_stale_stored_reference_exits_2(tmp_path, capsys):
    changed = tmp_path / "rest_no_input.yaml"
    changed.write_text((SCENARIO_DIR / "rest_no_input.yaml").read_text().replace("duration: 200.0", "duration: 100.0"))
    assert "duration: 100.0" in changed.read_text()
    assert main(["compare", str(changed), "--reference", "stored"]) == 2
    assert "recorded from a different version" in capsys.readouterr().err


def test_compare_grid_mismatch_with_a_stored_reference_exits_2(tmp_path, capsys):
    copy_reference("rest_no_input", tmp_path, truncate=1500)
    assert main(["compare", REST, "--reference", "stored", "--references", str(tmp_path)]) == 2
    assert "sample counts differ: the reference has 1500 samples, the candidate 2000" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["compare", REST, "--profile", "exakt"], "did you mean 'exact'"),
    (["compare", REST, "--reference", "python"], "invalid choice"),
    (["compare"], "required"),
])
def test_compare_usage_errors_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_compare_bad_scenario_exits_2(write_scenario, capsys):
    assert main(["compare", str(write_scenario("duration: 1.0\ntolerances: {profile: loose}\n"))]) == 2
    assert "tolerances.profile: unknown tolerance profile 'loose'" in capsys.readouterr().err
