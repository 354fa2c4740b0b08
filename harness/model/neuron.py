"""One simulation step of iaf_bw_2001_exact, in NEST's order (``iaf_bw_2001_exact::update``), for n neurons.

1. integrate (0, step] (``evolve.advance``) with this step's I_stim;
2. add the pre-summed ring-buffer slots: s_AMPA += A[k], s_GABA += G[k], x_j += X_j[k] (s_j is not jumped);
3. refractory neurons (r > 0): r -= 1 and V_m = V_reset, no threshold test; the others spike if
   V_m >= V_th: r = RefractoryCounts, V_m = V_reset;
4. I_stim = C[k], felt from the next step on.

The recorded currents and s_NMDA are NEST's RHS side effects of the last RHS call of the step, which is the
``dydt_out`` evaluation at the end-of-integration state y- (see ``rkf45``). They are computed here from y-
(same inputs, same expressions, hence the same bits), before the jumps and the reset change y.

Steps 2 and 3 (``end_of_step``, ``threshold_and_reset``) and the recorded values (``recorded_values``) are
written once against ``arraymath`` and shared with the JAX engine (``harness.jax_engine.neuron``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import arraymath
from .evolve import TryTally, advance
from .parameters import Parameters
from .rhs import Coefficients, SynapticCurrents, derivative, synaptic_currents


@dataclass
class NeuronState:
    """Everything NEST's node carries from one step to the next, one row / entry per neuron."""

    y: np.ndarray  # (n, 3 + 2P): V_m, s_AMPA, s_GABA, x_0..x_{P-1}, s_0..s_{P-1} (see rhs)
    h: np.ndarray  # (n,) GSL's persistent step proposal; starts at the step length
    refractory_left: np.ndarray  # (n,) int64, NEST's r
    I_stim: np.ndarray  # (n,) pA, the current of the coming step
    tally: TryTally | None = None  # RKF45 tries and rejections so far (diagnostics only)


@dataclass(frozen=True)
class StepInputs:
    """The ring-buffer slots read in step k, each already summed in NEST's order."""

    ampa: np.ndarray  # (n,) nS, sum of weight * multiplicity
    gaba: np.ndarray  # (n,)
    nmda: np.ndarray  # (n, P) multiplicities per port (the port weight acts inside the RHS)
    current: np.ndarray  # (n,) pA, sum of weight * amplitude; becomes I_stim of step k + 1


class StepEnd(NamedTuple):
    """The state arrays after steps 2 and 3, and who spiked."""

    y: np.ndarray
    refractory_left: np.ndarray
    spiked: np.ndarray


def update(state: NeuronState, p: Parameters, coefficients: Coefficients, eps_abs: np.ndarray,
           refractory_counts: np.ndarray, step: float, inputs: StepInputs) -> tuple[np.ndarray, SynapticCurrents]:
    """Advance every neuron by one simulation step; returns (spiked mask, recorded RHS side effects)."""
    I_stim = state.I_stim

    def rhs_for(index):
        if index is None:
            return lambda ys: derivative(ys, coefficients, I_stim)
        c, I = coefficients.take(index), I_stim[index]
        return lambda ys: derivative(ys, c, I)

    advance(state.y, state.h, step, rhs_for, eps_abs, state.tally)
    currents = synaptic_currents(state.y, coefficients)
    state.y, state.refractory_left, spiked = end_of_step(state.y, state.refractory_left, inputs, p.V_th,
                                                         p.V_reset, refractory_counts)
    state.I_stim = np.array(inputs.current, dtype=np.float64, copy=True)
    return spiked, currents


def end_of_step(y, refractory_left, inputs, V_th, V_reset, refractory_counts) -> StepEnd:
    """Steps 2 and 3 on the integrated state, for both engines (``arraymath``): the synaptic jumps, then the
    clamp / threshold / reset. ``inputs`` has the fields of ``StepInputs``, shaped like the state's blocks."""
    m = arraymath.of(y)
    V_m, s_AMPA, s_GABA, x, s = m.layout.components(y)
    s_AMPA = s_AMPA + inputs.ampa  # added even when 0.0, as NEST does (it turns a -0.0 into +0.0)
    s_GABA = s_GABA + inputs.gaba
    x = x + inputs.nmda  # x_j += multiplicity; s_j is not jumped
    V_m, refractory_left, spiked = threshold_and_reset(V_m, refractory_left, V_th, V_reset, refractory_counts)
    return StepEnd(m.layout.assemble(m.xp, V_m, s_AMPA, s_GABA, x, s), refractory_left, spiked)


def threshold_and_reset(V_m, refractory_left, V_th, V_reset, refractory_counts):
    """NEST's clamp / threshold / reset on the integrated V_m; returns (V_m, refractory_left, spiked).

    A refractory neuron (r > 0) counts down and is held at V_reset without a threshold test; any other
    spikes when V_m >= V_th, is reset and becomes refractory for RefractoryCounts steps.
    """
    xp = arraymath.of(V_m).xp
    clamped = refractory_left > 0
    spiked = ~clamped & (V_m >= V_th)
    refractory_left = xp.where(spiked, refractory_counts, xp.where(clamped, refractory_left - 1, refractory_left))
    return xp.where(clamped | spiked, V_reset, V_m), refractory_left, spiked


def recorded_values(y, currents: SynapticCurrents, names) -> dict:
    """The values NEST's multimeter samples after a step, for the recordables ``names`` (both engines): V_m,
    s_AMPA and s_GABA of the state, and the RHS side effects (views where they are parts of y)."""
    V_m, s_AMPA, s_GABA, _, _ = arraymath.of(y).layout.components(y)
    values = {"V_m": V_m, "s_AMPA": s_AMPA, "s_GABA": s_GABA, **currents._asdict()}
    return {name: values[name] for name in names}
