"""The in-house exact engine (harness.model) as a protocol candidate.

    python -m harness.candidates.engine_runner IN OUT

It reads only the compiled inputs, never the scenario, so its traces agreeing bit for bit with
``run_python`` shows that the protocol's input files carry everything the model needs.
"""
from __future__ import annotations

import sys

import numpy as np

from harness.model import Population

from . import protocol


def simulate(inputs: protocol.CompiledInputs) -> tuple[dict, np.ndarray]:
    """(recordable -> trace, spike stamps) of one neuron driven by the compiled inputs."""
    meta, arrays = inputs.meta, inputs.arrays
    pop = Population(1, tics_per_step=meta["tics_per_step"], params=meta["params"], **meta["initial"])
    for weight in arrays["nmda_weights"]:
        pop.add_nmda_port(float(weight))
    recording = pop.run(meta["n_steps"], ampa=arrays["ampa"], gaba=arrays["gaba"], nmda=arrays["nmda"],
                        current=arrays["current"], record=tuple(meta["record"]))
    return {name: recording.traces[name][:, 0].copy() for name in meta["record"]}, recording.spike_stamps


def main(argv=None, tamper=None) -> int:
    """``tamper(inputs)`` may change the inputs first: the tests build deliberately broken candidates so."""
    return protocol.runner_main(argv, __spec__.name, simulate, lambda: {"name": "harness.model", "runner": __name__},
                                tamper)


if __name__ == "__main__":
    sys.exit(main())
