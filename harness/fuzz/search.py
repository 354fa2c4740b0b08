"""One hypothesis search of the fuzzer: run the examples, keep the smallest failure, stop on a hang or when
shrinking has had its time (``run`` drives two of them: batches of single neurons, then networks)."""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy as np
import yaml

DERANDOMIZED_SEED = 20261201  # the ci profile's fixed sequence (see Search.run)


@dataclass
class Failure:
    raw: dict  # the scenario as written in YAML
    reasons: list[str]

    def describe(self) -> str:
        return "; ".join(self.reasons)


class ParityFailure(AssertionError):
    """A generated scenario broke parity or an invariant (hypothesis shrinks on this)."""


class _ShrinkBudgetSpent(BaseException):
    """Ends hypothesis's run early (it lets BaseExceptions through); the smallest failure is kept."""


class _TimedOut(BaseException):
    """Ends hypothesis's run at once: an example ran past the time limit (see ``run``'s docstring)."""


class _SmallestFailure:
    """The smallest failing example seen, by YAML size; after a full shrink, that is hypothesis's final case."""

    def __init__(self):
        self.failures: list[Failure] = []
        self.size = float("inf")
        self.first_seen: float | None = None

    def offer(self, raws: list[dict], failures: list[Failure]) -> None:
        if self.first_seen is None:
            self.first_seen = time.perf_counter()
        size = len(yaml.safe_dump(raws))
        if size <= self.size:  # <=: the final replay of an equally small case wins
            self.failures, self.size = failures, size

    def shrinking_for(self) -> float:
        return 0.0 if self.first_seen is None else time.perf_counter() - self.first_seen


class Search:
    """The state of one hypothesis run: the smallest failure, the examples that hung, the progress bar."""

    def __init__(self, examples: int, unit: str, shrink_seconds: float):
        from tqdm import tqdm

        self.smallest, self.hung, self.shrink_seconds = _SmallestFailure(), [], shrink_seconds
        # tqdm draws only on a terminal (disable=None), so CI logs stay clean.
        self.bar = tqdm(total=examples, desc=f"fuzzing ({unit}s)", unit=unit, disable=None, leave=False)

    def judge(self, raws: list[dict], check) -> None:
        """Inside the hypothesis test: ``check()`` the example made of ``raws``; raise so that it shrinks."""
        from harness.judge.pool import RunTimedOut

        if self.smallest.shrinking_for() > self.shrink_seconds:
            raise _ShrinkBudgetSpent()
        try:
            found = check()
        except RunTimedOut as exc:
            self.hung.extend(Failure(raw, [str(exc)]) for raw in raws)
            raise _TimedOut() from None
        if found:
            self.smallest.offer(raws, found)
        if self.smallest.failures:
            self.bar.set_description("shrinking a failure")
        else:
            self.bar.update(1)
        if found:
            raise ParityFailure("; ".join(f.describe() for f in found))

    def run(self, test, seed: int | None) -> str | None:
        """Run the decorated hypothesis ``test``; an error message if the fuzzer itself broke, else None.

        The derandomised profile (``seed`` None) uses a fixed seed rather than hypothesis's derandomize,
        which seeds from a digest of the test function's source: every edit of it would change the ci
        profile's scenarios.
        """
        from hypothesis import seed as seed_decorator

        test = seed_decorator(DERANDOMIZED_SEED if seed is None else seed)(test)
        try:
            # rejected stiff tries overflow harmlessly; parity is what counts
            with np.errstate(all="ignore"), without_local_constants():
                test()
        except (ParityFailure, _ShrinkBudgetSpent, _TimedOut):
            pass
        except Exception as exc:  # hypothesis's own errors (e.g. Flaky) or a strategy bug: report, never hide
            if not self.smallest.failures:
                return f"the fuzzer stopped: {type(exc).__name__}: {exc}"
        finally:
            self.bar.close()
        return None

    @property
    def failures(self) -> list[Failure]:
        return self.hung or self.smallest.failures


@contextlib.contextmanager
def without_local_constants():
    """Hypothesis without its pool of literals taken from the source of local modules.

    Hypothesis (6.13x on) draws about 5 % of its numbers and strings from the literals of every non-library
    module imported so far, here the harness's own. The derandomised ``ci`` profile would then change with
    any edited literal in harness/, and with what else the process happened to import (pytest or the CLI).
    An empty pool makes the sequence depend on the pinned hypothesis and our strategies alone. The hook is
    hypothesis's private ``_get_local_constants``; if a release renames it, nothing is patched (the pin in
    pyproject.toml keeps that from happening unnoticed: tests/test_fuzz.py checks the patch takes).
    """
    from hypothesis.internal.conjecture import providers

    original = getattr(providers, "_get_local_constants", None)
    if original is None:
        yield
        return
    providers._get_local_constants = lambda: providers.Constants()
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()
