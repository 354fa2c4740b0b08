"""Runs a scenario in real NEST 3.10 and records every step of the seven recordables and the spikes.

Each run starts from ResetKernel with one thread, so nothing leaks between scenarios. Two NEST pitfalls
are handled here (docs/model.md, "Timing" and "Equations"): the multimeter receives the last min_delay
slice of a Simulate call only during the next call, so one extra min_delay is simulated and cut off; and
nothing is SetStatus'ed after the first Simulate, because on a neuron with NMDA ports that corrupts its state.
"""
from __future__ import annotations

import os

import numpy as np

from harness import grid
from harness.model.parameters import RECEPTOR_TYPES, RECORDABLES
from harness.scenario.coerce import as_scenario
from harness.scenario.types import CurrentInput, Scenario, SpikeInput
from harness.traces.provenance import base_provenance, gsl_version
from harness.traces.traces import Traces

_nest = None


def nest_module():
    """Import NEST once, quietly (its banner and info messages would bury the harness's output)."""
    global _nest
    if _nest is None:
        os.environ.setdefault("PYNEST_QUIET", "1")
        import nest

        nest.verbosity = nest.VerbosityLevel.ERROR
        _nest = nest
    return _nest


def nest_version() -> str:
    return nest_module().__version__


def run_nest(scenario: Scenario, threads: int | None = None) -> Traces:
    """The scenario's traces from NEST; a network scenario runs with ``threads`` (default: its own
    ``nest_threads``, 1 unless the file says otherwise). ``scenario`` may also be a path."""
    scenario = as_scenario(scenario)
    if scenario.is_network:
        from harness.backends.nest_network import run_nest_network

        return run_nest_network(scenario, threads)
    nest, _, multimeter, spike_recorder = build_network([scenario])
    simulate(nest, scenario)
    return _collect(nest, scenario, multimeter, spike_recorder)


def build_network(scenarios: list[Scenario]):
    """A fresh kernel with one neuron per scenario (all on one grid), its inputs and the two recorders.

    Inputs are created and connected in file order, scenario after scenario, so a neuron's NMDA ports and
    its generators' node-ID order are the same as when its scenario runs alone.
    """
    first = scenarios[0]
    nest = fresh_kernel(first.tics_per_step)
    neurons = nest.Create(first.model, len(scenarios), params=[{**s.params, **s.initial} for s in scenarios])
    for scenario, neuron in zip(scenarios, neurons):
        for item in scenario.inputs:
            device, params = generator_params(scenario, item)
            connect_input(nest, scenario, item, nest.Create(device, params=params), neuron)
    multimeter, spike_recorder = attach_recorders(nest, neurons, first.tics_per_step)
    return nest, neurons, multimeter, spike_recorder


def fresh_kernel(tics_per_step: int, threads: int = 1):
    """NEST after ResetKernel, on the grid of ``tics_per_step``, with one thread unless asked: nothing leaks
    from a run."""
    nest = nest_module()
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": grid.step_length_ms(tics_per_step), "local_num_threads": int(threads)})
    return nest


def attach_recorders(nest, neurons, tics_per_step: int):
    """A multimeter sampling every recordable once per step and a spike recorder, both stamping in steps."""
    multimeter = nest.Create("multimeter", params={
        "interval": grid.step_length_ms(tics_per_step), "record_from": list(RECORDABLES), "time_in_steps": True})
    spike_recorder = nest.Create("spike_recorder", params={"time_in_steps": True})
    nest.Connect(multimeter, neurons)
    nest.Connect(neurons, spike_recorder)
    return multimeter, spike_recorder


def simulate(nest, scenario: Scenario) -> None:
    """One Simulate per chunk, then one more min_delay to flush the multimeter's last slice (cut off later)."""
    for chunk in scenario.chunk_steps:
        nest.Simulate(grid.steps_to_ms(chunk, scenario.tics_per_step))
    nest.Simulate(nest.min_delay)


def generator_params(scenario: Scenario, item) -> tuple[str, dict]:
    """(NEST model, parameters) of the generator that plays ``item``: explicit spikes become a
    spike_generator (poisson_spikes too: the harness expanded them), currents their own generator."""
    tps = scenario.tics_per_step
    if isinstance(item, SpikeInput):
        params = {"spike_times": grid.steps_to_ms(item.spike_steps, tps).tolist()}
        if len(item.multiplicities):  # NEST cannot cast an empty list to its integer vector (TypeMismatch)
            params["spike_multiplicities"] = item.multiplicities.tolist()
        return "spike_generator", params
    if isinstance(item, CurrentInput):
        params = {"start": grid.steps_to_ms(item.start_steps, tps)}
        if item.stop_steps is not None:
            params["stop"] = grid.steps_to_ms(item.stop_steps, tps)
        if item.device == "dc_generator":
            params["amplitude"] = item.amplitude
        else:
            params["amplitude_times"] = grid.steps_to_ms(item.amplitude_steps, tps).tolist()
            params["amplitude_values"] = item.amplitude_values.tolist()
        return item.device, params
    raise TypeError(f"unknown input {item!r}")


def connect_input(nest, scenario: Scenario, item, generator, neuron) -> None:
    """The generator's one connection to its neuron (receptor and delay of ``item``)."""
    syn = {"weight": item.weight, "delay": grid.steps_to_ms(item.delay_steps, scenario.tics_per_step)}
    if isinstance(item, SpikeInput):
        syn["receptor_type"] = RECEPTOR_TYPES[item.receptor]
    nest.Connect(generator, neuron, syn_spec=syn)


def _collect(nest, scenario: Scenario, multimeter, spike_recorder) -> Traces:
    events = multimeter.events
    stamps = np.asarray(events["times"], dtype=np.int64)
    keep = stamps <= scenario.n_steps
    steps = stamps[keep]
    expected = np.arange(1, scenario.n_steps + 1, dtype=np.int64)
    if not np.array_equal(steps, expected):
        raise RuntimeError(f"{scenario.name}: NEST's multimeter returned {len(steps)} samples, "
                           f"expected {scenario.n_steps} (one per step)")
    variables = {name: np.asarray(events[name], dtype=np.float64)[keep] for name in scenario.record}
    spikes = np.asarray(spike_recorder.events["times"], dtype=np.int64)
    provenance = base_provenance()
    provenance.update({
        "backend": "nest", "nest_version": nest.__version__, "gsl_version": gsl_version(),
        "scenario_path": scenario.path, "scenario_hash": scenario.content_hash,
        "min_delay_ms": nest.min_delay,
    })
    return Traces(scenario=scenario.name, tics_per_step=scenario.tics_per_step, steps=steps,
                  variables=variables, spike_steps=spikes[spikes <= scenario.n_steps], provenance=provenance)
