"""Exit codes of every command: 0 success, 1 refused/failed, 2 bad input or usage."""
import subprocess
import sys

import pytest
from conftest import REPO, SCENARIO_DIR

from harness.cli import main


def test_validate_ok(capsys):
    assert main(["validate", str(SCENARIO_DIR / "mixed_inputs.yaml")]) == 0
    assert "3 NMDA ports" in capsys.readouterr().out


@pytest.mark.nest
def test_run_prints_a_summary_and_saves(capsys, tmp_path):
    assert main(["run", str(SCENARIO_DIR / "dc_regular_firing.yaml"), "--save", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    assert "dc_regular_firing: 5000 samples, 27 spikes at 77.9" in out
    assert (tmp_path / "t.npz").exists()


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["validate"], ["run", "a.yaml", "--backend", "brian"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_run_bad_scenario_exits_2(capsys, write_scenario):
    assert main(["run", str(write_scenario("duration: -1.0\n"))]) == 2
    assert "duration: -1.0 ms is not positive" in capsys.readouterr().err


def test_module_and_console_script_agree():
    proc = subprocess.run([sys.executable, "-m", "harness", "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and "record" in proc.stdout
    script = REPO / ".venv" / "bin" / "nest-parity"
    if script.exists():  # installed by `make` into the project's venv
        proc = subprocess.run([str(script), "validate", str(SCENARIO_DIR / "rest_no_input.yaml")],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.nest
@pytest.mark.jax
def test_compare_with_the_jax_candidate_in_a_real_process():
    """`--candidate python-jax` is wired through the CLI (its own process: XLA flags must precede JAX)."""
    proc = subprocess.run([sys.executable, "-m", "harness", "compare", str(SCENARIO_DIR / "t_ref_off_grid.yaml"),
                           "--candidate", "python-jax"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nest (reference) vs python-jax (candidate), profile exact: PASS" in proc.stdout
    assert "38 reference / 38 candidate spikes" in proc.stdout


@pytest.mark.parametrize("argv, fragment", [
    (["fuzz", "--examples", "0"], "--examples"),
    (["fuzz", "--profile", "nightly"], "--profile"),
    (["candidates", "run"], "candidate"),
])
def test_fuzz_and_candidates_usage_errors_exit_2(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert fragment in capsys.readouterr().err


def test_unknown_candidate_exits_2(capsys):
    assert main(["candidates", "run", "brianport", str(SCENARIO_DIR / "rest_no_input.yaml")]) == 2
    assert "brianport" in capsys.readouterr().err


@pytest.mark.nest
def test_fuzz_command_runs_and_reports(capsys, tmp_path):
    code = main(["fuzz", "--examples", "2", "--seed", "5", "--regressions-dir", str(tmp_path / "reg"),
                 "--database", str(tmp_path / "db")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "checked" in out and "neuron-steps" in out and "integrator paths" in out
    assert not (tmp_path / "reg").exists() or not any((tmp_path / "reg").iterdir())


def test_version_prints_the_package_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"nest-parity {version('nest-parity')}"


@pytest.mark.parametrize("command", ["gate", "report"])
def test_gate_and_report_help_say_the_scenario_tolerance_block_is_not_used(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "a scenario's own tolerances block is not used here" in text and "the scenario's tolerances" not in text


# ------------------------------------------------------------------ output paths (issue 15, step 9)
# Every output that cannot be written is one line on stderr and exit 2, checked before the work where it
# can be; run --save never writes into a reference folder. NEST is replaced by a stored reference here,
# and a check that let the work start would call the stub that fails.
import errno  # noqa: E402
import os  # noqa: E402

from conftest import REFERENCE_DIR  # noqa: E402

from harness.traces.traces import Traces  # noqa: E402

SHORT = SCENARIO_DIR / "ports" / "brainpy" / "port_brainpy_short_mixed.yaml"


def _one_line_error(err, *fragments):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], err


def _in_process(monkeypatch):
    """The CLI's runs in this process instead of a worker (harness.judge.pool), so that a stub stands in for NEST.

    These tests are about output paths; the worker is tested in tests/test_runs.py.
    """
    import harness.commands as commands

    monkeypatch.setattr(commands, "_bounded", lambda args, task, *task_args, what: task(*task_args))


@pytest.fixture
def no_nest(monkeypatch):
    """NEST must not run: the path is refused first."""
    import harness.backends.nest as nest_backend

    def refuse(scenario, threads=None):
        raise AssertionError("the work started before the output path was checked")

    _in_process(monkeypatch)
    monkeypatch.setattr(nest_backend, "run_nest", refuse)


@pytest.fixture
def stub_nest(monkeypatch):
    """NEST's output for port_brainpy_short_mixed, from its stored reference (bit-identical to live NEST)."""
    import harness.backends.nest as nest_backend

    _in_process(monkeypatch)
    monkeypatch.setattr(nest_backend, "run_nest",
                        lambda scenario, threads=None: Traces.load(REFERENCE_DIR / scenario.name))


@pytest.mark.parametrize("target", ["reference_traces/OTHER", "reference_traces/ampa_only", "reference_traces/sub/x"])
def test_run_save_into_the_reference_folder_is_refused(target, no_nest, capsys, monkeypatch):
    before = sorted(p.name for p in REFERENCE_DIR.iterdir())
    monkeypatch.chdir(REFERENCE_DIR.parent)
    assert main(["run", str(SHORT), "--save", target]) == 2
    _one_line_error(capsys.readouterr().err, "is a reference folder", "nest-parity record")
    assert sorted(p.name for p in REFERENCE_DIR.iterdir()) == before


def test_run_save_into_the_checkouts_reference_folder_from_elsewhere_is_refused(no_nest, capsys, tmp_path,
                                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(SHORT), "--save", str(REFERENCE_DIR / "OTHER")]) == 2
    _one_line_error(capsys.readouterr().err, "is a reference folder")
    assert not (REFERENCE_DIR / "OTHER.npz").exists()


def test_run_save_onto_a_recorded_reference_elsewhere_is_refused(no_nest, capsys, tmp_path):
    Traces.load(REFERENCE_DIR / "ampa_only").save(tmp_path / "ampa_only")  # a copy of a recorded reference
    before = (tmp_path / "ampa_only.npz").read_bytes()
    assert main(["run", str(SHORT), "--save", str(tmp_path / "ampa_only")]) == 2
    _one_line_error(capsys.readouterr().err, "is a reference folder")
    assert (tmp_path / "ampa_only.npz").read_bytes() == before


def test_run_save_into_a_missing_folder_or_under_a_file(no_nest, capsys, tmp_path):
    assert main(["run", str(SHORT), "--save", str(tmp_path / "missing" / "t")]) == 2
    _one_line_error(capsys.readouterr().err, "does not exist")
    (tmp_path / "file").write_text("x")
    assert main(["run", str(SHORT), "--save", str(tmp_path / "file" / "t")]) == 2
    _one_line_error(capsys.readouterr().err, "is not a folder")
    (tmp_path / "t.npz").mkdir()
    assert main(["run", str(SHORT), "--save", str(tmp_path / "t")]) == 2
    _one_line_error(capsys.readouterr().err, "is a folder")


def test_run_save_keeps_the_whole_name(stub_nest, capsys, tmp_path):
    assert main(["run", str(SHORT), "--save", str(tmp_path / "t.v2")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.v2.json", "t.v2.npz"]
    assert Traces.load(tmp_path / "t.v2").equals_exactly(Traces.load(REFERENCE_DIR / SHORT.stem))


def test_run_save_on_a_full_disk_is_one_line(stub_nest, capsys, tmp_path, monkeypatch):
    import harness.traces.traces as traces_module

    def full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(traces_module, "_atomic_write", full)
    assert main(["run", str(SHORT), "--save", str(tmp_path / "t")]) == 2
    _one_line_error(capsys.readouterr().err, "--save", "No space left on device")


def _compare(*extra):
    return main(["compare", str(SHORT), "--reference", "stored", "--candidate", "stored", *extra])


@pytest.mark.parametrize("option", ["--json", "--junit"])
def test_compare_output_on_a_folder_or_under_a_file_is_refused_before_the_work(option, capsys, tmp_path):
    assert _compare(option, str(tmp_path)) == 2
    captured = capsys.readouterr()
    _one_line_error(captured.err, option, "is a folder")
    assert "PASS" not in captured.out  # refused before the comparison ran
    (tmp_path / "file").write_text("x")
    assert _compare(option, str(tmp_path / "file" / "out")) == 2
    _one_line_error(capsys.readouterr().err, "is a file, not a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; the write-time test covers it")
def test_compare_json_into_a_read_only_folder_is_refused_before_the_work(capsys, tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    assert _compare("--json", str(tmp_path / "ro" / "c.json")) == 2
    _one_line_error(capsys.readouterr().err, "is not writable")


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC, errno.EACCES])
@pytest.mark.parametrize("option", ["--json", "--junit"])
def test_compare_output_failing_while_written_is_one_line(option, code, capsys, tmp_path, monkeypatch):
    import harness.traces.atomic as atomic

    def fails(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", fails)
    assert _compare(option, str(tmp_path / "out")) == 2
    _one_line_error(capsys.readouterr().err, option, os.strerror(code))


def test_compare_json_onto_a_references_readable_copy_is_refused(capsys, tmp_path):
    Traces.load(REFERENCE_DIR / "ampa_only").save(tmp_path / "ampa_only")
    before = (tmp_path / "ampa_only.json").read_bytes()
    assert _compare("--json", str(tmp_path / "ampa_only.json")) == 2
    _one_line_error(capsys.readouterr().err, "readable provenance")
    assert (tmp_path / "ampa_only.json").read_bytes() == before
    assert _compare("--json", str(REFERENCE_DIR / "report.json")) == 2
    _one_line_error(capsys.readouterr().err, "inside the reference folder")


def test_gate_json_on_a_folder_is_refused_before_the_gate_runs(capsys, tmp_path, monkeypatch):
    import harness.judge.gate as gate

    monkeypatch.setattr(gate, "run_gate", lambda *a, **k: (_ for _ in ()).throw(AssertionError("gate ran")))
    assert main(["gate", str(SHORT), "--json", str(tmp_path), "--junit", str(tmp_path / "j.xml")]) == 2
    _one_line_error(capsys.readouterr().err, "--json", "is a folder")


def test_record_dir_under_a_file_is_refused_before_nest(no_nest, capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    assert main(["record", str(SHORT), "--dir", str(tmp_path / "file" / "refs")]) == 2
    _one_line_error(capsys.readouterr().err, "--dir", "is a file, not a folder")
    assert main(["record", str(SHORT), "--dir", str(tmp_path / "file")]) == 2
    _one_line_error(capsys.readouterr().err, "--dir", "is not a folder")


def test_record_on_a_full_disk_is_one_line_and_keeps_the_old_reference(stub_nest, capsys, tmp_path, monkeypatch):
    import harness.traces.traces as traces_module

    refs = tmp_path / "refs"
    assert main(["record", str(SHORT), "--dir", str(refs)]) == 0
    before = {p.name: p.read_bytes() for p in refs.iterdir()}
    real_savez = traces_module.np.savez

    def full(f, **arrays):
        f.write(b"PK half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(traces_module.np, "savez", full)
    assert main(["record", str(SHORT), "--dir", str(refs), "--force"]) == 0  # identical: nothing to write
    (refs / f"{SHORT.stem}.npz").write_bytes(b"garbage")  # now it must be written
    before[f"{SHORT.stem}.npz"] = b"garbage"
    capsys.readouterr()
    assert main(["record", str(SHORT), "--dir", str(refs), "--force"]) == 2
    _one_line_error(capsys.readouterr().err, "No space left on device", "nest-parity record", "--force")
    assert {p.name: p.read_bytes() for p in refs.iterdir()} == before  # no temporary file, nothing half-written
    monkeypatch.setattr(traces_module.np, "savez", real_savez)
    assert main(["record", str(SHORT), "--dir", str(refs), "--force"]) == 0  # repaired once there is room
    assert Traces.load(refs / SHORT.stem).equals_exactly(Traces.load(REFERENCE_DIR / SHORT.stem))


def test_report_out_under_a_file_is_refused_before_the_work(capsys, tmp_path, monkeypatch):
    import harness.report.run as report_run

    monkeypatch.setattr(report_run, "run_report", lambda *a, **k: (_ for _ in ()).throw(AssertionError("ran")))
    (tmp_path / "file").write_text("x")
    assert main(["report", str(SHORT), "--out", str(tmp_path / "file" / "r")]) == 2
    _one_line_error(capsys.readouterr().err, "--out", "is a file, not a folder")
    assert main(["report", str(SHORT), "--out", str(REFERENCE_DIR / "r")]) == 2
    _one_line_error(capsys.readouterr().err, "--out", "inside a reference folder")


def test_report_folder_failing_while_written_is_one_line(tmp_path, monkeypatch):
    from harness.errors import UsageError
    from harness.report import folder

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(folder.os, "fsync", full)
    with pytest.raises(UsageError, match="--out .*: cannot write the report: No space left on device"):
        folder.write_report_folder(tmp_path / "r", {"summary.json": b"{}"}, force=False)
    assert list(tmp_path.iterdir()) == []
