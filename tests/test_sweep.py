"""``nest-parity sweep`` end to end on a 2-worker local Dask cluster: rows, resume, a killed worker, invalid
variants, the Parquet schema, --show. Each sweep runs in its own process, as a person runs it."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import REPO
from test_runs import wait_for, workers_of

from harness.errors import EXIT_INTERRUPTED
from harness.sweep import store

pytestmark = [pytest.mark.nest, pytest.mark.slow]

VARIABLES = 8  # seven recordables and the spikes: the rows of one variant x pair

BASE = """\
    base:
      name: sweep_base
      resolution: 0.1
      duration: {duration}
      params: {{gsl_error_tol: 1.0e-3}}
      inputs:
        - {{device: spike_generator, receptor: AMPA, weight: 20.0, spike_times: [5.0, 12.0, 30.3]}}
        - {{device: spike_generator, receptor: NMDA, weight: 1.0, spike_times: [8.0, 25.0]}}
        - {{device: dc_generator, amplitude: 250.0, start: 10.0, stop: 40.0}}
"""


def sweep_file(tmp_path: Path, body: str, *, duration: float = 50.0, name: str = "small") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\n" + textwrap.dedent(BASE.format(duration=duration) + body))
    return path


def sweep(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", "sweep", *map(str, args)], cwd=REPO, text=True,
                          capture_output=True, timeout=kwargs.pop("timeout", 300), **kwargs)


def rows_per_variant(out: Path) -> dict:
    counts: dict = {}
    for row in store.read_table(out).select(["variant_id", "pair", "variable"]).to_pylist():
        key = (row["pair"], row["variable"])
        counts.setdefault(row["variant_id"], []).append(key)
    return counts


def assert_each_variant_once(out: Path, ids: list[str], per_variant: int) -> None:
    found = rows_per_variant(out)
    assert sorted(found) == sorted(ids)
    for variant_id, keys in found.items():
        assert len(keys) == len(set(keys)), f"{variant_id} has a row twice: {keys}"
        assert len(keys) in (per_variant, 1), f"{variant_id}: {len(keys)} rows"


def listed_ids(path: Path) -> list[str]:
    listing = sweep(path, "--list")
    assert listing.returncode == 0, listing.stderr
    return [line.split()[0] for line in listing.stdout.splitlines()[:-1]]


GRID = """\
    grid:
      inputs[0].weight: [10.0, 40.0]
      params.gsl_error_tol: [1.0e-3, 1.0e-6]
    candidates: [python]
    batch_size: 2
"""


def test_a_small_sweep_writes_one_row_per_variant_pair_and_variable(tmp_path):
    path, out = sweep_file(tmp_path, GRID), tmp_path / "out"
    result = sweep(path, "--out", out, "--workers", 2)
    assert result.returncode == 0, result.stderr
    ids = listed_ids(path)
    assert len(ids) == 4
    assert_each_variant_once(out, ids, VARIABLES)
    table = store.read_table(out)
    assert set(table.column("verdict").to_pylist()) == {"pass"}
    assert set(table.column("pair").to_pylist()) == {"nest-vs-python"}
    assert max(table.column("max_abs").drop_null().to_pylist()) == 0.0  # the engine equals NEST bit for bit
    assert len({w for w in table.column("worker").to_pylist()}) >= 1
    assert "4 variants: 4 pass, 0 fail, 0 error, 0 invalid; 4 run now, 0 already done" in result.stdout
    frame = store.read_results(out)
    assert sorted(set(frame["param:inputs[0].weight"])) == [10.0, 40.0]
    assert (out / "report" / "report.html").is_file() and (out / "report" / "report.md").is_file()


def test_the_parquet_parts_have_the_documented_schema(tmp_path):
    path, out = sweep_file(tmp_path, GRID), tmp_path / "out"
    assert sweep(path, "--out", out, "--workers", 2).returncode == 0
    parts = store.parts(out)
    assert parts and all(p.parent.name == "base=sweep_base" for p in parts)
    for part in parts:
        assert pq.read_schema(part).remove_metadata().equals(store.FILE_SCHEMA)
    manifest = json.loads((out / store.MANIFEST).read_text())
    assert manifest["name"] == "small" and manifest["axes"] == ["inputs[0].weight", "params.gsl_error_tol"]


def test_show_writes_a_scenario_that_compare_reproduces(tmp_path):
    path = sweep_file(tmp_path, GRID)
    first = listed_ids(path)[1]
    shown = sweep(path, "--show", first[:8])
    assert shown.returncode == 0, shown.stderr
    scenario = tmp_path / "v.yaml"
    scenario.write_text(shown.stdout)
    assert "weight: 10.0" in shown.stdout and "gsl_error_tol: 1.0e-06" in shown.stdout
    compared = subprocess.run([sys.executable, "-m", "harness", "compare", str(scenario), "--truth", "none"],
                              cwd=REPO, text=True, capture_output=True, timeout=120)
    assert compared.returncode == 0, compared.stdout + compared.stderr
    missing = sweep(path, "--show", "ffffffffffff")
    assert missing.returncode == 2 and "no variant" in missing.stderr and "Traceback" not in missing.stderr


def test_an_interrupted_sweep_resumes_where_it_stopped(tmp_path):
    path = sweep_file(tmp_path, GRID.replace("[10.0, 40.0]", "[10.0, 20.0, 30.0, 40.0]").replace(
        "batch_size: 2", "batch_size: 1"), duration=150.0)
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "harness", "sweep", str(path), "--out", str(out),
                                "--workers", "1"], cwd=REPO, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: len(store.parts(out)) >= 2, 120), "no part was written"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == EXIT_INTERRUPTED, stderr
    done = store.done_variants(out)
    assert 2 <= len(done) < 8
    assert wait_for(lambda: not workers_of(process.pid), 20), "the interrupted sweep left workers behind"
    result = sweep(path, "--out", out, "--workers", 2)
    assert result.returncode == 0, result.stderr
    assert f"{8 - len(done)} run now, {len(done)} already done" in result.stdout
    assert_each_variant_once(out, listed_ids(path), VARIABLES)


def test_a_worker_killed_mid_sweep_loses_no_variant(tmp_path):
    path = sweep_file(tmp_path, GRID.replace("[10.0, 40.0]", "[10.0, 20.0, 30.0]").replace(
        "batch_size: 2", "batch_size: 1"), duration=400.0)
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "harness", "sweep", str(path), "--out", str(out),
                                "--workers", "2"], cwd=REPO, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    killed = []
    try:
        # The workers import NEST at their first task; kill one while tasks run (after the first part).
        assert wait_for(lambda: len(store.parts(out)) >= 1, 120), "no part was written"
        victims = [pid for pid in workers_of(process.pid) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert victims, "no worker process found"
        os.kill(victims[0], signal.SIGKILL)
        killed.append(victims[0])
        stdout, stderr = process.communicate(timeout=240)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert_each_variant_once(out, listed_ids(path), VARIABLES)
    assert set(store.read_table(out).column("verdict").to_pylist()) == {"pass"}


def test_a_variant_that_kills_every_worker_is_an_error_and_its_batch_neighbours_still_pass(tmp_path):
    registry = tmp_path / "candidates.yaml"
    registry.write_text(textwrap.dedent("""\
        candidates:
          killer:
            description: the engine, but its process exits on an AMPA weight of 40 nS
            python: "sweep_candidates:dies_on_heavy_ampa"
            protocols: [1]
            timeout_s: 60
            profile: exact
        """))
    body = GRID.replace("candidates: [python]", "candidates: [killer]\n    registry: candidates.yaml")
    path = sweep_file(tmp_path, body)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)])}
    result = sweep(path, "--out", out, "--workers", 2, env=env)
    assert result.returncode == 1, result.stderr
    assert "ran alone after their task's worker died twice" in result.stderr
    rows = store.read_table(out).to_pylist()
    verdicts = {}
    for row in rows:
        verdicts.setdefault((json.loads(row["changes"])["inputs[0].weight"], row["variant_id"]), set()).add(
            row["verdict"])
    assert sorted(verdicts.values(), key=sorted) == [{"error"}, {"error"}, {"pass"}, {"pass"}]
    for (weight, _), verdict in verdicts.items():
        assert verdict == ({"error"} if weight == 40.0 else {"pass"})
    errors = [r for r in rows if r["verdict"] == "error"]
    assert len(errors) == 2 and all("worker process died" in r["error"] for r in errors)
    assert_each_variant_once(out, listed_ids(path), VARIABLES)


def test_a_task_past_its_time_limit_ends_its_worker_and_only_the_hanging_variants_are_errors(tmp_path):
    registry = tmp_path / "candidates.yaml"
    registry.write_text(textwrap.dedent("""\
        candidates:
          sleeper:
            description: the engine, but it hangs on an AMPA weight of 40 nS
            python: "sweep_candidates:hangs_on_heavy_ampa"
            protocols: [1]
            timeout_s: 3600
            profile: exact
        """))
    body = GRID.replace("candidates: [python]", "candidates: [sleeper]\n    registry: candidates.yaml\n    timeout: 10")
    path = sweep_file(tmp_path, body.replace("batch_size: 2", "batch_size: 1"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)])}
    started = time.monotonic()
    result = sweep(path, "--out", tmp_path / "out", "--workers", 2, env=env)
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 200  # two tries of 10 s per hanging variant, not an hour
    rows = store.read_table(tmp_path / "out").to_pylist()
    by_weight = {}
    for row in rows:
        by_weight.setdefault(json.loads(row["changes"])["inputs[0].weight"], set()).add(row["verdict"])
    assert by_weight == {10.0: {"pass"}, 40.0: {"error"}}
    assert all("time limit of 10 s" in r["error"] for r in rows if r["verdict"] == "error")


def test_a_sweep_runs_on_an_existing_scheduler(tmp_path):
    dask = Path(sys.executable).with_name("dask")
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYNEST_QUIET": "1"}
    logs = open(tmp_path / "cluster.log", "w")
    scheduler = subprocess.Popen([str(dask), "scheduler", "--no-dashboard", "--port", "0", "--scheduler-file",
                                  str(scheduler_file)], env=env, stdout=logs, stderr=logs, start_new_session=True)
    worker = None
    try:
        assert wait_for(scheduler_file.exists, 60), "the scheduler did not start"
        address = json.loads(scheduler_file.read_text())["address"]
        worker = subprocess.Popen([str(dask), "worker", "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                                   "--scheduler-file", str(scheduler_file)], env=env, stdout=logs, stderr=logs,
                                  start_new_session=True)
        path, out = sweep_file(tmp_path, GRID), tmp_path / "out"
        result = sweep(path, "--out", out, "--scheduler", address)
        assert result.returncode == 0, result.stderr
        assert "4 variants: 4 pass" in result.stdout
        assert_each_variant_once(out, listed_ids(path), VARIABLES)
        manifest = json.loads((out / store.MANIFEST).read_text())
        assert manifest["scheduler"] == address and manifest["workers"] is None
        import psutil

        ran_in = {int(w.rsplit(":", 1)[1]) for w in store.read_table(out).column("worker").to_pylist()}
        children = {p.pid for p in psutil.Process(worker.pid).children(recursive=True)}
        assert len(ran_in) == 1 and ran_in <= children  # the `dask worker`'s process ran them, no local cluster
    finally:
        for process in (worker, scheduler):
            if process is not None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        logs.close()


def test_a_sweep_with_the_truth_stores_the_ladders_distances_and_judges_as_accurate_as_nest(tmp_path):
    path = sweep_file(tmp_path, """\
    grid:
      params.gsl_error_tol: [1.0e-2, 1.0e-9]
    candidates: [python]
    profile: as-accurate-as-nest
    truth: live
    """, duration=30.0)
    out = tmp_path / "out"
    result = sweep(path, "--out", out, "--workers", 2)
    assert result.returncode == 0, result.stderr
    rows = [r for r in store.read_table(out).to_pylist() if r["variable"] not in (None, "spikes")]
    assert len(rows) == 2 * 7 and {r["pair"] for r in rows} == {"truth-vs-python"}
    assert all(r["verdict"] == "pass" and r["profile"] == "as-accurate-as-nest" for r in rows)
    v_m = {json.loads(r["changes"])["params.gsl_error_tol"]: r for r in rows if r["variable"] == "V_m"}
    # NEST (and the engine, which equals it) is farther from the truth at the looser tolerance.
    assert 0 < v_m[1e-9]["nest_truth_distance"] < v_m[1e-2]["nest_truth_distance"]
    assert all(r["truth_distance"] == r["nest_truth_distance"] for r in rows)  # the engine is NEST bit for bit


def test_invalid_variants_are_reported_by_id_and_key_path_and_the_rest_run(tmp_path):
    # A resolution of 0.2 ms leaves the AMPA spike at 30.3 ms off the grid: the schema refuses those variants.
    path = sweep_file(tmp_path, """\
    grid:
      resolution: [0.1, 0.2]
      inputs[0].weight: [10.0, 40.0]
    candidates: [python]
    """)
    out = tmp_path / "out"
    result = sweep(path, "--out", out, "--workers", 2)
    assert result.returncode == 0, result.stderr
    table = store.read_table(out).to_pylist()
    invalid = {r["variant_id"] for r in table if r["verdict"] == "invalid"}
    passed = {r["variant_id"] for r in table if r["verdict"] == "pass"}
    assert len(invalid) == 2 and len(passed) == 2
    for variant_id in invalid:
        assert f"invalid variant {variant_id}" in result.stderr
    assert "spike_times" in result.stderr
    assert all(r["error"] for r in table if r["verdict"] == "invalid")
    assert "2 pass, 0 fail, 0 error, 2 invalid" in result.stdout


def test_an_out_folder_of_another_sweep_is_refused(tmp_path):
    out = tmp_path / "out"
    assert sweep(sweep_file(tmp_path, GRID), "--out", out, "--workers", 1).returncode == 0
    other = sweep_file(tmp_path, GRID.replace("10.0, 40.0", "11.0, 40.0"), name="other")
    refused = sweep(other, "--out", out)
    assert refused.returncode == 2 and "another sweep" in refused.stderr and "Traceback" not in refused.stderr
    assert len(rows_per_variant(out)) == 4  # nothing of the first sweep's results was touched


def test_a_port_runs_the_file_with_its_own_candidate_and_profile_as_another_sweep(tmp_path):
    path, out = sweep_file(tmp_path, GRID), tmp_path / "out"
    assert sweep(path, "--out", out, "--workers", 2).returncode == 0
    other = tmp_path / "port"
    result = sweep(path, "--out", other, "--workers", 2, "--candidate", "engine-inprocess", "--profile", "integrator")
    assert result.returncode == 0, result.stderr
    table = store.read_table(other)
    assert set(table.column("pair").to_pylist()) == {"nest-vs-engine-inprocess"}
    assert set(table.column("profile").to_pylist()) == {"integrator"}
    assert sorted(rows_per_variant(other)) == sorted(rows_per_variant(out))  # the same variants, the same ids
    manifest, own = (json.loads((d / store.MANIFEST).read_text()) for d in (other, out))
    assert manifest["content_hash"] != own["content_hash"] and manifest["name"] == "small-engine-inprocess"
    mixed = sweep(path, "--out", out, "--candidate", "engine-inprocess")  # never into the file's own results
    assert mixed.returncode == 2 and "another sweep" in mixed.stderr
    bad = sweep(path, "--candidate", "no-such-port", "--profile", "nope")
    assert bad.returncode == 2 and "no-such-port" in bad.stderr and "nope" in bad.stderr
    needs_truth = sweep(path, "--profile", "as-accurate-as-nest")  # the file says truth: none
    assert needs_truth.returncode == 2 and "--truth: none with profile as-accurate-as-nest" in needs_truth.stderr
    assert "Traceback" not in bad.stderr
