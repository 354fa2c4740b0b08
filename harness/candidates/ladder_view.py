"""The accuracy ladder of a candidate's scenario in one line or one table row: its *worst* recordable.

A scenario's ladder has four figures for each of seven recordables (``harness.judge.distances.Ladder``;
``harness.report.ladder`` prints it whole). The candidate CLI and reports show, per scenario, the recordable
that comes closest to failing the ``as-accurate-as-nest`` bound: the largest share

    D_cand / (FACTOR * D_NEST + floor)      (D_cand: candidate↔truth, D_NEST: NEST↔truth),

so that a reader sees the worst case with its three distances and units, and the JSON keeps the rest.
Where nothing was measured against the truth, the worst is the recordable farthest from NEST relative to
its scale (so the line still says something).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from harness.judge.accuracy import FACTOR
from harness.model.parameters import RECORDABLE_UNITS, RECORDABLES


@dataclass(frozen=True)
class Worst:
    name: str
    unit: str
    candidate_nest: float | None
    nest_truth: float | None
    candidate_truth: float | None
    share: float | None  # of the as-accurate-as-nest bound; None without the truth

    @property
    def ratio(self) -> float | None:
        """candidate↔truth over NEST↔truth (None where not measured; inf where NEST is exactly the truth)."""
        if self.candidate_truth is None or self.nest_truth is None:
            return None
        if math.isnan(self.candidate_truth) or math.isnan(self.nest_truth):
            return math.nan
        if self.nest_truth == 0:
            return 0.0 if self.candidate_truth == 0 else math.inf
        return self.candidate_truth / self.nest_truth

    def to_json(self) -> dict:
        def number(x):
            return None if x is None or math.isnan(x) else (str(x) if math.isinf(x) else x)

        return {"variable": self.name, "unit": self.unit, "candidate_nest": number(self.candidate_nest),
                "nest_truth": number(self.nest_truth), "candidate_truth": number(self.candidate_truth),
                "share_of_bound": number(self.share), "ratio_to_nest": number(self.ratio)}


def _get(rung, name):
    return None if rung is None else rung.get(name)


def share_of_bound(candidate_truth, nest_truth, floor: float) -> float | None:
    """D_cand / (FACTOR * D_NEST + floor): above 1 fails the as-accurate-as-nest bound; NaN counts as inf."""
    if candidate_truth is None or nest_truth is None:
        return None
    if math.isnan(candidate_truth) or math.isnan(nest_truth):
        return math.inf
    bound = FACTOR * nest_truth + floor
    if bound == 0:
        return 0.0 if candidate_truth == 0 else math.inf
    return candidate_truth / bound


def worst(ladder) -> Worst | None:
    """The ladder's worst recordable (see the module docstring); None when no rung was measured."""
    if ladder is None:
        return None
    rungs = (ladder.candidate_nest, ladder.nest_truth, ladder.candidate_truth)
    names = [n for n in RECORDABLES if any(r is not None and n in r.variables for r in rungs)]
    if not names:
        return None

    def key(name):
        share = share_of_bound(_get(ladder.candidate_truth, name), _get(ladder.nest_truth, name),
                               ladder.floors.get(name, 0.0))
        if share is not None:
            return share
        d = _get(ladder.candidate_nest, name)
        return -1.0 if d is None else math.inf if math.isnan(d) else d / _scale(name)

    name = max(names, key=key)
    share = share_of_bound(_get(ladder.candidate_truth, name), _get(ladder.nest_truth, name),
                           ladder.floors.get(name, 0.0))
    return Worst(name, RECORDABLE_UNITS[name], _get(ladder.candidate_nest, name), _get(ladder.nest_truth, name),
                 _get(ladder.candidate_truth, name), share)


def _scale(name: str) -> float:
    """A typical magnitude of each recordable, only to rank cand↔NEST differences without a truth."""
    return {"mV": 10.0, "nS": 1.0, "pA": 100.0}[RECORDABLE_UNITS[name]]


def number(x, unit: str = "") -> str:
    if x is None:
        return "-"
    if math.isnan(x):
        return "NaN"
    text = "0" if x == 0 else "inf" if math.isinf(x) else f"{x:.2g}"
    return f"{text} {unit}".rstrip() if unit and text != "0" else text


def ladder_line(ladder, candidate: str = "candidate") -> str:
    """One line: the worst recordable's three distances with units, the spikes, and a convergence warning."""
    w = worst(ladder)
    if w is None:
        return "ladder: nothing measured" + (f" ({ladder.notes[0]})" if ladder is not None and ladder.notes else "")
    spikes = ladder.candidate_truth.spikes if ladder.candidate_truth is not None else (
        ladder.candidate_nest.spikes if ladder.candidate_nest is not None else "-")
    text = (f"ladder (worst: {w.name}): {candidate}-NEST {number(w.candidate_nest, w.unit)}, "
            f"NEST-truth {number(w.nest_truth, w.unit)}, {candidate}-truth {number(w.candidate_truth, w.unit)}")
    if w.ratio is not None:
        text += f" ({number(w.ratio)}x NEST's)"
    text += f"; spikes vs truth {spikes}" if ladder.candidate_truth is not None else ""
    unconverged = ladder.unconverged()
    if unconverged:
        text += f"; truth NOT converged for {', '.join(unconverged)}"
    if ladder.candidate_truth is None and ladder.notes:  # say why the truth's rungs are missing
        text += f" [{ladder.notes[0]}]"
    return text
