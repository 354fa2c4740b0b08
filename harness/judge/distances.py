"""How far apart two traces of one scenario are, per recordable: the rungs of the accuracy ladder.

``distance(a, b)`` is the largest ``|a - b|`` of each recordable over the samples the comparator would judge
with a spike window of one step and no bound at all: after a spike that moved by a step the samples are
aligned as ``harness.judge.alignment`` says, and from a spike mismatch on nothing is measured (the
distance then says so in ``spikes``, and ``measured_until_ms`` says where it stopped). A network's
distance is the largest over its recorded neurons. A non-finite value anywhere makes the distance NaN: a
distance is never smaller than what was computed.

``Ladder`` holds the three distances of a candidate (docs/accuracy.md): to NEST, NEST's own to the truth,
and the candidate's to the truth, plus the truth's convergence figure (how far it moves when solved ten
times tighter), with the flag that the figure is not small against NEST's distance.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from harness.judge.comparator import compare
from harness.judge.tolerances import Tolerance, Tolerances
from harness.model.parameters import RECORDABLES
from harness.traces.traces import Traces

WINDOW_STEPS = 1  # a spike that moved by one step is measured around, as the integrator profile judges it
# The truth is converged when solving it ten times tighter moves each recordable by less than this share of
# NEST's distance to it (issue 17), or by no more than the round-off floor where NEST's distance is that small.
CONVERGED_SHARE = 0.01


@dataclass(frozen=True)
class Distance:
    """max |a - b| per recordable (NaN: a non-finite value; None: not recorded), and the spike trains."""

    variables: dict  # recordable -> float
    spikes: str  # "identical" | "within 1 step" | "differ"
    measured_until_ms: float | None = None  # the spikes differ: nothing after this was measured

    def get(self, name: str) -> float | None:
        return self.variables.get(name)

    def to_json(self) -> dict:
        return {"max_abs": {k: _json_number(v) for k, v in self.variables.items()}, "spikes": self.spikes,
                "measured_until_ms": self.measured_until_ms}

    @classmethod
    def from_json(cls, data: dict) -> "Distance":
        return cls({k: (math.nan if v is None else float(v)) for k, v in data["max_abs"].items()},
                   str(data["spikes"]), data.get("measured_until_ms"))


def _json_number(value: float):
    return None if value is None or math.isnan(value) else (str(value) if math.isinf(value) else value)


def distance(a: Traces, b: Traces) -> Distance:
    """The ladder's distance between two traces of one scenario (see the module docstring)."""
    unbounded = Tolerances("distance", {v: Tolerance(math.inf, 0.0) for v in RECORDABLES}, WINDOW_STEPS)
    result = compare(a, b, unbounded, reference_name="a", candidate_name="b")
    if result.status == "error":
        raise ValueError(f"cannot measure a distance: {result.error}")
    worst: dict = {}
    for key, v in result.variables.items():
        name = key.rsplit(".", 1)[-1]  # a network's "E[0].V_m"
        value = math.nan if math.isnan(v.max_abs) or not v.samples_judged else v.max_abs
        worst[name] = value if name not in worst else _worse(worst[name], value)
    spikes = result.spikes
    if spikes is not None and spikes.first_difference_step is None:
        verdict = "identical"
    else:
        verdict = "within 1 step" if spikes is not None and spikes.match else "differ"
    until = result.ms(result.judged_until_step) if verdict == "differ" else None
    return Distance({name: worst[name] for name in RECORDABLES if name in worst}, verdict, until)


def _worse(x: float, y: float) -> float:
    return math.nan if math.isnan(x) or math.isnan(y) else max(x, y)


@dataclass
class Ladder:
    """The three distances of one scenario (any of them None where it could not be measured) and the truth's
    convergence figure (``Distance`` between the truth and the truth solved ten times tighter)."""

    candidate_nest: Distance | None
    nest_truth: Distance | None
    candidate_truth: Distance | None
    convergence: Distance | None = None
    notes: list = field(default_factory=list)  # why a rung is missing, where the truth came from
    floors: dict = field(default_factory=dict)  # recordable -> the round-off level (harness.judge.accuracy)

    def unconverged(self) -> list[str]:
        """Recordables whose truth is not converged against NEST's distance (see ``truth_converged``)."""
        if self.convergence is None or self.nest_truth is None:
            return []
        return [name for name in self.nest_truth.variables
                if not truth_converged(self.convergence.get(name), self.nest_truth.get(name),
                                       self.floors.get(name, 0.0))]

    def to_json(self) -> dict:
        rung = {"candidate_nest": self.candidate_nest, "nest_truth": self.nest_truth,
                "candidate_truth": self.candidate_truth, "truth_convergence": self.convergence}
        document = {key: None if d is None else d.to_json() for key, d in rung.items()}
        document["truth_unconverged"] = self.unconverged()
        if self.notes:
            document["notes"] = list(self.notes)
        return document


def truth_converged(moved: float | None, nest_distance: float | None, floor: float = 0.0) -> bool:
    """Solving ten times tighter moved the truth by less than 1 % of NEST's distance to it (or by no more
    than ``floor``, the round-off level, when NEST is that close); a NaN or unknown figure is never converged."""
    if moved is None or nest_distance is None or math.isnan(moved) or math.isnan(nest_distance):
        return False
    return moved <= floor or moved < CONVERGED_SHARE * nest_distance
