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
