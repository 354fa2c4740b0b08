"""A network scenario in real NEST 3.10: the expanded network built in the list's order, recorded per neuron.

Build order (docs/model.md, "Networks"), which fixes node IDs, NMDA port numbers and NEST's summation order:

1. the neurons, population after population, in one ``Create`` (node IDs 1..n), each with its own
   parameters and initial state;
2. one generator per (input, target neuron), in the scenario's order (node IDs n+1, ...);
3. the connection list in its order, with NEST's array form of ``Connect`` (one_to_one over explicit ID
   arrays, which keeps repeated sources and the list order), then each generator's connection;
4. the multimeter and the spike recorder on the recorded neurons.

NEST runs with one thread unless asked for more (``threads``): with T > 1 the order in which a slot's
events are added changes, and with it the last bits (the gate's NEST(1)-vs-NEST(T) pair).
"""
from __future__ import annotations

import numpy as np

from harness import grid
from harness.backends.nest import connect_input, fresh_kernel, generator_params, simulate
from harness.scenario.types import Scenario
from harness.traces.provenance import base_provenance, gsl_version
from harness.traces.traces import Traces


def run_nest_network(scenario: Scenario, threads: int | None = None) -> Traces:
    network = scenario.network
    threads = network.threads if threads is None else threads
    nest = fresh_kernel(scenario.tics_per_step, threads=threads)
    names = list(network.params)
    per_neuron = [{**{k: float(network.params[k][i]) for k in names},
                   **{k: float(v[i]) for k, v in network.initial.items()}} for i in range(network.n)]
    neurons = nest.Create(scenario.model, network.n, params=per_neuron)
    generators = [create_generator(nest, scenario, item) for _, item in network.inputs]
    c = network.connections
    if len(c):
        first = neurons[0].global_id
        nest.Connect(c.source + first, c.target + first, conn_spec="one_to_one", syn_spec={
            "weight": c.weight.astype(np.float64),
            "delay": grid.steps_to_ms(c.delay_steps, scenario.tics_per_step).astype(np.float64),
            "receptor_type": c.receptor.astype(np.int64)})
    for (target, item), generator in zip(network.inputs, generators):
        connect_input(nest, scenario, item, generator, neurons[int(target)])
    recorded = neurons[network.record_neurons.tolist()]
    multimeter = nest.Create("multimeter", params={
        "interval": grid.step_length_ms(scenario.tics_per_step), "record_from": list(scenario.record),
        "time_in_steps": True})
    spike_recorder = nest.Create("spike_recorder", params={"time_in_steps": True})
    nest.Connect(multimeter, recorded)
    nest.Connect(recorded, spike_recorder)
    simulate(nest, scenario)
    return _collect(nest, scenario, multimeter, spike_recorder, neurons[0].global_id, threads)


def create_generator(nest, scenario, item):
    device, params = generator_params(scenario, item)
    return nest.Create(device, params=params)


def _collect(nest, scenario: Scenario, multimeter, spike_recorder, first_id: int, threads: int) -> Traces:
    """(step, neuron) arrays from NEST's event lists, which come in thread order: sorted by (time, sender)."""
    network = scenario.network
    recorded = network.record_neurons
    column = np.full(network.n + 1, -1, dtype=np.int64)
    column[recorded] = np.arange(len(recorded))
    events = multimeter.events
    stamps = np.asarray(events["times"], dtype=np.int64)
    senders = np.asarray(events["senders"], dtype=np.int64) - first_id
    keep = stamps <= scenario.n_steps
    stamps, senders = stamps[keep], senders[keep]
    n_steps, n_rec = scenario.n_steps, len(recorded)
    if len(stamps) != n_steps * n_rec:
        raise RuntimeError(f"{scenario.name}: NEST's multimeter returned {len(stamps)} samples, expected "
                           f"{n_steps * n_rec} (one per step and recorded neuron)")
    rows, cols = stamps - 1, column[senders]
    variables = {}
    for name in scenario.record:
        values = np.full((n_steps, n_rec), np.nan)
        values[rows, cols] = np.asarray(events[name], dtype=np.float64)[keep]
        variables[name] = values
    spikes = spike_recorder.events
    spike_stamps = np.asarray(spikes["times"], dtype=np.int64)
    spike_neurons = column[np.asarray(spikes["senders"], dtype=np.int64) - first_id]
    keep = spike_stamps <= n_steps
    order = np.lexsort((spike_neurons[keep], spike_stamps[keep]))
    provenance = {**base_provenance(), "backend": "nest", "nest_version": nest.__version__,
                  "gsl_version": gsl_version(), "scenario_path": scenario.path,
                  "scenario_hash": scenario.content_hash, "min_delay_ms": nest.min_delay, "nest_threads": threads}
    labels = network.labels
    return Traces(scenario=scenario.name, tics_per_step=scenario.tics_per_step,
                  steps=np.arange(1, n_steps + 1, dtype=np.int64), variables=variables,
                  spike_steps=spike_stamps[keep][order], provenance=provenance,
                  neurons=tuple(labels[i] for i in recorded.tolist()), spike_neurons=spike_neurons[keep][order])
