"""The regression gate: every scenario, three comparisons, in parallel processes.

For each scenario the gate runs live NEST and the reimplementation and loads the stored reference, then
judges three pairs (reference first):

* ``nest-vs-python``: the reimplementation against NEST as installed now;
* ``stored-vs-python``: the reimplementation against the NEST outputs stored in reference_traces/;
* ``stored-vs-nest``: NEST now against NEST then. A failure here is **drift** (NEST, GSL or the platform
  changed), not a regression of the reimplementation.

Beside the verdict each scenario carries its accuracy ladder (``harness.judge.distances.Ladder``, the
reimplementation as the candidate, live NEST as NEST) measured against the **stored** truth reference: the
gate never solves the truth (that costs seconds per thousand steps), and a missing or stale truth is no
failure: the ladder then says why it has no truth. The ladder never changes a verdict.

Every pair is judged with the ``exact`` profile (or ``--profile``), never with a scenario's own
``tolerances:`` block: that block gives a port room in ``nest-parity compare``, and must not give a
regression of the reimplementation room here.

The verdict per scenario separates the two: ``regression`` when the reimplementation disagrees with NEST
for reasons of its own, ``drift`` when the stored references no longer describe live NEST (the
reimplementation then agrees with one of the two), ``regression+drift`` when it agrees with neither.

Scenarios run one per task in a pool of *spawned* processes (``harness.judge.pool``): each worker imports NEST
itself and every run starts with ResetKernel. A scenario past the time limit (``--timeout``) has its worker
killed and is an ``error`` (all three pairs), and the gate goes on with the others.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness.backends.sources import load_stored, obtain_truth
from harness.errors import UsageError
from harness.judge.comparator import Comparison, compare
from harness.judge.pool import DEFAULT_TIMEOUT_S, default_workers
from harness.judge.tolerances import DEFAULT_PROFILE, Tolerances, profile_tolerances, scenario_gsl_error_tol
from harness.scenario.types import Scenario
from harness.traces.references import REFERENCE_DIR, reference_file
from harness.traces.traces import Traces

LIVE, REGRESSION, DRIFT = "nest-vs-python", "stored-vs-python", "stored-vs-nest"
PAIRS = (("nest", "python"), ("stored", "python"), ("stored", "nest"))
# Network scenarios also run NEST with another thread count (2, or 1 for a scenario that asks for more): the
# order of a slot's additions follows the threads (docs/model.md, "Threads"), so the two may differ in last
# bits. That pair is a warning of its own, never blamed on the reimplementation and never part of the verdict.
THREAD_SOURCE = "nest-other-threads"
THREADS = f"nest-vs-{THREAD_SOURCE}"


def other_threads(scenario: Scenario) -> int:
    """The thread count of the gate's second NEST run of a network scenario."""
    return 2 if scenario.network.threads == 1 else 1
VERDICTS = ("pass", "regression", "drift", "regression+drift", "error")


@dataclass
class ScenarioOutcome:
    scenario: str
    path: str
    comparisons: list  # Comparison per pair, in PAIRS order
    seconds: float
    thread_counts: tuple | None = None  # a network's (NEST threads of the main runs, of the THREADS pair's)
    ladder: object | None = None  # harness.judge.distances.Ladder; None when the scenario's runs ended
    truth: dict | None = None  # the stored truth the ladder was measured against (path, solver); None: none
    truth_note: str | None = None  # where the truth came from, or why there is none
    gsl_error_tol: float | None = None  # NEST's, which its distance to the truth follows

    def pair(self, name: str) -> Comparison:
        return next(c for c in self.comparisons if c.pair == name)

    @property
    def threads(self) -> Comparison | None:
        """NEST(1) vs NEST(2) of a network scenario; None for one neuron."""
        return next((c for c in self.comparisons if c.pair == THREADS), None)

    @property
    def thread_warning(self) -> bool:
        """NEST with two threads differs from NEST with one (or could not run): shown, not a verdict."""
        return self.threads is not None and self.threads.status != "pass"

    @property
    def verdict(self) -> str:
        pairs = [c for c in self.comparisons if c.pair != THREADS]
        if any(c.status == "error" for c in pairs):
            return "error"
        failed = {c.pair for c in pairs if c.status == "fail"}
        drift = DRIFT in failed
        # The reimplementation regressed if it disagrees with both NEST runs, or with either while the two
        # NEST runs agree with each other.
        regression = {LIVE, REGRESSION} <= failed or (not drift and bool(failed & {LIVE, REGRESSION}))
        return {(False, False): "pass", (True, False): "regression", (False, True): "drift",
                (True, True): "regression+drift"}[(regression, drift)]


@dataclass
class GateResult:
    outcomes: list  # ScenarioOutcome, in the order the scenarios were given
    wall_seconds: float
    workers: int
    profile: str | None
    counts: dict = field(init=False)

    def __post_init__(self):
        self.counts = {v: sum(o.verdict == v for o in self.outcomes) for v in VERDICTS}
        self.thread_warnings = sum(o.thread_warning for o in self.outcomes)

    @property
    def comparisons(self) -> list:
        return [c for o in self.outcomes for c in o.comparisons]

    @property
    def status(self) -> str:
        if self.counts["error"]:
            return "error"
        return "pass" if self.counts["pass"] == len(self.outcomes) else "fail"


# ------------------------------------------------------------------------------------------- one task
def check_scenario(scenario: Scenario, profile: str | None, reference_dir: str,
                   run_candidate: Callable[[Scenario], Traces] | None = None) -> ScenarioOutcome:
    """The gate's task for one scenario (runs in a worker process): three sources, three comparisons.

    ``run_candidate`` replaces the reimplementation (the selftest passes deliberately broken variants).
    """
    started = time.perf_counter()
    traces, problems = produce_sources(scenario, reference_dir, run_candidate)
    return judged_outcome(scenario, profile, reference_dir, traces, problems, started)


def judged_outcome(scenario: Scenario, profile: str | None, reference_dir: str, traces: dict, problems: dict,
                   started: float) -> ScenarioOutcome:
    """The pairs judged and the accuracy ladder measured, from the traces ``produce_sources`` gave."""
    comparisons = judge_pairs(scenario, gate_tolerances(scenario, profile), traces, problems)
    ladder, truth, note = stored_truth_ladder(scenario, traces, reference_dir)
    return ScenarioOutcome(scenario.name, scenario.path, comparisons, time.perf_counter() - started,
                           thread_counts(scenario), ladder, truth, note, scenario_gsl_error_tol(scenario))


def stored_truth_ladder(scenario: Scenario, traces: dict, reference_dir: str) -> tuple:
    """(Ladder, truth, note): the reimplementation's and live NEST's distances to the stored truth reference.

    Only a stored truth is used (``obtain_truth`` mode ``auto``: never solved here); ``truth`` is None, and
    ``note`` says why, when there is no valid one. Whatever goes wrong here is said in the note and never
    touches the verdict, which the pairs alone decide.
    """
    from harness.judge.accuracy import build_ladder

    try:
        truth, note = obtain_truth(scenario, "auto", Path(reference_dir))
        ladder = build_ladder(traces.get("nest"), truth, traces.get("python"))
    except Exception as exc:  # a ladder is information, never a reason for the gate to fail
        return None, None, f"the accuracy ladder could not be measured: {type(exc).__name__}: {exc}"
    ladder.notes.insert(0, note)
    if truth is None:
        return ladder, None, note
    prov = truth.provenance
    described = {"path": str(reference_file(scenario, Path(reference_dir), "truth")),
                 "method": prov.get("method"), "rtol": prov.get("rtol"), "scipy_version": prov.get("scipy_version")}
    return ladder, described, note


def thread_counts(scenario: Scenario) -> tuple | None:
    return (scenario.network.threads, other_threads(scenario)) if scenario.is_network else None


def threads_text(count: int) -> str:
    return f"NEST with {count} thread{'s' if count != 1 else ''}"


def produce_sources(scenario: Scenario, reference_dir: str,
                    run_candidate: Callable[[Scenario], Traces] | None = None) -> tuple[dict, dict]:
    """The traces of live NEST, the reimplementation (or ``run_candidate``) and the stored reference.

    Returns ``(traces, problems)``: source name -> Traces for those that could be produced, source name ->
    message for those that could not (a crashing backend is reported for its scenario; the caller goes on).
    """
    from harness.backends.nest import run_nest
    from harness.backends.python import run_python

    traces, problems = {}, {}
    sources = [("nest", run_nest), ("python", run_candidate or run_python),
               ("stored", lambda s: load_stored(s, Path(reference_dir)))]
    if scenario.is_network:
        sources.append((THREAD_SOURCE, lambda s: run_nest(s, threads=other_threads(s))))
    for source, produce in sources:
        try:
            traces[source] = produce(scenario)
        except UsageError as exc:
            problems[source] = str(exc)
        except Exception as exc:
            problems[source] = f"the {source} run failed: {type(exc).__name__}: {exc}"
    return traces, problems


def judge_pairs(scenario: Scenario, tolerances: Tolerances, traces: dict, problems: dict) -> list:
    """One Comparison per pair of PAIRS; a pair with a source that could not be produced is an error."""
    comparisons = []
    for ref, cand in PAIRS + ((("nest", THREAD_SOURCE),) if scenario.is_network else ()):
        if ref in problems or cand in problems:
            comparisons.append(Comparison(scenario=scenario.name, reference=ref, candidate=cand,
                                          profile=tolerances.profile, tics_per_step=scenario.tics_per_step,
                                          status="error", error=problems.get(ref) or problems.get(cand)))
        else:
            comparisons.append(compare(traces[ref], traces[cand], tolerances, reference_name=ref,
                                       candidate_name=cand))
    return comparisons


def error_outcome(scenario: Scenario, profile: str | None, reason: str, seconds: float) -> ScenarioOutcome:
    """A scenario whose worker was ended (time limit) or died: every pair an error that says so."""
    message = f"{scenario.path}: the scenario's run {reason}"
    problems = {source: message for source in ("nest", "python", "stored", THREAD_SOURCE)}
    comparisons = judge_pairs(scenario, gate_tolerances(scenario, profile), {}, problems)
    return ScenarioOutcome(scenario.name, scenario.path, comparisons, seconds, thread_counts(scenario),
                           truth_note=f"no accuracy ladder: {message}", gsl_error_tol=scenario_gsl_error_tol(scenario))


def gate_tolerances(scenario: Scenario, profile: str | None) -> Tolerances:
    """``exact`` (or the --profile flag) for every pair, whatever the scenario's ``tolerances:`` block says.

    Every candidate in the gate is the reimplementation or NEST itself, and both claim bit parity. A scenario's
    block exists to give a port room (``nest-parity compare``); in the gate it would give a regression room.
    """
    return profile_tolerances(profile or DEFAULT_PROFILE, scenario_gsl_error_tol(scenario))


def run_gate(scenarios: list[Scenario], *, profile: str | None = None, reference_dir=REFERENCE_DIR,
             workers: int | None = None, run_candidate=None, desc: str = "gate",
             timeout: float | None = None, scheduler: str | None = None) -> GateResult:
    """Every scenario in the process pool, or on Dask with ``scheduler`` (harness.executor.dispatch)."""
    from harness.executor.dispatch import map_tasks

    workers = workers or default_workers()
    timeout = timeout or DEFAULT_TIMEOUT_S
    started = time.perf_counter()
    items = [(s, profile, str(reference_dir), run_candidate) for s in scenarios]
    outcomes = map_tasks(check_scenario, items, scheduler=scheduler, workers=workers, desc=desc, timeout=timeout,
                         failed=lambda item, reason: error_outcome(item[0], item[1], reason, timeout))
    return GateResult(outcomes, time.perf_counter() - started, max(1, min(workers, len(items))), profile)
