"""``nest-parity fuzz``: hypothesis-generated scenarios, checked against live NEST, shrunk when they fail.

One hypothesis example is a *batch*: 1-8 scenarios on one shared time grid (``fuzz_strategies``). Each
batch runs in one NEST kernel and one vectorised Population (``batch``), and every scenario is checked for
bit parity and the model's invariants (``fuzz_checks``). When a check fails, hypothesis shrinks the batch
(towards one scenario, short, few inputs) and replays the minimal case last; that case is written to
``scenarios/regressions/`` (``regressions``) and the command exits 1.

"Integrator paths" in the summary are the distinct shapes of one simulation step's integration: the pair
(RKF45 tries, rejected tries) of one neuron in one step. (1, 0) is the usual single clipped try; (3, 1)
is three tries of which one was rejected. The count says how much of GSL's adaptive machinery was
exercised, beyond the count of neuron-steps.

Time limit: with ``--timeout`` (the command line always sets it, default 600 s) each batch runs in a worker
process (``harness.judge.pool.run_bounded``). A batch past the limit ends the fuzzer at once, unshrunk (a
shrink of a hang would cost the limit per try): its scenarios are written as regressions, the command
says ``error`` and exits 1. Through the API without ``timeout``, batches run in this process, unbounded.
"""
from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from harness.arguments import non_negative_int, positive_int
from harness.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from harness.fuzz.regressions import REGRESSION_DIR, write_regression

DERANDOMIZED_SEED = 20261201  # the ci profile's fixed sequence (see _fuzz)
DATABASE_DIR = Path(".hypothesis") / "examples"  # the repo's ignored cache, as hypothesis uses by default


@dataclass(frozen=True)
class Profile:
    examples: int  # hypothesis examples, i.e. batches
    batch_size: int  # largest number of scenarios in one batch
    derandomize: bool  # a fixed example sequence (CI must not turn red by chance)
    shrink_seconds: float  # shrinking stops after this long; the smallest failure so far is written


PROFILES = {
    "dev": Profile(examples=10, batch_size=4, derandomize=False, shrink_seconds=60.0),
    "ci": Profile(examples=50, batch_size=8, derandomize=True, shrink_seconds=60.0),
    "release": Profile(examples=2000, batch_size=8, derandomize=False, shrink_seconds=300.0),
}


CANDIDATES = {"python": "python_batch_runs", "python-jax": "jax_batch_runs"}  # functions of harness.backends.batch


def add_fuzz_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--examples", type=positive_int, metavar="N",
                        help="number of generated batches (default: the profile's)")
    parser.add_argument("--seed", type=non_negative_int, metavar="S",
                        help="random seed; the same seed repeats the same run (default: random, printed)")
    parser.add_argument("--profile", choices=tuple(PROFILES), default="dev",
                        help="dev: 10 batches; ci: 50 fixed batches; release: 2000 (default: %(default)s)")
    parser.add_argument("--regressions-dir", default=str(REGRESSION_DIR), metavar="DIR",
                        help="where minimal failing scenarios are written (default: %(default)s)")
    parser.add_argument("--candidate", choices=tuple(CANDIDATES), default="python",
                        help="the engine checked against NEST: the exact engine, or the JAX engine, which is "
                             "checked for parity and the trace invariants only (default: %(default)s)")
    parser.add_argument("--database", default=str(DATABASE_DIR), metavar="DIR",
                        help="hypothesis's example database, which replays earlier failures first "
                             "(default: %(default)s; unused by the derandomized ci profile)")
    return parser


@dataclass
class FuzzStats:
    batches: int = 0
    scenarios: int = 0
    neuron_steps: int = 0
    step_paths: set = field(default_factory=set)
    started: float = field(default_factory=time.perf_counter)

    def count(self, scenarios, runs) -> None:
        self.batches += 1
        self.scenarios += len(scenarios)
        self.neuron_steps += sum(s.n_steps for s in scenarios)
        for run in runs:
            self.step_paths.update(run.step_paths)

    def summary(self) -> str:
        elapsed = time.perf_counter() - self.started
        rate = 60.0 * self.scenarios / elapsed if elapsed > 0 else 0.0
        most = max((t for t, _ in self.step_paths), default=0)
        paths = (f"{len(self.step_paths)} distinct integrator paths (tries, rejections per step; up to {most} "
                 "tries)" if self.step_paths else "integrator paths not counted by this engine")
        return (f"checked {self.scenarios} scenarios in {self.batches} batches, "
                f"{self.neuron_steps} neuron-steps, {paths} in {elapsed:.1f} s ({rate:.0f} scenarios/min)")


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


class _BatchTimedOut(BaseException):
    """Ends hypothesis's run at once: a batch ran past the time limit (see the module's docstring)."""


class _SmallestFailure:
    """The smallest failing batch seen, by YAML size; after a full shrink, that is hypothesis's final case."""

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


def run_fuzz(args: argparse.Namespace, *, candidate=None) -> int:
    """Run the fuzzer; 0 when every case passed, 1 with the written regression files, 2 on bad usage.

    ``candidate`` replaces the batched runner that ``--candidate`` names (``batch.python_batch_runs`` or
    ``batch.jax_batch_runs``): tests use it to prove that a failure is shrunk and written.
    """
    try:
        settings = _settings_for(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        import hypothesis  # noqa: F401  (a test dependency; say so instead of a traceback)
    except ImportError:
        print("error: the fuzz command needs hypothesis: pip install -e '.[test]'", file=sys.stderr)
        return EXIT_USAGE
    from harness.traces.atomic import check_output_folder

    # before the fuzzing: a failure found after minutes must have somewhere to go (a file on the way, read-only)
    check_output_folder(args.regressions_dir, "--regressions-dir")
    database = Path(getattr(args, "database", None) or DATABASE_DIR)
    if candidate is None:
        from harness.backends import batch as batch

        candidate = getattr(batch, CANDIDATES[getattr(args, "candidate", None) or "python"])
    return _fuzz(settings, Path(args.regressions_dir), database, candidate, getattr(args, "timeout", None))


@dataclass(frozen=True)
class _Settings:
    profile: str
    examples: int
    batch_size: int
    seed: int | None  # None: derandomized (fixed sequence)
    shrink_seconds: float


def _settings_for(args) -> _Settings:
    profile_name = getattr(args, "profile", None) or "dev"
    if profile_name not in PROFILES:
        raise ValueError(f"unknown profile {profile_name!r}; allowed: {', '.join(PROFILES)}")
    profile = PROFILES[profile_name]
    examples = getattr(args, "examples", None)
    examples = profile.examples if examples is None else examples
    seed = getattr(args, "seed", None)
    if not isinstance(examples, int) or examples < 1:
        raise ValueError(f"--examples {examples!r}; allowed: a whole number >= 1")
    if seed is not None and (not isinstance(seed, int) or seed < 0):
        raise ValueError(f"--seed {seed!r}; allowed: a whole number >= 0")
    if seed is None and not profile.derandomize:
        seed = random.SystemRandom().randrange(2 ** 32)  # printed, so that the run can be repeated
    return _Settings(profile_name, examples, profile.batch_size, seed, profile.shrink_seconds)


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


def _fuzz(settings: _Settings, regressions_dir: Path, database: Path, candidate, timeout: float | None = None) -> int:
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import seed as seed_decorator
    from hypothesis import settings as hypothesis_settings
    from hypothesis.database import DirectoryBasedExampleDatabase
    from tqdm import tqdm

    from harness.fuzz.strategies import scenario_batches
    from harness.judge.pool import RunTimedOut

    stats, smallest, hung = FuzzStats(), _SmallestFailure(), []
    # tqdm draws only on a terminal (disable=None), so CI logs stay clean.
    bar = tqdm(total=settings.examples, desc="fuzzing", unit="batch", disable=None, leave=False)

    @hypothesis_settings(
        max_examples=settings.examples, deadline=None, derandomize=False,
        database=None if settings.seed is None else DirectoryBasedExampleDatabase(str(database)),
        report_multiple_bugs=False,  # one bug, shrunk fully: its final replay is the minimal case
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink), print_blob=False)
    @given(scenario_batches(max_size=settings.batch_size))
    def parity_holds(raws):
        if smallest.shrinking_for() > settings.shrink_seconds:
            raise _ShrinkBudgetSpent()
        try:
            found = check_batch(raws, candidate, stats, timeout)
        except RunTimedOut as exc:
            hung.extend(Failure(raw, [str(exc)]) for raw in raws)
            raise _BatchTimedOut() from None
        if found:
            smallest.offer(raws, found)
        if smallest.failures:
            bar.set_description("shrinking a failure")
        else:
            bar.update(1)
        if found:
            raise ParityFailure("; ".join(f.describe() for f in found))

    # The derandomised profile uses a fixed seed rather than hypothesis's derandomize, which seeds from a digest
    # of the test function's source: every edit of parity_holds would change the ci profile's scenarios.
    parity_holds = seed_decorator(DERANDOMIZED_SEED if settings.seed is None else settings.seed)(parity_holds)
    try:
        # rejected stiff tries overflow harmlessly; parity is what counts
        with np.errstate(all="ignore"), without_local_constants():
            parity_holds()
    except (ParityFailure, _ShrinkBudgetSpent, _BatchTimedOut):
        pass
    except Exception as exc:  # hypothesis's own errors (e.g. Flaky) or a strategy bug: report, never hide
        if not smallest.failures:
            bar.close()
            print(f"error: the fuzzer stopped: {type(exc).__name__}: {exc}", file=sys.stderr)
            return EXIT_FAIL
    finally:
        bar.close()
    failures = hung or smallest.failures
    how = f"seed {settings.seed}" if settings.seed is not None else "derandomized"
    print(f"fuzz (profile {settings.profile}, {how}): {stats.summary()}")
    if not failures:
        print("no parity or invariant failure")
        return EXIT_OK
    if hung:
        print(f"error: {hung[0].describe()}, with {len(hung)} generated scenario(s); not shrunk, written as "
              "they were", file=sys.stderr)
    for failure in failures:
        path, created = write_failure(failure, regressions_dir)
        state = "wrote" if created else "already on file:"
        print(f"FAIL {failure.describe()}\n  {state} {path}\n  reproduce: make compare SCENARIO={path}")
    return EXIT_FAIL


def check_batch(raws: list[dict], candidate, stats: FuzzStats | None = None,
                timeout: float | None = None) -> list[Failure]:
    """Validate the scenario dicts from YAML text, run them batched in NEST and the candidate, check all.

    With ``timeout``, the runs happen in a worker process and RunTimedOut says that they took too long.
    """
    from harness.fuzz.checks import invariant_violations, parity_differences
    from harness.judge.pool import RunTimedOut, run_bounded

    scenarios = load_generated(raws)
    try:
        if timeout is None:
            reference, runs = run_both(scenarios, candidate)
        else:
            reference, runs = run_bounded(run_both, scenarios, candidate, timeout=timeout, what="the batch (NEST and "
                                          "the candidate)")
    except RunTimedOut:
        raise
    except Exception as exc:  # a crash on a valid scenario is a failure to shrink too
        return [Failure(raw, [f"running the batch raised {type(exc).__name__}: {exc}"]) for raw in raws]
    if stats is not None:
        stats.count(scenarios, runs)
    failures = []
    flushes = getattr(candidate, "flushes_subnormals", False)
    for raw, scenario, ref, run in zip(raws, scenarios, reference, runs):
        reasons = parity_differences(ref, run.traces, flushes) + invariant_violations(scenario, run)
        if reasons:
            failures.append(Failure(raw, reasons))
    return failures


def run_both(scenarios, candidate) -> tuple[list, list]:
    """NEST's traces and the candidate's runs of one batch (in a worker process when bounded)."""
    from harness.backends.batch import run_batched, run_nest_batch

    return run_batched(scenarios, run_nest_batch), run_batched(scenarios, candidate)


def load_generated(raws: list[dict]) -> list:
    """Each dict written as YAML and loaded with ``load_scenario``: exactly what a regression file gives."""
    from harness.scenario.schema import load_scenario

    with tempfile.TemporaryDirectory(prefix="nest-parity-fuzz-") as folder:
        scenarios = []
        for i, raw in enumerate(raws):
            path = Path(folder) / f"case_{i}.yaml"
            path.write_text(yaml.safe_dump(raw, sort_keys=False))
            scenarios.append(load_scenario(path))  # a ScenarioError here is a strategy bug: let it show
        return scenarios


def write_failure(failure: Failure, directory: Path):
    return write_regression(failure.raw, f"{failure.describe()}.", directory)
