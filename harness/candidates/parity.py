"""A candidate over a set of scenarios: traces from the candidate, from a reference and from the truth, judged
by the comparator, with the accuracy ladder (docs/accuracy.md) attached to every outcome.

Each scenario's run holds the reference (NEST, live or stored), the candidate's traces and the truth
(``harness.truth``): the stored truth reference when it is valid, else solved now in a worker within the
candidate's ``timeout_s``, with a note saying so. Every Outcome carries a ``Ladder``: candidate↔NEST,
NEST↔truth, candidate↔truth, and the truth's convergence figure. Under the profile ``as-accurate-as-nest``
the verdict is ``harness.judge.accuracy.judge_accuracy`` (the candidate against the truth, with bounds from
NEST's distance to it), so the reference must be NEST; every other profile judges the candidate against the
reference as the comparator does.

Expectations. A scenario may declare ``expect: fail`` (with ``expect_reason``): a known finding of a port.
It applies only to candidates whose registry entry names the scenario's folder as ``findings``; for every
other candidate (the in-house engine, NEST, and the main gate, which knows nothing of candidates) each
scenario must simply pass. Verdicts:

* ``pass``: passed, as expected;
* ``expected-fail``: a declared finding that still fails (the gate stays green, the report shows it);
* ``fixed``: a declared finding that now passes. Not ok: the port changed, so the expectation (and the
  report) must be updated deliberately;
* ``fail``: failed without being expected to;
* ``error``: no comparison was possible (the candidate crashed, hung, wrote bad traces, or the reference
  could not be produced). Never expected, never ok.

A finding is judged, for its own candidate, under its ``tolerances.profile`` when it names one (the profile
is part of what the finding claims); everything else under the candidate's profile from the registry. An
explicit ``profile`` argument overrides both; a finding judged so under another profile than the one it
claims cannot be ``fixed`` there: passing a looser or different bound says nothing about its claim, so it
is a plain ``pass`` (and a finding that still fails is still ``expected-fail``).
"""
from __future__ import annotations

import dataclasses
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from harness.backends.sources import obtain_truth, produce
from harness.errors import UsageError
from harness.judge.accuracy import build_ladder, judge_accuracy
from harness.judge.comparator import Comparison, compare
from harness.judge.pool import RunEnded, RunTimedOut, limit_message, run_bounded
from harness.judge.tolerances import ACCURACY_PROFILE, resolve_tolerances
from harness.scenario.types import Scenario
from harness.traces.references import REFERENCE_DIR, reference_file
from harness.traces.traces import Traces

from .execute import CandidateError, run_candidate
from .registry import Candidate

VERDICTS = ("pass", "expected-fail", "fixed", "fail", "error")
OK_VERDICTS = ("pass", "expected-fail")
NEST_REFERENCES = ("nest", "stored")  # the references whose traces are NEST's (the ladder's middle rung)
TRUTH_REFERENCES = ("truth", "stored-truth")
TRUTH_MODES = ("auto", "stored", "live", "none")  # auto: the stored truth when valid, else solved now
SCENARIO_SLACK_S = 60.0  # a worker's own start (imports, NEST's) beyond the three runs' limits


@dataclass
class Run:
    """One scenario's traces from the reference, the candidate and the truth (or why there are none)."""

    scenario: Scenario
    reference: Traces | None
    candidate: Traces | None
    error: str | None
    seconds: float
    truth: Traces | None = None
    truth_note: str = ""  # where the truth came from, or why there is none
    reference_name: str = "nest"

    @property
    def nest(self) -> Traces | None:
        return self.reference if self.reference_name in NEST_REFERENCES else None


@dataclass
class Outcome:
    candidate: str
    scenario: Scenario
    comparison: Comparison
    expected: str  # "pass" | "fail"
    reason: str
    claimed_profile: str | None = None  # the profile the expectation is stated under; None: any

    @property
    def ladder(self):
        """The accuracy ladder of this scenario (harness.judge.distances.Ladder), or None."""
        return self.comparison.ladder

    @property
    def claim_applies(self) -> bool:
        return self.claimed_profile is None or self.claimed_profile == self.comparison.profile

    @property
    def verdict(self) -> str:
        status = self.comparison.status
        if status == "error":
            return "error"
        if self.expected == "fail":
            if status == "fail":
                return "expected-fail"
            return "fixed" if self.claim_applies else "pass"
        return status

    @property
    def ok(self) -> bool:
        return self.verdict in OK_VERDICTS


def expectation(candidate: Candidate, scenario: Scenario) -> tuple[str, str]:
    """(expected status, reason) of ``scenario`` for ``candidate``: a declared finding only in its folder."""
    if own_finding(candidate, scenario):
        return scenario.expect, scenario.expect_reason
    return "pass", ""


def own_finding(candidate: Candidate, scenario: Scenario) -> bool:
    folder = candidate.findings_dir()
    return folder is not None and _is_within(Path(scenario.path), folder)


def claimed_profile(candidate: Candidate, scenario: Scenario) -> str:
    """The profile a scenario is judged by for ``candidate`` unless told otherwise: a finding's own
    ``tolerances.profile`` (part of what it claims) for the candidate it was written for, else the
    candidate's profile from the registry (the in-house ones must stay exact everywhere)."""
    pinned = (scenario.tolerances or {}).get("profile")
    return pinned if pinned and own_finding(candidate, scenario) else candidate.profile


def collect(candidate: Candidate, scenarios, *, reference: str = "nest", truth: str = "auto",
            reference_dir: Path = REFERENCE_DIR, progress=None, workers: int = 1, on_run=None) -> list[Run]:
    """Run the reference, the candidate and obtain the truth on every scenario; the runs in the order of
    ``scenarios``. ``truth``: one of TRUTH_MODES (a truth reference is its own truth).

    ``workers`` 1: one scenario after the other, the reference (and an in-process candidate, and a truth
    solved now) each in a worker process within the candidate's ``timeout_s``. ``workers`` N > 1: up to N
    scenarios at a time, each whole in a worker (``collect_in_worker``: its own NEST kernel; a command
    candidate's program as a child of that worker). ``on_run(index, run)`` is called as each run ends."""
    scenarios = list(scenarios)
    if workers > 1 and len(scenarios) > 1:
        from .workers import run_streaming

        items = [(candidate, s, reference, truth, str(reference_dir)) for s in scenarios]
        started = lambda i: progress and progress(f"{candidate.name}: {scenarios[i].name}")  # noqa: E731
        return run_streaming(collect_in_worker, items, workers=workers, timeout=scenario_time_limit(candidate),
                             failed=_lost_run, on_result=on_run, on_start=started)
    runs = []
    for i, scenario in enumerate(scenarios):
        if progress:
            progress(f"{candidate.name}: {scenario.name}")
        run = _collect_one(candidate, scenario, reference, truth, Path(reference_dir), run_bounded)
        runs.append(run)
        if on_run is not None:
            on_run(i, run)
    return runs


def scenario_time_limit(candidate: Candidate) -> float:
    """A whole scenario in one worker: the reference, the candidate and the truth, each up to ``timeout_s``."""
    return 3 * candidate.timeout_s + SCENARIO_SLACK_S


def collect_in_worker(candidate: Candidate, scenario: Scenario, reference: str, truth: str,
                      reference_dir: str) -> Run:
    """One scenario's run inside a worker of ``collect``: every part runs here, bounded by an alarm."""
    return _collect_one(candidate, scenario, reference, truth, Path(reference_dir), within)


def within(task, *args, timeout: float, what: str = "the run"):
    """``task(*args)`` in this process, ended by SIGALRM after ``timeout`` seconds (RunTimedOut).

    For a worker's main thread, where no process of its own can be started (the pool's workers are daemons):
    Python code (an in-process candidate, the truth's solver) is interrupted at the limit; a run inside NEST's
    C++ is noticed only when it returns, and beyond that the parent's limit for the whole scenario ends it."""
    def on_alarm(signum, frame):
        raise _Alarm  # not an Exception: a port's `except Exception:` does not swallow it

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return task(*args)
    except _Alarm:
        raise RunTimedOut(f"{what} {limit_message(timeout)}") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Alarm(BaseException):
    """``within``'s time limit, raised wherever the task is when it strikes."""


def _lost_run(item, reason: str) -> Run:
    candidate, scenario, reference = item[:3]
    seconds = scenario_time_limit(candidate) if "time limit" in reason else 0.0
    return Run(scenario, None, None, f"the scenario's runs (reference, candidate and truth in one worker) {reason}",
               seconds, reference_name=reference)


def _collect_one(candidate: Candidate, scenario: Scenario, reference: str, truth: str, reference_dir: Path,
                 bounded) -> Run:
    """``bounded(task, *args, timeout=, what=)`` runs what may hang: ``run_bounded`` or ``within``."""
    started = time.perf_counter()
    try:
        # Within the candidate's own time limit: a hung NEST is an error too.
        ref = bounded(produce, reference, scenario, reference_dir, timeout=candidate.timeout_s,
                      what=f"{scenario.path}: the {reference} run")
    except UsageError as exc:
        return Run(scenario, None, None, f"reference {reference}: {exc}", time.perf_counter() - started,
                   reference_name=reference)
    cand, error = _candidate_run(candidate, scenario, bounded, reference_dir)
    if reference in TRUTH_REFERENCES:
        known, note = ref, f"the truth is the reference ({reference})"
    else:  # no live solve for a candidate that gave nothing to measure; a stored truth is cheap to load
        mode = "stored" if cand is None and truth == "auto" else truth
        known, note = candidate_truth(scenario, mode, reference_dir, candidate.timeout_s, bounded)
    return Run(scenario, ref, cand, error, time.perf_counter() - started, known, note, reference)


def _candidate_run(candidate: Candidate, scenario: Scenario, bounded,
                   reference_dir: Path) -> tuple[Traces | None, str | None]:
    """(traces, None) or (None, why): a command bounds itself (execute); a function is bounded here. The
    references in use are watched too, wherever they are."""
    watch = (reference_dir,)
    try:
        if not candidate.in_process:
            return run_candidate(candidate, scenario, watch=watch), None
        return bounded(_run_watched, candidate, scenario, watch, timeout=candidate.timeout_s,
                       what=f"the call of {candidate.python}"), None
    except CandidateError as exc:
        return None, exc.describe()
    except RunTimedOut:
        return None, (f"candidate {candidate.name!r} on {scenario.name!r}: timed out after "
                      f"{candidate.timeout_s:g} s (timeout_s in the registry)")
    except RunEnded as exc:  # its worker died: a crash in the port's extension code, say
        return None, f"candidate {candidate.name!r} on {scenario.name!r}: {exc}"


def _run_watched(candidate: Candidate, scenario: Scenario, watch: tuple) -> Traces:
    return run_candidate(candidate, scenario, watch=watch)  # positional arguments only, for a worker


def candidate_truth(scenario: Scenario, mode: str, reference_dir: Path, timeout_s: float,
                    bounded=run_bounded) -> tuple:
    """(truth traces or None, a note saying where they came from or why there are none)."""
    if mode not in TRUTH_MODES:
        raise UsageError(f"truth {mode!r}; allowed: {', '.join(TRUTH_MODES)}")
    if mode == "none":
        return None, "no truth asked for (--truth none)"
    why_live = ""
    if mode in ("auto", "stored"):
        try:
            stored, note = obtain_truth(scenario, "stored" if mode == "stored" else "auto", reference_dir)
        except UsageError as exc:  # --truth stored and none usable: nothing measured against the truth
            return None, str(exc)
        if stored is not None:
            return stored, note
        if not reference_file(scenario, reference_dir, "truth").exists():
            note = f"no stored truth reference for {scenario.name}"
        why_live = f"{note}; "
    try:
        live, note = bounded(obtain_truth, scenario, "live", reference_dir, timeout=timeout_s,
                             what=f"{scenario.path}: the truth")
    except Exception as exc:  # noqa: BLE001 - a truth that could not be solved leaves the rungs unmeasured
        return None, f"{why_live}the truth could not be solved: {exc}"
    return live, f"{why_live}{note}, in a worker"


def judge(candidate: Candidate, run: Run, *, reference: str = "nest", profile: str | None = None) -> Outcome:
    scenario = run.scenario
    expected, reason = expectation(candidate, scenario)
    claimed = claimed_profile(candidate, scenario)
    chosen = profile or claimed
    candidate_traces = None if run.error is not None else run.candidate
    if chosen == ACCURACY_PROFILE:
        comparison, ladder = _judge_accuracy(candidate, run, reference)
    else:
        tolerances = resolve_tolerances(scenario, chosen)  # with the scenario's per-variable overrides
        ladder = build_ladder(run.nest, run.truth, candidate_traces)
        if run.error is not None:
            comparison = _error(candidate, run, reference, tolerances.profile, run.error)
        else:
            comparison = compare(run.reference, run.candidate, tolerances, reference_name=reference,
                                 candidate_name=candidate.name)
    if run.truth_note:
        ladder.notes.insert(0, run.truth_note)
    comparison.ladder = ladder
    return Outcome(candidate.name, scenario, comparison, expected, reason, claimed)


def _judge_accuracy(candidate: Candidate, run: Run, reference: str):
    """The ``as-accurate-as-nest`` verdict (judge_accuracy), or an error comparison saying what is missing."""
    if run.error is not None:
        return (_error(candidate, run, reference, ACCURACY_PROFILE, run.error),
                build_ladder(run.nest, run.truth, None))
    if run.nest is None:
        why = (f"profile {ACCURACY_PROFILE} needs NEST as the reference (nest or stored), whose distance to the "
               f"truth sets the bounds; the reference here is {reference!r}")
    elif run.truth is None:
        why = f"profile {ACCURACY_PROFILE} judges against the truth, and there is none: {run.truth_note}"
    else:
        return judge_accuracy(run.nest, run.truth, run.candidate, candidate_name=candidate.name)
    return _error(candidate, run, reference, ACCURACY_PROFILE, why), build_ladder(run.nest, run.truth, run.candidate)


def _error(candidate: Candidate, run: Run, reference: str, profile: str, why: str) -> Comparison:
    return Comparison(scenario=run.scenario.name, reference=reference, candidate=candidate.name, profile=profile,
                      tics_per_step=run.scenario.tics_per_step, status="error", error=why)


def check_candidate(candidate: Candidate, scenarios, *, reference: str = "nest", profile: str | None = None,
                    truth: str = "auto", reference_dir: Path = REFERENCE_DIR, progress=None, workers: int = 1,
                    on_outcome=None) -> list[Outcome]:
    """Every scenario's Outcome, in the order of ``scenarios``; ``on_outcome(index, outcome, run)`` is called
    as each is judged (with ``workers`` > 1, in the order they finish)."""
    outcomes = {}

    def judged(index: int, run: Run) -> None:
        outcomes[index] = judge(candidate, run, reference=reference, profile=profile)
        if on_outcome is not None:
            on_outcome(index, outcomes[index], run)

    runs = collect(candidate, scenarios, reference=reference, truth=truth, reference_dir=reference_dir,
                   progress=progress, workers=workers, on_run=judged)
    return [outcomes[i] for i in range(len(runs))]


def variant(candidate: Candidate, *extra_args: str, suffix: str) -> Candidate:
    """The same candidate with more arguments (e.g. the brainpy runner's --mode eager --xla-strict)."""
    return dataclasses.replace(candidate, name=f"{candidate.name}{suffix}",
                               command=candidate.command + tuple(extra_args))


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False
