"""The out-of-process candidate protocol: in-house candidates bit-identical, every broken candidate an error."""
import json
import os
import shutil
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, SCENARIO_DIR

from harness.backends.nest import run_nest
from harness.backends.python import run_python
from harness.candidates import (
    CandidateError,
    CandidateUnavailable,
    engine_runner,
    get_candidate,
    load_registry,
    protocol,
    run_candidate,
)
from harness.candidates.execute import STDERR_TAIL_CHARS, tail
from harness.candidates.parity import check_candidate
from harness.errors import ScenarioError, UsageError
from harness.scenario.schema import load_scenario

REGISTRY = load_registry()


def _scenario(name):
    return load_scenario(SCENARIO_DIR / f"{name}.yaml")


# ------------------------------------------------------------------------------ in-house candidates
@pytest.mark.parametrize("name", ["mixed_inputs", "odd_resolution_0013", "stiff_dt1", "t_ref_off_grid"])
def test_engine_through_the_protocol_equals_run_python_bit_for_bit(name):
    scenario = _scenario(name)
    through_protocol = run_candidate(REGISTRY["engine"], scenario)
    assert through_protocol.equals_exactly(run_python(scenario))


@pytest.mark.nest
@pytest.mark.parametrize("name", ["mixed_inputs", "multi_chunk", "multiplicities_duplicates",
                                  "odd_resolution_0013", "nmda_25_ports", "long_delays"])
def test_nest_driven_by_the_compiled_inputs_equals_run_nest_bit_for_bit(name):
    # NEST sees only the per-step files here, so this also proves that they carry the whole experiment.
    scenario = _scenario(name)
    through_protocol = run_candidate(REGISTRY["nest"], scenario)
    assert through_protocol.equals_exactly(run_nest(scenario))
    assert through_protocol.provenance["candidate_info"]["name"] == "nest"


def test_compiled_inputs_state_the_current_lag_and_the_slots():
    scenario = _scenario("mixed_inputs")
    compiled = protocol.compile_inputs(scenario)
    assert compiled.meta["n_steps"] == scenario.n_steps == len(compiled.arrays["current"])
    assert compiled.arrays["nmda"].shape == (scenario.n_steps, len(scenario.nmda_inputs))
    assert "step k+1" in compiled.meta["conventions"]["current"]
    # The 40 nS AMPA spike at 10.0 ms with delay 1.0 ms is read in step 100 + 10 - 1.
    assert compiled.arrays["ampa"][109] == 40.0 and compiled.arrays["ampa"][108] == 0.0


# ------------------------------------------------------------------------------ toy candidates
def _registry(tmp_path, script: str, *, timeout_s=60, findings=None, requires=None, name="toy"):
    """A registry with one candidate: ``script`` (Python, run by the harness's interpreter)."""
    (tmp_path / "toy.py").write_text(textwrap.dedent(script))
    entry = {"command": ["{python}", "{root}/toy.py", "{inputs}", "{outputs}"], "timeout_s": timeout_s,
             "profile": "exact"}
    if findings:
        entry["findings"] = findings
    if requires:
        entry["requires"] = requires
    (tmp_path / "candidates.yaml").write_text(json.dumps({"candidates": {name: entry}}))
    return load_registry(tmp_path / "candidates.yaml")[name]


TOY_SCENARIO = "dc_regular_firing"

# A candidate that writes a correct output, spoiled in one way per test (TAMPER is replaced per test). The
# correct output is the in-house engine's, simulated once per module (CORRECT is replaced by its file), so
# that each toy costs a process start, not a simulation.
SPOILED_ENGINE = """
    import sys
    from pathlib import Path
    import numpy as np
    arrays = dict(np.load(CORRECT))
    TAMPER
    np.savez(Path(sys.argv[2]) / "traces.npz", **arrays)
"""


@pytest.fixture(scope="module")
def correct_output(tmp_path_factory):
    """The arrays a correct candidate writes for TOY_SCENARIO, in a file of their own."""
    inputs = protocol.compile_inputs(_scenario(TOY_SCENARIO))
    variables, spikes = engine_runner.simulate(inputs)
    path = tmp_path_factory.mktemp("toy") / "correct.npz"
    np.savez(path, steps=np.arange(1, inputs.meta["n_steps"] + 1), spike_steps=spikes, **variables)
    return path


@pytest.fixture
def spoiled(tmp_path, correct_output):
    def make(tamper: str):
        return _registry(tmp_path, SPOILED_ENGINE.replace("CORRECT", repr(str(correct_output)))
                         .replace("TAMPER", tamper))

    return make


def test_the_unspoiled_toy_passes_so_each_spoiled_one_fails_for_its_spoiling(spoiled):
    scenario = _scenario(TOY_SCENARIO)
    assert run_candidate(spoiled("pass"), scenario).equals_exactly(run_python(scenario))


@pytest.mark.parametrize("tamper, message", [
    ('arrays["V_m"] = arrays["V_m"][:-1]', "V_m has shape (4999,), expected (5000,)"),
    ('arrays["steps"] = arrays["steps"][:-1]', "steps must be 1..5000"),
    ('arrays["I_GABA"][100] = float("nan")', "I_GABA is not finite (nan) from step 101 on"),
    ('arrays["V_m"][7] = float("inf")', "V_m is not finite (inf) from step 8 on"),
    ('del arrays["s_NMDA"]', "lacks s_NMDA"),
    ('arrays["Vm"] = arrays.pop("V_m")', "unknown arrays Vm"),
    ('arrays["spike_steps"] = arrays["spike_steps"].astype(float)', "spike_steps must be a 1-D integer array"),
    ('arrays["spike_steps"] = arrays["spike_steps"][::-1]', "strictly increasing"),
    ('arrays["spike_steps"] = np.append(arrays["spike_steps"], 5001)', "must lie in 1..5000"),
    ('arrays["V_m"] = arrays["V_m"].astype(object)', "not a readable NPZ file"),
    ('arrays["V_m"] = arrays["V_m"].astype(np.int64)', "V_m must be float32 or float64"),
    ('arrays["V_m"] = arrays["V_m"].astype(np.float16)', "V_m must be float32 or float64, got float16"),
    ('arrays["V_m"] = np.repeat(arrays["V_m"], 2)', "V_m claims shape (10000,) of float64 in its header"),
])
def test_malformed_traces_are_errors_never_comparisons(spoiled, tamper, message):
    with pytest.raises(CandidateError) as err:
        run_candidate(spoiled(tamper), _scenario(TOY_SCENARIO))
    assert err.value.status == "error"
    assert "malformed output" in str(err.value) and message in str(err.value)


def test_a_crashing_candidate_is_an_error_with_its_stderr(tmp_path):
    toy = _registry(tmp_path, """
        import sys
        print("the port could not find its NMDA ports", file=sys.stderr)
        sys.exit(3)
    """)
    with pytest.raises(CandidateError) as err:
        run_candidate(toy, _scenario("ampa_only"))
    assert err.value.returncode == 3
    assert "exited with status 3" in str(err.value)
    assert "the port could not find its NMDA ports" in err.value.stderr


def test_a_hanging_candidate_is_killed_at_its_timeout(tmp_path):
    toy = _registry(tmp_path, """
        import sys, time
        print("still thinking", file=sys.stderr, flush=True)
        time.sleep(60)
    """, timeout_s=1)

    started = time.perf_counter()
    with pytest.raises(CandidateError) as err:
        run_candidate(toy, _scenario("ampa_only"))
    assert time.perf_counter() - started < 30
    assert "timed out after 1 s" in str(err.value) and "still thinking" in err.value.stderr


def test_a_candidate_that_writes_nothing_or_garbage_is_an_error(tmp_path):
    with pytest.raises(CandidateError, match="wrote no traces.npz"):
        run_candidate(_registry(tmp_path, "pass"), _scenario("ampa_only"))
    garbage = _registry(tmp_path, """
        import sys
        from pathlib import Path
        (Path(sys.argv[2]) / "traces.npz").write_bytes(b"not a zip file")
    """)
    with pytest.raises(CandidateError, match="not a readable NPZ file"):
        run_candidate(garbage, _scenario("ampa_only"))


def test_a_candidate_whose_files_are_missing_is_unavailable_with_the_setup_hint(tmp_path):
    toy = _registry(tmp_path, "pass", requires=["no-such-venv/bin/python"])
    with pytest.raises(CandidateUnavailable, match="no-such-venv/bin/python does not exist"):
        run_candidate(toy, _scenario("ampa_only"))


# A toy port with one broken rule: the stimulus current acts one step early (no I_stim lag).
NO_CURRENT_LAG = """
    import sys
    import numpy as np
    from harness.candidates import engine_runner

    def drop_the_lag(inputs):
        inputs.arrays["current"] = np.append(inputs.arrays["current"][1:], inputs.arrays["current"][-1])

    sys.exit(engine_runner.main(sys.argv[1:], tamper=drop_the_lag))
"""

# The same port with its rule fixed: the in-house engine behind the protocol.
FIXED_PORT = """
    import sys
    from harness.candidates import engine_runner

    sys.exit(engine_runner.main(sys.argv[1:]))
"""


@pytest.mark.nest
def test_a_port_with_one_broken_rule_is_caught(tmp_path):
    toy = _registry(tmp_path, NO_CURRENT_LAG)
    [outcome] = check_candidate(toy, [_scenario("dc_regular_firing")])
    assert outcome.comparison.status == "fail" and outcome.verdict == "fail" and not outcome.ok
    assert "V_m" in outcome.comparison.failures


def _finding(folder, expect_text: str):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "finding.yaml"
    path.write_text("name: toy_finding\nresolution: 0.1\nduration: 20.0\n" + expect_text + "\n"
                    "inputs:\n  - {device: dc_generator, amplitude: 800.0, start: 2.0}\n")
    return load_scenario(path)


@pytest.mark.nest
def test_an_expected_failure_keeps_the_gate_green_and_a_fixed_one_is_reported(tmp_path):
    finding = _finding(tmp_path / "findings", "expect: fail\nexpect_reason: the current acts one step early")
    broken = _registry(tmp_path, NO_CURRENT_LAG, findings="findings")
    [outcome] = check_candidate(broken, [finding])
    assert (outcome.comparison.status, outcome.verdict, outcome.ok) == ("fail", "expected-fail", True)
    fixed = _registry(tmp_path, FIXED_PORT, findings="findings")
    [outcome] = check_candidate(fixed, [finding])
    assert (outcome.comparison.status, outcome.verdict, outcome.ok) == ("pass", "fixed", False)


@pytest.mark.nest
def test_an_expectation_applies_only_to_the_candidate_that_owns_the_folder(tmp_path):
    finding = _finding(tmp_path / "findings", "expect: fail\nexpect_reason: the current acts one step early")
    stranger = _registry(tmp_path, NO_CURRENT_LAG)  # no findings folder: must pass everything
    [outcome] = check_candidate(stranger, [finding])
    assert (outcome.expected, outcome.verdict, outcome.ok) == ("pass", "fail", False)


@pytest.mark.nest
def test_an_error_is_never_an_expected_failure(tmp_path):
    finding = _finding(tmp_path / "findings", "expect: fail\nexpect_reason: crashes")
    crashing = _registry(tmp_path, "raise SystemExit(1)", findings="findings")
    [outcome] = check_candidate(crashing, [finding])
    assert (outcome.verdict, outcome.ok) == ("error", False)


# ------------------------------------------------------------------------------ registry and schema
@pytest.mark.parametrize("entry, message", [
    ({"command": "python run.py"}, "expected a non-empty list of strings"),
    ({"command": ["x", "{outputs}", "{input}"]}, "unknown placeholder {input}"),
    ({"command": ["x", "{inputs}"]}, "must pass {outputs}"),
    ({"command": ["x", "{outputs}"], "profile": "loose"}, "'loose'; allowed: exact, roundoff, integrator"),
    ({"command": ["x", "{outputs}"], "timeout_s": 0}, "timeout_s: 0; allowed: a positive number"),
    ({"command": ["x", "{outputs}"], "timout_s": 5}, "unknown key (did you mean 'timeout_s'?)"),
])
def test_registry_problems_are_clear_usage_errors(tmp_path, entry, message):
    (tmp_path / "candidates.yaml").write_text(json.dumps({"candidates": {"toy": entry}}))
    with pytest.raises(UsageError) as err:
        load_registry(tmp_path / "candidates.yaml")
    assert message in str(err.value) and "candidates.toy" in str(err.value)


def test_unknown_candidate_names_suggest_the_closest():
    with pytest.raises(UsageError, match="unknown candidate 'brianpy' \\(did you mean 'brainpy'\\?\\)"):
        get_candidate("brianpy", REGISTRY)


def test_cli_exits_2_on_bad_input_and_lists_candidates(capsys):
    from harness.candidates.cli import main

    assert main(["run", "no-such-candidate"]) == 2
    assert "unknown candidate 'no-such-candidate'" in capsys.readouterr().err
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "engine" in listing and "brainpy" in listing


@pytest.mark.parametrize("text, message", [
    ("expect: maybe", "expect: 'maybe'; allowed: pass, fail"),
    ("expect: fail", "expect_reason: missing"),
])
def test_expectation_keys_are_validated(write_scenario, text, message):
    path = write_scenario(f"resolution: 0.1\nduration: 1.0\n{text}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert message in str(err.value)


def test_flipping_an_expectation_keeps_the_scenario_hash(write_scenario):
    # The stored NEST reference must not go stale when a finding is fixed and `expect:` flips.
    failing = load_scenario(write_scenario("duration: 1.0\nexpect: fail\nexpect_reason: x\n", "a.yaml"))
    passing = load_scenario(write_scenario("duration: 1.0\n", "b.yaml"))
    changed = load_scenario(write_scenario("duration: 2.0\n", "c.yaml"))
    assert failing.content_hash == passing.content_hash != changed.content_hash
    assert (failing.expect, failing.expect_reason, passing.expect) == ("fail", "x", "pass")


def test_every_port_finding_is_a_valid_scenario_with_a_candidate_that_owns_it():
    folders = {c.findings for c in REGISTRY.values() if c.findings}
    files = sorted((REPO / "scenarios" / "ports").glob("**/*.yaml"))
    assert files
    for path in files:
        scenario = load_scenario(path)
        owner = path.parent.relative_to(REPO).as_posix()
        assert owner in folders, f"{path}: no candidate in candidates.yaml names {owner} as its findings"
        assert scenario.expect in ("pass", "fail")
        assert scenario.name.startswith("port_"), "port findings are prefixed so their reference names stay unique"


# ------------------------------------------------------------------------------ containment
# An NPZ whose V_m member claims 10^12 float64 values (8 TB) in its header: refused from the header.
HUGE_HEADER = """
    import io, sys, zipfile
    from pathlib import Path
    import numpy as np
    arrays = dict(np.load(CORRECT))
    out = Path(sys.argv[2]) / "traces.npz"
    np.savez(out, **{k: v for k, v in arrays.items() if k != "V_m"})
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    with zipfile.ZipFile(out, "a") as z:
        z.writestr("V_m.npy", header.getvalue() + bytes(64))  # the header writes the magic itself
"""


def test_an_npz_header_claiming_a_huge_array_is_refused_unloaded(tmp_path, correct_output):
    toy = _registry(tmp_path, HUGE_HEADER.replace("CORRECT", repr(str(correct_output))))
    started = time.perf_counter()
    with pytest.raises(CandidateError) as err:
        run_candidate(toy, _scenario(TOY_SCENARIO))
    assert "V_m claims shape (1000000000000,) of float64 in its header" in str(err.value)
    assert "not loaded" in str(err.value) and time.perf_counter() - started < 30


def test_stderr_is_read_as_a_bounded_tail(tmp_path):
    # A sparse 1 GB file: reading it whole would take a second and a gigabyte; the tail takes neither.
    big = tmp_path / "stderr.txt"
    with open(big, "wb") as f:
        f.seek(10**9)
        f.write(b"the last line\n")
    started = time.perf_counter()
    text = tail(big)
    assert time.perf_counter() - started < 0.5
    assert text.startswith("…") and text.endswith("the last line\n") and len(text) == STDERR_TAIL_CHARS + 1
    chatty = _registry(tmp_path, """
        import sys
        sys.stderr.write("x" * 20_000_000 + "\\nwhy it failed\\n")
        sys.exit(4)
    """)
    with pytest.raises(CandidateError) as err:
        run_candidate(chatty, _scenario("ampa_only"))
    assert err.value.stderr.endswith("why it failed\n") and len(err.value.stderr) <= STDERR_TAIL_CHARS + 1


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# The candidate starts a grandchild in a session of its own (setsid), which records its pid and sleeps.
SETSID_GRANDCHILD = """
    import os, subprocess, sys, time
    pidfile = PIDFILE
    subprocess.Popen(["setsid", sys.executable, "-c",
                      f"import os, time; open({pidfile!r}, 'w').write(str(os.getpid())); time.sleep(3600)"])
    while not os.path.exists(pidfile) or not open(pidfile).read():
        time.sleep(0.01)
    THEN
"""


@pytest.mark.skipif(shutil.which("setsid") is None or not Path("/proc/self/environ").exists(),
                    reason="needs setsid(1) and /proc")
@pytest.mark.parametrize("then, message", [("time.sleep(60)", "timed out after 2 s"),
                                           ("sys.exit(0)", "wrote no traces.npz")])
def test_a_setsid_grandchild_does_not_survive_its_candidate(tmp_path, then, message):
    pidfile = tmp_path / "grandchild.pid"
    toy = _registry(tmp_path, SETSID_GRANDCHILD.replace("PIDFILE", repr(str(pidfile))).replace("THEN", then),
                    timeout_s=2)
    try:
        with pytest.raises(CandidateError, match=message):
            run_candidate(toy, _scenario("ampa_only"))
        grandchild = int(pidfile.read_text())
        deadline = time.monotonic() + 5
        while _alive(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(grandchild), "the setsid grandchild outlived its candidate"
    finally:
        if pidfile.exists() and pidfile.read_text():
            try:
                os.kill(int(pidfile.read_text()), 9)
            except OSError:
                pass


@pytest.mark.parametrize("target", ["reference", "scenario", "inputs"])
def test_a_candidate_that_writes_outside_its_output_folder_is_an_error(tmp_path, correct_output, target):
    refs = tmp_path / "refs"
    refs.mkdir()
    (refs / f"{TOY_SCENARIO}.json").write_text("{}")
    scenario_file = tmp_path / f"{TOY_SCENARIO}.yaml"
    shutil.copy(SCENARIO_DIR / f"{TOY_SCENARIO}.yaml", scenario_file)
    paths = {"reference": repr(str(refs / f"{TOY_SCENARIO}.json")), "scenario": repr(str(scenario_file)),
             "inputs": 'str(Path(sys.argv[1]) / "inputs.json")'}
    # The output itself is correct: only the write outside makes it an error (the unspoiled toy passes).
    tamper = (f"import os; os.chmod({paths[target]}, 0o644); "
              f"open({paths[target]}, 'a').write(' ')")
    toy = _registry(tmp_path, SPOILED_ENGINE.replace("CORRECT", repr(str(correct_output))).replace("TAMPER", tamper))
    with pytest.raises(CandidateError) as err:
        run_candidate(toy, load_scenario(scenario_file), watch=(refs,))
    changed = {"reference": refs / f"{TOY_SCENARIO}.json", "scenario": scenario_file, "inputs": "inputs.json"}
    assert "it changed files outside its output folder" in str(err.value)
    assert f"{changed[target]} (modified)" in str(err.value) or "inputs.json (modified)" in str(err.value)
    assert str(changed[target]).split("/")[-1] in str(err.value)


def test_the_inputs_are_read_only_for_the_candidate(tmp_path, correct_output):
    modes = tmp_path / "modes.txt"
    record = (f"open({str(modes)!r}, 'w').write(' '.join(oct(os.stat(p).st_mode & 0o777) for p in "
              "[sys.argv[1], *sorted(Path(sys.argv[1]).iterdir())]))")
    toy = _registry(tmp_path, SPOILED_ENGINE.replace("CORRECT", repr(str(correct_output)))
                    .replace("TAMPER", f"import os; {record}"))
    scenario = _scenario(TOY_SCENARIO)
    assert run_candidate(toy, scenario).equals_exactly(run_python(scenario))  # and the run still passes
    assert modes.read_text() == "0o555 0o444 0o444"
