"""A candidate over a set of scenarios: traces from the candidate and from a reference, judged by the comparator.

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
explicit ``profile`` argument overrides both.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

from harness.backends.sources import produce
from harness.errors import UsageError
from harness.judge.comparator import Comparison, compare
from harness.judge.pool import run_bounded
from harness.judge.tolerances import resolve_tolerances
from harness.scenario.types import Scenario
from harness.traces.traces import Traces

from .execute import CandidateError, run_candidate
from .registry import Candidate

VERDICTS = ("pass", "expected-fail", "fixed", "fail", "error")
OK_VERDICTS = ("pass", "expected-fail")


@dataclass
class Run:
    """One scenario's traces from the reference and the candidate (or why there are none)."""

    scenario: Scenario
    reference: Traces | None
    candidate: Traces | None
    error: str | None
    seconds: float


@dataclass
class Outcome:
    candidate: str
    scenario: Scenario
    comparison: Comparison
    expected: str  # "pass" | "fail"
    reason: str

    @property
    def verdict(self) -> str:
        status = self.comparison.status
        if status == "error":
            return "error"
        if self.expected == "fail":
            return "expected-fail" if status == "fail" else "fixed"
        return status

    @property
    def ok(self) -> bool:
        return self.verdict in OK_VERDICTS


def expectation(candidate: Candidate, scenario: Scenario) -> tuple[str, str]:
    """(expected status, reason) of ``scenario`` for ``candidate``: a declared finding only in its folder."""
    folder = candidate.findings_dir()
    if folder is not None and _is_within(Path(scenario.path), folder):
        return scenario.expect, scenario.expect_reason
    return "pass", ""


def collect(candidate: Candidate, scenarios, *, reference: str = "nest", progress=None) -> list[Run]:
    """Run the reference and the candidate on every scenario (one at a time: candidates are heavy)."""
    runs = []
    for scenario in scenarios:
        if progress:
            progress(f"{candidate.name}: {scenario.name}")
        started = time.perf_counter()
        try:
            # In a worker process within the candidate's own time limit: a hung NEST is an error too.
            ref = run_bounded(produce, reference, scenario, timeout=candidate.timeout_s,
                              what=f"{scenario.path}: the {reference} run")
        except UsageError as exc:
            runs.append(Run(scenario, None, None, f"reference {reference}: {exc}", 0.0))
            continue
        try:
            cand, error = run_candidate(candidate, scenario), None
        except CandidateError as exc:
            cand, error = None, exc.describe()
        runs.append(Run(scenario, ref, cand, error, time.perf_counter() - started))
    return runs


def judge(candidate: Candidate, run: Run, *, reference: str = "nest", profile: str | None = None) -> Outcome:
    scenario = run.scenario
    expected, reason = expectation(candidate, scenario)
    # A finding's profile is part of its claim, so it counts for the candidate it was written for; every
    # other candidate is judged by its own profile (the in-house ones must stay exact everywhere).
    own_finding = candidate.findings_dir() is not None and _is_within(Path(scenario.path), candidate.findings_dir())
    chosen = profile or (None if own_finding and scenario.tolerances.get("profile") else candidate.profile)
    tolerances = resolve_tolerances(scenario, chosen)
    if run.error is not None:
        comparison = Comparison(scenario=scenario.name, reference=reference, candidate=candidate.name,
                                profile=tolerances.profile, tics_per_step=scenario.tics_per_step,
                                status="error", error=run.error)
    else:
        comparison = compare(run.reference, run.candidate, tolerances, reference_name=reference,
                             candidate_name=candidate.name)
    return Outcome(candidate.name, scenario, comparison, expected, reason)


def check_candidate(candidate: Candidate, scenarios, *, reference: str = "nest", profile: str | None = None,
                    progress=None) -> list[Outcome]:
    runs = collect(candidate, scenarios, reference=reference, progress=progress)
    return [judge(candidate, run, reference=reference, profile=profile) for run in runs]


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
