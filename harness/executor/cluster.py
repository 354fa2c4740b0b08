"""A Dask client for the commands that run many tasks, and their outcomes as the tasks finish.

``open_client(None, workers=N)`` starts a local cluster of N worker *processes*, one thread each (NEST's kernel
is one per process and not thread-safe); ``open_client("tcp://host:8786")`` joins an existing scheduler
(dask-jobqueue on Slurm, dask-kubernetes, ``dask scheduler`` by hand: README, "Sweeps"). Each worker imports
NEST once, at its first task, and keeps it: every run starts with ResetKernel, as in the process pool.

``stream`` submits ``fn(*item)`` for each item and yields ``(index, kind, value)`` as tasks finish:

* ``ok``: the result;
* ``raised``: the exception the task raised (the caller decides whether it is an error of one item or a bug);
* ``lost``: the task's worker died (killed, out of memory, a crash in NEST, or past ``timeout``: see below)
  on every worker that tried it. The local scheduler retries a task once on another worker
  (``ALLOWED_FAILURES``); an existing scheduler follows its own ``distributed.scheduler.allowed-failures``.

A task past ``timeout`` seconds ends its worker process (a C++ hang cannot be interrupted from Python): the
nanny starts a fresh one and the scheduler treats the task as one whose worker died.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading

from harness.errors import UsageError

ALLOWED_FAILURES = 1  # worker deaths a task may be part of before it is lost: one retry
TIMEOUT_EXIT = 124  # a worker's exit status when a task ran past its time limit
CONNECT_TIMEOUT_S = 30


@contextlib.contextmanager
def open_client(scheduler: str | None, workers: int, *, memory_limit: str | None = "auto"):
    """A ``distributed.Client``; the local cluster (``scheduler`` None) is closed, workers and all, on exit."""
    import dask
    from distributed import Client, LocalCluster

    from harness.judge.pool import WORKER_MARKER

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there: {exc}; allowed: the "
                             f"address a running scheduler prints, such as tcp://10.0.0.5:8786") from None
        with client:
            yield client
        return
    # The marker goes into this process's environment while the cluster lives, so that every worker process,
    # also one the nanny starts later in place of a dead one, carries it from exec (readable in /proc/PID/environ,
    # as the process pool's workers do; Nanny(env=...) would set it only inside Python).
    previous = os.environ.get(WORKER_MARKER)
    os.environ[WORKER_MARKER] = str(os.getpid())
    cluster = None
    try:
        # worker-saturation 1.0: a worker holds only the task it runs. At Dask's default (1.1) a one-thread worker
        # also holds the next task, and a worker's death counts against both: an innocent task was seen lost.
        with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                              "distributed.scheduler.worker-saturation": 1.0,
                              "distributed.worker.daemon": False}):
            try:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.CRITICAL,
                                       memory_limit=memory_limit)
            except RuntimeError as exc:  # a worker process that cannot start (no memory, no ports)
                raise RuntimeError(f"the local Dask cluster of {workers} worker process(es) did not start: {exc}"
                                   ) from exc
        with Client(cluster) as client:
            yield client
    finally:
        if cluster is not None:
            cluster.close()
        if previous is None:
            os.environ.pop(WORKER_MARKER, None)
        else:
            os.environ[WORKER_MARKER] = previous


def worker_name() -> str:
    """``host:pid`` of the process a task runs in (the Dask worker, or this process outside one)."""
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def bounded(fn, timeout: float | None, *args):
    """``fn(*args)``; past ``timeout`` seconds the worker process exits (TIMEOUT_EXIT) and the task is lost.

    Only inside a Dask worker: in any other process the limit is not enforced here (the process pool has its
    own).
    """
    if not timeout or not _in_dask_worker():
        return fn(*args)
    timer = threading.Timer(timeout, os._exit, args=(TIMEOUT_EXIT,))
    timer.daemon = True
    timer.start()
    try:
        return fn(*args)
    finally:
        timer.cancel()


def _in_dask_worker() -> bool:
    try:
        from distributed import get_worker

        get_worker()
        return True
    except (ImportError, ValueError):
        return False


def stream(client, fn, items, *, timeout: float | None = None, keys=None):
    """``(index, kind, value)`` for each ``fn(*item)`` as it finishes (module docstring: the kinds).

    ``keys``: one Dask task key per item (stable names make a scheduler's log readable); default: generated.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    futures = {}
    for i, item in enumerate(items):
        options = {"key": keys[i]} if keys is not None else {"pure": False}
        futures[client.submit(bounded, fn, timeout, *item, **options)] = i
    try:
        for future in as_completed(futures):
            index = futures[future]
            try:
                yield index, "ok", future.result()
            except KilledWorker:
                yield index, "lost", _lost_reason(timeout)
            except Exception as exc:  # noqa: BLE001  (the task's own exception, handed to the caller)
                yield index, "raised", exc
            finally:
                future.release()
    finally:
        client.cancel(list(futures))


def _lost_reason(timeout: float | None) -> str:
    limit = f" or ran past the time limit of {timeout:g} s (--timeout)" if timeout else ""
    return (f"its worker process died{limit} on every worker that tried it "
            f"({ALLOWED_FAILURES + 1} attempts on a local cluster)")
