"""In-process candidates (a ``python:`` entry, no files) and ``candidates run --workers N`` (verdicts as they come)."""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import xml.etree.ElementTree as ET

import pytest
from conftest import REPO, SCENARIO_DIR

from harness.backends.python import run_python
from harness.candidates import CandidateError, engine_inprocess, load_registry, run_candidate
from harness.candidates.cli import main
from harness.candidates.inprocess import run_callable
from harness.candidates.parity import check_candidate, collect
from harness.candidates.workers import run_streaming
from harness.errors import UsageError
from harness.scenario.schema import load_scenario

ENGINE = load_registry()["engine"]
FAST = dict(reference="stored", truth="none")  # no NEST, no truth: what is tested here is the transport


def _scenario(name):
    return load_scenario(SCENARIO_DIR / f"{name}.yaml")


def _inprocess(tmp_path, body: str = "", *, timeout_s=60, findings=None, protocols=(1, 2), name="toy"):
    """A registry with one in-process candidate: the engine's ``run``, then ``body`` on its arrays. The module
    has a name of its own: a worker process keeps the modules it imported for the next test."""
    module = f"toy_{secrets.token_hex(4)}"
    header = ["import os", "import time", "import numpy as np", "from harness.candidates import engine_inprocess",
              "", "def run(inputs):", "    arrays = engine_inprocess.run(inputs)"]
    lines = [f"    {line}" for line in textwrap.dedent(body).splitlines()] + ["    return arrays", ""]
    (tmp_path / f"{module}.py").write_text("\n".join(header + lines))
    entry = {"python": f"{module}:run", "timeout_s": timeout_s, "profile": "exact", "protocols": list(protocols)}
    if findings:
        entry["findings"] = findings
    (tmp_path / "candidates.yaml").write_text(json.dumps({"candidates": {name: entry}}))
    return load_registry(tmp_path / "candidates.yaml")[name]


# ------------------------------------------------------------------------------ the in-house engine in process
@pytest.mark.slow
@pytest.mark.parametrize("name", ["mixed_inputs", "nmda_25_ports", "net_nmda_pair", "net_summation_order"])
def test_the_inprocess_engine_equals_the_out_of_process_engine_bit_for_bit(tmp_path, name):
    scenario = _scenario(name)
    inprocess = run_candidate(_inprocess(tmp_path), scenario)
    assert inprocess.equals_exactly(run_candidate(ENGINE, scenario))
    assert inprocess.provenance["in_process"] and inprocess.provenance["scenario_hash"] == scenario.content_hash
    if not scenario.is_network:
        assert inprocess.equals_exactly(run_python(scenario))


def test_an_inprocess_candidate_writes_no_files_and_starts_no_process(tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("an in-process candidate must not need this")

    # The harness's own provenance asks git for the commit once per process (then cached): that is the
    # harness, not the candidate, and it must not depend on which test ran first.
    from harness.traces.provenance import base_provenance

    base_provenance()
    for target in ("tempfile.TemporaryDirectory", "tempfile.mkdtemp", "tempfile.NamedTemporaryFile",
                   "subprocess.Popen", "harness.candidates.protocol.write_inputs",
                   "harness.candidates.protocol.write_traces", "numpy.savez"):
        monkeypatch.setattr(target, refused)
    scenario = _scenario("dc_regular_firing")
    candidate = _inprocess(tmp_path)
    before = sorted(os.listdir(tmp_path))
    assert run_candidate(candidate, scenario).equals_exactly(run_python(scenario))
    assert sorted(os.listdir(tmp_path)) == before or set(os.listdir(tmp_path)) - set(before) == {"__pycache__"}


@pytest.mark.slow
def test_run_callable_judges_a_function_at_hand_by_the_same_rules():
    scenario = _scenario("ampa_only")
    assert run_callable(engine_inprocess.run, scenario).equals_exactly(run_python(scenario))
    with pytest.raises(CandidateError, match="lacks V_m"):
        run_callable(lambda inputs: {k: v for k, v in engine_inprocess.run(inputs).items() if k != "V_m"}, scenario)


# ------------------------------------------------------------------------------ every broken one is an error
@pytest.mark.parametrize("body, message", [
    ('arrays["V_m"] = arrays["V_m"][:-1]', "V_m has shape (4999,), expected (5000,)"),
    ('arrays["I_GABA"][100] = float("nan")', "I_GABA is not finite (nan) from step 101 on"),
    ('del arrays["s_NMDA"]', "lacks s_NMDA"),
    ('arrays["Vm"] = arrays.pop("V_m")', "unknown arrays Vm"),
    ('arrays["steps"] = np.arange(5000)', "steps must be 1..5000"),
    ('arrays["spike_steps"] = arrays["spike_steps"][::-1]', "strictly increasing"),
    ('arrays["V_m"] = arrays["V_m"].astype(np.float16)', "V_m must be float32 or float64, got float16"),
    ('arrays["V_m"] = [object()] * 5000', "V_m must be float32 or float64, got object"),
    ("arrays = list(arrays.values())", "returned list; an in-process candidate returns a mapping"),
    ('raise RuntimeError("the port gave up")', "raised RuntimeError: the port gave up"),
    ('inputs.arrays["current"][0] = 1.0', "raised ValueError: assignment destination is read-only"),
])
@pytest.mark.slow
def test_a_broken_inprocess_candidate_is_an_error_never_a_comparison(tmp_path, body, message):
    with pytest.raises(CandidateError) as err:
        run_candidate(_inprocess(tmp_path, body), _scenario("dc_regular_firing"))
    assert err.value.status == "error" and message in str(err.value)
    if "raised" in message:  # its traceback stands where a command's stderr would
        assert "Traceback" in err.value.stderr and "toy_" in err.value.stderr


def test_what_it_does_to_its_copy_of_the_inputs_cannot_change_what_is_asked(tmp_path):
    # A port that shortens its own n_steps still has to hand back every step of the scenario.
    body = ('inputs.meta["n_steps"] = 10\n'
            'arrays = {k: v[:10] if k != "spike_steps" else v[:0] for k, v in arrays.items()}')
    with pytest.raises(CandidateError, match="expected \\(5000,\\)"):
        run_candidate(_inprocess(tmp_path, body), _scenario("dc_regular_firing"))


def test_a_network_from_a_one_neuron_port_is_refused_before_the_call(tmp_path):
    with pytest.raises(CandidateError, match="speaks protocol version 1 only"):
        run_candidate(_inprocess(tmp_path, protocols=[1]), _scenario("net_ampa_pair"))


def test_an_unimportable_module_is_an_error_and_unavailable_in_the_listing(tmp_path):
    (tmp_path / "candidates.yaml").write_text(json.dumps({"candidates": {
        "gone": {"python": "no_such_port_module.sub:run"}, "nofunc": {"python": "harness.candidates:nothing_here"}}}))
    registry = load_registry(tmp_path / "candidates.yaml")
    assert registry["gone"].missing_requirements() == ["the module 'no_such_port_module' (not importable here)"]
    with pytest.raises(CandidateError, match="not available: the module 'no_such_port_module'"):
        run_candidate(registry["gone"], _scenario("ampa_only"))
    with pytest.raises(CandidateError, match="'harness.candidates' has no function 'nothing_here'"):
        run_candidate(registry["nofunc"], _scenario("ampa_only"))


@pytest.mark.parametrize("entry, message", [
    ({"python": "a:run", "command": ["x", "{outputs}"]}, "exactly one of 'command'"),
    ({"profile": "exact"}, "neither is there"),
    ({"python": "a.run"}, "'a.run'; expected 'package.module:function'"),
    ({"python": "a:run()"}, "expected 'package.module:function'"),
    ({"python": ["a:run"]}, "expected 'package.module:function'"),
    ({"pyhton": "a:run"}, "unknown key (did you mean 'python'?)"),
])
def test_registry_entries_name_exactly_one_way_to_run(tmp_path, capsys, entry, message):
    registry = tmp_path / "candidates.yaml"
    registry.write_text(json.dumps({"candidates": {"toy": entry}}))
    with pytest.raises(UsageError) as err:
        load_registry(registry)
    assert message in str(err.value) and "candidates.toy" in str(err.value)
    assert main(["--registry", str(registry), "list"]) == 2
    assert message in capsys.readouterr().err


# ------------------------------------------------------------------------------ in a worker, within timeout_s
@pytest.mark.slow
def test_collect_calls_an_inprocess_candidate_in_a_worker_within_its_timeout(tmp_path):
    scenario = _scenario("dc_regular_firing")
    elsewhere = _inprocess(tmp_path, f'assert os.getpid() != {os.getpid()}, "called in the parent"')
    [run] = collect(elsewhere, [scenario], **FAST)
    assert run.error is None and run.candidate.equals_exactly(run_python(scenario))
    (tmp_path / "slow").mkdir()
    slow = _inprocess(tmp_path / "slow", "time.sleep(30)", timeout_s=1)
    started = time.monotonic()
    [run] = collect(slow, [scenario], **FAST)
    assert time.monotonic() - started < 20
    assert run.candidate is None and "timed out after 1 s (timeout_s in the registry)" in run.error


# ------------------------------------------------------------------------------ --workers N
@pytest.mark.slow
def test_workers_give_the_serial_results_in_the_scenarios_order_as_each_finishes(tmp_path):
    scenarios = [_scenario(n) for n in ("rest_no_input", "ampa_only", "net_ampa_pair")]
    finished = []
    parallel = check_candidate(ENGINE, scenarios, workers=2, on_outcome=lambda i, o, r: finished.append(i), **FAST)
    serial = check_candidate(ENGINE, scenarios, **FAST)
    assert sorted(finished) == [0, 1, 2] and [o.scenario.name for o in parallel] == [s.name for s in scenarios]
    assert [o.verdict for o in parallel] == ["pass"] * 3
    for p, s in zip(parallel, serial):
        assert p.comparison.status == s.comparison.status == "pass"
        assert all(v.max_abs == 0 for v in p.comparison.variables.values())


@pytest.mark.slow
def test_in_a_worker_a_hanging_function_is_ended_by_its_alarm_and_the_others_go_on(tmp_path):
    # It even catches every Exception: the alarm is not one.
    hangs = _inprocess(tmp_path, 'if inputs.meta["scenario"] == "rest_no_input":\n'
                                 '    try:\n        time.sleep(60)\n    except Exception:\n        pass', timeout_s=2)
    scenarios = [_scenario("rest_no_input"), _scenario("stiff_dt1"), _scenario("large_weights")]
    started = time.monotonic()
    runs = collect(hangs, scenarios, workers=2, **FAST)
    assert time.monotonic() - started < 45  # the alarm, not the scenario's limit of 3 x 2 s + 60 s
    assert "timed out after 2 s (timeout_s in the registry)" in runs[0].error
    assert [r.error for r in runs[1:]] == [None, None]


@pytest.mark.slow
def test_a_worker_past_its_limit_is_ended_with_what_it_started(tmp_path):
    pidfile = tmp_path / "child.pid"
    started = time.monotonic()
    [result] = run_streaming(start_a_child_and_hang, [(str(pidfile),)], workers=1, timeout=8,
                             failed=lambda item, reason: reason)
    assert "ran past the time limit of 8 s" in result and time.monotonic() - started < 30
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the worker's child in its own session outlived the worker"


def start_a_child_and_hang(pidfile: str):
    """A task for the test above (module level: a spawned worker imports it): a child in its own session, as
    ``execute`` starts a candidate, then a hang."""
    child = subprocess.Popen(["sleep", "600"], start_new_session=True)
    with open(pidfile, "w") as f:
        f.write(str(child.pid))
    time.sleep(3600)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ------------------------------------------------------------------------------ the command line
def _findings(tmp_path, name="ampa_only", expect="fail"):
    folder = tmp_path / "findings"
    folder.mkdir(exist_ok=True)
    text = (SCENARIO_DIR / f"{name}.yaml").read_text()
    (folder / f"{name}.yaml").write_text(text + f"\nexpect: {expect}\nexpect_reason: V_m is off by 1e-9 mV\n")
    return folder


def test_run_with_workers_prints_each_verdict_then_all_in_order_and_writes_junit(tmp_path, capsys):
    _findings(tmp_path)
    broken = _inprocess(tmp_path, 'arrays["V_m"] = arrays["V_m"] + 1e-9', findings="findings")
    registry = str(tmp_path / "candidates.yaml")
    paths = [str(SCENARIO_DIR / "rest_no_input.yaml"), str(tmp_path / "findings")]
    junit, report = tmp_path / "out" / "junit.xml", tmp_path / "out" / "report.md"
    (tmp_path / "out").mkdir()
    argv = ["--registry", registry, "run", broken.name, *paths, "--workers", "2", "--reference", "stored",
            "--truth", "none", "--junit", str(junit), "--report", str(report), "--json", str(tmp_path / "r.json")]
    assert main(argv) == 1  # the catalogue scenario fails; the finding is expected to
    out = capsys.readouterr().out
    lines = out.splitlines()
    progress = [line for line in lines if line.startswith("[")]
    assert len(progress) == 2 and {p.split()[1] for p in progress} == {"fail", "expected-fail"}
    assert all(p.endswith(" s)") for p in progress)
    ordered = [line.split()[1] for line in lines if line.startswith(("fail ", "expected-fail "))]
    assert ordered == ["rest_no_input", "ampa_only"]  # the scenarios' order, whichever finished first
    assert "1 expected-fail, 1 fail; 2 scenarios in" in out and "workers 2" in out
    root = ET.parse(junit).getroot()
    assert (root.get("failures"), root.get("skipped")) == ("1", "1")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert suites["rest_no_input"].find("testcase[@name='V_m']/failure") is not None
    skipped = suites["ampa_only"].find("testcase[@name='V_m']/skipped")
    assert skipped is not None and "expected failure: V_m is off by 1e-9 mV" in skipped.get("message")
    assert float(suites["ampa_only"].get("time")) > 0
    text = report.read_text()
    assert "| rest_no_input |" in text and "### Findings" in text and report.with_suffix(".json").is_file()
    verdicts = json.loads((tmp_path / "r.json").read_text())["verdicts"]
    assert [v["verdict"] for v in verdicts] == ["fail", "expected-fail"] and verdicts[0]["seconds"] > 0


def test_a_fixed_finding_fails_the_run_and_its_junit(tmp_path, capsys):
    _findings(tmp_path)
    fixed = _inprocess(tmp_path, findings="findings")
    junit = tmp_path / "junit.xml"
    assert main(["--registry", str(tmp_path / "candidates.yaml"), "run", fixed.name, str(tmp_path / "findings"),
                 "--reference", "stored", "--truth", "none", "--junit", str(junit)]) == 1
    assert "FIXED:" in capsys.readouterr().out
    case = ET.parse(junit).getroot().find(".//testcase[@name='expectation']/failure")
    assert case is not None and "set `expect: pass`" in case.get("message")


def test_a_folder_leaves_out_what_the_candidate_does_not_speak_a_named_file_does_not(tmp_path, capsys):
    one_neuron = _inprocess(tmp_path, protocols=[1])
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ("rest_no_input", "net_ampa_pair"):
        shutil.copy(SCENARIO_DIR / f"{name}.yaml", folder)
    registry = ["--registry", str(tmp_path / "candidates.yaml"), "run", one_neuron.name]
    assert main([*registry, str(folder), *"--reference stored --truth none".split()]) == 0
    assert "left out: 1 scenario in a protocol version toy does not speak (net_ampa_pair)" in capsys.readouterr().out
    assert main([*registry, str(folder / "net_ampa_pair.yaml"), *"--reference stored --truth none".split()]) == 1
    assert "speaks protocol version 1 only" in capsys.readouterr().out


@pytest.mark.parametrize("option, value, message", [
    ("--report", "x.json", "give a .md name"), ("--junit", "{file}/junit.xml", "--junit"),
    ("--json", "{file}/run.json", "--json"),
])
def test_bad_run_outputs_are_refused_before_any_run(tmp_path, capsys, option, value, message, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setattr("harness.candidates.parity.collect", lambda *a, **k: pytest.fail("ran"))
    assert main(["run", "engine", str(SCENARIO_DIR / "ampa_only.yaml"), option, value.format(file=tmp_path / "file"),
                 "--reference", "stored"]) == 2
    assert message in capsys.readouterr().err


def test_workers_must_be_a_positive_number(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "engine", "--workers", "0"])
    assert exit_.value.code == 2 and "--workers" in capsys.readouterr().err


@pytest.mark.slow
def test_interrupted_workers_leave_nothing_behind():
    # SIGTERM reaches run_streaming as KeyboardInterrupt (the pool's rule): every worker is killed.
    script = textwrap.dedent("""
        import os, signal, threading, time
        from harness.candidates.workers import run_streaming
        from harness.judge.pool import WORKER_MARKER
        import test_candidates_workers as t
        threading.Timer(4, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
        try:
            run_streaming(t.start_a_child_and_hang, [(PIDFILE,)], workers=1, timeout=600, failed=None)
        except KeyboardInterrupt:
            print("interrupted")
    """)
    with tempfile.TemporaryDirectory() as folder:
        pidfile = os.path.join(folder, "child.pid")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
        done = subprocess.run([sys.executable, "-c", script.replace("PIDFILE", repr(pidfile))], env=env,
                              capture_output=True, text=True, timeout=120)
        assert "interrupted" in done.stdout, done.stderr
        child = int(open(pidfile).read())
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(child):
            os.kill(child, signal.SIGKILL)
            pytest.fail("a candidate's process outlived an interrupted run")
