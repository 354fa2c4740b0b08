"""Every output path failure is one line, exit 2 (1 for a refused overwrite), checked before the work where it can
be (issue 15, item 6): `report --force` over a folder that holds more than a report, a malformed `--baseline`,
`selftest --json`, `candidates report --out`, and the fuzz `--regressions-dir`.

The work of each command is stubbed with something that raises if called, so a test fails if the runs start
before the check; each command's positive control proves the stub sits on the path that the command really takes.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import REFERENCE_DIR, SCENARIO_DIR

from harness.cli import main
from harness.errors import UsageError
from harness.fuzz.regressions import write_regression
from harness.report.baseline import diff_against_baseline, load_baseline
from harness.report.folder import check_out_dir, write_report_folder

SHORT = str(SCENARIO_DIR / "ampa_only.yaml")
STARTED = "the work started before the output path was checked"


def _refuse(*args, **kwargs):
    raise AssertionError(STARTED)


def _one_line_error(capsys, *fragments):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], err


def _tree(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# ------------------------------------------------------------------------------------- report --force
@pytest.fixture
def no_report_run(monkeypatch):
    import harness.report.run as run

    monkeypatch.setattr(run, "run_report", _refuse)


def _a_report(folder: Path) -> Path:
    (folder / "figures").mkdir(parents=True)
    for name in ("summary.json", "report.html", "report.md", "figures/ampa_only.png"):
        (folder / name).write_bytes(b"old " + name.encode())
    return folder


@pytest.mark.parametrize("extra, shown", [("notes.txt", "notes.txt"), ("figures/notes.txt", "figures/notes.txt"),
                                          ("figures/sub/a.png", "figures/sub"), (".hidden", ".hidden")])
def test_force_never_replaces_a_report_folder_that_holds_anything_else(extra, shown, no_report_run, capsys,
                                                                       tmp_path):
    folder = _a_report(tmp_path / "r")
    (folder / extra).parent.mkdir(parents=True, exist_ok=True)
    (folder / extra).write_text("mine")
    before = _tree(folder)
    assert main(["report", SHORT, "--out", str(folder), "--force"]) == 2
    _one_line_error(capsys, f"holds {shown},", "never replaced, even with --force")
    assert _tree(folder) == before and sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    with pytest.raises(UsageError, match="which a report does not write"):  # checked again when writing
        write_report_folder(folder, {"summary.json": b"{}"}, force=True)
    assert _tree(folder) == before


def test_force_never_replaces_a_report_folder_holding_a_link(no_report_run, capsys, tmp_path):
    folder = _a_report(tmp_path / "r")
    (tmp_path / "elsewhere.txt").write_text("mine")
    (folder / "report.md").unlink()
    (folder / "report.md").symlink_to(tmp_path / "elsewhere.txt")
    assert main(["report", SHORT, "--out", str(folder), "--force"]) == 2
    _one_line_error(capsys, "holds report.md")


def test_force_still_replaces_a_folder_that_is_only_a_report(no_report_run, tmp_path):
    """The positive control: the same folder without the extra file passes the check, and the run starts."""
    folder = _a_report(tmp_path / "r")
    check_out_dir(folder, force=True)
    with pytest.raises(AssertionError, match=STARTED):
        main(["report", SHORT, "--out", str(folder), "--force"])
    write_report_folder(folder, {"summary.json": b"{}", "report.html": b"new"}, force=True)
    assert _tree(folder) == {"summary.json": b"{}", "report.html": b"new"}


def test_an_extra_file_without_force_is_refused_with_exit_2_not_1(no_report_run, capsys, tmp_path):
    folder = _a_report(tmp_path / "r")
    (folder / "notes.txt").write_text("mine")
    assert main(["report", SHORT, "--out", str(folder)]) == 2  # --force would not help: say so, not "pass --force"
    _one_line_error(capsys, "holds notes.txt")


# ------------------------------------------------------------------------------------------- --baseline
VALID = {"created": "2026-01-01T00:00:00+00:00", "provenance": {"harness_commit": "abc", "nest_version": "3.10.0"},
         "scenarios": [{"scenario": "a", "verdict": "pass"}],
         "comparisons": [{"scenario": "a", "pair": "nest-vs-python",
                          "variables": {"V_m": {"max_abs": 0.0}, "s_AMPA": {"max_abs": "inf"},
                                        "I_AMPA": {"max_abs": None}}},
                         {"scenario": "a", "pair": "stored-vs-nest", "variables": None}]}


def _with(path: str, value):
    """VALID with the value at ``path`` (keys and list indexes separated by '.') replaced, or removed (...)."""
    document = json.loads(json.dumps(VALID))
    *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]
    node = document
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return json.dumps(document)


MALFORMED = {
    "a list": ("[1, 2]", "not a report or gate summary"),
    "a verdict as a number": (_with("scenarios.0.verdict", 1), "scenarios[0].verdict is int 1, not a string"),
    "a scenario name as a list": (_with("scenarios.0.scenario", ["a"]), "scenarios[0].scenario is list"),
    "a missing scenario name": (_with("scenarios.0.scenario", ...), "scenarios[0].scenario is missing"),
    "a scenario as a string": (_with("scenarios.0", "a"), "scenarios[0] is str"),
    "a comparison without its pair": (_with("comparisons.0.pair", ...), "comparisons[0].pair is missing"),
    "variables as a list": (_with("comparisons.0.variables", [1]), "comparisons[0].variables is list"),
    "a variable as a number": (_with("comparisons.0.variables.V_m", 3), "variables.V_m is int 3, not an object"),
    "an error as a string": (_with("comparisons.0.variables.V_m.max_abs", "0.5"), 'max_abs is str "0.5"'),
    "an error as a boolean": (_with("comparisons.0.variables.V_m.max_abs", True), "max_abs is bool true"),
    "an error as NaN": (_with("comparisons.0.variables.V_m.max_abs", 0.0).replace("0.0", "NaN"), "NaN is not JSON"),
    "an error as Infinity": (_with("comparisons.0.variables.V_m.max_abs", 0.0).replace("0.0", "-Infinity"),
                             "-Infinity is not JSON"),
    "an error that overflows": (_with("comparisons.0.variables.V_m.max_abs", 10 ** 400), "allowed: a finite number"),
    "an error past float": (_with("comparisons.0.variables.V_m.max_abs", 0.0).replace("0.0", "1e999"),
                            "allowed: a finite number"),
    "created as a number": (_with("created", 5), "'created' is int 5"),
    "provenance as a list": (_with("provenance", []), "'provenance' is list"),
    "deep nesting": ("[" * 100_000 + "]" * 100_000, "not readable JSON"),
}


@pytest.mark.parametrize("shape", MALFORMED)
def test_a_malformed_baseline_is_one_line_exit_2_before_the_work(shape, no_report_run, capsys, tmp_path):
    text, message = MALFORMED[shape]
    (tmp_path / "summary.json").write_text(text)
    assert main(["report", SHORT, "--out", str(tmp_path / "r"), "--baseline", str(tmp_path)]) == 2
    _one_line_error(capsys, f"--baseline {tmp_path / 'summary.json'}:", message)
    assert len(capsys.readouterr().err) < 1000 and not (tmp_path / "r").exists()


def test_a_well_formed_baseline_is_read_and_diffed(no_report_run, tmp_path):
    """The positive control: VALID itself (every allowed form of an error) passes the check, and the run starts."""
    (tmp_path / "summary.json").write_text(json.dumps(VALID))
    source, document = load_baseline(tmp_path)
    new = {"scenarios": [{"scenario": "a", "verdict": "regression"}],
           "comparisons": [{"scenario": "a", "pair": "nest-vs-python", "variables": {"V_m": {"max_abs": 1.0}}}]}
    diff = diff_against_baseline(source, document, new)
    assert diff.newly_failing == [("a", "pass", "regression")]
    assert diff.grew == [("a", "nest-vs-python", "V_m", 0.0, 1.0)]
    with pytest.raises(AssertionError, match=STARTED):
        main(["report", SHORT, "--out", str(tmp_path / "r"), "--baseline", str(tmp_path)])


# ------------------------------------------------------------------------------------------ selftest --json
SELFTEST = ["selftest", "--variant", "spike-jump-late", "--workers", "1", "--json"]


@pytest.fixture
def no_selftest(monkeypatch):
    import harness.judge.selftest as selftest

    monkeypatch.setattr(selftest, "run_selftest", _refuse)


def _bad_paths(tmp_path, suffix=".json"):
    """A folder, a path under a file, and a path in the reference folder."""
    (tmp_path / "file").write_text("x")
    return [(str(tmp_path), "is a folder"), (str(tmp_path / "file" / f"s{suffix}"), "is a file, not a folder"),
            (str(REFERENCE_DIR / f"selftest{suffix}"), "is inside the reference folder")]


def test_selftest_json_paths_are_refused_before_the_runs(no_selftest, capsys, tmp_path):
    before = sorted(p.name for p in REFERENCE_DIR.iterdir())
    for path, message in _bad_paths(tmp_path):
        assert main([*SELFTEST, path]) == 2, path
        _one_line_error(capsys, f"--json {path}", message)
    assert sorted(p.name for p in REFERENCE_DIR.iterdir()) == before
    with pytest.raises(AssertionError, match=STARTED):  # the positive control: a good path reaches the runs
        main([*SELFTEST, str(tmp_path / "s.json")])


def test_selftest_json_that_fails_while_written_is_one_line(monkeypatch, capsys, tmp_path):
    import harness.judge.selftest as selftest
    import harness.report.summary as summary

    done = SimpleNamespace(control=SimpleNamespace(status="pass"), catches=[], ok=True)
    monkeypatch.setattr(selftest, "run_selftest", lambda *a, **k: done)
    monkeypatch.setattr(selftest, "selftest_table", lambda result: "table")
    monkeypatch.setattr(selftest, "selftest_json", lambda result: {})

    def full_disk(path, document):
        raise OSError(28, os.strerror(28), str(path))

    monkeypatch.setattr(summary, "write_json", full_disk)
    assert main([*SELFTEST, str(tmp_path / "s.json")]) == 2
    _one_line_error(capsys, f"--json {tmp_path / 's.json'}: cannot write: No space left on device")


# ------------------------------------------------------------------------------ candidates report --out
@pytest.fixture
def no_candidate_runs(monkeypatch):
    import harness.candidates.parity as parity
    import harness.candidates.registry as registry

    monkeypatch.setattr(parity, "collect", _refuse)
    monkeypatch.setattr(registry, "get_candidate", _refuse)


def test_candidates_report_out_is_refused_before_the_runs(no_candidate_runs, capsys, tmp_path):
    before = sorted(p.name for p in REFERENCE_DIR.iterdir())
    (tmp_path / "r.json").mkdir()  # the JSON summary's path, beside a good .md name
    for path, message in [*_bad_paths(tmp_path, ".md"), (str(tmp_path / "r.md"), "r.json: is a folder"),
                          (str(tmp_path / "x.json"), "give a .md name")]:
        assert main(["candidates", "report", "brainpy", "--out", path]) == 2, path
        _one_line_error(capsys, "--out", message)
    assert sorted(p.name for p in REFERENCE_DIR.iterdir()) == before
    with pytest.raises(AssertionError, match=STARTED):
        main(["candidates", "report", "brainpy", "--out", str(tmp_path / "ok.md")])


# ------------------------------------------------------------------------------------ fuzz --regressions-dir
def test_fuzz_regressions_dir_under_a_file_is_refused_before_fuzzing(monkeypatch, capsys, tmp_path):
    import harness.fuzz.run as run

    monkeypatch.setattr(run, "_fuzz", _refuse)
    (tmp_path / "file").write_text("x")
    for path, message in [(tmp_path / "file" / "regressions", "is a file, not a folder"),
                          (tmp_path / "file", "exists and is not a folder")]:
        assert main(["fuzz", "--examples", "1", "--regressions-dir", str(path)]) == 2
        _one_line_error(capsys, f"--regressions-dir {path}", message)
    with pytest.raises(AssertionError, match=STARTED):
        main(["fuzz", "--examples", "1", "--regressions-dir", str(tmp_path / "regressions")])


def test_a_regression_that_cannot_be_written_is_one_usage_error(monkeypatch, tmp_path):
    import harness.fuzz.regressions as regressions

    def full_disk(src, dst):
        raise OSError(28, os.strerror(28))

    monkeypatch.setattr(regressions.os, "link", full_disk)
    raw = {"name": "x", "duration": 1.0}
    with pytest.raises(UsageError, match=r"--regressions-dir .*: cannot write: No space left on device$"):
        write_regression(raw, "failed.", tmp_path / "regressions")
    assert list((tmp_path / "regressions").iterdir()) == []  # no temporary file left behind
    monkeypatch.undo()
    path, created = write_regression(raw, "failed.", tmp_path / "regressions")  # the control: it writes
    assert created and path.is_file()
