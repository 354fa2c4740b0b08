"""``nest-parity fuzz``: hypothesis-generated scenarios, checked against live NEST, shrunk when they fail.

Two searches, one after the other, each its own hypothesis run:

* single neurons: one example is a *batch*, 1-8 scenarios on one shared time grid (``strategies``). Each
  batch runs in one NEST kernel and one vectorised Population (``batch``), and every scenario is checked for
  bit parity and the model's invariants (``checks``);
* networks: one example is one network of 2-12 neurons (``network_strategies``), run in NEST and the engine
  and checked neuron by neuron (``networks``).

When a check fails, hypothesis shrinks the example (towards one scenario or one small network, short, few
inputs) and replays the minimal case last; that case is written to ``scenarios/regressions/``
(``regressions``) and the command exits 1. A failure in the first search does not stop the second.

"Integrator paths" in the summary are the distinct shapes of one simulation step's integration: the pair
(RKF45 tries, rejected tries) of one neuron in one step. (1, 0) is the usual single clipped try; (3, 1)
is three tries of which one was rejected. The count says how much of GSL's adaptive machinery was
exercised, beyond the count of neuron-steps.

Time limit: with ``--timeout`` (the command line always sets it, default 600 s) each batch or network runs in
a worker process (``harness.judge.pool.run_bounded``). One past the limit ends the fuzzer at once, unshrunk (a
shrink of a hang would cost the limit per try): its scenarios are written as regressions, the command
says ``error`` and exits 1. Through the API without ``timeout``, everything runs in this process, unbounded.

``--scheduler local|ADDRESS``: each batch and network runs as one task on a Dask cluster instead of the solo
worker (``harness.executor.dispatch.bounded_runner``), so that one cluster serves the gate, the report and
the fuzzer and NEST never runs on the machine that drives hypothesis. The searches stay one example at a time
(hypothesis runs them so): on a local cluster that is one worker (docs/executor.md, the measurements).
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.arguments import non_negative_int, positive_int
from harness.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE
from harness.fuzz.regressions import REGRESSION_DIR, write_regression
from harness.fuzz.search import DERANDOMIZED_SEED, Failure, Search, without_local_constants  # noqa: F401 (public)

DATABASE_DIR = Path(".hypothesis") / "examples"  # the repo's ignored cache, as hypothesis uses by default
NETWORKS_CI = 12  # the ci profile's network examples: a few seconds on the exact engine (docs/fuzz.md)
NETWORKS_CI_JAX = 3  # ... and on the JAX engine, whose cost is compiling one program per network shape


@dataclass(frozen=True)
class Profile:
    examples: int  # hypothesis examples of the single-neuron search, i.e. batches
    batch_size: int  # largest number of scenarios in one batch
    derandomize: bool  # a fixed example sequence (CI must not turn red by chance)
    shrink_seconds: float  # shrinking stops after this long; the smallest failure so far is written
    networks: int = 0  # hypothesis examples of the network search, one network each
    # The network examples with --candidate python-jax: fewer, since nearly every network has a shape (neurons,
    # ports, update-call length, recorded variables) of its own, and each costs the JAX engine a compiled
    # program: 2-4 s from the persistent cache in a new process, 5-20 s to compile (docs/fuzz.md).
    jax_networks: int = 0


PROFILES = {
    "dev": Profile(examples=10, batch_size=4, derandomize=False, shrink_seconds=60.0, networks=5, jax_networks=2),
    "ci": Profile(examples=50, batch_size=8, derandomize=True, shrink_seconds=60.0, networks=NETWORKS_CI,
                  jax_networks=NETWORKS_CI_JAX),
    "release": Profile(examples=2000, batch_size=8, derandomize=False, shrink_seconds=300.0, networks=300,
                       jax_networks=100),
}


CANDIDATES = {"python": "python_batch_runs", "python-jax": "jax_batch_runs"}  # functions of harness.backends.batch


def add_fuzz_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--examples", type=positive_int, metavar="N",
                        help="number of generated batches (default: the profile's)")
    parser.add_argument("--seed", type=non_negative_int, metavar="S",
                        help="random seed; the same seed repeats the same run (default: random, printed)")
    parser.add_argument("--profile", choices=tuple(PROFILES), default="dev",
                        help=f"dev: 10 batches and 5 networks; ci: 50 batches and {NETWORKS_CI} networks, fixed; "
                             "release: 2000 and 300; with python-jax fewer networks: 2, "
                             f"{NETWORKS_CI_JAX}, 100 (default: %(default)s)")
    parser.add_argument("--networks", type=non_negative_int, metavar="N",
                        help="number of generated networks (2-12 neurons each), checked after the batches; 0: "
                             "none (default: the profile's)")
    parser.add_argument("--networks-only", action="store_true",
                        help="fuzz networks only, without the single-neuron batches")
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
class NetworkStats:
    """What the network search ran: its part of the summary line."""

    networks: int = 0
    neurons: int = 0
    connections: int = 0
    neuron_steps: int = 0
    spikes: int = 0
    seconds: float = 0.0

    def count(self, scenario, reference, seconds: float) -> None:
        net = scenario.network
        self.networks += 1
        self.neurons += net.n
        self.connections += len(net.connections)
        self.neuron_steps += net.n * scenario.n_steps
        self.spikes += len(reference.spike_steps)
        self.seconds += seconds

    def summary(self) -> str:
        return (f"{self.networks} networks ({self.neurons} neurons, {self.connections} connections, "
                f"{self.neuron_steps} neuron-steps, {self.spikes} recorded spikes; {self.seconds:.1f} s)")


@dataclass
class FuzzStats:
    batches: int = 0
    scenarios: int = 0
    neuron_steps: int = 0
    step_paths: set = field(default_factory=set)
    networks: NetworkStats = field(default_factory=NetworkStats)
    started: float = field(default_factory=time.perf_counter)

    def count(self, scenarios, runs) -> None:
        self.batches += 1
        self.scenarios += len(scenarios)
        self.neuron_steps += sum(s.n_steps for s in scenarios)
        for run in runs:
            self.step_paths.update(run.step_paths)

    def count_network(self, scenario, reference, run, seconds: float) -> None:
        self.networks.count(scenario, reference, seconds)
        self.step_paths.update(run.step_paths)

    def summary(self) -> str:
        elapsed = time.perf_counter() - self.started
        batch_seconds = elapsed - self.networks.seconds
        rate = 60.0 * self.scenarios / batch_seconds if batch_seconds > 0 else 0.0
        most = max((t for t, _ in self.step_paths), default=0)
        paths = (f"{len(self.step_paths)} distinct integrator paths (tries, rejections per step; up to {most} "
                 "tries)" if self.step_paths else "integrator paths not counted by this engine")
        networks = f", {self.networks.summary()}" if self.networks.networks else ""
        return (f"checked {self.scenarios} scenarios in {self.batches} batches, {self.neuron_steps} neuron-steps"
                f"{networks}, {paths} in {elapsed:.1f} s ({rate:.0f} scenarios/min)")


def run_fuzz(args: argparse.Namespace, *, candidate=None, network_candidate=None) -> int:
    """Run the fuzzer; 0 when every case passed, 1 with the written regression files, 2 on bad usage.

    ``candidate`` replaces the batched runner that ``--candidate`` names (``batch.python_batch_runs`` or
    ``batch.jax_batch_runs``), ``network_candidate`` the network runner (``networks.exact_network_run`` or
    ``networks.jax_network_run``): tests use them to prove that a failure is shrunk and written.
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
    name = getattr(args, "candidate", None) or "python"
    if candidate is None:
        from harness.backends import batch as batch

        candidate = getattr(batch, CANDIDATES[name])
    if network_candidate is None:
        from harness.fuzz.networks import NETWORK_CANDIDATES

        network_candidate = NETWORK_CANDIDATES[name]
    from harness.executor.dispatch import bounded_runner

    timeout, scheduler = getattr(args, "timeout", None), getattr(args, "scheduler", None)
    if scheduler and timeout is None:
        from harness.judge.pool import DEFAULT_TIMEOUT_S

        timeout = DEFAULT_TIMEOUT_S  # on a cluster every run is bounded
    with bounded_runner(scheduler) as bounded:
        return _fuzz(settings, Path(args.regressions_dir), database, candidate, timeout,
                     network_candidate=network_candidate, bounded=bounded)


@dataclass(frozen=True)
class _Settings:
    profile: str
    examples: int  # batches; 0 with --networks-only
    batch_size: int
    seed: int | None  # None: derandomized (fixed sequence)
    shrink_seconds: float
    networks: int = 0


def _settings_for(args) -> _Settings:
    profile_name = getattr(args, "profile", None) or "dev"
    if profile_name not in PROFILES:
        raise ValueError(f"unknown profile {profile_name!r}; allowed: {', '.join(PROFILES)}")
    profile = PROFILES[profile_name]
    examples = getattr(args, "examples", None)
    examples = profile.examples if examples is None else examples
    networks = getattr(args, "networks", None)
    if networks is None:
        networks = profile.jax_networks if getattr(args, "candidate", None) == "python-jax" else profile.networks
    seed = getattr(args, "seed", None)
    if not isinstance(examples, int) or examples < 1:
        raise ValueError(f"--examples {examples!r}; allowed: a whole number >= 1")
    if not isinstance(networks, int) or isinstance(networks, bool) or networks < 0:
        raise ValueError(f"--networks {networks!r}; allowed: a whole number >= 0")
    if getattr(args, "networks_only", False):
        if not networks:
            raise ValueError("--networks-only with no networks to fuzz; allowed: --networks N with N >= 1")
        examples = 0
    if seed is not None and (not isinstance(seed, int) or seed < 0):
        raise ValueError(f"--seed {seed!r}; allowed: a whole number >= 0")
    if seed is None and not profile.derandomize:
        seed = random.SystemRandom().randrange(2 ** 32)  # printed, so that the run can be repeated
    return _Settings(profile_name, examples, profile.batch_size, seed, profile.shrink_seconds, networks)


def _fuzz(settings: _Settings, regressions_dir: Path, database: Path, candidate, timeout: float | None = None,
          network_candidate=None, bounded=None) -> int:
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import settings as hypothesis_settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    from harness.fuzz.network_strategies import network_dicts
    from harness.fuzz.strategies import scenario_batches

    stats, searches = FuzzStats(), []
    common = dict(deadline=None, derandomize=False,
                  database=None if settings.seed is None else DirectoryBasedExampleDatabase(str(database)),
                  report_multiple_bugs=False,  # one bug, shrunk fully: its final replay is the minimal case
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                  phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink), print_blob=False)
    # Two test functions, not one generic: hypothesis keys its database by the function's source, so each
    # search replays its own earlier failures.
    if settings.examples:
        batches = Search(settings.examples, "batch", settings.shrink_seconds)

        @hypothesis_settings(max_examples=settings.examples, **common)
        @given(scenario_batches(max_size=settings.batch_size))
        def parity_holds(raws):
            batches.judge(raws, lambda: check_batch(raws, candidate, stats, timeout, bounded))

        searches.append((batches, batches.run(parity_holds, settings.seed)))
    if settings.networks and not any(s.hung or error for s, error in searches):
        networks = Search(settings.networks, "network", settings.shrink_seconds)

        @hypothesis_settings(max_examples=settings.networks, **common)
        @given(network_dicts())
        def network_parity_holds(raw):
            networks.judge([raw], lambda: check_network(raw, network_candidate, stats, timeout, bounded))

        searches.append((networks, networks.run(network_parity_holds, settings.seed)))
    errors = [error for _, error in searches if error]
    if errors:
        print(f"error: {errors[0]}", file=sys.stderr)
        return EXIT_FAIL
    hung = [f for s, _ in searches for f in s.hung]
    failures = [f for s, _ in searches for f in s.failures]
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
                timeout: float | None = None, bounded=None) -> list[Failure]:
    """Validate the scenario dicts from YAML text, run them batched in NEST and the candidate, check all.

    With ``timeout``, the runs happen in a worker process (``bounded``, default ``pool.run_bounded``) and
    RunTimedOut says that they took too long.
    """
    from harness.fuzz.checks import invariant_violations, parity_differences
    from harness.judge.pool import RunTimedOut, run_bounded

    scenarios = load_generated(raws)
    try:
        if timeout is None:
            reference, runs = run_both(scenarios, candidate)
        else:
            reference, runs = (bounded or run_bounded)(run_both, scenarios, candidate, timeout=timeout,
                                                       what="the batch (NEST and the candidate)")
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


def check_network(raw: dict, candidate, stats: FuzzStats | None = None, timeout: float | None = None,
                  bounded=None) -> list[Failure]:
    """One generated network through the validator, NEST (one thread) and the candidate; every check on it."""
    from harness.fuzz.networks import network_reasons, run_network_pair
    from harness.judge.pool import RunTimedOut, run_bounded

    (scenario,) = load_generated([raw])
    started = time.perf_counter()
    try:
        if timeout is None:
            reference, run = run_network_pair(scenario, candidate)
        else:
            reference, run = (bounded or run_bounded)(run_network_pair, scenario, candidate, timeout=timeout,
                                                      what="the network (NEST and the candidate)")
    except RunTimedOut:
        raise
    except Exception as exc:  # a crash on a valid network is a failure to shrink too
        return [Failure(raw, [f"running the network raised {type(exc).__name__}: {exc}"])]
    if stats is not None:
        stats.count_network(scenario, reference, run, time.perf_counter() - started)
    reasons = network_reasons(scenario, reference, run, getattr(candidate, "flushes_subnormals", False))
    return [Failure(raw, reasons)] if reasons else []


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
