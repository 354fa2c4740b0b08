"""The gate: the whole catalogue passes all three pairs; drift, errors and exit codes on small real cases."""
import contextlib
import io
import json
import shutil
import xml.etree.ElementTree as ET

import pytest
from conftest import REPO, SCENARIO_DIR
from stored_copies import copy_reference

from harness.cli import main
from harness.errors import UsageError
from harness.judge.comparator import Comparison
from harness.judge.gate import PAIRS, THREADS, ScenarioOutcome
from harness.scenario.discovery import find_scenarios
from harness.scenario.schema import load_scenario

ALL_SCENARIOS = sorted(SCENARIO_DIR.glob("**/*.yaml"))


@pytest.fixture(scope="module")
def catalogue_gate(tmp_path_factory):
    """One gate run over the whole catalogue, with the exit code, the stdout and both reports."""
    out = tmp_path_factory.mktemp("gate")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["gate", str(SCENARIO_DIR), "--json", str(out / "gate.json"), "--junit", str(out / "junit.xml")])
    return code, buffer.getvalue(), json.loads((out / "gate.json").read_text()), ET.parse(out / "junit.xml")


@pytest.mark.nest
@pytest.mark.slow
def test_the_catalogue_passes_the_gate_exactly(catalogue_gate):
    code, printed, doc, _ = catalogue_gate
    assert code == 0, printed
    assert doc["command"] == "gate" and doc["status"] == "pass"
    assert [s["scenario"] for s in doc["scenarios"]] == [p.stem for p in ALL_SCENARIOS]
    assert all(s["verdict"] == "pass" for s in doc["scenarios"])
    networks = [p.stem for p in ALL_SCENARIOS if p.stem.startswith("net_")]
    assert len(doc["comparisons"]) == 3 * len(ALL_SCENARIOS) + len(networks)  # + NEST(1) vs NEST(2)
    threads = [c for c in doc["comparisons"] if c["pair"] == THREADS]
    for c in (c for c in doc["comparisons"] if c["pair"] != THREADS):
        assert c["status"] == "pass" and c["profile"] == "exact" and c["spikes"]["match"]
        assert all(v["max_abs"] == 0.0 and v["pass"] for v in c["variables"].values()), c["scenario"]
    # NEST's own thread-count difference: the summation-order probe shows it, as a warning, not a verdict
    assert {c["scenario"] for c in threads} == set(networks)
    assert {c["scenario"] for c in threads if c["status"] != "pass"} == {"net_summation_order"}
    assert doc["thread_warnings"] == 1 and "net_summation_order: NEST with 2 threads vs 1: T[0]." in printed
    assert doc["counts"]["pass"] == len(ALL_SCENARIOS) and doc["workers"] >= 1 and doc["wall_seconds"] > 0
    assert f"gate: {len(ALL_SCENARIOS)} scenarios: {len(ALL_SCENARIOS)} pass" in printed


@pytest.mark.nest
@pytest.mark.slow
def test_the_gate_junit_has_one_testcase_per_scenario_pair_and_variable(catalogue_gate):
    root = catalogue_gate[3].getroot()
    cases = root.findall("./testsuite/testcase")
    assert root.get("failures") == "0" and root.get("errors") == "0"
    per_pair = {}  # testcases per pair: one per (neuron,) variable, plus the spikes
    for path in ALL_SCENARIOS:
        s = load_scenario(path)
        per_pair[s.name] = len(s.record) * (len(s.network.record_neurons) if s.is_network else 1) + 1
    threads = sum(1 for name in per_pair if name.startswith("net_"))  # one case each, never a failure
    assert len(cases) == int(root.get("tests")) == 3 * sum(per_pair.values()) + threads
    names = {(c.get("classname"), c.get("name")) for c in cases}
    assert ("stiff_dt1.stored-vs-nest", "spikes") in names and ("mixed_inputs.nest-vs-python", "I_NMDA") in names


@pytest.fixture
def one_scenario(tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    shutil.copy(SCENARIO_DIR / "rest_no_input.yaml", folder)
    return folder


@pytest.mark.nest
def test_a_changed_stored_reference_is_reported_as_drift_exit_1(one_scenario, tmp_path, capsys):
    refs = tmp_path / "refs"
    copy_reference("rest_no_input", refs, variable="s_AMPA", index=10, ulps=3)
    report = tmp_path / "gate.json"
    code = main(["gate", str(one_scenario), "--references", str(refs), "--workers", "1", "--json", str(report),
                 "--junit", str(tmp_path / "junit.xml")])
    assert code == 1
    printed = capsys.readouterr().out
    assert "DRIFT" in printed and "live NEST no longer reproduces the stored references" in printed
    doc = json.loads(report.read_text())
    assert doc["status"] == "fail" and doc["scenarios"][0]["verdict"] == "drift"
    status = {c["pair"]: c["status"] for c in doc["comparisons"]}
    assert status == {"nest-vs-python": "pass", "stored-vs-python": "fail", "stored-vs-nest": "fail"}
    drift = next(c for c in doc["comparisons"] if c["pair"] == "stored-vs-nest")
    assert drift["first_divergence"] == {"what": "s_AMPA", "ms": 1.1}
    junit = ET.parse(tmp_path / "junit.xml").getroot()
    assert junit.get("failures") == "2"  # s_AMPA in the two pairs against the stored reference


@pytest.mark.nest
def test_the_gate_judges_exactly_whatever_the_scenario_tolerances_say(tmp_path, capsys):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    text = (SCENARIO_DIR / "rest_no_input.yaml").read_text() + "tolerances: {profile: integrator, V_m: {abs: 1.0}}\n"
    (folder / "rest_no_input.yaml").write_text(text)
    scenario = load_scenario(folder / "rest_no_input.yaml")
    assert scenario.tolerances["profile"] == "integrator"
    copy_reference("rest_no_input", tmp_path / "refs", variable="V_m", index=3, scenario_hash=scenario.content_hash)
    argv = ["gate", str(folder), "--references", str(tmp_path / "refs"), "--json", str(tmp_path / "g.json"),
            "--junit", str(tmp_path / "j.xml"), "--workers", "1"]
    assert main(argv) == 1  # one ulp in V_m: fails under exact although the scenario allows 1 mV
    assert "stored (reference) vs python (candidate), profile exact: FAIL" in capsys.readouterr().out
    # compare, in contrast, honours the scenario's block
    assert main(["compare", str(folder / "rest_no_input.yaml"), "--reference", "stored", "--references",
                 str(tmp_path / "refs")]) == 0
    assert "profile integrator: PASS" in capsys.readouterr().out


@pytest.mark.nest
def test_a_missing_stored_reference_is_an_error_exit_2(one_scenario, tmp_path, capsys):
    code = main(["gate", str(one_scenario), "--references", str(tmp_path / "empty"), "--json",
                 str(tmp_path / "g.json"), "--junit", str(tmp_path / "j.xml")])
    assert code == 2
    assert "no stored reference" in capsys.readouterr().out
    doc = json.loads((tmp_path / "g.json").read_text())
    assert doc["status"] == "error" and doc["scenarios"][0]["verdict"] == "error"
    assert {c["pair"]: c["status"] for c in doc["comparisons"]}["nest-vs-python"] == "pass"


@pytest.mark.parametrize("make_path, message", [
    (lambda tmp: tmp / "nowhere", "no such file or folder"),
    (lambda tmp: tmp, "no scenario files"),
])
def test_gate_bad_paths_exit_2(make_path, message, tmp_path, capsys):
    assert main(["gate", str(make_path(tmp_path))]) == 2
    assert message in capsys.readouterr().err


def test_gate_bad_scenario_file_exits_2_before_running_anything(tmp_path, capsys):
    (tmp_path / "bad.yaml").write_text("duration: 10.0\ninputs: [{device: dc_generatr}]\n")
    report = tmp_path / "report.json"
    assert main(["gate", str(tmp_path), "--json", str(report)]) == 2
    assert "did you mean 'dc_generator'" in capsys.readouterr().err
    assert not report.exists()


@pytest.mark.parametrize("argv", [["gate", "--profile", "tight"], ["gate", "--workers", "0"]])
def test_gate_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and "usage:" in capsys.readouterr().err


def test_find_scenarios_searches_sub_folders_and_globs(tmp_path):
    (tmp_path / "regressions").mkdir()
    for name in ("b.yaml", "a.yaml", "regressions/r1.yaml", "notes.txt"):
        (tmp_path / name).write_text("")
    assert [p.relative_to(tmp_path).as_posix() for p in find_scenarios([str(tmp_path)])] == \
        ["a.yaml", "b.yaml", "regressions/r1.yaml"]
    assert [p.name for p in find_scenarios([str(tmp_path / "**" / "r*.yaml"), str(tmp_path / "a.yaml")])] == \
        ["r1.yaml", "a.yaml"]
    with pytest.raises(UsageError, match="no scenario files"):
        find_scenarios([str(tmp_path / "*.json")])


def _outcome(live, stored, drift):
    statuses = dict(zip((f"{r}-vs-{c}" for r, c in PAIRS), (live, stored, drift)))
    comparisons = [Comparison("s", r, c, "exact", 100, statuses[f"{r}-vs-{c}"]) for r, c in PAIRS]
    return ScenarioOutcome("s", "s.yaml", comparisons, 0.0)


@pytest.mark.parametrize("live, stored, drift, verdict", [
    ("pass", "pass", "pass", "pass"),
    ("fail", "fail", "pass", "regression"),  # the reimplementation broke
    ("fail", "pass", "fail", "drift"),  # NEST changed; the reimplementation still matches the stored NEST
    ("pass", "fail", "fail", "drift"),  # the stored reference is out of date for both
    ("fail", "fail", "fail", "regression+drift"),  # matches neither NEST
    ("pass", "fail", "pass", "regression"),  # possible only with tolerances: not transitive
    ("pass", "error", "pass", "error"),
])
def test_verdicts_separate_regressions_from_drift(live, stored, drift, verdict):
    assert _outcome(live, stored, drift).verdict == verdict


def test_make_gate_target_exists():
    makefile = (REPO / "Makefile").read_text()
    assert "\ngate: $(STAMP)" in makefile and "\nselftest: $(STAMP)" in makefile


@pytest.mark.nest
def test_a_scenario_past_the_time_limit_is_an_error_exit_2_and_the_reports_say_so(one_scenario, tmp_path, capsys):
    # 1 ms: no worker can even start NEST in it, so every scenario is ended, deterministically.
    report = tmp_path / "gate.json"
    code = main(["gate", str(one_scenario), "--timeout", "0.001", "--json", str(report), "--junit",
                 str(tmp_path / "junit.xml")])
    assert code == 2
    doc = json.loads(report.read_text())
    assert doc["status"] == "error" and doc["scenarios"][0]["verdict"] == "error"
    for c in doc["comparisons"]:
        assert c["status"] == "error" and "ran past the time limit of 0.001 s (--timeout)" in c["error"]
    assert ET.parse(tmp_path / "junit.xml").getroot().get("errors") != "0"
