"""harness.executor.dispatch: the process pool and a Dask cluster give the same results and outcomes; the gate
judges the same with --scheduler local; a bad address is one line and exit 2; Ctrl-C leaves no worker."""
import json
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import executor_tasks as tasks
import pytest
from conftest import REPO, SCENARIO_DIR
from test_runs import _as_a_shell_starts_it, alive, wait_for

from harness.cli import main
from harness.errors import EXIT_INTERRUPTED, EXIT_USAGE
from harness.executor import cluster
from harness.executor.dispatch import bounded_runner, map_tasks
from harness.judge.pool import WorkerDied

ITEMS = [(i,) for i in range(7)]
SMALL = ["rest_no_input.yaml", "ampa_only.yaml", "net_ampa_pair.yaml"]


def _lost(item, reason):
    return ("failed", item[0], reason)


@pytest.mark.parametrize("task, items", [(tasks.square, ITEMS), (tasks.die_on, [(i, -1) for i in range(5)])])
def test_a_local_cluster_gives_the_pools_results_in_the_order_of_the_items(task, items):
    on_pool = map_tasks(task, items, workers=2, desc="t")
    on_dask = map_tasks(task, items, scheduler="local", workers=2, desc="t")
    assert on_dask == on_pool == [task(*item) for item in items]


def test_a_task_that_kills_its_worker_fails_alone_and_the_others_finish():
    results = map_tasks(tasks.die_on, [(i, 3) for i in range(8)], scheduler="local", workers=2, desc="t",
                        failed=_lost)
    assert results[:3] == [0, 1, 2] and results[4:] == [4, 5, 6, 7]
    kind, item, reason = results[3]
    assert (kind, item) == ("failed", 3) and "its worker process died" in reason


def test_a_lost_task_without_failed_raises_worker_died():
    with pytest.raises(WorkerDied, match="its worker process died"):
        map_tasks(tasks.die_on, [(1, 1)], scheduler="local", workers=1, desc="t", timeout=None)


@pytest.mark.parametrize("scheduler", [None, "local"])
def test_a_raising_task_re_raises_its_exception(scheduler):
    with pytest.raises(ArithmeticError, match="task 2 fails on purpose"):
        map_tasks(tasks.raise_on, [(i, 2) for i in range(4)], scheduler=scheduler, workers=2, desc="t")


@pytest.mark.slow
def test_the_time_limit_ends_a_task_on_the_cluster():
    started = time.monotonic()
    results = map_tasks(tasks.nap, [(0.0,), (3600,)], scheduler="local", workers=2, desc="t", timeout=1.0,
                        failed=_lost)
    assert isinstance(results[0], int) and results[1][0] == "failed" and "time limit of 1 s" in results[1][2]
    assert time.monotonic() - started < 30  # two tries of 1 s each, and the restarts


def test_the_bounded_runner_on_a_cluster_returns_raises_and_reports_a_dead_worker():
    with bounded_runner("local") as bounded:
        assert bounded(tasks.square, 5, timeout=30, what="the run") == 25
        with pytest.raises(ArithmeticError):
            bounded(tasks.raise_on, 1, 1, timeout=30, what="the run")
        with pytest.raises(WorkerDied, match="^the batch: its worker process died"):
            bounded(tasks.die_on, 1, 1, timeout=30, what="the batch")
        assert bounded(tasks.square, 6, timeout=30, what="the run") == 36  # the nanny restarted the worker


@pytest.mark.parametrize("address, why", [("tcp://127.0.0.1:1", "Timed out trying to connect"),
                                          ("no-port-here", "missing port number")])
def test_a_bad_scheduler_address_is_one_line_and_exit_2(address, why, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2)
    started = time.monotonic()
    code = main(["gate", str(SCENARIO_DIR / "rest_no_input.yaml"), "--scheduler", address,
                 "--json", str(tmp_path / "g.json"), "--junit", str(tmp_path / "j.xml")])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and time.monotonic() - started < 30
    assert err.startswith(f"error: --scheduler {address}: cannot reach a Dask scheduler there") and why in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "g.json").exists()


def _numbers(doc: dict) -> dict:
    """The gate's JSON without what depends on the run's time and place."""
    skip = {"created", "wall_seconds", "seconds", "provenance", "workers"}
    if isinstance(doc, dict):
        return {k: _numbers(v) for k, v in doc.items() if k not in skip}
    if isinstance(doc, list):
        return [_numbers(v) for v in doc]
    return doc


@pytest.mark.nest
@pytest.mark.slow
def test_the_gate_on_a_local_cluster_judges_as_the_process_pool_does(tmp_path, capsys):
    docs = {}
    for label, extra in (("pool", []), ("dask", ["--scheduler", "local"])):
        code = main(["gate", *(str(SCENARIO_DIR / name) for name in SMALL), "--workers", "2", *extra,
                     "--json", str(tmp_path / f"{label}.json"), "--junit", str(tmp_path / f"{label}.xml")])
        assert code == 0, capsys.readouterr().err
        docs[label] = json.loads((tmp_path / f"{label}.json").read_text())
    assert [s["verdict"] for s in docs["dask"]["scenarios"]] == [s["verdict"] for s in docs["pool"]["scenarios"]]
    assert len(docs["pool"]["comparisons"]) >= 3 * len(SMALL)
    assert _numbers(docs["dask"]) == _numbers(docs["pool"])


def dask_workers_of(parent: int) -> list[int]:
    """The worker processes a local cluster spawned. Not found by the pool's marker: a nanny sets a worker's
    ``env`` after the spawn, so /proc/PID/environ does not show it."""
    import psutil

    try:
        children = psutil.Process(parent).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if "spawn_main" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


TOY = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    import executor_tasks
    from harness.executor.dispatch import map_tasks
    try:
        map_tasks(executor_tasks.nap, [(3600,)] * 2, scheduler="local", workers=2, desc="t")
    except KeyboardInterrupt:
        sys.exit(130)
""")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_closes_the_local_cluster_and_exits_130(sig):
    proc = subprocess.Popen([sys.executable, "-c", TOY.format(tests=str(Path(__file__).parent))], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_as_a_shell_starts_it)
    try:
        assert wait_for(lambda: len(dask_workers_of(proc.pid)) == 2, 60), proc.stderr.read() if proc.poll() else ""
        time.sleep(1.0)  # the tasks reach the workers
        workers = dask_workers_of(proc.pid)
        started = time.monotonic()
        proc.send_signal(sig)
        assert proc.wait(30) == EXIT_INTERRUPTED
        assert time.monotonic() - started < 15
        assert wait_for(lambda: not any(alive(p) for p in workers), 10), [p for p in workers if alive(p)]
    finally:
        proc.kill()
        proc.wait()


def _fuzz_args(tmp_path, **overrides):
    import argparse

    values = {"examples": 3, "networks": 2, "seed": 7, "profile": "dev", "timeout": 60.0, "scheduler": None,
              "regressions_dir": str(tmp_path / "regressions"), "database": str(tmp_path / "examples")}
    return argparse.Namespace(**{**values, **overrides})


@pytest.mark.nest
@pytest.mark.slow
def test_fuzz_on_a_local_cluster_checks_the_same_examples_as_with_the_solo_worker(tmp_path, capsys):
    from harness.fuzz.run import run_fuzz

    summaries = []
    for scheduler in (None, "local"):
        assert run_fuzz(_fuzz_args(tmp_path, scheduler=scheduler)) == 0
        line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("fuzz ("))
        summaries.append(re.sub(r"\d+(\.\d+)? s\b|\(\d+ scenarios/min\)", "", line))  # the counts, not the times
    assert summaries[0] == summaries[1] and "in 3 batches" in summaries[0] and "2 networks (" in summaries[0]


@pytest.mark.nest
@pytest.mark.slow
def test_a_hung_fuzz_batch_on_a_local_cluster_ends_the_fuzzer_past_the_time_limit(tmp_path, capsys):
    import pool_tasks

    from harness.fuzz.run import run_fuzz

    started = time.monotonic()
    args = _fuzz_args(tmp_path, networks=0, timeout=2.0, scheduler="local")
    assert run_fuzz(args, candidate=pool_tasks.hang_batch) == 1
    assert time.monotonic() - started < 40  # two tries of 2 s, a worker restart each
    assert "error: the batch (NEST and the candidate) ran past the time limit of 2 s" in capsys.readouterr().err
    written = sorted((tmp_path / "regressions").glob("fuzz_*.yaml"))
    assert written and all("ran past the time limit" in path.read_text() for path in written)
