"""Tasks for the executor tests: module-level, so that a pool worker or a Dask worker imports them by name."""
import os
import time


def square(x: int) -> int:
    return x * x


def empty() -> None:
    return None


def die_on(x: int, bad: int) -> int:
    """``x`` itself, except that the worker process exits at once on ``bad`` (a crash in NEST, say)."""
    if x == bad:
        os._exit(3)
    return x


def raise_on(x: int, bad: int) -> int:
    if x == bad:
        raise ArithmeticError(f"task {x} fails on purpose")
    return x


def nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()
