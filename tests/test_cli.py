"""Exit codes of every command: 0 success, 1 refused/failed, 2 bad input or usage."""
import subprocess
import sys

import pytest

from harness.cli import main

from conftest import REPO, SCENARIO_DIR


def test_validate_ok(capsys):
    assert main(["validate", str(SCENARIO_DIR / "mixed_inputs.yaml")]) == 0
    assert "3 NMDA ports" in capsys.readouterr().out


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
