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

A network (version 2) is built as ``harness.backends.nest_network`` builds it, from the arrays alone: the
neurons with their own parameters and initial state (node IDs 1..n), the connection list in its order with
the array form of ``Connect``, then the generators. Slots that mix network and generator events are summed
in the order of the additions, so every spike generator is recreated with its own events, send steps,
delay and creation order (AMPA/GABA: ``spike_weights`` = the event's value on a weight-1 connection; NMDA:
its multiplicities on a connection of the port's weight, connected after the network, so its port number
is NEST's). A current slot receives generators only, so each neuron's summed ``current`` column becomes one
step_current_generator, with delay = min_delay (a shorter delay would change the update calls, and with
them the order of additions everywhere); the slots before min_delay are never filled and must be 0. The
recreated kernel must arrive at the payload's min_delay, which is checked.
"""
from __future__ import annotations

import sys

import numpy as np

from harness import grid
from harness.backends.nest import attach_recorders, fresh_kernel, nest_version
from harness.model.parameters import RECEPTOR_TYPES

from . import protocol, protocol_network


def simulate(inputs: protocol.CompiledInputs) -> tuple:
    if inputs.meta["format_version"] != protocol.FORMAT_VERSION:
        return simulate_network(inputs)
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


# ------------------------------------------------------------------------------------------- version 2
def simulate_network(inputs: protocol.CompiledInputs) -> tuple[dict, np.ndarray, np.ndarray]:
    meta, a = inputs.meta, inputs.arrays
    tps, n, d = meta["tics_per_step"], meta["n_neurons"], meta["min_delay_steps"]
    if np.any(a["current"][:d] != 0):
        raise ValueError(f"current[:{d}] is not 0: no device can fill a slot read before min_delay")
    nest = fresh_kernel(tps)
    per_neuron = [{**{k: float(a[f"param_{k}"][i]) for k in meta["param_names"]},
                   **{k: float(a[f"initial_{k}"][i]) for k in meta["initial_names"]}} for i in range(n)]
    neurons = nest.Create(meta["model"], n, params=per_neuron)
    first = neurons[0].global_id
    spiking = np.flatnonzero(a["generator_receptor"] != protocol_network.CURRENT_RECEPTOR)
    generators = [nest.Create("spike_generator", params=_generator_events(a, g, tps)) for g in spiking]
    if len(a["connection_source"]):
        nest.Connect(a["connection_source"] + first, a["connection_target"] + first, conn_spec="one_to_one",
                     syn_spec={"weight": a["connection_weight"],
                               "delay": grid.steps_to_ms(a["connection_delay_steps"], tps).astype(np.float64),
                               "receptor_type": a["connection_receptor"]})
    for g, generator in zip(spiking.tolist(), generators):  # after the network: NEST's NMDA port order
        nmda = a["generator_receptor"][g] == RECEPTOR_TYPES["NMDA"]
        nest.Connect(generator, neurons[int(a["generator_target"][g])], syn_spec={
            "weight": float(a["generator_weight"][g]) if nmda else 1.0,
            "delay": grid.steps_to_ms(int(a["generator_delay_steps"][g]), tps),
            "receptor_type": int(a["generator_receptor"][g])})
    for i in range(n):
        _connect_current_after(nest, neurons[i], a["current"][:, i], d, tps)
    recorded = neurons[list(meta["record_neurons"])]
    multimeter = nest.Create("multimeter", params={"interval": grid.step_length_ms(tps),
                                                   "record_from": list(meta["record"]), "time_in_steps": True})
    recorder = nest.Create("spike_recorder", params={"time_in_steps": True})
    nest.Connect(multimeter, recorded)
    nest.Connect(recorded, recorder)
    if round(nest.min_delay / grid.step_length_ms(tps)) != d:
        raise RuntimeError(f"the rebuilt network has min_delay {nest.min_delay} ms, the inputs say {d} steps: the "
                           f"update calls, and with them the order of additions, would differ")
    for chunk in meta["chunk_steps"]:
        nest.Simulate(grid.steps_to_ms(chunk, tps))
    nest.Simulate(nest.min_delay)  # the last slice reaches the multimeter a call later
    return _network_events(meta, multimeter.events, recorder.events, first)


def _generator_events(a, g: int, tps: int) -> dict:
    """A spike generator sending generator g's events in the same send steps and list order."""
    mine = a["event_generator"] == g
    stamps, values = a["event_send_step"][mine] + 1, a["event_value"][mine]
    params = {"spike_times": grid.steps_to_ms(stamps, tps).tolist()}
    if not stamps.size:  # NEST cannot cast an empty list to its vectors
        return params
    if a["generator_receptor"][g] == RECEPTOR_TYPES["NMDA"]:
        params["spike_multiplicities"] = [int(m) for m in values]  # an NMDA port's weight acts in the RHS
    else:
        params["spike_weights"] = values.tolist()  # weight·multiplicity, as the original connection adds it
    return params


def _connect_current_after(nest, neuron, current, d: int, tps: int) -> None:
    """current[k] read in step k: sent in step k - d with delay d, i.e. the amplitude changes at step k - d + 1."""
    changes = np.flatnonzero(np.diff(current) != 0) + 1
    if changes.size == 0:
        return
    generator = nest.Create("step_current_generator", params={
        "amplitude_times": grid.steps_to_ms(changes - d + 1, tps).tolist(),
        "amplitude_values": current[changes].tolist()})
    nest.Connect(generator, neuron, syn_spec={"weight": 1.0, "delay": grid.steps_to_ms(d, tps)})


def _network_events(meta, events, spikes, first: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """(step, recorded column) arrays from the multimeter, and every recorded spike with its neuron index."""
    n_steps, recorded = meta["n_steps"], np.asarray(meta["record_neurons"], dtype=np.int64)
    column = np.full(meta["n_neurons"], -1, dtype=np.int64)
    column[recorded] = np.arange(len(recorded))
    stamps = np.asarray(events["times"], dtype=np.int64)
    senders = np.asarray(events["senders"], dtype=np.int64) - first
    keep = stamps <= n_steps
    if keep.sum() != n_steps * len(recorded):
        raise RuntimeError(f"the multimeter returned {keep.sum()} samples, expected {n_steps * len(recorded)}")
    variables = {}
    for name in meta["record"]:
        values = np.full((n_steps, len(recorded)), np.nan)
        values[stamps[keep] - 1, column[senders[keep]]] = np.asarray(events[name], dtype=np.float64)[keep]
        variables[name] = values
    spike_stamps = np.asarray(spikes["times"], dtype=np.int64)
    spike_neurons = np.asarray(spikes["senders"], dtype=np.int64) - first
    keep = spike_stamps <= n_steps
    order = np.lexsort((spike_neurons[keep], spike_stamps[keep]))
    return variables, spike_stamps[keep][order], spike_neurons[keep][order]


def main(argv=None) -> int:
    return protocol.runner_main(argv, __spec__.name, simulate,
                                lambda: {"name": "nest", "version": nest_version(), "runner": __name__})


if __name__ == "__main__":
    sys.exit(main())
