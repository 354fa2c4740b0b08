"""The in-house exact engine (harness.model) as an in-process candidate: ``engine_runner`` without the files.

    engine-inprocess:
      python: harness.candidates.engine_inprocess:run

The same simulation as the ``engine`` command (``engine_runner.simulate``) on the same compiled inputs,
handed over in memory, so its traces equal the out-of-process ``engine``'s bit for bit: what differs
between the two kinds of candidate is only the transport (tests/test_candidates_workers.py).
"""
from __future__ import annotations

from . import protocol
from .engine_runner import simulate


def run(inputs: protocol.CompiledInputs) -> dict:
    """recordable -> trace and ``spike_steps`` (with ``spike_neurons`` for a network, protocol version 2)."""
    variables, spike_steps, *neurons = simulate(inputs)
    arrays = {**variables, "spike_steps": spike_steps}
    if neurons:
        arrays["spike_neurons"] = neurons[0]
    return arrays
