"""Convergence studies (harness.truth.convergence) and the scenario variants they run (harness.scenario.variants).

The fast tests build variants, fit slopes and draw figures of made-up studies, and check the command's input
and folder rules; the live ones sweep gsl_error_tol on a short stiff scenario in NEST and check that NEST's
distance to the truth falls with the tolerance, that the in-house engine's equals NEST's bit for bit at every
tolerance, and that the command writes its folder once.
"""
import io
import json
import math

import numpy as np
import pytest
from conftest import REFERENCE_DIR, SCENARIO_DIR

from harness.cli import main
from harness.errors import OverwriteRefused, ScenarioError, UsageError
from harness.judge.distances import Distance
from harness.scenario.schema import load_scenario
from harness.scenario.variants import parse_key_path, variant
from harness.truth.convergence import (
    DEFAULT_LADDER,
    FIT_MARGIN,
    Point,
    Study,
    TruthRun,
    convergence_study,
    default_tols,
    plan,
    study_figure,
)
from harness.truth.convergence_cli import STUDY_FILES, check_study_dir, write_study_folder

STIFF = SCENARIO_DIR / "stiff_dt1.yaml"
NAMES = ("V_m", "s_AMPA", "I_AMPA")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def short_stiff(tmp_path):
    """stiff_dt1 cut to 100 ms: its RKF45 still takes many tries a step around the inputs, and the truth is
    solved in about a second."""
    text = STIFF.read_text().replace("duration: 300.0", "duration: 100.0").replace("name: stiff_dt1",
                                                                                   "name: stiff_short")
    path = tmp_path / "stiff_short.yaml"
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------- variants
def test_a_variant_replaces_fields_by_key_path_and_is_validated_and_named_by_what_changed():
    base = load_scenario(STIFF)
    v = variant(base, {"params.gsl_error_tol": 1e-6, "resolution": 0.5})
    assert v.name == "stiff_dt1@gsl_error_tol=1e-06,resolution=0.5"
    assert v.params["gsl_error_tol"] == 1e-6 and v.resolution == 0.5 and v.n_steps == 600
    assert v.inputs[1].spike_steps.tolist() == [60, 62, 180, 300]  # the same times on the finer grid
    assert v.content_hash != base.content_hash and v.path == base.path
    assert variant(base, {"inputs[2].weight": 3.0}).inputs[2].weight == 3.0
    assert variant(base, {}) is base


def test_a_variant_creates_a_missing_mapping_and_reaches_into_populations():
    plain = load_scenario(SCENARIO_DIR / "large_weights.yaml")  # no params: block at all
    assert variant(plain, {"params.gsl_error_tol": 1e-7}).params["gsl_error_tol"] == 1e-7
    net = load_scenario(SCENARIO_DIR / "net_stiff_neighbours.yaml")
    v = variant(net, {"populations.F.params.gsl_error_tol": 1e-7, "populations.Q.n": 2})
    assert v.network.params["gsl_error_tol"].tolist() == [1e-8, 1e-7, 1e-3, 1e-3]  # Q keeps NEST's default


def test_an_invalid_variant_names_the_key_path_and_the_problem():
    base = load_scenario(STIFF)
    with pytest.raises(ScenarioError) as caught:
        variant(base, {"resolution": 0.3})  # spike times and delays off the 0.3 ms grid
    assert "stiff_dt1.yaml with resolution=0.3" in str(caught.value)
    assert any(key == "inputs[1].delay" for key, _ in caught.value.problems)
    with pytest.raises(ScenarioError, match=r"params\.gsl_error_tol: 1e-12 is outside the range"):
        variant(base, {"params.gsl_error_tol": 1e-12})
    with pytest.raises(UsageError, match=r"inputs has 5 entries, so it has no entry \[9\]"):
        variant(base, {"inputs[9].weight": 1.0})
    with pytest.raises(UsageError, match="resolution is not a mapping"):
        variant(base, {"resolution.x": 1.0})
    with pytest.raises(UsageError, match="is not a key"):
        parse_key_path("params..gsl_error_tol")
    assert parse_key_path("inputs[2].spike_times[0]") == ["inputs", 2, "spike_times", 0]


def test_a_variant_refuses_a_scenario_whose_file_changed_since_it_was_loaded(short_stiff):
    base = load_scenario(short_stiff)
    short_stiff.write_text(short_stiff.read_text().replace("weight: 50.0", "weight: 51.0"))
    with pytest.raises(UsageError, match="the file changed since"):
        variant(base, {"params.gsl_error_tol": 1e-6})


def test_the_plan_refuses_bad_tolerances_and_resolutions_before_anything_runs():
    base = load_scenario(STIFF)
    for tols, resolutions, message in (([0.0], None, "allowed: a positive number"),
                                       ([math.nan], None, "allowed: a positive number"),
                                       ([1e-3, 1e-3], None, "given twice"),
                                       ([], None, "no gsl_error_tol"),
                                       ([1e-3], [0.0005], "not a whole number of NEST tics")):
        with pytest.raises(UsageError, match=message):
            plan(base, tols, resolutions)
    assert default_tols(base) == list(DEFAULT_LADDER)  # its own 1e-8 is a decade of the ladder
    odd = variant(base, {"params.gsl_error_tol": 3e-7})
    assert 3e-7 in default_tols(odd) and default_tols(odd) == sorted(default_tols(odd), reverse=True)


# ---------------------------------------------------------------------------------------------- made-up studies
def made_up_study(resolutions=(1.0,), candidate=None, moved=1e-12, spikes_differ_at=None) -> Study:
    """NEST's error = 3 tol r (slope 1), but 5e-12 at tol 1e-11 (below 10 x the truth's 1e-12, so not fitted);
    a candidate's flat at 1e-7 (slope 0)."""
    tols = [1e-3, 1e-5, 1e-7, 1e-9, 1e-11]
    truths = [TruthRun(r, f"s@resolution={r}", Distance({n: moved for n in NAMES}, "identical"),
                       {"V_m": 70.0, "s_AMPA": 5.0, "I_AMPA": 100.0, "s_GABA": 0.0}, 1.0) for r in resolutions]
    points = []
    for r in resolutions:
        for tol in tols:
            nest = Distance({n: 3 * tol * r if tol > 1e-10 else 5e-12 for n in NAMES},
                            "differ" if tol == spikes_differ_at else "identical")
            cand = Distance({n: 1e-7 for n in NAMES}, "identical") if candidate else None
            points.append(Point(tol, r, f"s@gsl_error_tol={tol!r}", nest, 0.1, cand, 0.1 if candidate else None))
    return Study("made_up", "made_up.yaml", "sha256:0", 1e-5, resolutions[0], tols, list(resolutions), "DOP853",
                 1e-12, candidate, truths, points, 5.0, recorded=("V_m", "s_AMPA", "s_GABA", "I_AMPA"))


def test_the_fitted_slope_uses_the_points_above_the_round_off_level_only():
    study = made_up_study(candidate="python")
    fit = study.fit("nest", 1.0)["V_m"]
    # 5e-12 (tol 1e-11) is within FIT_MARGIN of the truth's 1e-12: left out; the four others lie on 3 tol.
    assert 5e-12 < FIT_MARGIN * 1e-12 and (fit.used, fit.of) == (4, 5)
    assert fit.slope == pytest.approx(1.0, abs=1e-12) and fit.intercept == pytest.approx(math.log10(3), abs=1e-12)
    assert study.fit("candidate", 1.0)["V_m"].slope == pytest.approx(0.0, abs=1e-12)
    assert study.zero_recordables == ["s_GABA"] and study.recordables == list(NAMES)
    assert made_up_study(spikes_differ_at=1e-3).fit("nest", 1.0)["V_m"].used == 3  # measured only in part
    lone = made_up_study(moved=1e-4).fit("nest", 1.0)["V_m"]  # one point above 10 x 1e-4: no line
    assert (lone.slope, lone.used) == (None, 1)
    document = json.loads(json.dumps(study.to_json(), allow_nan=False))
    assert document["slopes"][0]["nest"]["V_m"]["points_used"] == 4
    assert document["zero_recordables"] == ["s_GABA"]


def test_the_table_shows_each_tolerance_the_slopes_and_the_truth_floor():
    table = made_up_study(candidate="python").table_markdown()
    assert "| 1e-05 (own) | 3e-05 / 1e-07 |" in table
    assert "| **slope** | 1.00 / 0.00 |" in table
    assert "5e-12* / 1e-07" in table  # the point at the round-off level is marked as not fitted
    assert "| truth moved at rtol/10 | 1e-12 |" in table
    assert "s_GABA" in table.splitlines()[1]  # said to be left out, and has no column
    assert "s_GABA (nS)" not in table


@pytest.mark.parametrize("resolutions, candidate", [((1.0,), None), ((1.0,), "python"), ((1.0, 0.5), "python")])
def test_the_figure_is_a_png_of_print_width(resolutions, candidate):
    from PIL import Image

    png = study_figure(made_up_study(resolutions, candidate))
    assert png.startswith(PNG_MAGIC)
    image = Image.open(io.BytesIO(png))
    image.verify()
    width, height = image.size
    assert width == 900 and height > 300  # 7.5 in at 120 dpi
    if len(resolutions) > 1:  # the second block of panels: the distance against the resolution
        assert height > 2 * 300


# ---------------------------------------------------------------------------------------------- the folder
def test_the_study_folder_is_replaced_only_with_force_and_never_when_it_holds_other_files(tmp_path):
    out = tmp_path / "study"
    files = {name: b"first" for name in STUDY_FILES}
    write_study_folder(out, files, force=False)
    assert sorted(p.name for p in out.iterdir()) == sorted(STUDY_FILES)
    with pytest.raises(OverwriteRefused):
        check_study_dir(out, force=False)
    write_study_folder(out, {name: b"second" for name in STUDY_FILES}, force=True)
    assert (out / STUDY_FILES[0]).read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]  # no temporary or old folder left
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="never replaced, even with --force"):
        check_study_dir(out, force=True)


@pytest.mark.parametrize("argv, message", [
    (["--tols", "0"], "allowed: a positive number"),
    (["--tols", "1e-3", "abc"], "allowed: a positive number"),
    (["--tols", "1e-12"], "params.gsl_error_tol: 1e-12 is outside the range"),
    (["--resolutions", "0.0005"], "not a whole number of NEST tics"),
    (["--resolutions", "0.3"], "is off the 0.3 ms grid"),
    (["--candidate", "nope"], "unknown candidate 'nope'"),
])
def test_bad_input_exits_2_with_a_message_before_anything_runs(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    try:
        code = main(["convergence", str(STIFF), "--out", str(out), *argv])
    except SystemExit as exc:  # argparse's own refusal of a value
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


# ---------------------------------------------------------------------------------------------- live NEST
@pytest.mark.nest
def test_nest_s_error_falls_with_the_tolerance_and_the_engine_equals_nest_at_every_one(short_stiff):
    scenario = load_scenario(short_stiff)
    study = convergence_study(scenario, [1e-4, 1e-6, 1e-8], candidate="python")
    errors = [p.nest.get("V_m") for p in study.points]
    assert errors[-1] < errors[0] / 100  # four decades of tolerance
    fit = study.fit("nest", scenario.resolution)["V_m"]
    assert fit.used == 3 and fit.slope > 0.5
    for p in study.points:  # the exact engine mirrors RKF45 bit for bit: the same distance to the truth
        assert p.candidate.variables == p.nest.variables and p.nest.spikes == "identical"
    assert study.own_point().gsl_error_tol == 1e-8
    assert study_figure(study).startswith(PNG_MAGIC)


@pytest.mark.nest
def test_a_study_takes_the_truth_from_the_stored_reference_when_it_is_valid(short_stiff):
    scenario = load_scenario(STIFF)
    stored = convergence_study(scenario, [1e-8], reference_dir=REFERENCE_DIR)
    assert stored.truths[0].source.startswith("stored truth reference")
    assert stored.truths[0].convergence is not None  # the reference carries its convergence figure
    short = load_scenario(short_stiff)  # no reference of its own: solved
    assert convergence_study(short, [1e-8], reference_dir=REFERENCE_DIR).truths[0].source == "solved now"
    assert stored.own_point().nest.get("V_m") == pytest.approx(6.6e-9, rel=0.05)  # README, Convergence studies


@pytest.mark.nest
def test_the_command_writes_its_three_files_once(short_stiff, tmp_path, capsys):
    out = tmp_path / "study"
    argv = ["convergence", str(short_stiff), "--tols", "1e-4", "1e-7", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| **slope** |" in printed and f"wrote {out}/" in printed
    assert sorted(p.name for p in out.iterdir()) == sorted(STUDY_FILES)
    document = json.loads((out / "convergence.json").read_text())
    assert document["gsl_error_tols"] == [1e-4, 1e-7] and document["command"].startswith("nest-parity convergence")
    assert document["truth"][0]["convergence"]["spikes"] == "identical"
    assert "![convergence](convergence.png)" in (out / "convergence.md").read_text()
    assert (out / "convergence.png").read_bytes().startswith(PNG_MAGIC)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(argv) == 1  # refused before anything runs; the study is left as it was
    assert "pass --force" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.slow
@pytest.mark.nest
def test_a_network_study_sets_the_tolerance_of_every_population(write_scenario):
    path = write_scenario("""\
        name: net_pair_short
        resolution: 0.1
        duration: 60.0
        populations:
          D: {n: 1, params: {gsl_error_tol: 1.0e-8}}
          R: {n: 1, initial: {V_m: -62.0}}
        connections:
          - {source: D, target: R, rule: one_to_one, receptor: AMPA, weight: 2000.0, delay: 1.0}
        inputs:
          - {device: dc_generator, target: D, amplitude: 600.0, delay: 1.0}
          - {device: spike_generator, target: R, receptor: GABA, weight: 20000.0, spike_times: [5.0, 30.0]}
        """)  # weights large enough that RKF45's first try of a step fails at 1e-3 (modest ones pass at 1e-7)
    scenario = load_scenario(path)
    (_, _, runs), = plan(scenario, [1e-3, 1e-7])
    assert [v.network.params["gsl_error_tol"].tolist() for _, v in runs] == [[1e-3, 1e-3], [1e-7, 1e-7]]
    assert runs[0][1].name == "net_pair_short@gsl_error_tol=0.001"
    study = convergence_study(scenario, [1e-3, 1e-7])
    assert study.own_tol is None  # its populations differ
    first, last = (p.nest.get("V_m") for p in study.points)
    assert np.isfinite(first) and last < first / 100
