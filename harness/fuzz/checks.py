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
"""
from __future__ import annotations

import numpy as np

from harness import grid
from harness.backends.batch import PythonRun
from harness.scenario.types import Scenario, SpikeInput
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
    problems = []
    if not run.min_x >= 0.0:
        problems.append(f"NMDA rise variable x_j went negative (min {run.min_x!r})")
    if not run.min_s >= 0.0:
        problems.append(f"NMDA gating variable s_j went negative (min {run.min_s!r})")
    bound = 1.0 + scenario.params["gsl_error_tol"]
    if not run.max_s < bound:
        problems.append(f"NMDA gating variable s_j reached {run.max_s!r}, beyond 1 + gsl_error_tol = {bound!r}")
    return problems


def synaptic_sign_violations(scenario: Scenario, traces: Traces) -> list[str]:
    problems = []
    for receptor, name in (("AMPA", "s_AMPA"), ("GABA", "s_GABA")):
        weights = [i.weight for i in scenario.inputs if isinstance(i, SpikeInput) and i.receptor == receptor]
        if name not in traces.variables or scenario.initial[name] < 0 or any(w < 0 for w in weights):
            continue  # a negative kick may legitimately drive it below 0
        lowest = traces[name].min(initial=0.0)
        if lowest < 0.0:
            problems.append(f"{name} went negative ({lowest!r}) although every weight is >= 0")
    return problems


def refractory_violations(scenario: Scenario, traces: Traces) -> list[str]:
    """V_m is V_reset at stamps S..S+R of every spike S, and no spike falls inside S+1..S+R."""
    if "V_m" not in traces.variables:
        return []
    R = grid.refractory_counts(scenario.params["t_ref"], scenario.tics_per_step)
    v_reset, v_m = scenario.params["V_reset"], traces["V_m"]
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
