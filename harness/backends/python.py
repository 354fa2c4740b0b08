"""The Python backend: a normalised Scenario run through ``harness.model`` instead of NEST.

The model only knows "the value of each ring-buffer slot read in step k". This module reproduces how NEST
fills those slots from the scenario's generators (docs/model.md, "Timing" and "Ring-buffer summation order"):

* spike_generator: a spike stamped S (time S·dt) is sent in update step S-1 and read in step k = S + D - 1;
  AMPA/GABA slots get ``weight * multiplicity``, an NMDA port gets the multiplicity only (its weight
  multiplies s_j inside the right-hand side). NMDA ports are numbered in connection order.
* dc/step_current_generator: generator step s is active iff ``start < s + 2 <= stop``; it sends in step s,
  the neuron reads ``weight * amplitude`` in step k = s + D and uses it as I_stim in step k + 1. A
  step_current_generator switches to a_i at the step s with s + 1 == S_i and sends its current amplitude
  (0 before the first switch).
* A slot is summed as ``0.0 + v1 + v2 + ...`` in the order NEST adds events: the update call (a min_delay
  slice, further cut where a Simulate chunk ends) containing the send step, then the generator's creation
  order, then the send step, then the position in the generator's list.
"""
from __future__ import annotations

import math

import numpy as np

from harness import grid
from harness.model import Population, libm
from harness.scenario.coerce import as_scenario
from harness.scenario.types import CurrentInput, Scenario, SpikeInput
from harness.traces.provenance import base_provenance
from harness.traces.traces import Traces

RECORDER_DELAY_MS = 1.0  # multimeter and spike_recorder connections use NEST's default delay


def run_python(scenario: Scenario, population_class=Population, provenance: dict | None = None) -> Traces:
    """The scenario on the exact engine, or on another engine with ``Population``'s API (``population_class``,
    e.g. ``harness.truth.TruthPopulation``; ``provenance`` then says which). ``scenario`` may also be a path."""
    scenario = as_scenario(scenario)
    provenance = {**base_provenance(), **(provenance or {"backend": "python", "model": "harness.model",
                                                         "exp_route": libm.EXP_ROUTE})}
    if scenario.is_network:
        from harness.network import Network

        return Network(scenario, population_class).run(provenance)
    n_steps = scenario.n_steps
    pop = population_class(1, tics_per_step=scenario.tics_per_step, params=scenario.params, **scenario.initial)
    for nmda in scenario.nmda_inputs:
        pop.add_nmda_port(nmda.weight)
    slots = input_slots(scenario)
    recording = pop.run(n_steps, ampa=slots["AMPA"], gaba=slots["GABA"], nmda=slots["NMDA"],
                        current=slots["current"], record=scenario.record)
    return neuron_traces(scenario, 0, recording.traces, recording.spike_stamps, recording.spike_neurons, provenance)


def neuron_traces(scenario: Scenario, neuron: int, traces: dict, spike_stamps: np.ndarray,
                  spike_neurons: np.ndarray, provenance: dict) -> Traces:
    """One neuron's part of an engine's recording (steps, neurons), as the Traces of ``scenario``.

    A batch may run longer than the scenario (a shared grid): samples and spikes past its end are cut off.
    """
    n_steps = scenario.n_steps
    mine = (spike_neurons == neuron) & (spike_stamps <= n_steps)
    return Traces(scenario=scenario.name, tics_per_step=scenario.tics_per_step,
                  steps=np.arange(1, n_steps + 1, dtype=np.int64),
                  variables={name: traces[name][:n_steps, neuron].copy() for name in scenario.record},
                  spike_steps=spike_stamps[mine],
                  provenance={**provenance, "scenario_path": scenario.path, "scenario_hash": scenario.content_hash})


# ------------------------------------------------------------------------------------------ slot filling
class _Events:
    """Slot contributions of all generators, with the keys that fix NEST's summation order."""

    def __init__(self):
        self.columns = {name: [] for name in ("target", "slot", "call", "generator", "send", "position", "value")}

    def add(self, target: int, slot, call, generator: int, send, value) -> None:
        slot = np.asarray(slot, dtype=np.int64)
        size = slot.size
        for name, column in (("target", np.full(size, target)), ("slot", slot), ("call", call),
                             ("generator", np.full(size, generator)), ("send", send),
                             ("position", np.arange(size)), ("value", value)):
            self.columns[name].append(np.broadcast_to(np.asarray(column), (size,)))

    def summed(self, n_targets: int, n_steps: int) -> np.ndarray:
        """(n_targets, n_steps): each slot ``0.0 + v1 + v2 + ...`` in NEST's order, strictly sequential."""
        if not self.columns["slot"]:
            return np.zeros((n_targets, n_steps))
        c = {name: np.concatenate(parts) for name, parts in self.columns.items()}
        keep = c["slot"] < n_steps  # read after the simulation ends: never felt
        c = {name: column[keep] for name, column in c.items()}
        flat_slot = c["target"] * n_steps + c["slot"]
        order = np.lexsort((c["position"], c["send"], c["generator"], c["call"]))  # NEST's order of arrival
        acc = np.zeros(n_targets * n_steps)
        add_in_order(acc, flat_slot[order], c["value"][order].astype(np.float64))
        return acc.reshape(n_targets, n_steps)


def add_in_order(acc: np.ndarray, flat: np.ndarray, values: np.ndarray) -> None:
    """``acc[flat[i]] += values[i]`` for i in the given order: each slot ``((acc + v1) + v2) + ...``.

    Round r adds the r-th event of every slot that has one: sequential per slot, vectorised across slots
    (within a round no slot repeats, so fancy ``+=`` is exact; ``np.add.at`` or ``reduceat`` would not keep
    the order within a slot). Shared by the single-neuron slots and a network's ring buffers.
    """
    order = np.argsort(flat, kind="stable")
    flat, values = flat[order], values[order]
    starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]]) if flat.size else np.zeros(0, np.int64)
    counts = np.diff(np.r_[starts, flat.size])
    for r in range(int(counts.max(initial=0))):
        more = starts[counts > r] + r
        acc[flat[more]] += values[more]


def input_slots(scenario: Scenario, min_delay: int | None = None) -> dict[str, np.ndarray]:
    """Per-step slot values: AMPA, GABA, current (n_steps,) and NMDA (n_steps, P).

    ``min_delay`` (steps) is the kernel's min_delay when the scenario shares a kernel with others
    (``harness.backends.batch``); by default it is the scenario's own.
    """
    n_steps = scenario.n_steps
    call_of = update_call_index(scenario, min_delay)
    nmda_port = {id(inp): j for j, inp in enumerate(scenario.nmda_inputs)}
    targets = {"AMPA": 0, "GABA": 1, "current": 2}  # NMDA port j is target 3 + j
    events = _Events()
    for generator, inp in enumerate(scenario.inputs):
        slot, send, value = generator_events(inp, n_steps)
        if isinstance(inp, SpikeInput):
            target = 3 + nmda_port[id(inp)] if inp.receptor == "NMDA" else targets[inp.receptor]
        else:
            target = targets["current"]
        events.add(target, slot, call_of(send), generator, send, value)
    summed = events.summed(3 + len(scenario.nmda_inputs), n_steps)
    return {"AMPA": summed[0], "GABA": summed[1], "current": summed[2], "NMDA": summed[3:].T.copy()}


def generator_events(inp, n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(slot step, send step, value) of every event one generator sends through its connection, in its
    list order (docs/model.md, "Delays and arrival steps")."""
    if isinstance(inp, SpikeInput):
        stamps = np.asarray(inp.spike_steps, dtype=np.int64)
        mult = np.asarray(inp.multiplicities, dtype=np.int64).astype(np.float64)
        value = mult if inp.receptor == "NMDA" else inp.weight * mult  # an NMDA port's weight acts in the RHS
        return stamps + inp.delay_steps - 1, stamps - 1, value
    if isinstance(inp, CurrentInput):
        send = active_generator_steps(inp, n_steps)
        return send + inp.delay_steps, send, inp.weight * current_amplitudes(inp, send)
    raise TypeError(f"unknown input type {type(inp).__name__}")


def active_generator_steps(inp: CurrentInput, n_steps: int) -> np.ndarray:
    """Steps s (0 <= s < n_steps) in which a current generator sends: start < s + 2 <= stop."""
    s = np.arange(n_steps, dtype=np.int64)
    active = inp.start_steps < s + 2
    if inp.stop_steps is not None:
        active &= s + 2 <= inp.stop_steps
    return s[active]


def current_amplitudes(inp: CurrentInput, send: np.ndarray) -> np.ndarray:
    """The amplitude a current generator sends in each of the steps ``send``."""
    if inp.device == "dc_generator":
        return np.full(send.shape, float(inp.amplitude))
    if inp.device == "step_current_generator":
        # At step s the amplitude becomes a_i if s + 1 == S_i: in force are all changes with S_i <= s + 1.
        changes = np.searchsorted(np.asarray(inp.amplitude_steps, dtype=np.int64), send + 1, side="right")
        table = np.concatenate([[0.0], np.asarray(inp.amplitude_values, dtype=np.float64)])
        return table[changes]
    raise ValueError(f"unknown current generator {inp.device!r}")


def min_delay_steps(scenario: Scenario) -> int:
    """NEST's min_delay: the smallest connection delay, recorders (1.0 ms by default) included."""
    delays = [inp.delay_steps for inp in scenario.inputs]
    if scenario.is_network:
        network = scenario.network
        delays = [item.delay_steps for _, item in network.inputs] + network.connections.delay_steps.tolist()
    return min([recorder_delay_steps(scenario.tics_per_step)] + delays)


def recorder_delay_steps(tics_per_step: int) -> int:
    """The recorders' connections' delay (NEST's default, 1.0 ms) in steps."""
    return int(math.floor(RECORDER_DELAY_MS * (grid.TICS_PER_MS / tics_per_step) + 0.5))


def update_calls(scenario: Scenario, min_delay: int) -> np.ndarray:
    """(calls, 2): first and end step of each NEST update call, min_delay slices cut where a chunk ends."""
    slices = np.arange(0, scenario.n_steps, min_delay)
    ends = np.cumsum(np.asarray(scenario.chunk_steps, dtype=np.int64))
    bounds = np.unique(np.concatenate([slices, ends, [0, scenario.n_steps]])).astype(np.int64)
    return np.stack([bounds[:-1], bounds[1:]], axis=1)


def update_call_index(scenario: Scenario, min_delay: int | None = None):
    """A function mapping send steps to the index of the NEST update call that contains them.

    NEST updates in slices of min_delay steps starting at 0; a Simulate call that ends inside a slice cuts it,
    and the next call resumes from the cut. ``min_delay`` defaults to the scenario's own.
    """
    n_steps = scenario.n_steps
    slice_starts = np.arange(0, n_steps + 1, min_delay or min_delay_steps(scenario))
    chunk_ends = np.cumsum(np.asarray(scenario.chunk_steps, dtype=np.int64))
    boundaries = np.unique(np.concatenate([slice_starts, chunk_ends]))
    return lambda steps: np.searchsorted(boundaries, np.asarray(steps), side="right")
