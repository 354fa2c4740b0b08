"""The worker pool of the gate, the selftest and the report: one scenario per task, spawned processes.

Each worker imports NEST itself (a forked copy of a process that already ran NEST's OpenMP kernel is not
safe) and every run starts with ResetKernel.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed

from harness.scenario.types import Scenario


def default_workers() -> int:
    return os.cpu_count() or 1


def run_parallel(task, items, *, workers: int, desc: str) -> list:
    """``task(*item)`` for every item, one item per process-pool task, results in the order of ``items``.

    The longest runs are submitted first so that the last worker does not start a long one alone. tqdm
    draws a bar only on a terminal (disable=None), so CI logs stay clean.
    """
    from tqdm import tqdm

    workers = max(1, min(workers, len(items)))
    results = [None] * len(items)
    order = sorted(range(len(items)), key=lambda i: -_expected_cost(items[i]))
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(task, *items[i]): i for i in order}
        for future in tqdm(as_completed(futures), total=len(futures), desc=desc, unit="run", disable=None,
                           leave=False):
            results[futures[future]] = future.result()
    return results


def _expected_cost(item) -> int:
    scenario = next((x for x in item if isinstance(x, Scenario)), None)
    return scenario.n_steps if scenario is not None else 0
