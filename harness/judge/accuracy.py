"""The ``as-accurate-as-nest`` profile: a verdict for ports that do not mirror GSL's RKF45.

Such a port cannot equal NEST, and NEST itself is not the true solution of its time-discrete model: its
adaptive RKF45 stops at ``gsl_error_tol``. So the port is measured against the truth (``harness.truth``), and
NEST's own distance to the truth sets the scale. A recordable passes when, at every judged sample,

    |candidate - truth| <= FACTOR * D_NEST + floor,   D_NEST = max |NEST - truth| over the trace,
    floor = ROUNDOFF * max |truth|                     (the round-off a correct port may differ by),

and the spikes pass as in the ``integrator`` profile: each within one step of the truth's. Where NEST's
distance is itself at round-off (a recordable that no input drives, an exact decay), the floor is the
bound. How FACTOR and ROUNDOFF were chosen, from what correct but different integrators and each selftest
variant reach over the catalogue and generated scenarios: docs/accuracy.md (``scripts/accuracy_figures.py``
regenerates its tables).

The truth must be converged for the verdict to mean anything: when solving it ten times tighter moved a
recordable by more than 1 % of NEST's distance (``harness.judge.distances.truth_converged``), the
comparison is an error that says which, never a pass.
"""
from __future__ import annotations

import math

import numpy as np

from harness.judge.comparator import Comparison, compare
from harness.judge.distances import Ladder, distance
from harness.judge.tolerances import ACCURACY_PROFILE, Tolerance, Tolerances
from harness.traces.traces import Traces

FACTOR = 100.0
ROUNDOFF = 1e-12
WINDOW_STEPS = 1


def roundoff_floors(truth: Traces) -> dict:
    """ROUNDOFF times each recordable's largest magnitude in the truth (0 where it is identically 0)."""
    floors = {}
    for key, values in truth.variables.items():
        finite = np.asarray(values, dtype=np.float64)
        scale = float(np.max(np.abs(finite))) if finite.size and np.all(np.isfinite(finite)) else 0.0
        name = key.rsplit(".", 1)[-1]
        floors[name] = max(floors.get(name, 0.0), ROUNDOFF * scale)
    return floors


def build_ladder(nest: Traces | None, truth: Traces | None, candidate: Traces | None) -> Ladder:
    """The three distances that can be measured from what is at hand, with the truth's convergence figure."""
    from harness.truth import convergence_of

    notes = [] if truth is not None else ["no truth at hand: nothing measured against it"]

    def measured(a, b, what):
        if a is None or b is None:
            return None
        try:
            return distance(a, b)
        except ValueError as exc:  # another grid, nothing recorded: the comparison itself says so too
            notes.append(f"{what}: {exc}")
            return None

    return Ladder(measured(candidate, nest, "candidate-NEST"), measured(nest, truth, "NEST-truth"),
                  measured(candidate, truth, "candidate-truth"),
                  convergence_of(truth) if truth is not None else None, notes,
                  roundoff_floors(truth) if truth is not None else {})


def accuracy_tolerances(nest_truth, floors: dict) -> Tolerances:
    """The per-recordable bounds FACTOR * D_NEST + floor (NaN distance: a bound nothing passes)."""
    variables = {}
    for name, d in nest_truth.variables.items():
        bound = math.nan if d is None or math.isnan(d) else FACTOR * d + floors.get(name, 0.0)
        variables[name] = Tolerance(bound, 0.0)
    return Tolerances(ACCURACY_PROFILE, variables, WINDOW_STEPS)


def judge_accuracy(nest: Traces, truth: Traces, candidate: Traces, *, candidate_name: str,
                   truth_name: str = "truth") -> tuple[Comparison, Ladder]:
    """The candidate judged against the truth with bounds from NEST's distance to it, and the ladder."""
    ladder = build_ladder(nest, truth, candidate)
    unconverged = ladder.unconverged()
    why = None
    if ladder.nest_truth is None or ladder.candidate_truth is None:
        why = "; ".join(ladder.notes) or "the distances to the truth could not be measured"
    elif ladder.convergence is None:
        why = "the truth was not checked for convergence"
    elif unconverged:
        why = (f"the truth is not converged for {', '.join(unconverged)} (solving it ten times tighter moved "
               f"it by 1 % or more of NEST's distance to it): solve it tighter before judging")
    if why:
        return Comparison(scenario=truth.scenario, reference=truth_name, candidate=candidate_name,
                          profile=ACCURACY_PROFILE, tics_per_step=truth.tics_per_step, status="error",
                          error=why), ladder
    tolerances = accuracy_tolerances(ladder.nest_truth, ladder.floors)
    comparison = compare(truth, candidate, tolerances, reference_name=truth_name, candidate_name=candidate_name)
    return comparison, ladder
