"""Tasks for the worker-pool tests: module-level, so that a spawned worker can import them by name."""
import os
import time

from harness.backends.python import run_python


def nap(seconds: float) -> int:
    """Sleep, then return the worker's pid (a test checks the worker is gone after a kill)."""
    time.sleep(seconds)
    return os.getpid()


def hang_on(name: str, scenario):
    """The reimplementation, except that it never returns on the scenario called ``name`` (a hung engine)."""
    if scenario.name == name:
        time.sleep(3600)
    return run_python(scenario)


def crash(code: int):
    os._exit(code)


def hang_batch(scenarios, min_delay=None):
    """A batched candidate of the fuzzer that never returns."""
    time.sleep(3600)
