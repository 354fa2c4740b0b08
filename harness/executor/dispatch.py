"""One executor for the commands that run many tasks (gate, report, selftest) and those that run one at a
time (fuzz): the process pool by default, a Dask cluster with ``--scheduler`` (docs/executor.md).

``scheduler`` is the value of ``--scheduler``:

* ``None``: ``harness.judge.pool`` (spawned worker processes, killed past the time limit), as before;
* ``"local"``: a Dask LocalCluster of ``workers`` worker processes on this machine, closed (its workers
  killed) when the command ends, also on Ctrl-C;
* any other string: the address of a running Dask scheduler (``tcp://host:8786``); its workers must have
  NEST 3.10.0 and this package installed and see the same files (scenarios, references) at the same paths.

The outcomes are the pool's: results in the order of the items; a task that raised re-raises here; a task
whose worker died or ran past ``timeout`` gives ``failed(item, reason)``, or RunTimedOut / WorkerDied
without ``failed``.
"""
from __future__ import annotations

import contextlib
import time
import uuid

from harness.executor import cluster
from harness.judge.pool import (
    DEFAULT_TIMEOUT_S,
    RunTimedOut,
    WorkerDied,
    _expected_cost,
    _failure,
    _interrupts_as_keyboard_interrupt,
    default_workers,
    limit_message,
    run_bounded,
    run_parallel,
)

LOCAL = "local"


def cluster_address(scheduler: str) -> str | None:
    """The address open_client takes: None starts a local cluster."""
    return None if scheduler == LOCAL else scheduler


def map_tasks(task, items, *, scheduler: str | None = None, workers: int | None = None, desc: str,
              timeout: float = DEFAULT_TIMEOUT_S, failed=None) -> list:
    """``task(*item)`` for every item, results in the order of ``items`` (``pool.run_parallel``'s contract).

    ``task`` must be picklable by reference (a module-level function) and so must the items.
    """
    workers = workers or default_workers()
    if scheduler is None:
        return run_parallel(task, items, workers=workers, desc=desc, timeout=timeout, failed=failed)
    if not items:
        return []
    from tqdm import tqdm

    # As the pool does: the longest runs first, so that the last worker does not start a long one alone.
    order = sorted(range(len(items)), key=lambda i: -_expected_cost(items[i]))
    token = uuid.uuid4().hex[:8]  # keys unique per command: a shared scheduler merges tasks of equal keys
    keys = [f"{desc}-{i}-{_item_name(items[i])}-{token}" for i in order]
    results = [None] * len(items)
    with _interrupts_as_keyboard_interrupt(), \
            cluster.open_client(cluster_address(scheduler), max(1, min(workers, len(items)))) as client, \
            tqdm(total=len(items), desc=desc, unit="run", disable=None, leave=False) as bar:
        for index, kind, value in cluster.stream(client, task, [items[i] for i in order], timeout=timeout,
                                                 keys=keys):
            i = order[index]
            if kind == "raised":
                raise value
            results[i] = value if kind == "ok" else _failure(failed, items[i], value)
            bar.update(1)
    return results


def _item_name(item) -> str:
    name = next((getattr(x, "name", None) for x in item if hasattr(x, "n_steps")), None)
    return str(name) if name else "task"


# ------------------------------------------------------------------------------------------- one at a time
@contextlib.contextmanager
def bounded_runner(scheduler: str | None, workers: int = 1):
    """A callable ``bounded(task, *args, timeout=, what=)`` with ``pool.run_bounded``'s contract.

    ``None``: run_bounded itself (the solo worker process). Otherwise one client for the whole command, each
    call one task on the cluster. A task that raised re-raises; one past ``timeout`` raises RunTimedOut; one
    whose worker died raises WorkerDied.
    """
    if scheduler is None:
        yield run_bounded
        return
    with cluster.open_client(cluster_address(scheduler), workers) as client:
        yield lambda task, *args, timeout=DEFAULT_TIMEOUT_S, what="the run": run_on_cluster(
            client, task, *args, timeout=timeout, what=what)


def run_on_cluster(client, task, *args, timeout: float = DEFAULT_TIMEOUT_S, what: str = "the run"):
    """``task(*args)`` as one task on ``client``'s cluster (bounded_runner)."""
    started = time.monotonic()
    with _interrupts_as_keyboard_interrupt():
        ((_, kind, value),) = list(cluster.stream(client, task, [args], timeout=timeout))
    if kind == "ok":
        return value
    if kind == "raised":
        raise value
    # A worker killed by the time limit and one that crashed look alike to the scheduler; only a task that
    # ran as long as the limit can have been ended by it.
    if time.monotonic() - started >= timeout:
        raise RunTimedOut(f"{what} {limit_message(timeout)}")
    raise WorkerDied(f"{what}: {value}")
