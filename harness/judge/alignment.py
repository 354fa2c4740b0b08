"""The spike-aware rule: which candidate sample each reference sample is judged against, and which are not.

A sample stamped s shows the reset of a spike at step k when s >= k. Spikes that moved within the window
(matched pairs at steps r in the reference and c in the candidate) split the traces into segments, and the
recordables are aligned by what drives them:

* ``V_m`` is what a spike resets, so it is aligned by the matched spikes: after the i-th pair, the reference
  sample stamped s is judged against the candidate's stamped s + (c_i - r_i), up to the next spike on
  either side. Reference samples without a partner in the same segment (at most a few per moved spike, and
  at the end of the trace) are left out.
* ``s_AMPA``, ``s_GABA``, ``s_NMDA`` follow the inputs only (a spike does not reset them, and the inputs are
  stamped alike on both sides), so every sample is judged stamp by stamp.
* The currents (``I_* = g * s * (V_m - E)``, with ``V_m``'s driving force) and any other name are judged
  stamp by stamp, leaving out the |r - c| samples of each moved pair where one neuron has been reset and the
  other not. The recorded currents are NEST's RHS side effects at the end of the step's integration,
  before the reset (``harness.model.neuron``), so a spike at step k shows in them from stamp k + 1: the
  samples left out are those stamped in [min(r, c) + 1, max(r, c) + 1).

From a spike mismatch (a pair farther apart than the window, or an unpaired spike) on, nothing is judged
against the tolerance: the verdict is fail on the spikes, and the earlier divergence stays the one named.
Every left-out stretch is reported with its reason; finiteness is checked on every sample anyway (by the
comparator).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.model.parameters import RECORDABLES

RESET_VARIABLE = "V_m"
INPUT_DRIVEN = tuple(name for name in RECORDABLES if name.startswith("s_"))
CURRENT_LAG = 1  # a spike at step k shows in the recorded currents from stamp k + CURRENT_LAG (see above)


@dataclass
class Unjudged:
    """Reference samples stamped from_step <= s < to_step (None: to the end) not held to the tolerance."""

    from_step: int
    to_step: int | None
    samples: int
    reason: str
    variables: tuple  # the recordables it applies to


def align(steps: np.ndarray, spikes, names, ms, network_stop=None) -> tuple[dict, list[Unjudged]]:
    """Per recordable, the index of the candidate sample each reference sample is judged against (-1: left
    out); and the left-out stretches. ``spikes`` is a ``comparator.SpikeResult``, ``ms`` turns steps into ms.
    ``network_stop`` (step, reason): a network's first spike difference, from which nothing is judged."""
    steps = np.asarray(steps, dtype=np.int64)
    pairs = spikes.matched_pairs()
    stop = spikes.first_violation_step
    reason = f"from the spike mismatch at {ms(stop):g} ms on, the neurons have diverged (the spikes fail)" \
        if stop is not None else None
    if network_stop is not None and (stop is None or network_stop[0] < stop):
        stop, reason = network_stop
        pairs = [p for p in pairs if max(p) < stop]
    before = np.ones(len(steps), dtype=bool) if stop is None else steps < stop
    same = np.where(before, np.arange(len(steps)), -1)
    shifted = _shifted_partner(steps, pairs, stop)
    partners, unjudged = {}, []
    moved = [(i, r, c) for i, (r, c) in enumerate(pairs) if r != c]
    stamped = same.copy()
    for i, r, c in moved:
        stamped[_between(steps, r, c) & before] = -1
    for name in names:
        partners[name] = shifted if name == RESET_VARIABLE else same if name in INPUT_DRIVEN else stamped
    others = tuple(n for n in names if n != RESET_VARIABLE and n not in INPUT_DRIVEN)
    if others:
        for i, r, c in moved:
            out = int((_between(steps, r, c) & before).sum())
            if out:
                unjudged.append(Unjudged(min(r, c) + CURRENT_LAG, max(r, c) + CURRENT_LAG, out, (
                    f"spike {i + 1} is at {ms(r):g} ms in the reference and at {ms(c):g} ms in the candidate "
                    f"(within the window): in between, one neuron has been reset and the other not (the "
                    f"currents show a reset one sample later)"), others))
    if RESET_VARIABLE in names:
        unjudged += _reset_gaps(steps, shifted, before, pairs, ms)
    if stop is not None and not before.all():
        unjudged.append(Unjudged(stop, None, int((~before).sum()), reason, tuple(names)))
    unjudged.sort(key=lambda u: (u.from_step, u.to_step is None))
    return partners, unjudged


def _between(steps, r, c) -> np.ndarray:
    """The current samples of a moved pair where one neuron has been reset and the other not."""
    return (steps >= min(r, c) + CURRENT_LAG) & (steps < max(r, c) + CURRENT_LAG)


def _shifted_partner(steps, pairs, stop) -> np.ndarray:
    """For each reference sample, the candidate sample in the same inter-spike segment, shifted by the pair."""
    r = np.array([p[0] for p in pairs], dtype=np.int64)
    c = np.array([p[1] for p in pairs], dtype=np.int64)
    segment = np.searchsorted(r, steps, side="right")  # 0: before the first spike, i: after the i-th pair
    shift = np.concatenate([[0], c - r])[segment]
    target = steps + shift
    next_reset = np.concatenate([c, [np.iinfo(np.int64).max]])[segment]  # the candidate's next spike
    index = np.clip(np.searchsorted(steps, target), 0, len(steps) - 1)
    ok = (target < next_reset) & (steps[index] == target)
    if stop is not None:
        ok &= (steps < stop) & (target < stop)
    return np.where(ok, index, -1)


def _reset_gaps(steps, shifted, before, pairs, ms) -> list[Unjudged]:
    """The runs of V_m's reference samples without a partner (before any mismatch), named by the nearest pair."""
    gaps = []
    missing = (shifted < 0) & before
    edges = np.flatnonzero(np.diff(np.concatenate([[0], missing.astype(np.int8), [0]])))
    r = np.array([p[0] for p in pairs], dtype=np.int64)
    for start, end in zip(edges[::2], edges[1::2]):
        k = int(np.clip(np.searchsorted(r, steps[start], side="right"), 1, len(pairs)))  # the pair before it
        ref_step, cand_step = pairs[k - 1] if pairs else (None, None)
        where = (f"after spike {k} (reference {ms(ref_step):g} ms, candidate {ms(cand_step):g} ms)"
                 if pairs else "")
        to_step = int(steps[end]) if end < len(steps) else int(steps[-1]) + 1
        gaps.append(Unjudged(int(steps[start]), to_step, int(end - start), (
            f"V_m is judged aligned by the matched spikes; these reference samples {where} have no candidate "
            f"sample in the same inter-spike segment"), (RESET_VARIABLE,)))
    return gaps
