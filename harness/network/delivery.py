"""NEST's ring buffers for a whole network, and the order in which events are added to them.

Shared by both engines: they run the neurons, this module fills what the neurons read
(docs/model.md, "Networks"). Every slot starts at 0.0 and events are added one by one in the order NEST adds
them, so every slot holds NEST's bits:

* generators send during their update; their events (``GeneratorEvents``) are added per update call, in
  the order (generator, send step, list position), as for one neuron;
* a neuron's spikes of one min_delay slice are delivered at the start of the next slice's first update
  call, before any generator of that call sends (``SpikeDelivery``).

Only the AMPA and GABA slots need the order: an NMDA port belongs to one connection (or one generator) and
receives whole multiplicities, whose sums are exact in any order; current slots receive generators only.
"""
from __future__ import annotations

import numpy as np

from harness.backends.python import add_in_order, generator_events
from harness.model.parameters import RECEPTOR_TYPES
from harness.network.connector_sort import sorted_order
from harness.scenario.types import NetworkSpec, SpikeInput

AMPA, GABA, CURRENT, NMDA = 0, 1, 2, 3  # the buffer kinds
_KIND_OF_RECEPTOR = {RECEPTOR_TYPES["AMPA"]: AMPA, RECEPTOR_TYPES["GABA"]: GABA, RECEPTOR_TYPES["NMDA"]: NMDA}


class RingBuffers:
    """Every neuron's slots for the steps still to come: the slot of step r is row r % width."""

    def __init__(self, n: int, ports: int, width: int):
        self.width = width
        self.flat = [np.zeros(width * n) for _ in (AMPA, GABA, CURRENT)] + [np.zeros(width * n * ports)]
        self.n, self.ports = n, ports

    def add(self, kind, step, neuron, port, value) -> None:
        """Add events in the given order: each slot becomes ``((0.0 + v1) + v2) + ...`` of its events.

        (``harness.backends.python.add_in_order``, shared with the single-neuron slots).
        """
        kind = np.asarray(kind)
        for k in (AMPA, GABA, CURRENT, NMDA):
            mine = kind == k
            if not mine.any():
                continue
            row = np.asarray(step)[mine] % self.width
            flat = row * self.n + np.asarray(neuron)[mine]
            if k == NMDA:
                flat = flat * self.ports + np.asarray(port)[mine]
            add_in_order(self.flat[k], flat, np.asarray(value, dtype=np.float64)[mine])

    def take(self, a: int, b: int) -> dict:
        """The slots of steps a..b-1, read and zeroed as NEST's neurons do: ampa/gaba/current (b-a, n), nmda
        (b-a, n, P)."""
        rows = np.arange(a, b) % self.width
        out = {}
        for name, k in (("ampa", AMPA), ("gaba", GABA), ("current", CURRENT), ("nmda", NMDA)):
            shape = (self.width, self.n) if k != NMDA else (self.width, self.n, self.ports)
            view = self.flat[k].reshape(shape)
            out[name] = view[rows].copy()
            view[rows] = 0.0
        return out


def port_numbers(network: NetworkSpec) -> tuple[np.ndarray, np.ndarray, int]:
    """(port of each connection, port of each input, P): NMDA port indices per target (-1 where not NMDA)."""
    of_connection = np.full(len(network.connections), -1, dtype=np.int64)
    of_input = np.full(len(network.inputs), -1, dtype=np.int64)
    ports = network.nmda_ports()
    for neuron_ports in ports:
        for j, (kind, index, _) in enumerate(neuron_ports):
            (of_connection if kind == "connection" else of_input)[index] = j
    return of_connection, of_input, max((len(p) for p in ports), default=0)


class GeneratorEvents:
    """Every generator event of the run, grouped by the update call that sends it, in NEST's order."""

    def __init__(self, network: NetworkSpec, n_steps: int, call_of, input_ports: np.ndarray):
        columns = {k: [] for k in ("kind", "step", "neuron", "port", "call", "generator", "send", "position", "value")}
        for g, (neuron, inp) in enumerate(network.inputs):
            slot, send, value = generator_events(inp, n_steps)
            size = len(slot)
            if isinstance(inp, SpikeInput):
                kind = {"AMPA": AMPA, "GABA": GABA, "NMDA": NMDA}[inp.receptor]
            else:
                kind = CURRENT
            for name, col in (("kind", kind), ("step", slot), ("neuron", neuron), ("port", input_ports[g]),
                              ("call", call_of(send)), ("generator", g), ("send", send),
                              ("position", np.arange(size)), ("value", value)):
                columns[name].append(np.broadcast_to(np.asarray(col), (size,)))
        c = {k: np.concatenate(v) if v else np.zeros(0) for k, v in columns.items()}
        keep = c["step"] < n_steps  # read after the end: never felt
        c = {k: v[keep] for k, v in c.items()}
        order = np.lexsort((c["position"], c["send"], c["generator"], c["call"]))
        self.columns = {k: v[order] for k, v in c.items()}
        calls = self.columns["call"].astype(np.int64)
        self._bounds = np.searchsorted(calls, np.arange(int(calls.max(initial=-1)) + 2))

    def add_call(self, buffers: RingBuffers, call: int) -> None:
        if call + 1 >= len(self._bounds):
            return
        a, b = self._bounds[call], self._bounds[call + 1]
        if a < b:
            c = self.columns
            buffers.add(c["kind"][a:b], c["step"][a:b], c["neuron"][a:b], c["port"][a:b], c["value"][a:b])


def thread_of(neurons: np.ndarray, threads: int) -> np.ndarray:
    """NEST's thread of each neuron: its virtual process, node ID modulo T (node IDs are index + 1)."""
    return (np.asarray(neurons) + 1) % threads


def register_order(calls: np.ndarray, stamps: np.ndarray, neurons: np.ndarray, threads: int = 1) -> np.ndarray:
    """The order in which NEST registers a slice's spikes: the source's thread, then update call, neuron
    (node ID order) and step: each thread updates its neurons one after the other through a whole call."""
    return np.lexsort((stamps, neurons, calls, thread_of(neurons, threads)))


def connector_order(network: NetworkSpec, threads: int = 1) -> np.ndarray:
    """Connection indices grouped by source, each source's in NEST's lcid order: the order of its target
    thread's connector after NEST's (unstable) sort by source (``connector_sort``)."""
    c = network.connections
    position = np.empty(len(c), dtype=np.int64)  # lcid within the target thread's connector
    target_thread = thread_of(c.target, threads)
    for t in range(threads):
        created = np.flatnonzero(target_thread == t)
        position[created[sorted_order((c.source[created] + 1).tolist())]] = np.arange(len(created))
    return np.lexsort((position, target_thread, c.source))


class SpikeDelivery:
    """A slice's spikes delivered along the connection list, in NEST's order (docs/model.md, "Networks").

    NEST registers a slice's spikes as its neurons emit them (``register_order``); each spike then reaches
    its source's connections in the connector's order (``connector_order``). ``threads`` is the NEST thread
    count whose order is reproduced.
    """

    def __init__(self, network: NetworkSpec, connection_ports: np.ndarray, threads: int = 1):
        c = network.connections
        self.threads = threads
        self.out = connector_order(network, threads)
        self.starts = np.searchsorted(c.source[self.out], np.arange(network.n + 1))
        self.kind = np.array([_KIND_OF_RECEPTOR[int(r)] for r in c.receptor], dtype=np.int64) if len(c) else \
            np.zeros(0, np.int64)
        self.value = np.where(self.kind == NMDA, 1.0, c.weight)  # an NMDA port's weight acts in the RHS
        self.connections, self.ports = c, connection_ports

    def deliver(self, buffers: RingBuffers, calls: np.ndarray, stamps: np.ndarray, neurons: np.ndarray) -> None:
        """Deliver spikes (update call, stamp k + 1, neuron) of one slice."""
        if not len(stamps):
            return
        order = register_order(calls, stamps, neurons, self.threads)
        stamps, neurons = stamps[order], neurons[order]
        counts = self.starts[neurons + 1] - self.starts[neurons]
        if not counts.sum():
            return
        first = np.repeat(self.starts[neurons], counts)
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        conn = self.out[first + within]
        step = np.repeat(stamps - 1, counts) + self.connections.delay_steps[conn]  # sent in step k, read in k + D
        buffers.add(self.kind[conn], step, self.connections.target[conn], self.ports[conn], self.value[conn])
