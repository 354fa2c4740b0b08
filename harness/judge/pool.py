"""The worker processes of every command that runs NEST or an engine: bounded in time, never left behind.

One design for all of them. A task (one scenario of the gate, the selftest or the report; one NEST or engine
run of ``compare``, ``record`` and ``run``) runs in a *spawned* worker process: each worker imports NEST
itself (a forked copy of a process that already ran NEST's OpenMP kernel is not safe) and every run starts
with ResetKernel. The parent waits on the workers' pipes with a deadline per task:

* **time limit**: a task past ``timeout`` seconds (``--timeout``, default ``DEFAULT_TIMEOUT_S``) gets its
  worker killed (SIGKILL to the worker's own process group: NEST hung in C++ cannot be asked nicely) and
  replaced; the task's result is ``failed(item, reason)``, an ``error`` for that scenario, and the others go
  on. Without ``failed`` the limit raises ``RunTimedOut`` (a UsageError: exit 2 with the message).
  A worker that dies (a segfault in NEST) is reported the same way.
* **interrupt**: SIGINT (Ctrl-C) and SIGTERM reach the parent as KeyboardInterrupt (SIGTERM is turned into
  one while a pool runs); every worker is killed at once and the command exits 130. Workers ignore SIGINT
  themselves (they sit in their own session, and the parent decides).
* **orphans**: a worker never outlives its parent. On Linux it asks the kernel for SIGKILL when the parent
  dies (prctl PR_SET_PDEATHSIG); everywhere a thread also polls ``os.getppid()`` and exits when it changes.
  Every worker carries ``WORKER_MARKER=<parent pid>`` in its environment, so tests (and people) can find them.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from collections import deque
from multiprocessing.connection import wait

from harness.errors import UsageError
from harness.scenario.types import Scenario

DEFAULT_TIMEOUT_S = 600.0
WORKER_MARKER = "NEST_PARITY_WORKER_OF"
_PARENT_POLL_S = 0.5
_PR_SET_PDEATHSIG = 1


class RunEnded(UsageError):
    """A run that gave no result, where no per-scenario error can stand in for it (single-run commands)."""


class RunTimedOut(RunEnded):
    """A run past its time limit: its worker was killed."""


class WorkerDied(RunEnded):
    """The worker process died during the run (a crash in NEST, say)."""


def default_workers() -> int:
    return os.cpu_count() or 1


def limit_message(timeout: float) -> str:
    return f"ran past the time limit of {timeout:g} s (--timeout) and was ended"


# ------------------------------------------------------------------------------------------- the worker
def _worker_main(conn, parent: int) -> None:
    """A worker's life: die with the parent, then run tasks from the pipe until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and kills us
    with contextlib.suppress(OSError):
        os.setsid()  # our own process group, so that killing it also ends anything we started
    _die_with_parent(parent)
    while True:
        try:
            task, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = ("ok", task(*args))
        except BaseException as exc:  # noqa: BLE001  (everything goes back to the parent, which re-raises)
            reply = ("raised", _picklable(exc))
        try:
            conn.send(reply)
        except Exception as exc:  # an unpicklable result: say so rather than hang the parent
            conn.send(("raised", RuntimeError(f"the worker could not send its result: {type(exc).__name__}: {exc}")))


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)

    def watch():
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_S)
        os._exit(1)

    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _picklable(exc: BaseException) -> BaseException:
    """``exc`` if it survives a round trip through pickle, else a plain exception of the same message."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        kind = UsageError if isinstance(exc, UsageError) else RuntimeError
        return kind(str(exc) if isinstance(exc, UsageError) else f"{type(exc).__name__}: {exc}")


_LIVE: set = set()  # every worker started and not yet killed, also one whose start an interrupt cut short


class _Worker:
    def __init__(self):
        _LIVE.add(self)
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, os.getpid()), daemon=True)
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()  # started before the marker is set: it is no worker and may outlive us
        previous = os.environ.get(WORKER_MARKER)
        os.environ[WORKER_MARKER] = str(os.getpid())  # inherited at exec: readable in /proc/PID/environ
        try:
            self.process.start()
        finally:
            if previous is None:
                os.environ.pop(WORKER_MARKER, None)
            else:
                os.environ[WORKER_MARKER] = previous
        child.close()
        self.index: int | None = None
        self.deadline = float("inf")

    def submit(self, index: int, task, args, timeout: float) -> None:
        self.index, self.deadline = index, time.monotonic() + timeout
        self.conn.send((task, args))

    def receive(self):
        """(kind, value) of the finished task; ("died", reason) when the worker is gone."""
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            self.process.join(1.0)
            return "died", f"its worker process died (exit code {self.process.exitcode})"

    def kill(self) -> None:
        """SIGKILL to the worker's process group (itself and whatever it started), then to itself."""
        _LIVE.discard(self)
        pid = getattr(getattr(self, "process", None), "pid", None)
        if pid is not None:
            for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                with contextlib.suppress(OSError):
                    kill()
            self.process.join(5.0)
        if hasattr(self, "conn"):
            self.conn.close()


def _kill_started_since(before: set) -> None:
    for worker in list(_LIVE - before):
        worker.kill()


# ------------------------------------------------------------------------------------------- the pool
def run_parallel(task, items, *, workers: int, desc: str, timeout: float = DEFAULT_TIMEOUT_S,
                 failed=None) -> list:
    """``task(*item)`` for every item, one item per worker task, results in the order of ``items``.

    The longest runs are submitted first so that the last worker does not start a long one alone. A task past
    ``timeout`` seconds, or whose worker died, gives ``failed(item, reason)`` (RunTimedOut without it). tqdm
    draws a bar only on a terminal (disable=None), so CI logs stay clean.
    """
    from tqdm import tqdm

    workers = max(1, min(workers, len(items)))
    results = [None] * len(items)
    pending = deque(sorted(range(len(items)), key=lambda i: -_expected_cost(items[i])))
    idle, busy, before = [], [], set(_LIVE)
    with _interrupts_as_keyboard_interrupt(), tqdm(total=len(items), desc=desc, unit="run", disable=None,
                                                   leave=False) as bar:
        try:
            while pending or busy:
                while pending and len(busy) < workers:
                    worker = idle.pop() if idle else _Worker()
                    i = pending.popleft()
                    worker.submit(i, task, items[i], timeout)
                    busy.append(worker)
                now = time.monotonic()
                ready = wait([w.conn for w in busy], timeout=max(0.0, min(w.deadline for w in busy) - now))
                for worker in list(busy):
                    i = worker.index
                    if worker.conn in ready:
                        kind, value = worker.receive()
                        if kind == "raised":
                            raise value
                        busy.remove(worker)
                        if kind == "ok":
                            results[i] = value
                            idle.append(worker)
                        else:
                            worker.kill()
                            results[i] = _failure(failed, items[i], value)
                    elif time.monotonic() >= worker.deadline:
                        busy.remove(worker)
                        worker.kill()
                        results[i] = _failure(failed, items[i], limit_message(timeout))
                    else:
                        continue
                    bar.update(1)
        finally:
            _kill_started_since(before)  # idle, busy, and one an interrupt caught while it started
    return results


def _failure(failed, item, reason: str):
    if failed is None:
        raise (RunTimedOut if "time limit" in reason else WorkerDied)(reason)
    return failed(item, reason)


# ------------------------------------------------------------------------------------------- single runs
_solo: list = []  # the one worker of run_bounded, kept between calls (NEST is imported once per command)


def run_bounded(task, *args, timeout: float = DEFAULT_TIMEOUT_S, what: str = "the run"):
    """``task(*args)`` in a worker process, within ``timeout`` seconds; RunTimedOut (exit 2) past it.

    For the commands that run one thing at a time (compare, record, run): their exceptions (a UsageError
    for a stale reference, say) come back and are raised here, as if the task had run in this process.
    """
    with _interrupts_as_keyboard_interrupt():
        before = set(_LIVE) - set(_solo)
        try:
            if not _solo:
                _solo.append(_Worker())
            worker = _solo[0]
            worker.submit(0, functools.partial(_in_folder, os.getcwd(), task), args, timeout)
            if not wait([worker.conn], timeout=timeout):
                raise RunTimedOut(f"{what} {limit_message(timeout)}")
            kind, value = worker.receive()
        except BaseException:
            _close_solo()
            _kill_started_since(before)
            raise
    if kind == "ok":
        return value
    _close_solo()
    if kind == "raised":
        raise value
    raise WorkerDied(f"{what}: {value}")


def _in_folder(folder: str, task, *args):
    """The solo worker outlives a call, and its caller may have changed folder since: relative paths (a
    scenario, the default reference folder) mean what they mean to the caller."""
    os.chdir(folder)
    return task(*args)


def _close_solo() -> None:
    while _solo:
        _solo.pop().kill()


atexit.register(_close_solo)


@contextlib.contextmanager
def _interrupts_as_keyboard_interrupt():
    """SIGTERM raises KeyboardInterrupt while workers run, so that they are killed and the command exits 130."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _expected_cost(item) -> int:
    scenario = next((x for x in item if isinstance(x, Scenario)), None)
    return scenario.n_steps if scenario is not None else 0
