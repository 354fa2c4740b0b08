"""Scenarios of one candidate in parallel: harness.judge.pool's workers, each result handed on as it arrives.

``pool.run_parallel`` returns its results together at the end; ``candidates run --workers N`` prints each
verdict when its scenario finishes, so this loop drives the same workers (spawned, one NEST kernel each,
killed with their process group, dying with the parent, SIGTERM as KeyboardInterrupt) and calls
``on_result(index, result)`` in the parent as each task ends. The results also come back in the order of
``items``.

One thing differs from the pool: a task here starts the candidate's program in its own session (so that
``execute`` can kill everything it starts), which the worker's process group does not reach. A worker ended
for its deadline or an interrupt is therefore stopped first, its descendants (found through /proc) killed,
and only then the worker itself.
"""
from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import deque
from multiprocessing.connection import wait

from harness.judge import pool

from .execute import _KILL_ROUNDS, _descendants


def run_streaming(task, items, *, workers: int, timeout: float, failed, on_result=None, on_start=None) -> list:
    """``task(*item)`` for every item in up to ``workers`` processes; ``failed(item, reason)`` stands in for a
    task past ``timeout`` seconds or whose worker died. ``on_start(index)`` and ``on_result(index, result)``
    are called in this process; the return value holds the results in the order of ``items``."""
    workers = max(1, min(workers, len(items)))
    results = [None] * len(items)
    # The longest first (as the pool does), so that the last worker does not start a long one alone.
    pending = deque(sorted(range(len(items)), key=lambda i: -pool._expected_cost(items[i])))
    idle, busy, started = [], [], []

    def finish(index: int, result) -> None:
        results[index] = result
        if on_result is not None:
            on_result(index, result)

    with pool._interrupts_as_keyboard_interrupt():
        try:
            while pending or busy:
                while pending and len(busy) < workers:
                    worker = idle.pop() if idle else _start(started)
                    index = pending.popleft()
                    if on_start is not None:
                        on_start(index)
                    worker.submit(index, task, items[index], timeout)
                    busy.append(worker)
                deadline = min(w.deadline for w in busy)
                ready = wait([w.conn for w in busy], timeout=max(0.0, deadline - time.monotonic()))
                for worker in list(busy):
                    index = worker.index
                    if worker.conn in ready:
                        kind, value = worker.receive()
                        if kind == "raised":
                            raise value
                        busy.remove(worker)
                        if kind == "ok":
                            idle.append(worker)
                            finish(index, value)
                        else:
                            end_worker(worker)
                            finish(index, failed(items[index], value))
                    elif time.monotonic() >= worker.deadline:
                        busy.remove(worker)
                        end_worker(worker)
                        finish(index, failed(items[index], pool.limit_message(timeout)))
        finally:
            for worker in started:
                end_worker(worker)
    return results


def _start(started: list):
    worker = pool._Worker()
    started.append(worker)
    return worker


def end_worker(worker) -> None:
    """Stop the worker (it can start nothing more), kill what it started, then the worker itself."""
    pid = getattr(getattr(worker, "process", None), "pid", None)
    if pid is not None and worker.process.is_alive():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGSTOP)
        for _ in range(_KILL_ROUNDS):  # until a scan finds none: a candidate may fork between scan and kill
            found = _descendants(pid)
            for child in found:
                with contextlib.suppress(OSError):
                    os.kill(child, signal.SIGKILL)
            if not found:
                break
            time.sleep(0.01)
    worker.kill()
