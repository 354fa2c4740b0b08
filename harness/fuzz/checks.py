"""The properties the fuzzer checks on every generated scenario; each returns what is violated, in words.

* parity: the reimplementation's traces equal NEST's bit for bit (all recorded variables, spike steps);
* invariants of the model (docs/model.md, "Equations", "Update order"), checked on the engine's run, showing the
  per-port NMDA state that NEST does not record:
  - x_j >= 0 and 0 <= s_j < 1 + gsl_error_tol for every NMDA port. x_j only jumps by multiplicities >= 0;
    s_j relaxes towards alpha*x / (alpha*x + 1/tau_decay) < 1, but the *discretised* model can overshoot 1:
    RKF45 accepts a sub-step whose estimated absolute error is up to gsl_error_tol, and NEST itself records
    s_NMDA = 1.0001975 for one port of weight 1 (dt 1 ms, tol 1e-2, alpha 2, 15 coincident spikes; see
    ``tests/test_fuzz.py``). So the bound checked is 1 + gsl_error_tol, the integrator's error budget;
  - s_AMPA >= 0 and s_GABA >= 0 when every weight onto that receptor and the initial value are >= 0;
  - V_m = V_reset in exactly the R + 1 samples from each spike's stamp on (R = refractory steps), and no
    spike inside that window.

A network is checked neuron by neuron (``network_*``): parity of each recorded neuron's traces and spikes,
and the invariants above with that neuron's parameters, initial state and the weights of every connection
and generator onto it.
"""
from __future__ import annotations

import numpy as np

from harness import grid
from harness.backends.batch import PythonRun
from harness.scenario.types import RECEPTOR_TYPES, Scenario, SpikeInput
from harness.traces.traces import Traces

# A flushed subnormal is below 2^-1022; the model's products (|V - E| < 2^12, 1/tau) amplify such an error by
# far less than 2^22 before it vanishes against normal numbers, so a smaller difference is a flush's doing.
FLUSH_SCALE = 2.0 ** -1000


def parity_differences(reference: Traces, candidate: Traces, flushes_subnormals: bool = False) -> list[str]:
    """Where two traces differ, bit for bit; empty when they are identical.

    ``flushes_subnormals``: the candidate runs where subnormal numbers are flushed to zero (XLA on a CPU, the
    JAX engine), so samples that differ by at most FLUSH_SCALE (~1e-301) in absolute terms count as equal:
    the flushed values themselves and what they leave behind near the underflow threshold (NEST 6.65e-308,
    JAX 4.45e-308 for an s_GABA that decayed through subnormal intermediates).
    """
    problems = []
    if not np.array_equal(reference.steps, candidate.steps):
        problems.append(f"sample grids differ ({len(reference.steps)} vs {len(candidate.steps)} samples)")
        return problems
    if not np.array_equal(reference.spike_steps, candidate.spike_steps):
        problems.append(f"spike steps differ: NEST {reference.spike_steps.tolist()[:8]}, "
                        f"candidate {candidate.spike_steps.tolist()[:8]}")
    for name, ref in reference.variables.items():
        got = candidate.variables.get(name)
        if got is None:
            problems.append(f"{name} not recorded by the candidate")
            continue
        unequal = ref.view(np.int64) != got.view(np.int64)  # bits, so -0.0 != 0.0 and NaN == NaN
        if flushes_subnormals:
            with np.errstate(invalid="ignore"):
                unequal &= ~(np.abs(ref - got) <= FLUSH_SCALE)
        differs = np.flatnonzero(unequal)
        if differs.size:
            i = differs[0]
            problems.append(f"{name} differs in {differs.size} sample(s), first at step {reference.steps[i]}: "
                            f"NEST {float(ref[i])!r}, candidate {float(got[i])!r} "
                            f"(|diff| {abs(ref[i] - got[i]):.3g})")
    return problems


def invariant_violations(scenario: Scenario, run: PythonRun) -> list[str]:
    return (nmda_state_violations(scenario, run) + synaptic_sign_violations(scenario, run.traces)
            + refractory_violations(scenario, run.traces))


def nmda_state_violations(scenario: Scenario, run: PythonRun) -> list[str]:
    if not scenario.nmda_inputs or run.min_x is None:  # None: an engine that does not observe the state
        return []
    return nmda_bound_violations(run.min_x, run.min_s, run.max_s, scenario.params["gsl_error_tol"])


def nmda_bound_violations(min_x: float, min_s: float, max_s: float, gsl_error_tol: float) -> list[str]:
    """The NMDA state bounds of one neuron, from the extremes of its x_j and s_j over the run."""
    problems = []
    if not min_x >= 0.0:
        problems.append(f"NMDA rise variable x_j went negative (min {min_x!r})")
    if not min_s >= 0.0:
        problems.append(f"NMDA gating variable s_j went negative (min {min_s!r})")
    bound = 1.0 + gsl_error_tol
    if not max_s < bound:
        problems.append(f"NMDA gating variable s_j reached {max_s!r}, beyond 1 + gsl_error_tol = {bound!r}")
    return problems


def synaptic_sign_violations(scenario: Scenario, traces: Traces) -> list[str]:
    weights = {receptor: [i.weight for i in scenario.inputs if isinstance(i, SpikeInput) and i.receptor == receptor]
               for receptor in ("AMPA", "GABA")}
    return sign_violations(weights, scenario.initial, traces)


def sign_violations(weights: dict, initial: dict, traces: Traces) -> list[str]:
    """s_AMPA, s_GABA >= 0 where ``weights[receptor]`` (every weight onto it) and the initial value are >= 0."""
    problems = []
    for receptor, name in (("AMPA", "s_AMPA"), ("GABA", "s_GABA")):
        if name not in traces.variables or initial[name] < 0 or any(w < 0 for w in weights[receptor]):
            continue  # a negative kick may legitimately drive it below 0
        lowest = traces[name].min(initial=0.0)
        if lowest < 0.0:
            problems.append(f"{name} went negative ({lowest!r}) although every weight is >= 0")
    return problems


def refractory_violations(scenario: Scenario, traces: Traces) -> list[str]:
    return refractory_window_violations(scenario.params["t_ref"], scenario.params["V_reset"],
                                        scenario.tics_per_step, traces)


def refractory_window_violations(t_ref: float, v_reset: float, tics_per_step: int, traces: Traces) -> list[str]:
    """V_m is V_reset at stamps S..S+R of every spike S, and no spike falls inside S+1..S+R."""
    if "V_m" not in traces.variables:
        return []
    R = grid.refractory_counts(t_ref, tics_per_step)
    v_m = traces["V_m"]
    problems = []
    spikes = traces.spike_steps.tolist()
    for S in spikes:
        window = v_m[S - 1:min(S + R, len(v_m))]  # sample i has stamp i + 1
        if not np.all(window == v_reset):
            bad = S + int(np.flatnonzero(window != v_reset)[0])
            problems.append(f"V_m is {v_m[bad - 1]!r}, not V_reset = {v_reset!r}, at stamp {bad} "
                            f"(spike at {S}, {R} refractory steps)")
            break
    for a, b in zip(spikes, spikes[1:]):
        if b - a <= R:
            problems.append(f"spikes at stamps {a} and {b} fall within {R} refractory steps")
            break
    return problems


# ------------------------------------------------------------------------------------------ networks
MAX_REASONS = 6  # a network that breaks breaks in many neurons: the first few say where


def network_parity_differences(reference: Traces, candidate: Traces, flushes_subnormals: bool = False) -> list[str]:
    """``parity_differences`` neuron by neuron (each line names the neuron); empty when identical.

    Without subnormal flushing the verdict is also ``Traces.equals_exactly``, which adds the order of the
    spike columns, so that nothing it sees can pass unnoticed.
    """
    if reference.neurons != candidate.neurons:
        return [f"recorded neurons differ: NEST {list(reference.neurons)[:6]}, candidate {list(candidate.neurons)[:6]}"]
    problems = [f"{label}: {p}" for label in reference.neurons
                for p in parity_differences(reference.neuron(label), candidate.neuron(label), flushes_subnormals)]
    if not problems and not flushes_subnormals and not reference.equals_exactly(candidate):
        problems.append("the traces differ (Traces.equals_exactly) although no neuron's samples or spikes do")
    return _first(problems)


def network_invariant_violations(scenario: Scenario, run) -> list[str]:
    """The single-neuron invariants on every recorded neuron of a network, each with that neuron's own
    parameters (``network.params[name][index]``), initial state and weights onto it (connections and
    generators); the NMDA bounds on every neuron with ports, where the engine observed the state.

    ``run`` has ``traces`` and ``min_x``, ``min_s``, ``max_s``: (n,) arrays over the run, or None.
    """
    net = scenario.network
    weights = weights_onto(net)
    problems = []
    for index in net.record_neurons.tolist():
        label = net.labels[index]
        traces = run.traces.neuron(label)
        initial = {k: float(v[index]) for k, v in net.initial.items()}
        found = sign_violations(weights[index], initial, traces) + refractory_window_violations(
            float(net.params["t_ref"][index]), float(net.params["V_reset"][index]), scenario.tics_per_step, traces)
        problems += [f"{label}: {p}" for p in found]
    if run.min_x is not None:
        for index, ports in enumerate(net.nmda_ports()):
            if ports:
                found = nmda_bound_violations(float(run.min_x[index]), float(run.min_s[index]),
                                              float(run.max_s[index]), float(net.params["gsl_error_tol"][index]))
                problems += [f"{net.labels[index]}: {p}" for p in found]
    return _first(problems)


def weights_onto(net) -> list[dict]:
    """Per neuron, {"AMPA": [...], "GABA": [...]}: the weights of every connection and generator onto it."""
    out = [{"AMPA": [], "GABA": []} for _ in range(net.n)]
    by_type = {RECEPTOR_TYPES[r]: r for r in ("AMPA", "GABA")}
    c = net.connections
    for target, receptor, weight in zip(c.target.tolist(), c.receptor.tolist(), c.weight.tolist()):
        if receptor in by_type:
            out[target][by_type[receptor]].append(weight)
    for target, item in net.inputs:
        if isinstance(item, SpikeInput) and item.receptor in ("AMPA", "GABA"):
            out[target][item.receptor].append(item.weight)
    return out


def _first(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_REASONS:
        return problems
    return problems[:MAX_REASONS] + [f"and {len(problems) - MAX_REASONS} more"]
