"""The runner side of protocol version 2, in plain NumPy: NEST's ring buffers, update calls and delivery order.

This module imports nothing but NumPy and the standard library, so that a runner under another interpreter
(``brainpy_runner.py``, run by .venv-brainpy's Python) can import it by path, and a port's author can copy
it. ``engine_runner`` drives the in-house engine through it, which is how it is checked bit for bit against
NEST (tests/test_candidates_network.py).

What NEST does, and so what ``NetworkLoop.run`` does (docs/candidates.md, "Protocol version 2"):

1. The run is a sequence of update calls, ``update_calls[c] = (first step, end step)``: min_delay slices of
   the time axis, cut where a Simulate chunk ends.
2. At the start of a call whose first step is a multiple of ``min_delay_steps`` (a slice start; not at a
   chunk cut inside a slice), every spike emitted since the previous slice start is delivered: spikes in the
   order (source thread = (index + 1) % nest_threads, call, neuron index, step); each spike along its
   source's connections in the order ``delivery_order`` lists them (NEST's connector order); a spike
   emitted in step k adds ``weight`` (AMPA/GABA, nS) or 1 (NMDA, to the target's port ``connection_port``)
   to the target's slot of step k + delay_steps.
3. Then the generator events of that call (``event_call == c``) are added, in their listed order.
4. Then the neurons integrate the call's steps, each step reading its slots (and clearing them).

Every slot starts at +0.0 and events are added one at a time in that order, which is what gives every slot
NEST's bits. The dense arrays ``ampa``/``gaba``/``current``/``nmda`` of the input folder are the generators'
part alone: adding network events to them afterwards gives the same values except where a slot receives
both (then the last bit can differ, since floating-point addition is not associative).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

INPUT_FORMAT = "nest-parity-candidate-inputs"
NETWORK_VERSION = 2
CURRENT, AMPA, GABA, NMDA = 0, 1, 2, 3  # the protocol's receptor codes (NEST's receptor types; 0: a current)


def load_inputs(folder) -> tuple[dict, dict]:
    """(inputs.json, inputs.npz arrays) of a version 2 input folder; ValueError for anything else."""
    folder = Path(folder)
    meta = json.loads((folder / "inputs.json").read_text())
    if meta.get("format") != INPUT_FORMAT or meta.get("format_version") != NETWORK_VERSION:
        raise ValueError(f"{folder / 'inputs.json'}: not {INPUT_FORMAT} version {NETWORK_VERSION} (found format "
                         f"{meta.get('format')!r}, version {meta.get('format_version')!r})")
    with np.load(folder / "inputs.npz", allow_pickle=False) as z:
        arrays = {k: z[k].copy() for k in z.files}
    return meta, arrays


class Slots:
    """Every neuron's ring-buffer slots for the steps still to come: step r lives in row r % width."""

    def __init__(self, n: int, ports: int, width: int):
        self.n, self.ports, self.width = n, ports, width
        self.ampa, self.gaba, self.current = (np.zeros((width, n)) for _ in range(3))
        self.nmda = np.zeros((width, n, ports))

    def add(self, receptor, step, neuron, port, value) -> None:
        """Add events in the given order: each slot becomes ``((0.0 + v1) + v2) + ...`` of its own events."""
        receptor, step, neuron = (np.asarray(a, dtype=np.int64) for a in (receptor, step, neuron))
        port, value = np.asarray(port, dtype=np.int64), np.asarray(value, dtype=np.float64)
        row = step % self.width
        for code, buffer in ((AMPA, self.ampa), (GABA, self.gaba), (CURRENT, self.current), (NMDA, self.nmda)):
            mine = receptor == code
            if not mine.any():
                continue
            flat = row[mine] * self.n + neuron[mine]
            if code == NMDA:
                flat = flat * self.ports + port[mine]
            _add_in_order(buffer.reshape(-1), flat, value[mine])

    def take(self, a: int, b: int) -> dict:
        """The slots of steps a..b-1, read and cleared: ampa/gaba/current (b-a, n), nmda (b-a, n, P)."""
        rows = np.arange(a, b) % self.width
        out = {}
        for name in ("ampa", "gaba", "current", "nmda"):
            buffer = getattr(self, name)
            out[name] = buffer[rows].copy()
            buffer[rows] = 0.0
        return out


def _add_in_order(acc: np.ndarray, flat: np.ndarray, values: np.ndarray) -> None:
    """acc[flat[i]] += values[i] for i in order. Round r adds the r-th event of every slot that has one:
    sequential within a slot, vectorised across slots (``np.add.at`` would not promise the order)."""
    order = np.argsort(flat, kind="stable")
    flat, values = flat[order], values[order]
    starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]]) if flat.size else np.zeros(0, np.int64)
    counts = np.diff(np.r_[starts, flat.size])
    for r in range(int(counts.max(initial=0))):
        more = starts[counts > r] + r
        acc[flat[more]] += values[more]


class NetworkLoop:
    """A version 2 input folder's network, advanced update call by update call with NEST's delivery."""

    def __init__(self, meta: dict, arrays: dict):
        self.n, self.n_steps = int(meta["n_neurons"]), int(meta["n_steps"])
        self.min_delay = int(meta["min_delay_steps"])
        self.calls = np.asarray(arrays["update_calls"], dtype=np.int64).reshape(-1, 2)
        self.ports = int(arrays["nmda_weights"].shape[1])
        c = {k: np.asarray(arrays[f"connection_{k}"]) for k in ("source", "target", "receptor", "weight",
                                                                 "delay_steps", "port")}
        # Connection indices grouped by source, each source's in the order NEST delivers to them (its connector
        # sort; docs/model.md, "Networks"); NEST's thread count orders the registered spikes.
        self.by_source = np.asarray(arrays["delivery_order"], dtype=np.int64)
        self.threads = int(meta.get("nest_threads", 1))
        self.first_of = np.searchsorted(c["source"][self.by_source], np.arange(self.n + 1))
        self.connections = c
        # A neuron's NMDA spike adds multiplicity 1 to its port; its weight acts in the right-hand side.
        self.value = np.where(c["receptor"] == NMDA, 1.0, c["weight"]).astype(np.float64)
        g = {k: np.asarray(arrays[f"generator_{k}"]) for k in ("target", "receptor", "port", "delay_steps")}
        e = {k: np.asarray(arrays[f"event_{k}"]) for k in ("generator", "call", "step", "value")}
        if np.any(np.diff(e["call"]) < 0):
            raise ValueError("event_call must be non-decreasing (events are listed in NEST's order)")
        self.events = {"receptor": g["receptor"][e["generator"]], "neuron": g["target"][e["generator"]],
                       "port": g["port"][e["generator"]], "step": e["step"], "value": e["value"]}
        self.event_bounds = np.searchsorted(e["call"], np.arange(len(self.calls) + 1))
        delays = np.concatenate([c["delay_steps"], g["delay_steps"]]).astype(np.int64)
        self.slots = Slots(self.n, self.ports, self.min_delay + int(delays.max(initial=0)) + 1)

    def run(self, advance) -> tuple[np.ndarray, np.ndarray]:
        """Run every update call; ``advance(first, end, slots)`` integrates steps first..end-1 of all neurons
        with ``slots`` (``Slots.take``'s arrays) and returns (stamps, neuron indices) of their spikes (a spike
        in step k is stamped k + 1). Returns every spike, sorted by (stamp, neuron)."""
        pending, stamps, neurons = [], [], []
        for call, (a, b) in enumerate(self.calls.tolist()):
            if a % self.min_delay == 0 and pending:
                self.deliver(pending)
                pending = []
            lo, hi = self.event_bounds[call], self.event_bounds[call + 1]
            if lo < hi:
                ev = self.events
                self.slots.add(ev["receptor"][lo:hi], ev["step"][lo:hi], ev["neuron"][lo:hi], ev["port"][lo:hi],
                               ev["value"][lo:hi])
            s, i = advance(a, b, self.slots.take(a, b))
            s, i = np.asarray(s, dtype=np.int64).ravel(), np.asarray(i, dtype=np.int64).ravel()
            if s.size:
                pending.append((call, s, i))
                stamps.append(s)
                neurons.append(i)
        s = np.concatenate(stamps) if stamps else np.zeros(0, np.int64)
        i = np.concatenate(neurons) if neurons else np.zeros(0, np.int64)
        order = np.lexsort((i, s))
        return s[order], i[order]

    def deliver(self, pending) -> None:
        """The spikes (call, stamps, neurons) of one slice along the connection list, in NEST's order."""
        calls = np.concatenate([np.full(len(s), c) for c, s, _ in pending])
        stamps = np.concatenate([s for _, s, _ in pending])
        neurons = np.concatenate([i for _, _, i in pending])
        # The order NEST registers a slice's spikes in: the source's thread (node ID modulo T), call, neuron, step.
        order = np.lexsort((stamps, neurons, calls, (neurons + 1) % self.threads))
        stamps, neurons = stamps[order], neurons[order]
        counts = self.first_of[neurons + 1] - self.first_of[neurons]
        total = int(counts.sum())
        if not total:
            return
        first = np.repeat(self.first_of[neurons], counts)
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        conn = self.by_source[first + within]
        c = self.connections
        step = np.repeat(stamps - 1, counts) + c["delay_steps"][conn]  # emitted in step k, read in k + delay
        self.slots.add(c["receptor"][conn], step, c["target"][conn], c["port"][conn], self.value[conn])
