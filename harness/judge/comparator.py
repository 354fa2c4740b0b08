"""Compare a candidate's traces with a reference's, variable by variable, under ``harness.judge.tolerances``.

Rules (and why); docs/compare.md states them for users:

* The grids must be the same: same tics per step, same sample stamps, same recorded variables. Anything else
  is an error, never a silent join or interpolation, because parity is a claim about every single step.
  Traces without a sample are an error too: nothing judged is never a pass.
* A sample passes when both values are finite and ``|cand - ref| <= abs + rel*|ref|`` in float64. Finiteness
  is checked on its own because the bound alone lets infinities through (ref inf: the bound is inf and so is
  the difference to any finite candidate). A non-finite value fails wherever it is, left-out samples included.
* Spike trains are compared by step index: the i-th candidate spike must lie within ``window_steps`` of the
  i-th reference spike, and the counts must agree.
* Spike-aware judging (``harness.judge.alignment``): after spikes that moved within the window, V_m (which
  the spike resets) is judged aligned by the matched spikes, the synaptic variables (which follow the inputs)
  stamp by stamp on every sample, the currents stamp by stamp without the samples between the two spikes of
  a moved pair. From a spike mismatch on nothing is held to the tolerance (the spikes fail). Every left-out
  stretch is reported with its reason (``Comparison.unjudged``), and the count per variable; a variable
  with no sample judged fails, so a candidate that is wrong after a spike fails.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.grid import steps_to_ms
from harness.judge.alignment import align
from harness.judge.tolerances import Tolerance, Tolerances
from harness.traces.traces import Traces


class GridMismatch(Exception):
    """The two traces are not sampled on the same grid (or do not hold the same variables)."""


@dataclass
class VariableResult:
    name: str
    tolerance: Tolerance
    samples_judged: int  # samples held to the tolerance (a non-finite sample always counts as judged)
    max_abs: float  # NaN when a NaN was compared
    max_rel: float  # inf when the reference is 0 where the candidate differs
    worst_ms: float | None  # time of the largest |difference| (a NaN counts as largest); None if no difference
    first_violation_ms: float | None  # first sample outside the tolerance; None if none
    headroom: float  # min over samples of tolerance / |difference|: > 1 passes, inf if nothing differs
    passed: bool
    samples_left_out: int = 0  # finite samples not held to the tolerance (see Comparison.unjudged)
    reason: str | None = None  # why it fails when no sample says so (nothing judged)
    neuron: str | None = None  # a network's neuron (``E[0]``); None for a single-neuron scenario


@dataclass
class SpikeResult:
    reference_steps: np.ndarray
    candidate_steps: np.ndarray
    window_steps: int
    first_difference_step: int | None  # first spike that is not at the identical step (None: identical)
    first_violation_step: int | None  # first spike outside the window, or unmatched (None: match)

    @property
    def match(self) -> bool:
        return self.first_violation_step is None

    def matched_pairs(self) -> list[tuple[int, int]]:
        """(reference step, candidate step) of the spike pairs within the window, up to the first violation."""
        pairs = []
        for r, c in zip(self.reference_steps.tolist(), self.candidate_steps.tolist()):
            if abs(r - c) > self.window_steps:
                break
            pairs.append((r, c))
        return pairs


@dataclass
class Comparison:
    scenario: str
    reference: str  # where the reference came from: "nest", "stored", "python"
    candidate: str
    profile: str
    tics_per_step: int
    status: str  # "pass" | "fail" | "error"
    error: str | None = None
    variables: dict = field(default_factory=dict)  # name -> VariableResult, in recording order
    spikes: SpikeResult | None = None
    judged_until_step: int | None = None  # spike mismatch: the tolerance holds on stamps < this only
    unjudged: list = field(default_factory=list)  # alignment.Unjudged stretches, in time order
    # A network (harness.judge.network): each neuron's spikes; ``variables`` is then keyed "E[0].V_m" and
    # ``spikes`` holds all of them, its first difference and first violation the earliest of any neuron.
    neuron_spikes: dict | None = None
    ladder: object = None  # harness.judge.distances.Ladder: the distances to NEST and to the truth, when known
    traces: dict | None = None  # "reference", "candidate" -> Traces, when the caller kept them (harness.api)

    @property
    def pair(self) -> str:
        return f"{self.reference}-vs-{self.candidate}"

    def ms(self, steps: int | None) -> float | None:
        return None if steps is None else float(steps_to_ms(steps, self.tics_per_step))

    @property
    def failures(self) -> list[str]:
        """Names of what failed: variables, then "spikes"."""
        names = [name for name, v in self.variables.items() if not v.passed]
        if self.neuron_spikes is not None:
            return names + [f"{neuron} spikes" for neuron, s in self.neuron_spikes.items() if not s.match]
        return names + (["spikes"] if self.spikes is not None and not self.spikes.match else [])

    # Tables and figures (harness.judge.frames, harness.traces.plotting; docs/api.md).
    def to_dataframe(self):
        """One row per variable (a network's: per neuron and variable) and one for the spikes, with units."""
        from harness.judge.frames import to_dataframe

        return to_dataframe(self)

    def to_xarray(self):
        from harness.judge.frames import to_xarray

        return to_xarray(self)

    def traces_dataframe(self, variables=None):
        """The two sides' traces side by side (columns source[, variable][, neuron]); needs ``traces``."""
        from harness.judge.frames import traces_dataframe

        return traces_dataframe(self, variables)

    def plot(self, variables=None, neuron: str | None = None):
        from harness.traces.plotting import plot_comparison

        return plot_comparison(self, variables, neuron)

    def first_divergence(self) -> tuple[str, float] | None:
        """(what, ms) of the earliest broken tolerance over all variables and the spikes; None if all pass.

        When several break it at the same sample, the one the others derive from is named (``DERIVATION``),
        then the first in recording order (a network's: the first neuron)."""
        events = [(v.first_violation_ms, derivation_rank(v.name), i, name)
                  for i, (name, v) in enumerate(self.variables.items()) if v.first_violation_ms is not None]
        last = len(DERIVATION) + 1  # a spike last: it is V_m crossing V_th
        if self.neuron_spikes is not None:
            events += [(self.ms(s.first_violation_step), last, i, f"{neuron} spikes")
                       for i, (neuron, s) in enumerate(self.neuron_spikes.items()) if not s.match]
        elif self.spikes is not None and not self.spikes.match:
            events.append((self.ms(self.spikes.first_violation_step), last, 0, "spikes"))
        if not events:
            return None
        ms, _, _, name = min(events)
        return name, ms


# What a first divergence is named by when several variables break their tolerance at the same sample: the
# root of what the others derive from. The gating variables follow the inputs alone (s_NMDA is the weighted
# sum of the ports' s_j); the recorded currents are evaluated from V_m and the gating variables at the end of
# the step; V_m at a sample integrates the currents inside the step, which are not recorded; a spike is V_m
# crossing V_th. So a broken NMDA rule shows in s_NMDA, I_NMDA, V_m and, through V_m, in I_AMPA at the same
# sample, and s_NMDA is named; a broken integration of V_m shows in V_m and every current, and V_m is named.
DERIVATION = ("s_AMPA", "s_GABA", "s_NMDA", "V_m", "I_AMPA", "I_GABA", "I_NMDA")


def derivation_rank(name: str) -> int:
    """Position of a recordable in ``DERIVATION``; an unknown name comes after the known ones."""
    return DERIVATION.index(name) if name in DERIVATION else len(DERIVATION)


def compare(reference: Traces, candidate: Traces, tolerances: Tolerances, *, reference_name: str,
            candidate_name: str, stop=None) -> Comparison:
    """Judge ``candidate`` against ``reference``; a grid mismatch or nothing to judge gives status "error".

    Network traces are judged neuron by neuron (``harness.judge.network``). ``stop`` (step, reason), given
    by that rule, ends the samples held to the tolerance earlier than this neuron's own spikes would.
    """
    if reference.is_network or candidate.is_network:
        from harness.judge.network import compare_network

        return compare_network(reference, candidate, tolerances, reference_name=reference_name,
                               candidate_name=candidate_name)
    result = Comparison(scenario=reference.scenario, reference=reference_name, candidate=candidate_name,
                        profile=tolerances.profile, tics_per_step=reference.tics_per_step, status="pass")
    try:
        check_same_grid(reference, candidate)
    except GridMismatch as exc:
        result.status, result.error = "error", str(exc)
        return result
    if len(reference.steps) == 0 or not reference.variables:
        result.status = "error"
        result.error = "nothing to judge: the traces hold no samples" if len(reference.steps) == 0 else (
            "nothing to judge: the traces record no variables")
        return result
    result.spikes = compare_spikes(reference.spike_steps, candidate.spike_steps, tolerances.spike_window_steps)
    result.judged_until_step = result.spikes.first_violation_step
    partners, result.unjudged = align(reference.steps, result.spikes, tuple(reference.variables), result.ms, stop)
    if stop is not None and (result.judged_until_step is None or stop[0] < result.judged_until_step):
        result.judged_until_step = stop[0]
    times = reference.times_ms
    for name, ref_values in reference.variables.items():
        result.variables[name] = compare_variable(name, ref_values, candidate.variables[name], times,
                                                  tolerances[name], partner=partners[name])
    result.status = "fail" if result.failures else "pass"
    return result


def check_same_grid(reference: Traces, candidate: Traces) -> None:
    if reference.tics_per_step != candidate.tics_per_step:
        raise GridMismatch(f"time grids differ: the reference has {reference.tics_per_step} tics per step, "
                           f"the candidate {candidate.tics_per_step}")
    if len(reference.steps) != len(candidate.steps):
        raise GridMismatch(f"sample counts differ: the reference has {len(reference.steps)} samples, "
                           f"the candidate {len(candidate.steps)}")
    if not np.array_equal(reference.steps, candidate.steps):
        i = int(np.flatnonzero(reference.steps != candidate.steps)[0])
        raise GridMismatch(f"sample stamps differ from sample {i} on: step {int(reference.steps[i])} in the "
                           f"reference, step {int(candidate.steps[i])} in the candidate")
    missing = [name for name in reference.variables if name not in candidate.variables]
    if missing:
        raise GridMismatch(f"the candidate does not record {', '.join(missing)} "
                           f"(it has {', '.join(candidate.variables) or 'nothing'})")
    for name, values in reference.variables.items():
        if len(values) != len(reference.steps) or len(candidate.variables[name]) != len(candidate.steps):
            raise GridMismatch(f"{name}: the number of values does not match the number of sample stamps")


def compare_variable(name: str, ref: np.ndarray, cand: np.ndarray, times_ms: np.ndarray,
                     tol: Tolerance, partner: np.ndarray | None = None) -> VariableResult:
    """Judge reference sample i against candidate sample ``partner[i]`` (default: i; -1: left out of the
    tolerance), and every sample of both, left-out ones included, on being finite."""
    ref = np.asarray(ref, dtype=np.float64)
    cand = np.asarray(cand, dtype=np.float64)
    partner = np.arange(ref.size) if partner is None else np.asarray(partner, dtype=np.int64)
    held = partner >= 0
    # A non-finite value never passes, wherever it is: the bound alone would let inf <= inf through.
    finite = np.isfinite(ref) & np.isfinite(cand)
    judged = held | ~finite  # reference stamps judged; a non-finite one counts as judged (and failed)
    aligned = np.where(held, cand[np.where(held, partner, 0)], cand)
    finite_pair = finite & np.isfinite(aligned)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf - inf are judged here, not warned about
        diff = np.where(finite, np.where(held, np.abs(aligned - ref), 0.0), np.nan)  # non-finite: NaN
        allowed = tol.abs + tol.rel * np.abs(ref)
        within = finite_pair & np.isfinite(diff) & (diff <= allowed)  # False for NaN and overflow
    bad = np.flatnonzero(judged & ~within)
    d, a, t = diff[judged], np.where(finite_pair, allowed, 0.0)[judged], times_ms[judged]
    n_judged = int(judged.sum())
    reason = None if n_judged else "no sample was judged (all were left out, see unjudged)"
    return VariableResult(
        name=name, tolerance=tol, samples_judged=n_judged,
        max_abs=max_abs_error(d), max_rel=max_rel_error(d, ref[judged]),
        worst_ms=_time_at(t, worst_sample(d)),
        first_violation_ms=_time_at(times_ms, int(bad[0]) if bad.size else None),
        headroom=headroom(d, a) if n_judged else 0.0, passed=bad.size == 0 and n_judged > 0,
        samples_left_out=int(ref.size - n_judged), reason=reason,
    )


def max_abs_error(diff: np.ndarray) -> float:
    if diff.size == 0:
        return 0.0
    return float("nan") if np.isnan(diff).any() else float(diff.max())


def max_rel_error(diff: np.ndarray, ref: np.ndarray) -> float:
    """max |diff| / |ref|; a difference where the reference is exactly 0 is infinitely relative."""
    if diff.size == 0:
        return 0.0
    if np.isnan(diff).any():
        return float("nan")
    differs = diff > 0
    if not differs.any():
        return 0.0
    scale = np.abs(ref[differs])
    if (scale == 0).any():
        return float("inf")
    with np.errstate(invalid="ignore"):
        ratio = diff[differs] / scale  # inf / inf (an infinite reference) is NaN: no relative error exists
    return float("nan") if np.isnan(ratio).any() else float(ratio.max())


def worst_sample(diff: np.ndarray) -> int | None:
    """Index of the largest difference (the first NaN if there is one); None when nothing differs."""
    nan = np.flatnonzero(np.isnan(diff))
    if nan.size:
        return int(nan[0])
    if diff.size == 0 or not (diff > 0).any():
        return None
    return int(np.argmax(diff))


def headroom(diff: np.ndarray, allowed: np.ndarray) -> float:
    """How many times larger the error could be before failing: min over samples of allowed / |diff|.

    A sample without difference has infinite headroom, a NaN or an error where nothing is allowed has 0, so
    headroom >= 1 exactly when every sample passes (up to the rounding of the quotient).
    """
    differs = ~(diff == 0)  # NaN counts as differing
    if not differs.any():
        return float("inf")
    d, a = diff[differs], allowed[differs]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.isnan(d) | np.isnan(a), 0.0, a / d)
    return float(ratio.min())


def compare_spikes(ref: np.ndarray, cand: np.ndarray, window_steps: int) -> SpikeResult:
    ref = np.asarray(ref, dtype=np.int64)
    cand = np.asarray(cand, dtype=np.int64)
    return SpikeResult(ref, cand, window_steps, first_difference_step=_first_spike_apart(ref, cand, 0),
                       first_violation_step=_first_spike_apart(ref, cand, window_steps))


def _first_spike_apart(ref: np.ndarray, cand: np.ndarray, window: int) -> int | None:
    """Stamp of the first i-th spike pair more than ``window`` steps apart, or of the first unpaired spike."""
    common = min(len(ref), len(cand))
    apart = np.flatnonzero(np.abs(ref[:common] - cand[:common]) > window)
    if apart.size:
        i = int(apart[0])
        return int(min(ref[i], cand[i]))
    if len(ref) != len(cand):
        return int((ref if len(ref) > common else cand)[common])
    return None


def _time_at(times_ms: np.ndarray, index: int | None) -> float | None:
    return None if index is None else float(times_ms[index])
