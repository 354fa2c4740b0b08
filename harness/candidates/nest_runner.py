"""NEST 3.10 as a protocol candidate: ``python -m harness.candidates.nest_runner IN OUT``.

NEST cannot be handed slot values directly, so each input stream becomes one device whose events land in
exactly those slots (docs/model.md, "Timing"), with delay = one step (then a spike stamped S is read in
step S, and a current sent in generator step s is read in step s + 1):

* ampa / gaba: a spike_generator with a spike at stamp k and ``spike_weights`` = ampa[k] (connection
  weight 1): the slot receives 0.0 + ampa[k]·1.0, the same double;
* NMDA port j: a spike_generator with multiplicities nmda[k, j], connected with weight w_j (one connection
  = one port, in port order);
* current: a step_current_generator whose amplitude becomes current[k] at time k·dt (it is then sent in
  generator step k - 1 and read in step k).

Slot 0 cannot be reached with a delay of one step; it is never filled by a real scenario (the earliest
spike stamp and the shortest delay are both 1), so a non-zero slot 0 is refused.
"""
from __future__ import annotations

import sys

import numpy as np

from harness import grid
from harness.backends.nest import attach_recorders, fresh_kernel, nest_version
from harness.model.parameters import RECEPTOR_TYPES

from . import protocol


def simulate(inputs: protocol.CompiledInputs) -> tuple[dict, np.ndarray]:
    meta, arrays = inputs.meta, inputs.arrays
    _refuse_slot_zero(arrays)
    tps, n_steps = meta["tics_per_step"], meta["n_steps"]
    nest = fresh_kernel(tps)
    neuron = nest.Create(meta["model"], params={**meta["params"], **meta["initial"]})
    _connect_weighted_spikes(nest, neuron, arrays["ampa"], receptor=RECEPTOR_TYPES["AMPA"], tps=tps)
    _connect_weighted_spikes(nest, neuron, arrays["gaba"], receptor=RECEPTOR_TYPES["GABA"], tps=tps)
    for j, weight in enumerate(arrays["nmda_weights"]):
        _connect_nmda_port(nest, neuron, arrays["nmda"][:, j], float(weight), tps)
    _connect_current(nest, neuron, arrays["current"], tps)
    multimeter, recorder = attach_recorders(nest, neuron, tps)
    nest.Simulate(grid.steps_to_ms(n_steps, tps))
    nest.Simulate(nest.min_delay)  # the last slice reaches the multimeter a call later (docs/model.md, "Timing")
    events = multimeter.events
    keep = np.asarray(events["times"], dtype=np.int64) <= n_steps
    variables = {name: np.asarray(events[name], dtype=np.float64)[keep] for name in meta["record"]}
    spikes = np.asarray(recorder.events["times"], dtype=np.int64)
    return variables, spikes[spikes <= n_steps]


def _refuse_slot_zero(arrays) -> None:
    for name in ("ampa", "gaba", "nmda", "current"):
        if np.any(arrays[name][0] != 0):
            raise ValueError(f"{name}[0] is not 0: no NEST device can fill the slot read in step 0")


def _connect_weighted_spikes(nest, neuron, slots, receptor, tps) -> None:
    k = np.flatnonzero(slots)
    if k.size == 0:
        return
    generator = nest.Create("spike_generator", params={
        "spike_times": grid.steps_to_ms(k, tps).tolist(), "spike_weights": slots[k].tolist()})
    nest.Connect(generator, neuron, syn_spec={"weight": 1.0, "delay": grid.step_length_ms(tps),
                                              "receptor_type": receptor})


def _connect_nmda_port(nest, neuron, multiplicities, weight, tps) -> None:
    k = np.flatnonzero(multiplicities)
    params = {"spike_times": grid.steps_to_ms(k, tps).tolist()}
    if k.size:  # NEST cannot cast an empty list to its integer vector
        params["spike_multiplicities"] = [int(m) for m in multiplicities[k]]
    generator = nest.Create("spike_generator", params=params)
    nest.Connect(generator, neuron, syn_spec={"weight": weight, "delay": grid.step_length_ms(tps),
                                              "receptor_type": RECEPTOR_TYPES["NMDA"]})


def _connect_current(nest, neuron, current, tps) -> None:
    changes = np.flatnonzero(np.diff(current) != 0) + 1  # steps k where current[k] differs from current[k-1]
    if changes.size == 0:
        return
    generator = nest.Create("step_current_generator", params={
        "amplitude_times": grid.steps_to_ms(changes, tps).tolist(),
        "amplitude_values": current[changes].tolist()})
    nest.Connect(generator, neuron, syn_spec={"weight": 1.0, "delay": grid.step_length_ms(tps)})


def main(argv=None) -> int:
    return protocol.runner_main(argv, __spec__.name, simulate,
                                lambda: {"name": "nest", "version": nest_version(), "runner": __name__})


if __name__ == "__main__":
    sys.exit(main())
