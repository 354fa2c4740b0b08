"""The accuracy ladder in the gate's JSON and the release report: measured against the stored truth (never
solved again: not even in the worker processes), ``truth: null`` with the reason where there is none, the
report's NEST-truth table with units, unconverged cells marked, and its figure a PNG."""
import base64
import contextlib
import io
import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import REFERENCE_DIR, REPO, SCENARIO_DIR
from PIL import Image
from stored_copies import copy_reference

from harness.backends.python import run_python
from harness.backends.sources import load_stored
from harness.cli import main
from harness.judge.accuracy import build_ladder
from harness.judge.distances import Distance, Ladder
from harness.judge.pool import WORKER_MARKER, run_parallel
from harness.report.accuracy import NOT_CONVERGED, accuracy_section, ladder_counts, summary_line
from harness.report.data import num
from harness.scenario.schema import load_scenario
from harness.traces.references import load_reference
from harness.traces.traces import Traces

WITH_TRUTH, WITHOUT_TRUTH, STALE_TRUTH = "ampa_only", "rest_no_input", "gaba_only"


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def copy_truth(name: str, directory: Path, scenario_hash: str | None = None) -> None:
    """The stored truth of ``name`` into ``directory``/truth/; with ``scenario_hash``, recorded (it then
    claims) from another version of the scenario file: a stale truth."""
    traces = Traces.load(REFERENCE_DIR / "truth" / name)
    if scenario_hash is not None:
        traces.provenance = {**traces.provenance, "scenario_hash": scenario_hash}
    (directory / "truth").mkdir(parents=True, exist_ok=True)
    traces.save(directory / "truth" / name)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Three scenarios with NEST's stored references; a valid truth for one, none for one, a stale one for one."""
    root = tmp_path_factory.mktemp("ladder")
    scenarios, refs = root / "scenarios", root / "refs"
    scenarios.mkdir()
    for name in (WITH_TRUTH, WITHOUT_TRUTH, STALE_TRUTH):
        shutil.copy(SCENARIO_DIR / f"{name}.yaml", scenarios)
        copy_reference(name, refs)
    copy_truth(WITH_TRUTH, refs)
    copy_truth(STALE_TRUTH, refs, scenario_hash="0" * 16)
    return scenarios, refs, root


def expected_ladder(name: str) -> dict:
    """The ladder computed here, in the test's process: stored NEST (the gate's live NEST equals it bit for
    bit), the exact engine as the candidate, the stored truth."""
    scenario = load_scenario(SCENARIO_DIR / f"{name}.yaml")
    ladder = build_ladder(load_stored(scenario, REFERENCE_DIR), load_reference(scenario, REFERENCE_DIR, "truth"),
                          run_python(scenario))
    return ladder.to_json()


# ------------------------------------------------------------------------------------------- the gate
@pytest.fixture(scope="module")
def gate_run(folders):
    scenarios, refs, root = folders
    code, out, err = run_cli(["gate", str(scenarios), "--references", str(refs), "--workers", "2",
                              "--json", str(root / "gate.json"), "--junit", str(root / "junit.xml")])
    return code, out, err, json.loads((root / "gate.json").read_text())


@pytest.mark.nest
def test_the_gate_json_holds_the_ladder_against_the_stored_truth(gate_run, folders):
    code, out, err, doc = gate_run
    assert code == 0, out + err  # a missing or stale truth is no failure: every verdict stays pass
    scenarios = {s["scenario"]: s for s in doc["scenarios"]}
    assert all(s["verdict"] == "pass" for s in scenarios.values())
    measured = scenarios[WITH_TRUTH]
    assert measured["truth"]["path"] == str(folders[1] / "truth" / f"{WITH_TRUTH}.npz")
    assert measured["truth"]["method"] == "DOP853" and measured["truth"]["rtol"] == 1e-12
    expected = expected_ladder(WITH_TRUTH)
    ladder = measured["ladder"]
    for rung in ("candidate_nest", "nest_truth", "candidate_truth", "truth_convergence"):
        assert ladder[rung] == expected[rung], rung  # every number, bit for bit
    assert ladder["nest_truth"]["max_abs"]["V_m"] > 0 and ladder["truth_unconverged"] == []
    assert ladder["notes"][0] == measured["truth_note"] == f"stored truth reference {measured['truth']['path']}"
    assert measured["gsl_error_tol"] == 1e-3


@pytest.mark.nest
def test_a_missing_or_stale_truth_is_null_with_the_reason(gate_run):
    code, out, err, doc = gate_run
    scenarios = {s["scenario"]: s for s in doc["scenarios"]}
    missing, stale = scenarios[WITHOUT_TRUTH], scenarios[STALE_TRUTH]
    assert missing["truth"] is None and "no stored truth reference" in missing["truth_note"]
    assert "record it with `nest-parity record --truth" in missing["truth_note"]
    assert stale["truth"] is None and "recorded from a different version" in stale["truth_note"]
    for entry in (missing, stale):  # the candidate's distance to NEST is still measured; nothing against a truth
        ladder = entry["ladder"]
        assert ladder["nest_truth"] is None and ladder["candidate_truth"] is None
        assert ladder["candidate_nest"]["spikes"] == "identical"
        assert set(ladder["candidate_nest"]["max_abs"].values()) == {0.0}
    assert doc["accuracy_ladder"] == {"measured": 1, "without_truth": 2, "unconverged": 0,
                                      "without_truth_scenarios": [STALE_TRUTH, WITHOUT_TRUTH],
                                      "unconverged_scenarios": []}
    assert "accuracy ladder: 1 of 3 scenarios measured against the stored truth" in out
    assert f"no stored truth for {STALE_TRUTH}, {WITHOUT_TRUTH}" in out


HOOK = """
# Loaded at start-up by every Python whose PYTHONPATH holds this folder: the spawned gate workers.
import os

import harness.truth
import harness.truth.engine as engine


def forbidden(*args, **kwargs):
    raise AssertionError("the truth solver was called")


engine.solve = engine.run_truth = harness.truth.run_truth = forbidden
engine.TruthPopulation._solve = forbidden
if os.environ.get("{marker}"):  # a worker (the pool marks them): say that the hook is in place
    open(os.path.join(os.environ["LADDER_TEST_MARKS"], str(os.getpid())), "w").close()
"""


@pytest.mark.nest
def test_the_gate_never_solves_the_truth_not_even_in_its_workers(folders, tmp_path, monkeypatch):
    """The workers are spawned processes, so a monkeypatch here cannot reach them: a sitecustomize on their
    PYTHONPATH replaces the solver there (and the control below shows it does)."""
    import harness.truth
    import harness.truth.engine as engine

    def forbidden(*args, **kwargs):
        raise AssertionError("the truth solver was called")

    for target, name in ((engine, "solve"), (engine, "run_truth"), (harness.truth, "run_truth")):
        monkeypatch.setattr(target, name, forbidden)
    hook, marks = tmp_path / "hook", tmp_path / "marks"
    hook.mkdir()
    marks.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK.replace("{marker}", WORKER_MARKER))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(hook), str(REPO), os.environ.get("PYTHONPATH"))
                                                     if p))
    monkeypatch.setenv("LADDER_TEST_MARKS", str(marks))
    scenarios, refs, _ = folders
    scenario = load_scenario(scenarios / f"{WITH_TRUTH}.yaml")
    from harness.backends.sources import produce

    with pytest.raises(AssertionError, match="the truth solver was called"):  # the control: the hook bites
        run_parallel(produce, [("truth", scenario)], workers=1, desc="control")
    code, out, err = run_cli(["gate", str(scenarios / f"{WITH_TRUTH}.yaml"), "--references", str(refs),
                              "--workers", "1", "--json", str(tmp_path / "g.json"), "--junit", str(tmp_path / "j.xml")])
    assert code == 0, out + err
    assert len(list(marks.iterdir())) >= 2  # the control's worker and the gate's both loaded the hook
    doc = json.loads((tmp_path / "g.json").read_text())
    assert doc["scenarios"][0]["ladder"]["nest_truth"] == expected_ladder(WITH_TRUTH)["nest_truth"]


# ------------------------------------------------------------------------------------------- the report
@pytest.fixture(scope="module")
def report_run(folders):
    scenarios, refs, root = folders
    out_dir = root / "report"
    code, out, err = run_cli(["report", str(scenarios), "--references", str(refs), "--workers", "2", "--out",
                              str(out_dir)])
    return code, out, err, out_dir


@pytest.mark.slow
@pytest.mark.nest
def test_the_report_shows_how_far_nest_is_from_the_truth(report_run):
    code, out, err, folder = report_run
    assert code == 0, out + err
    markdown = (folder / "report.md").read_text()
    section = markdown.split("## How far NEST is from the truth")[1].split("## Provenance")[0]
    header = ("| scenario | gsl_error_tol | V_m (mV) | s_AMPA (nS) | s_GABA (nS) | s_NMDA (nS) | I_AMPA (pA) | "
              "I_GABA (pA) | I_NMDA (pA) | spikes |")
    assert header in section
    nest_truth = expected_ladder(WITH_TRUTH)["nest_truth"]
    cells = [num(nest_truth["max_abs"][n]) for n in ("V_m", "s_AMPA", "s_GABA", "s_NMDA", "I_AMPA", "I_GABA", "I_NMDA")]
    assert f"| {WITH_TRUTH} | 0.001 | " + " | ".join(cells) + " | identical |" in section
    assert f"| {WITHOUT_TRUTH} |" not in section and f"* {WITHOUT_TRUTH}: no stored truth reference" in section
    assert f"* {STALE_TRUTH}: the stored truth reference is not usable" in section
    assert "](accuracy/nest-vs-truth.png)" in section
    # Each scenario's own ladder, the reimplementation as the candidate
    own = markdown.split(f"### {WITH_TRUTH}")[1]
    assert ("**accuracy ladder** (max |difference| per recordable, python as the candidate; against the stored "
            "truth") in own
    assert f"| V_m (mV) | 0 | {cells[0]} | {cells[0]} |" in own
    assert "no stored truth, so nothing measured against it" in markdown.split(f"### {WITHOUT_TRUTH}")[1]
    doc = json.loads((folder / "summary.json").read_text())
    assert doc["report"]["accuracy"]["figures"] == ["accuracy/nest-vs-truth.png"]
    assert {s["scenario"]: s["ladder"]["nest_truth"] for s in doc["scenarios"]}[WITH_TRUTH] == nest_truth
    assert "accuracy ladder: 1 of 3 scenarios measured against the stored truth" in out


@pytest.mark.nest
def test_the_reports_figure_is_a_png_embedded_in_the_page(report_run):
    folder = report_run[3]
    png = (folder / "accuracy" / "nest-vs-truth.png").read_bytes()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (750, 890)  # 7.5 in at 100 dpi; 3 panels of 2.1 in + 2.6 in
    page = (folder / "report.html").read_text()
    assert base64.b64encode(png).decode("ascii") in page
    assert '<table id="nest-truth-table">' in page and f'<table id="ladder-{WITH_TRUTH}">' in page


# ------------------------------------------------------------------------------------------- without NEST
def _outcome(name, nest_truth: dict | None, moved: dict | None = None, tol=1e-3):
    """A ScenarioOutcome-like record with a ladder of the given NEST-truth distances and convergence figures."""
    if nest_truth is None:
        return SimpleNamespace(scenario=name, truth=None, truth_note=f"no stored truth reference {name}",
                               gsl_error_tol=tol, ladder=Ladder(Distance({"V_m": 0.0}, "identical"), None, None))
    distance = Distance(dict(nest_truth), "identical")
    convergence = Distance(dict(moved or {k: 0.0 for k in nest_truth}), "identical")
    return SimpleNamespace(scenario=name, truth={"path": f"truth/{name}.npz"}, truth_note=f"stored truth {name}",
                           gsl_error_tol=tol, ladder=Ladder(distance, distance, distance, convergence))


def test_the_section_marks_unconverged_cells_and_lists_scenarios_without_a_truth():
    outcomes = [_outcome("a", {"V_m": 1e-9, "I_GABA": 2.0}, {"V_m": 1e-10, "I_GABA": 1e-6}),  # V_m: moved 10 %
                _outcome("b", {"V_m": 0.0, "I_GABA": float("nan")}, tol=1e-8), _outcome("c", None)]
    section = accuracy_section(outcomes)
    assert section.header == ("scenario", "gsl_error_tol", "V_m (mV)", "I_GABA (pA)", "spikes")
    # a NaN distance is never converged (harness.judge.distances.truth_converged): it is marked too
    assert section.rows == [("a", "0.001", f"1e-09 {NOT_CONVERGED}", "2", "identical"),
                            ("b", "1e-08", "0", f"NaN {NOT_CONVERGED}", "identical")]
    assert section.unconverged == [("a", ["V_m"]), ("b", ["I_GABA"])]
    assert section.without_truth == [("c", "no stored truth reference c")]
    assert ladder_counts(outcomes) == {"measured": 2, "without_truth": 1, "unconverged": 2,
                                       "without_truth_scenarios": ["c"], "unconverged_scenarios": ["a", "b"]}
    line = summary_line(outcomes)
    assert line.startswith("accuracy ladder: 2 of 3 scenarios measured against the stored truth; NEST's largest "
                           "distance to it: V_m 1e-09 mV (a), I_GABA 2 pA (a)")
    assert "truth NOT converged in a, b" in line and "no stored truth for c" in line
    (figure,) = section.figures
    image = Image.open(io.BytesIO(figure.png))
    assert image.format == "PNG" and image.size == (figure.width, figure.height) == (750, 680)  # 2 panels
    assert figure.name == "accuracy/nest-vs-truth.png" and section.no_figure is None


def test_extra_figures_join_the_section_and_no_measurement_means_no_figure():
    from harness.report.accuracy import AccuracyFigure, figure_from_png

    png = io.BytesIO()
    Image.new("RGB", (12, 7), "white").save(png, format="PNG")
    extra = figure_from_png(png.getvalue(), "convergence-stiff_dt1", "alt", "caption")
    assert isinstance(extra, AccuracyFigure) and (extra.width, extra.height) == (12, 7)
    section = accuracy_section([_outcome("a", {"V_m": 1e-9})], [extra])
    assert [f.name for f in section.figures] == ["accuracy/nest-vs-truth.png", "accuracy/convergence-stiff_dt1.png"]
    empty = accuracy_section([_outcome("c", None)])
    assert empty.rows == [] and empty.figures == [] and empty.no_figure.startswith("no figure: no scenario")


def test_a_scenario_whose_runs_ended_is_listed_with_its_reason_but_not_counted_as_without_a_truth():
    ended = SimpleNamespace(scenario="d", truth=None, truth_note="no accuracy ladder: ran past the time limit",
                            gsl_error_tol=1e-3, ladder=None)
    outcomes = [_outcome("a", {"V_m": 1e-9}), ended]
    assert ladder_counts(outcomes)["without_truth"] == 0 and ladder_counts(outcomes)["measured"] == 1
    assert accuracy_section(outcomes).without_truth == [("d", "no accuracy ladder: ran past the time limit")]
