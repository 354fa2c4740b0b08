"""``Network``: a network scenario run on either engine, update call by update call, as NEST runs it.

NEST advances in update calls: min_delay slices of the time axis, cut where a ``Simulate`` chunk ends
(``harness.backends.python.update_call_index``). Every delay is at least min_delay, so nothing a neuron does
in a call can reach any neuron in the same call: the engine runs all neurons through the call with the slots
filled so far, then the slice's spikes are delivered (``delivery``). The population is any engine with
``Population``'s API: ``harness.model.Population`` (exact) or ``harness.jax_engine.JaxPopulation``.
"""
from __future__ import annotations

import inspect

import numpy as np

from harness.backends.python import min_delay_steps, update_call_index, update_calls
from harness.network.delivery import GeneratorEvents, RingBuffers, SpikeDelivery, port_numbers
from harness.scenario.types import Scenario
from harness.traces.traces import Traces


class Network:
    """The neurons of a network scenario on one engine, with NEST's ring buffers and delivery."""

    def __init__(self, scenario: Scenario, population_class, threads: int | None = None):
        """``threads``: the NEST thread count whose order of additions is reproduced (default: the
        scenario's ``nest_threads``)."""
        self.scenario = scenario
        net = scenario.network
        self.threads = net.threads if threads is None else int(threads)
        self.min_delay = min_delay_steps(scenario)
        connection_ports, input_ports, P = port_numbers(net)
        self.population = pop = population_class(net.n, tics_per_step=scenario.tics_per_step, params=net.params,
                                                 **net.initial)
        ports = net.nmda_ports()
        for j in range(P):  # port j of every neuron that has one: ports are numbered per neuron, in order
            having = [i for i, own in enumerate(ports) if len(own) > j]
            pop.add_nmda_port([ports[i][j][2] for i in having], neurons=having)
        delays = np.concatenate([net.connections.delay_steps, [i.delay_steps for _, i in net.inputs]]).astype(np.int64)
        width = self.min_delay + int(delays.max(initial=0)) + 1
        self.buffers = RingBuffers(net.n, P, width)
        counted_from_1 = update_call_index(scenario, self.min_delay)
        self.generators = GeneratorEvents(net, scenario.n_steps, lambda steps: counted_from_1(steps) - 1,
                                          input_ports)  # the calls of ``calls()``, counted from 0
        self.delivery = SpikeDelivery(net, connection_ports, self.threads)

    def calls(self) -> list[tuple[int, int]]:
        """The update calls (first step, end step) in order."""
        return [tuple(c) for c in update_calls(self.scenario, self.min_delay).tolist()]

    def run(self, provenance: dict) -> Traces:
        scenario, net = self.scenario, self.scenario.network
        record, chosen = tuple(scenario.record), net.record_neurons
        # An engine that can record some neurons only (the JAX engine) is asked for those alone.
        accepted = inspect.signature(self.population.run).parameters
        options = {"record_neurons": chosen, "segment_steps": self.min_delay} if "record_neurons" in accepted else {}
        traces = {name: np.empty((scenario.n_steps, len(chosen))) for name in record}
        pending = []  # (call, stamps, neurons) of the current slice, delivered when the next one starts
        all_stamps, all_neurons = [], []
        for call, (a, b) in enumerate(self.calls()):
            if a % self.min_delay == 0 and pending:
                self._deliver(pending)
                pending = []
            self.generators.add_call(self.buffers, call)
            slots = self.buffers.take(a, b)
            recording = self.population.run(b - a, ampa=slots["ampa"], gaba=slots["gaba"], nmda=slots["nmda"],
                                            current=slots["current"], record=record, **options)
            for name in record:
                values = recording.traces[name]
                traces[name][a:b] = values if values.shape[1] == len(chosen) else values[:, chosen]
            if len(recording.spike_stamps):
                pending.append((call, recording.spike_stamps, recording.spike_neurons))
                all_stamps.append(recording.spike_stamps)
                all_neurons.append(recording.spike_neurons)
        return self._traces(traces, all_stamps, all_neurons, provenance)

    def _deliver(self, pending) -> None:
        calls = np.concatenate([np.full(len(s), c) for c, s, _ in pending])
        stamps = np.concatenate([s for _, s, _ in pending])
        neurons = np.concatenate([n for _, _, n in pending])
        self.delivery.deliver(self.buffers, calls, stamps, neurons)

    def _traces(self, traces, stamps, neurons, provenance) -> Traces:
        scenario, net = self.scenario, self.scenario.network
        stamps = np.concatenate(stamps) if stamps else np.zeros(0, np.int64)
        neurons = np.concatenate(neurons) if neurons else np.zeros(0, np.int64)
        column = np.full(net.n, -1, dtype=np.int64)
        column[net.record_neurons] = np.arange(len(net.record_neurons))
        keep = column[neurons] >= 0  # the spike recorder sees the recorded neurons only
        stamps, cols = stamps[keep], column[neurons[keep]]
        order = np.lexsort((cols, stamps))
        labels = net.labels
        return Traces(scenario=scenario.name, tics_per_step=scenario.tics_per_step,
                      steps=np.arange(1, scenario.n_steps + 1, dtype=np.int64), variables=traces,
                      spike_steps=stamps[order], spike_neurons=cols[order],
                      neurons=tuple(labels[i] for i in net.record_neurons.tolist()),
                      provenance={**provenance, "scenario_path": scenario.path, "scenario_hash": scenario.content_hash})
