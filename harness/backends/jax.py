"""The JAX candidate: a normalised Scenario, or many at once, run through ``harness.jax_engine``.

Input slots come from ``harness.backends.python.input_slots``, exactly as for the exact engine. One scenario is one
neuron. ``run_python_jax_many`` runs many scenarios as the neurons of one ``JaxPopulation`` per resolution
(inputs per neuron, padded to the longest scenario; the extra steps are cut off), so a fuzzing run
compiles once per shape bucket and not once per scenario. Neurons never interact, so a scenario's result
does not depend on its batch (``tests/test_jax_engine.py``).
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from harness.backends.python import input_slots, neuron_traces
from harness.jax_engine import JaxPopulation, platform
from harness.model import DEFAULTS, INITIAL_STATE
from harness.scenario.coerce import as_scenario
from harness.scenario.types import Scenario
from harness.traces.provenance import base_provenance
from harness.traces.traces import Traces


def run_python_jax(scenario: Scenario) -> Traces:
    scenario = as_scenario(scenario)  # a path works too
    if scenario.is_network:
        from harness.network import Network

        return Network(scenario, JaxPopulation).run(_provenance())
    return run_python_jax_many([scenario])[0]


def _provenance() -> dict:
    return {**base_provenance(), "backend": "python-jax", "model": "harness.jax_engine",
            "platform": platform.description()}


def run_python_jax_many(scenarios: list[Scenario]) -> list[Traces]:
    """Traces of every scenario, in order; scenarios sharing a resolution run as one population (a network
    scenario runs on its own)."""
    results: list[Traces | None] = [None] * len(scenarios)
    by_resolution = defaultdict(list)
    for i, scenario in enumerate(scenarios):
        if scenario.is_network:
            results[i] = run_python_jax(scenario)
        else:
            by_resolution[scenario.tics_per_step].append(i)
    for indices in by_resolution.values():
        for i, traces in zip(indices, _run_together([scenarios[i] for i in indices])):
            results[i] = traces
    return results


def _run_together(scenarios: list[Scenario]) -> list[Traces]:
    n = len(scenarios)
    n_steps = max(s.n_steps for s in scenarios)
    P = max(len(s.nmda_inputs) for s in scenarios)
    params = {name: np.array([s.params.get(name, default) for s in scenarios], dtype=np.float64)
              for name, default in DEFAULTS.items()}
    initial = {name: np.array([s.initial.get(name, np.nan) for s in scenarios]) for name in INITIAL_STATE}
    pop = JaxPopulation(n, tics_per_step=scenarios[0].tics_per_step, params=params)
    for name, values in initial.items():
        given = ~np.isnan(values)
        if given.any():
            pop.set_state(**{name: np.where(given, values, getattr(pop, name))})
    for i, scenario in enumerate(scenarios):
        for nmda in scenario.nmda_inputs:
            pop.add_nmda_port(nmda.weight, neurons=[i])
    slots = {name: np.zeros((n_steps, n)) for name in ("AMPA", "GABA", "current")}
    slots["NMDA"] = np.zeros((n_steps, n, P))
    for i, scenario in enumerate(scenarios):
        own = input_slots(scenario)
        for name in ("AMPA", "GABA", "current"):
            slots[name][:scenario.n_steps, i] = own[name]
        slots["NMDA"][:scenario.n_steps, i, :own["NMDA"].shape[1]] = own["NMDA"]
    record = tuple(dict.fromkeys(name for s in scenarios for name in s.record))
    recording = pop.run(n_steps, ampa=slots["AMPA"], gaba=slots["GABA"], nmda=slots["NMDA"],
                        current=slots["current"], record=record)
    provenance = _provenance()
    return [neuron_traces(scenario, i, recording.traces, recording.spike_stamps, recording.spike_neurons, provenance)
            for i, scenario in enumerate(scenarios)]
