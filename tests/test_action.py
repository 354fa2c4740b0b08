"""The GitHub Action (action.yml): its structure, and its steps run locally in a temporary port repository.

GitHub is not needed for the steps that run nest-parity: ``LocalAction`` reads action.yml, fills each step's
``env:`` and ``working-directory`` from the inputs (defaults merged with the test's) and from the outputs of
the steps before, and runs its ``run:`` script as GitHub's ``shell: bash`` does (``bash --noprofile --norc
-eo pipefail FILE``), with $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY. The ``uses:`` steps (setup-python,
upload-artifact) are GitHub's; what they are given is checked by structure.
"""
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from conftest import REPO, SCENARIO_DIR

ACTION_FILE = REPO / "action.yml"
ACTION = yaml.safe_load(ACTION_FILE.read_text())
STEPS = ACTION["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SHORT = [str(SCENARIO_DIR / "stiff_dt1.yaml"), str(SCENARIO_DIR / "large_weights.yaml")]

BROKEN_PORT = '''
from harness.candidates import engine_inprocess


def run(inputs):
    """The in-house engine with V_m off by 1e-9 mV: a regression the exact profile catches."""
    arrays = engine_inprocess.run(inputs)
    arrays["V_m"] = arrays["V_m"] + 1e-9
    return arrays
'''
REGISTRY = '''candidates:
  engine:
    description: the in-house exact engine, in process
    python: harness.candidates.engine_inprocess:run
    protocols: [1, 2]
    profile: exact
  broken:
    description: the same, broken on purpose
    python: myport:run
    protocols: [1, 2]
    profile: exact
'''


def _step(step_id: str) -> dict:
    return next(s for s in STEPS if s.get("id") == step_id)


class LocalAction:
    """The action's bash steps, run here (module docstring)."""

    def __init__(self, workspace: Path, bin_dir: Path, **inputs):
        defaults = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
        unknown = set(inputs) - set(defaults)
        assert not unknown, f"not inputs of the action: {unknown}"
        self.inputs = {**defaults, **inputs}
        self.workspace, self.bin_dir = workspace, bin_dir
        self.outputs: dict[str, dict] = {}
        self.summary = workspace.parent / "step-summary.md"

    def value(self, expression: str) -> str:
        if expression.startswith("inputs."):
            return self.inputs[expression.removeprefix("inputs.")]
        if expression.startswith("steps."):
            step_id, kind, name = expression.removeprefix("steps.").split(".")
            assert kind == "outputs", expression
            return self.outputs.get(step_id, {}).get(name, "")
        return {"github.action_path": str(REPO), "github.workspace": str(self.workspace)}[expression]

    def fill(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m.group(1)), str(text))

    def run(self, step_id: str) -> subprocess.CompletedProcess:
        step = _step(step_id)
        script = self.workspace.parent / f"{step_id}.sh"
        script.write_text(step["run"])
        output = self.workspace.parent / f"{step_id}.output"
        output.write_text("")
        env = {"PATH": f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/tmp"),
               "PYTHONPATH": str(REPO), "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(self.summary),
               **{k: self.fill(v) for k, v in step.get("env", {}).items()}}
        cwd = self.fill(step.get("working-directory", "${{ github.workspace }}"))
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=900)
        self.outputs[step_id] = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        return done

    def run_all(self) -> dict:
        """setup, run and verdict, as the runner would (the install is left to the venv of these tests)."""
        done = {}
        for step_id in ("setup", "run", "verdict"):
            done[step_id] = self.run(step_id)
            if done[step_id].returncode != 0:
                break
        return done


@pytest.fixture
def port(tmp_path):
    """A port's repository: a git checkout with its candidates.yaml and its (broken) port module."""
    workspace = tmp_path / "port"
    workspace.mkdir()
    (workspace / "candidates.yaml").write_text(REGISTRY)
    (workspace / "myport.py").write_text(BROKEN_PORT)
    commit = ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "port"]
    for command in (["init", "-q"], ["add", "."], commit):
        subprocess.run(["git", *command], cwd=workspace, check=True, capture_output=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # `python` is the interpreter of these tests (with nest-parity importable), except that `-m pip` is only
    # written down: what the install step would install, not a download.
    (bin_dir / "python").write_text(f'''#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then shift 2; echo "$@" >> "{tmp_path}/pip.log"; exit 0; fi
exec "{sys.executable}" "$@"
''')
    (bin_dir / "python").chmod(0o755)
    return lambda **inputs: LocalAction(workspace, bin_dir, **inputs)


# ------------------------------------------------------------------------------ structure
def test_the_action_is_composite_and_every_input_it_uses_exists():
    assert ACTION["runs"]["using"] == "composite"
    text = ACTION_FILE.read_text()
    used = set(re.findall(r"\binputs\.([A-Za-z0-9_-]+)", text))
    assert used and used <= set(ACTION["inputs"]), f"undefined inputs: {used - set(ACTION['inputs'])}"
    assert set(ACTION["inputs"]) - used == set(), "an input no step reads"
    for name, spec in ACTION["inputs"].items():
        assert spec.get("description"), name
        assert spec.get("required", False) == ("default" not in spec), f"{name}: required xor a default"
    assert [s["uses"].split("@")[0] for s in STEPS if "uses" in s] == ["actions/setup-python",
                                                                      "actions/upload-artifact"]


def test_no_input_is_pasted_into_a_script_and_every_step_output_used_is_written():
    ids = [s["id"] for s in STEPS if "id" in s]
    for step in STEPS:
        if "run" in step:
            assert step["shell"] == "bash" and "${{" not in step["run"], step["name"]
    text = ACTION_FILE.read_text()
    for step_id, name in re.findall(r"steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)", text):
        assert step_id in ids, step_id
        assert re.search(rf'echo "{re.escape(name)}=', _step(step_id)["run"]), f"{step_id} never writes {name}"
    upload = next(s for s in STEPS if "uses" in s and "upload-artifact" in s["uses"])
    assert upload["with"]["path"] == "${{ steps.run.outputs.dir }}" and upload["if"] == "inputs.upload == 'true'"
    assert ids.index("run") < STEPS.index(upload) < STEPS.index(_step("verdict")), "upload before the verdict fails"


# ------------------------------------------------------------------------------ the steps, run here
def test_install_takes_this_checkout_by_default_and_the_given_spec_otherwise(port, tmp_path):
    assert port().run("install").returncode == 0
    assert port(**{"nest-parity": "nest-parity @ git+https://example.org/np@v1"}).run("install").returncode == 0
    assert (tmp_path / "pip.log").read_text().splitlines() == [
        f"install --disable-pip-version-check {REPO}",
        "install --disable-pip-version-check nest-parity @ git+https://example.org/np@v1"]


def test_the_setup_command_runs_in_the_workspace_and_its_failure_fails_the_step(port):
    action = port(setup="python -c 'open(\"built.txt\", \"w\").write(\"ok\")' && echo built")
    done = action.run("setup")
    assert done.returncode == 0 and "built" in done.stdout and (action.workspace / "built.txt").read_text() == "ok"
    assert port(setup="false; touch never").run("setup").returncode != 0
    assert not (action.workspace / "never").exists()
    assert port().run("setup").returncode == 0


def test_a_passing_port_gets_its_junit_report_and_a_green_verdict(port):
    action = port(candidate="engine", scenarios="\n".join(SHORT), reference="stored")
    done = action.run_all()
    assert all(d.returncode == 0 for d in done.values()), {k: d.stdout + d.stderr for k, d in done.items()}
    assert action.outputs["run"]["verdict"] == "pass" and action.outputs["run"]["exit-code"] == "0"
    results = action.workspace / "nest-parity-results"
    assert Path(action.outputs["run"]["dir"]) == results
    assert {p.name for p in results.iterdir()} == {"junit.xml", "run.json", "report.md", "report.json", "run.log"}
    junit = ET.parse(results / "junit.xml").getroot()
    assert int(junit.get("tests")) > 0 and (junit.get("failures"), junit.get("errors")) == ("0", "0")
    assert {s.get("name") for s in junit.iter("testsuite")} == {"stiff_dt1", "large_weights"}
    assert "| large_weights | 1500 | pass | pass |" in (results / "report.md").read_text()
    assert "[2/2] pass" in (results / "run.log").read_text()
    # The truth came from the action's own stored references (the workspace has none).
    notes = [c["ladder"]["notes"][0] for c in json.loads((results / "run.json").read_text())["comparisons"]]
    assert all(n.startswith(f"stored truth reference {REPO}/reference_traces/truth/") for n in notes), notes
    assert action.summary.read_text().startswith("# Parity report: engine")
    assert action.outputs["run"]["artifact-name"] == "nest-parity-engine"


@pytest.mark.slow
def test_a_broken_port_fails_the_verdict_unless_told_not_to(port):
    failing = port(candidate="broken", scenarios=SHORT[0], reference="stored", truth="none")
    done = failing.run_all()
    assert done["run"].returncode == 0  # the upload comes first; the verdict step fails the job
    assert failing.outputs["run"]["verdict"] == "fail" and done["verdict"].returncode == 1
    junit = ET.parse(failing.workspace / "nest-parity-results" / "junit.xml").getroot()
    assert int(junit.get("failures")) >= 1
    assert ET.parse(failing.workspace / "nest-parity-results" / "junit.xml").find(
        ".//testcase[@name='V_m']/failure") is not None
    lenient = port(candidate="broken", scenarios=SHORT[0], reference="stored", truth="none",
                   **{"fail-on-regression": "false", "output-dir": "lenient", "artifact-name": "x"})
    done = lenient.run_all()
    assert done["verdict"].returncode == 0 and lenient.outputs["run"]["verdict"] == "fail"
    assert lenient.outputs["run"]["artifact-name"] == "x" and (lenient.workspace / "lenient" / "junit.xml").is_file()


def test_bad_input_fails_the_verdict_whatever_fail_on_regression_says(port):
    action = port(candidate="enigne", scenarios=SHORT[0], **{"fail-on-regression": "false"})
    done = action.run_all()
    assert action.outputs["run"]["exit-code"] == "2" and action.outputs["run"]["verdict"] == "error"
    assert done["verdict"].returncode == 2
    assert "did you mean 'engine'" in (action.workspace / "nest-parity-results" / "run.log").read_text()


@pytest.mark.slow
@pytest.mark.nest
def test_the_default_reference_is_live_nest(port):
    action = port(candidate="engine", scenarios=SHORT[0])
    done = action.run_all()
    assert done["verdict"].returncode == 0, done["run"].stdout + done["run"].stderr
    assert "(exact, vs nest): identical" in (action.workspace / "nest-parity-results" / "run.log").read_text()


@pytest.mark.slow
def test_the_default_scenarios_are_the_catalogue_of_the_actions_checkout(port):
    action = port(candidate="engine", reference="stored", truth="none")
    done = action.run_all()
    assert done["verdict"].returncode == 0, done["run"].stdout[-3000:]
    junit = ET.parse(action.workspace / "nest-parity-results" / "junit.xml").getroot()
    assert {s.get("name") for s in junit.iter("testsuite")} == {p.stem for p in SCENARIO_DIR.glob("*.yaml")}
