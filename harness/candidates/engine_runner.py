"""The in-house exact engine (harness.model) as a protocol candidate, versions 1 and 2.

    python -m harness.candidates.engine_runner IN OUT

It reads only the compiled inputs, never the scenario, so its traces agreeing bit for bit with
``run_python`` (one neuron) and with NEST (a network) shows that the protocol's input files carry
everything the model needs. A network runs as one ``Population`` of all neurons, advanced update call by
update call by ``network_loop`` (the runner-side delivery a port's runner can reuse), from the
version 2 arrays alone.
"""
from __future__ import annotations

import sys

import numpy as np

from harness.model import Population

from . import protocol
from .network_loop import NetworkLoop


def simulate(inputs: protocol.CompiledInputs) -> tuple:
    """(recordable -> trace, spike stamps) of one neuron; for version 2 (recordable -> (n_steps, R) trace,
    spike stamps, spike neuron indices) of the network."""
    if inputs.meta["format_version"] != protocol.FORMAT_VERSION:
        return simulate_network(inputs)
    meta, arrays = inputs.meta, inputs.arrays
    pop = Population(1, tics_per_step=meta["tics_per_step"], params=meta["params"], **meta["initial"])
    for weight in arrays["nmda_weights"]:
        pop.add_nmda_port(float(weight))
    recording = pop.run(meta["n_steps"], ampa=arrays["ampa"], gaba=arrays["gaba"], nmda=arrays["nmda"],
                        current=arrays["current"], record=tuple(meta["record"]))
    return {name: recording.traces[name][:, 0].copy() for name in meta["record"]}, recording.spike_stamps


def network_population(meta: dict, arrays: dict) -> Population:
    """All neurons of a version 2 input folder in one exact-engine population, ports in NEST's order."""
    n = meta["n_neurons"]
    pop = Population(n, tics_per_step=meta["tics_per_step"],
                     params={name: arrays[f"param_{name}"] for name in meta["param_names"]},
                     **{name: arrays[f"initial_{name}"] for name in meta["initial_names"]})
    for i in range(n):
        for j in range(int(arrays["nmda_port_count"][i])):
            pop.add_nmda_port(float(arrays["nmda_weights"][i, j]), neurons=[i])
    return pop


def simulate_network(inputs: protocol.CompiledInputs) -> tuple[dict, np.ndarray, np.ndarray]:
    meta, arrays = inputs.meta, inputs.arrays
    pop = network_population(meta, arrays)
    record, chosen = tuple(meta["record"]), np.asarray(meta["record_neurons"], dtype=np.int64)
    traces = {name: np.empty((meta["n_steps"], len(chosen))) for name in record}

    def advance(a: int, b: int, slots: dict):
        recording = pop.run(b - a, ampa=slots["ampa"], gaba=slots["gaba"], nmda=slots["nmda"],
                            current=slots["current"], record=record)
        for name in record:
            traces[name][a:b] = recording.traces[name][:, chosen]
        return recording.spike_stamps, recording.spike_neurons

    stamps, neurons = NetworkLoop(meta, arrays).run(advance)
    return traces, stamps, neurons


def main(argv=None, tamper=None) -> int:
    """``tamper(inputs)`` may change the inputs first: the tests build deliberately broken candidates so."""
    return protocol.runner_main(argv, __spec__.name, simulate, lambda: {"name": "harness.model", "runner": __name__},
                                tamper)


if __name__ == "__main__":
    sys.exit(main())
