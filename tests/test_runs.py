"""Runs are bounded and never left behind: time limits, interrupts and a killed parent (harness.judge.pool)."""
import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pool_tasks
import pytest
from conftest import REPO, SCENARIO_DIR

from harness.cli import main
from harness.errors import EXIT_INTERRUPTED
from harness.judge import pool
from harness.judge.pool import WORKER_MARKER, RunTimedOut, run_bounded, run_parallel


def workers_of(parent: int) -> list[int]:
    """Every live process whose environment carries the pool's marker with ``parent``'s pid."""
    marker = f"{WORKER_MARKER}={parent}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in environ and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


# ------------------------------------------------------------------------------------------- time limits
def test_a_task_past_its_limit_is_ended_reported_and_the_others_go_on():
    started = time.monotonic()
    results = run_parallel(pool_tasks.nap, [(0.1,), (3600,), (0.1,), (0.1,)], workers=2, desc="t", timeout=4,
                           failed=lambda item, reason: f"error: {reason}")
    assert time.monotonic() - started < 30  # not an hour
    assert results[1] == "error: ran past the time limit of 4 s (--timeout) and was ended"
    pids = [results[i] for i in (0, 2, 3)]
    assert all(isinstance(p, int) for p in pids)
    assert not any(alive(p) for p in pids)  # the pool ends its workers when done
    solo = {w.process.pid for w in pool._solo}  # the single-run worker other tests of this process left
    assert set(workers_of(os.getpid())) - solo == set()


def test_a_worker_that_dies_is_an_error_for_its_task_only():
    results = run_parallel(pool_tasks.crash, [(7,)], workers=1, desc="t", timeout=60,
                           failed=lambda item, reason: reason)
    assert results == ["its worker process died (exit code 7)"]
    assert run_parallel(pool_tasks.nap, [(0,)], workers=1, desc="t")[0] != os.getpid()


def test_a_single_run_past_its_limit_raises_and_its_worker_is_gone():
    pid = run_bounded(pool_tasks.nap, 0, timeout=60)
    assert pid != os.getpid() and alive(pid)  # one worker, kept for the command's next run
    assert run_bounded(pool_tasks.nap, 0, timeout=60) == pid
    with pytest.raises(RunTimedOut, match="the toy run ran past the time limit of 1 s"):
        run_bounded(pool_tasks.nap, 3600, timeout=1, what="the toy run")
    assert wait_for(lambda: not alive(pid), 5)
    assert run_bounded(pool_tasks.nap, 0, timeout=60) != pid  # a fresh worker


@pytest.mark.parametrize("value", ["0", "-1", "abc", "inf", "nan"])
def test_timeout_flag_must_be_a_positive_number(value, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["gate", "--timeout", value])
    assert exc.value.code == 2 and "allowed: a positive number of seconds" in capsys.readouterr().err


@pytest.mark.nest
@pytest.mark.slow
def test_a_hung_scenario_is_an_error_and_the_gate_goes_on(tmp_path):
    from harness.judge.gate import run_gate
    from harness.scenario.schema import load_scenario

    scenarios = [load_scenario(SCENARIO_DIR / f"{n}.yaml") for n in ("rest_no_input", "ampa_only")]
    started = time.monotonic()
    result = run_gate(scenarios, workers=2, timeout=15, run_candidate=functools.partial(pool_tasks.hang_on,
                                                                                         "ampa_only"))
    assert time.monotonic() - started < 60
    verdicts = {o.scenario: o.verdict for o in result.outcomes}
    assert verdicts == {"rest_no_input": "pass", "ampa_only": "error"} and result.status == "error"
    hung = result.outcomes[1]
    assert all("ran past the time limit of 15 s" in c.error for c in hung.comparisons)


# ------------------------------------------------------------------------------------------- interrupts
TOY_POOL = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    import pool_tasks
    from harness.judge.pool import run_bounded, run_parallel
    try:
        {call}
    except KeyboardInterrupt:
        sys.exit(130)
""")


def _as_a_shell_starts_it() -> None:
    """The child starts with SIGINT at its default and unblocked, as a shell starts a command: a child
    inherits both from its parent, and in the whole suite (make test, two xdist workers) the worker that
    starts these children was seen with SIGINT ignored or blocked, so Ctrl-C never reached the command
    under test. Which earlier test leaves it so is not known yet (docs/testing.md)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _start(argv) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=_as_a_shell_starts_it)


POOL_CALL = 'run_parallel(pool_tasks.nap, [(3600,)] * 3, workers=3, desc="t")'
SOLO_CALL = "run_bounded(pool_tasks.nap, 3600)"


def _toy_pool(call=POOL_CALL):
    return _start([sys.executable, "-c", TOY_POOL.format(tests=str(Path(__file__).parent), call=call)])


@pytest.mark.parametrize("call, n", [(POOL_CALL, 3), (SOLO_CALL, 1)])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_ends_every_worker_at_once_exit_130(sig, call, n):
    proc = _toy_pool(call)
    try:
        assert wait_for(lambda: len(workers_of(proc.pid)) == n, 30), proc.stderr.read() if proc.poll() else ""
        workers = workers_of(proc.pid)
        started = time.monotonic()
        proc.send_signal(sig)
        assert proc.wait(10) == EXIT_INTERRUPTED
        assert time.monotonic() - started < 5
        assert not any(alive(p) for p in workers)
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_parent_leaves_no_worker_behind():
    proc = _toy_pool()
    try:
        assert wait_for(lambda: len(workers_of(proc.pid)) == 3, 30)
        workers = workers_of(proc.pid)
        proc.kill()
        proc.wait()
        assert wait_for(lambda: not any(alive(p) for p in workers), 5), [p for p in workers if alive(p)]
    finally:
        proc.kill()


@pytest.mark.nest
@pytest.mark.parametrize("command", ["gate", "report"])
@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_a_gate_or_report_killed_or_interrupted_leaves_no_worker_behind(tmp_path, command, how):
    outputs = {"gate": ["--json", str(tmp_path / "g.json"), "--junit", str(tmp_path / "j.xml")],
               "report": ["--out", str(tmp_path / "g.json")]}[command]
    proc = _start([sys.executable, "-m", "harness", command, str(SCENARIO_DIR), "--workers", "2", *outputs])
    try:
        assert wait_for(lambda: len(workers_of(proc.pid)) == 2, 30)
        workers = workers_of(proc.pid)
        started = time.monotonic()
        proc.send_signal(getattr(signal, how))
        code = proc.wait(10)
        if how == "SIGINT":
            assert code == EXIT_INTERRUPTED and b"interrupted" in proc.stderr.read()
            assert time.monotonic() - started < 5  # not after the remaining scenarios ran
        assert wait_for(lambda: not any(alive(p) for p in workers), 5), [p for p in workers if alive(p)]
        assert not (tmp_path / "g.json").exists()
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.nest
def test_a_hung_fuzz_batch_ends_the_fuzzer_and_is_written_unshrunk(tmp_path, capsys):
    import argparse

    from harness.fuzz.run import run_fuzz

    args = argparse.Namespace(examples=3, seed=None, profile="ci", regressions_dir=str(tmp_path / "regressions"),
                              database=str(tmp_path / "examples"), timeout=5.0)
    started = time.monotonic()
    assert run_fuzz(args, candidate=pool_tasks.hang_batch) == 1
    assert time.monotonic() - started < 30
    captured = capsys.readouterr()
    assert "error: the batch (NEST and the candidate) ran past the time limit of 5 s" in captured.err
    written = sorted((tmp_path / "regressions").glob("fuzz_*.yaml"))
    assert written and all("ran past the time limit" in path.read_text() for path in written)


@pytest.mark.nest
@pytest.mark.parametrize("command", ["compare", "record", "run"])
def test_single_run_commands_past_the_time_limit_exit_2_with_one_line(tmp_path, capsys, command):
    extra = {"compare": [], "record": ["--dir", str(tmp_path / "refs")], "run": []}[command]
    assert main([command, str(SCENARIO_DIR / "ampa_only.yaml"), "--timeout", "0.001", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "ran past the time limit of 0.001 s (--timeout) and was ended" in err
    assert "ampa_only.yaml" in err and not (tmp_path / "refs").exists()


@pytest.mark.nest
def test_record_goes_on_after_a_scenario_past_the_time_limit(tmp_path, capsys):
    paths = [str(SCENARIO_DIR / name) for name in ("ampa_only.yaml", "gaba_only.yaml")]
    assert main(["record", *paths, "--timeout", "0.001", "--dir", str(tmp_path / "refs")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "ampa_only.yaml" in err[0] and "gaba_only.yaml" in err[1]  # both were tried
    assert all("ran past the time limit of 0.001 s" in line for line in err)


@pytest.mark.nest
def test_a_report_past_the_time_limit_is_written_with_errors_exit_2(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", str(SCENARIO_DIR / "ampa_only.yaml"), "--timeout", "0.001", "--out", str(out)]) == 2
    summary = json.loads((out / "summary.json").read_text())
    assert "ran past the time limit of 0.001 s" in json.dumps(summary)
