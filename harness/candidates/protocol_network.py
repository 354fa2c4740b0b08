"""Protocol version 2: a network scenario as explicit per-step inputs, and per-neuron traces read back.

A network scenario (``populations:``) is handed to a candidate as version 2; a single-neuron scenario stays
version 1 (``protocol``). The folder layout is the same (inputs.json + inputs.npz in, traces.npz and an
optional candidate.json out); docs/candidates.md, "Protocol version 2", lists every field with its unit and
shape. In short, inputs.npz holds (n neurons, C connections, P = the largest NMDA port count, G generators,
E generator events):

* the neurons: ``param_<name>`` and ``initial_<name>`` (n,) float64, per neuron;
* the connection list in creation order: ``connection_source/target/receptor/weight/delay_steps/port`` (C,);
* each neuron's NMDA ports in NEST's order (connections first, in list order, then generators):
  ``nmda_port_count`` (n,), ``nmda_weights`` (n, P) nS, ``nmda_port_connection`` / ``nmda_port_generator``
  (n, P), the connection or generator feeding port j (-1 where none);
* the generators' part of every slot, summed in NEST's order: ``ampa``/``gaba``/``current`` (n_steps, n),
  ``nmda`` (n_steps, n, P);
* the generators and their events in the order NEST adds them (``generator_*`` (G,), ``event_*`` (E,)), and
  the update calls (``update_calls`` (calls, 2)): what a runner needs to add generator and network events to
  the slots in NEST's order (``network_loop``), which is what reproduces NEST bit for bit where a slot
  receives both.

traces.npz: ``steps`` (n_steps,), one (n_steps, R) float array per recordable (column r = ``record_neurons[r]``),
``spike_steps`` and ``spike_neurons`` (network neuron indices), sorted by (step, neuron) without repeats.
"""
from __future__ import annotations

import numpy as np

from harness import grid
from harness.backends.python import min_delay_steps, update_calls
from harness.model.parameters import RECEPTOR_TYPES
from harness.network.delivery import GeneratorEvents, RingBuffers, connector_order, port_numbers
from harness.scenario.types import Scenario, SpikeInput
from harness.traces.traces import Traces

from .protocol import (
    CONVENTIONS,
    INPUT_FORMAT,
    OUTPUT_TRACES,
    CandidateOutputError,
    CompiledInputs,
    _integer_array,
    _load_npz,
    _values_check,
    check_steps,
    read_info,
)

NETWORK_FORMAT_VERSION = 2
CURRENT_RECEPTOR = 0  # a generator_receptor code: a current generator (no receptor port)
MAX_INPUT_BYTES = 2 * 1024 ** 3  # the dense slot arrays alone; a candidate loads them whole
# Every other input array (besides param_* and initial_*) holds integers: indices, codes, steps.
FLOAT_ARRAYS = ("connection_weight", "nmda_weights", "ampa", "gaba", "current", "nmda", "generator_weight",
                "event_value")

NETWORK_CONVENTIONS = {
    **CONVENTIONS,
    "neurons": "every array with a neuron axis is indexed by neuron index 0..n-1 (populations in file order); "
               "inputs.json neuron_labels names them",
    "update_calls": "NEST advances in update calls update_calls[c] = (first step, end step): min_delay slices, "
                    "cut where a Simulate chunk (chunk_steps) ends",
    "delivery": "at the start of a call whose first step is a multiple of min_delay_steps, the spikes emitted since "
                "the previous such start are delivered, ordered by (call, neuron, step), each along its source's "
                "connections in list order: a spike in step k adds weight (AMPA/GABA) or 1 (NMDA, port "
                "connection_port) to the target's slot of step k + delay_steps",
    "generators": "then the events of that call's generators (event_call == c) are added in listed order; slots "
                  "start at 0.0 and every addition is sequential: that order gives NEST's bits",
    "dense_slots": "ampa/gaba/current/nmda hold the generators' events alone, summed in NEST's order; where a slot "
                   "also receives network spikes, adding those afterwards can differ from NEST in the last bit",
    "nmda_ports": "neuron i has nmda_port_count[i] ports, in NEST's order: its NMDA connections in list order, "
                  "then its NMDA generators in creation order; port j's weight nmda_weights[i, j] multiplies s_j",
    "samples": "traces.npz: steps = 1..n_steps; each recordable is (n_steps, len(record_neurons)); column r is "
               "neuron record_neurons[r]",
    "spikes": "spike_steps (stamp k+1 for a spike in step k) and spike_neurons (neuron indices), sorted by (step, "
              "neuron) without repeats; spikes of neurons that are not recorded are ignored",
}


# ------------------------------------------------------------------------------------------- inputs
def input_bytes(scenario: Scenario) -> int:
    """The size of the dense slot arrays of ``scenario`` (n_steps x n x (3 + P) float64)."""
    net = scenario.network
    ports = max((len(p) for p in net.nmda_ports()), default=0)
    return scenario.n_steps * net.n * (3 + ports) * 8


def compile_network_inputs(scenario: Scenario) -> CompiledInputs:
    """A network scenario as protocol version 2: the network, its generators' slots and events, the calls."""
    net, n_steps, tps = scenario.network, scenario.n_steps, scenario.tics_per_step
    size = input_bytes(scenario)
    if size > MAX_INPUT_BYTES:
        raise ValueError(f"its protocol v2 inputs would take {size / 1e9:.1f} GB (n_steps x neurons x (3 + NMDA "
                         f"ports) x 8 bytes), more than {MAX_INPUT_BYTES / 1e9:.1f} GB; shorten the run or shrink "
                         f"the network")
    n = net.n
    d = min_delay_steps(scenario)
    calls = update_calls(scenario, d)
    connection_ports, input_ports, P = port_numbers(net)
    call_of = lambda steps: np.searchsorted(calls[:, 0], np.asarray(steps), side="right") - 1  # noqa: E731
    events = GeneratorEvents(net, n_steps, call_of, input_ports).columns  # NEST's order of additions
    dense = RingBuffers(n, P, n_steps + 1)
    dense.add(events["kind"], events["step"], events["neuron"], events["port"], events["value"])
    slots = dense.take(0, n_steps)
    c = net.connections
    arrays = {f"param_{k}": v for k, v in net.params.items()}
    arrays.update({f"initial_{k}": v for k, v in net.initial.items()})
    arrays.update(connection_source=c.source, connection_target=c.target, connection_receptor=c.receptor,
                  connection_weight=c.weight, connection_delay_steps=c.delay_steps, connection_port=connection_ports)
    arrays.update(_nmda_ports(net, P))
    arrays.update(ampa=slots["ampa"], gaba=slots["gaba"], current=slots["current"], nmda=slots["nmda"])
    arrays.update(_generators(net, input_ports))
    arrays.update(event_generator=events["generator"], event_call=events["call"], event_send_step=events["send"],
                  event_step=events["step"], event_value=events["value"])
    # The order NEST's connectors hand a source's spike to its connections (its unstable sort by source, and
    # the thread of each target): the runner delivers along it instead of re-deriving NEST's sort.
    arrays.update(update_calls=calls, record_neurons=net.record_neurons,
                  delivery_order=connector_order(net, net.threads))
    arrays = {k: np.ascontiguousarray(v, dtype=np.float64 if k in FLOAT_ARRAYS or k.startswith(("param_", "initial_"))
                                      else np.int64) for k, v in arrays.items()}
    labels = net.labels
    meta = {
        "format": INPUT_FORMAT, "format_version": NETWORK_FORMAT_VERSION, "scenario": scenario.name,
        "model": scenario.model, "resolution_ms": scenario.resolution, "step_ms": grid.step_length_ms(tps),
        "tics_per_step": tps, "n_steps": n_steps, "chunk_steps": [int(k) for k in scenario.chunk_steps],
        "min_delay_steps": int(d), "nest_threads": net.threads, "n_neurons": n, "neuron_labels": list(labels),
        "populations": [{"name": p.name, "first": p.start, "n": p.n} for p in net.populations],
        "param_names": list(net.params), "initial_names": list(net.initial),
        "n_connections": len(c), "max_nmda_ports": int(P), "n_generators": len(net.inputs),
        "n_events": int(len(events["step"])), "n_update_calls": len(calls),
        "record": list(scenario.record), "record_neurons": net.record_neurons.tolist(),
        "record_labels": [labels[i] for i in net.record_neurons.tolist()],
        "refractory_steps": [grid.refractory_counts(t, tps) for t in net.params["t_ref"].tolist()],
        "conventions": NETWORK_CONVENTIONS,
    }
    return CompiledInputs(meta, arrays)


def _nmda_ports(net, P: int) -> dict:
    count = np.zeros(net.n, np.int64)
    weights = np.zeros((net.n, P))
    from_connection, from_generator = np.full((net.n, P), -1, np.int64), np.full((net.n, P), -1, np.int64)
    for i, ports in enumerate(net.nmda_ports()):
        count[i] = len(ports)
        for j, (kind, index, weight) in enumerate(ports):
            weights[i, j] = weight
            (from_connection if kind == "connection" else from_generator)[i, j] = index
    return {"nmda_port_count": count, "nmda_weights": weights, "nmda_port_connection": from_connection,
            "nmda_port_generator": from_generator}


def _generators(net, input_ports: np.ndarray) -> dict:
    receptor = [RECEPTOR_TYPES[i.receptor] if isinstance(i, SpikeInput) else CURRENT_RECEPTOR for _, i in net.inputs]
    return {"generator_target": np.array([t for t, _ in net.inputs], dtype=np.int64),
            "generator_receptor": np.array(receptor, dtype=np.int64),
            "generator_weight": np.array([i.weight for _, i in net.inputs], dtype=np.float64),
            "generator_delay_steps": np.array([i.delay_steps for _, i in net.inputs], dtype=np.int64),
            "generator_port": np.asarray(input_ports, dtype=np.int64)}


# ------------------------------------------------------------------------------------------- outputs
def read_network_traces(directory, meta: dict) -> Traces:
    """The candidate's per-neuron traces, checked strictly against what ``meta`` (version 2) asked for."""
    path = directory / OUTPUT_TRACES  # present: protocol.read_traces checked it
    n_steps, n, record = meta["n_steps"], meta["n_neurons"], meta["record"]
    recorded = meta["record_neurons"]
    limits = {"steps": (n_steps, f"the {n_steps} values of one per step")}
    limits.update({name: (n_steps * len(recorded), f"the {n_steps} x {len(recorded)} values of one per step and "
                                                    f"recorded neuron") for name in record})
    limits.update({name: (n_steps * n, f"the {n_steps * n} spikes of every neuron spiking in every step")
                   for name in ("spike_steps", "spike_neurons")})
    return check_network_traces(_load_npz(path, limits), meta, read_info(directory))


def check_network_traces(arrays: dict, meta: dict, info=None, *, implied_steps: bool = False) -> Traces:
    """Version 2 traces from arrays in memory (``protocol.check_traces``)."""
    n_steps, n, record = meta["n_steps"], meta["n_neurons"], meta["record"]
    recorded, labels = meta["record_neurons"], meta["record_labels"]
    fixed = ("steps", "spike_steps", "spike_neurons")
    unknown = sorted(set(arrays) - {*fixed, *record})
    if unknown:  # in a file, _load_npz refused them already
        raise CandidateOutputError(f"{OUTPUT_TRACES} holds unknown arrays {', '.join(unknown)}; allowed: "
                                   f"{', '.join([*fixed, *record])}")
    expected = np.arange(1, n_steps + 1, dtype=np.int64)
    if implied_steps and "steps" not in arrays:
        arrays = {**arrays, "steps": expected}
    missing = [name for name in ("steps", "spike_steps", "spike_neurons", *record) if name not in arrays]
    if missing:
        raise CandidateOutputError(f"{OUTPUT_TRACES} lacks {', '.join(missing)}"
                                   + ("; protocol version 2 reports spike_neurons (the neuron index of each spike)"
                                      if "spike_neurons" in missing else ""))
    check_steps(arrays["steps"], n_steps)
    variables = {name: _neuron_values(arrays[name], name, n_steps, labels) for name in record}
    spike_steps, spike_neurons = _spikes(arrays["spike_steps"], arrays["spike_neurons"], n_steps, n)
    column = np.full(n, -1, dtype=np.int64)
    column[np.asarray(recorded, dtype=np.int64)] = np.arange(len(recorded))
    keep = column[spike_neurons] >= 0  # NEST's spike recorder sees the recorded neurons only
    return Traces(scenario=meta["scenario"], tics_per_step=meta["tics_per_step"], steps=expected,
                  variables=variables, spike_steps=spike_steps[keep], spike_neurons=column[spike_neurons[keep]],
                  neurons=tuple(labels), provenance={"candidate_info": info,
                                                     "unrecorded_spikes_ignored": int((~keep).sum())})


def _neuron_values(values: np.ndarray, name: str, n_steps: int, labels: list) -> np.ndarray:
    expected = (n_steps, len(labels))
    _values_check(values, name)
    if values.shape != expected:
        if values.ndim == 1:
            why = (f"{name} has shape {values.shape}, expected {expected}: protocol version 2 traces have a "
                   f"neuron axis, one column per recorded neuron ({_shown(labels)})")
        elif values.ndim == 2 and values.shape[0] == n_steps:
            why = (f"{name} has {values.shape[1]} columns, expected {len(labels)}: one per recorded neuron "
                   f"({_shown(labels)})")
        else:
            why = f"{name} has shape {values.shape}, expected {expected}: one row per step, one column per neuron"
        raise CandidateOutputError(why)
    out = values.astype(np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        step, column = (int(i) for i in np.argwhere(bad)[0])
        raise CandidateOutputError(f"{name} of neuron {labels[column]} is not finite ({out[step, column]}) from step "
                                   f"{step + 1} on ({int(bad.sum())} samples in all)")
    return out


def _spikes(steps: np.ndarray, neurons: np.ndarray, n_steps: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    steps, neurons = _integer_array(steps, "spike_steps"), _integer_array(neurons, "spike_neurons")
    if steps.shape != neurons.shape:
        raise CandidateOutputError(f"spike_neurons has {neurons.size} entries and spike_steps {steps.size}: one "
                                   f"neuron index per spike")
    if steps.size and (steps.min() < 1 or steps.max() > n_steps):
        raise CandidateOutputError(f"spike_steps must lie in 1..{n_steps}, got {steps.min()}..{steps.max()}")
    unknown = neurons[(neurons < 0) | (neurons >= n)]
    if unknown.size:
        raise CandidateOutputError(f"spike_neurons holds {int(unknown[0])}, which is not a neuron of the network "
                                   f"(neuron indices 0..{n - 1}; {unknown.size} such spikes)")
    if np.any(np.diff(steps * n + neurons) <= 0):
        raise CandidateOutputError("spikes must be sorted by (spike_steps, spike_neurons) without repeats (a neuron "
                                   "spikes at most once per step)")
    return steps, neurons


def _shown(labels: list) -> str:
    return ", ".join(labels) if len(labels) <= 6 else f"{', '.join(labels[:5])}, ... {labels[-1]}"
