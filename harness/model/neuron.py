"""One simulation step of iaf_bw_2001_exact, in NEST's order (``iaf_bw_2001_exact::update``), for n neurons.

1. integrate (0, step] (``evolve.advance``) with this step's I_stim;
2. add the pre-summed ring-buffer slots: s_AMPA += A[k], s_GABA += G[k], x_j += X_j[k] (s_j is not jumped);
3. refractory neurons (r > 0): r -= 1 and V_m = V_reset, no threshold test; the others spike if
   V_m >= V_th: r = RefractoryCounts, V_m = V_reset;
4. I_stim = C[k], felt from the next step on.

The recorded currents and s_NMDA are NEST's RHS side effects of the last RHS call of the step, which is the
``dydt_out`` evaluation at the end-of-integration state y- (see ``rkf45``). They are computed here from y-
(same inputs, same expressions, hence the same bits), before the jumps and the reset change y.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .evolve import TryTally, advance
from .parameters import Parameters
from .rhs import Coefficients, SynapticCurrents, derivative, nmda_blocks, synaptic_currents


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


def update(state: NeuronState, p: Parameters, coefficients: Coefficients, eps_abs: np.ndarray,
           refractory_counts: np.ndarray, step: float, inputs: StepInputs) -> tuple[np.ndarray, SynapticCurrents]:
    """Advance every neuron by one simulation step; returns (spiked mask, recorded RHS side effects)."""
    y = state.y
    I_stim = state.I_stim

    def rhs_for(index):
        if index is None:
            return lambda ys: derivative(ys, coefficients, I_stim)
        c, I = coefficients.take(index), I_stim[index]
        return lambda ys: derivative(ys, c, I)

    advance(y, state.h, step, rhs_for, eps_abs, state.tally)
    currents = synaptic_currents(y, coefficients)

    y[:, 1] += inputs.ampa  # added even when 0.0, as NEST does (it turns a -0.0 into +0.0)
    y[:, 2] += inputs.gaba
    x, _ = nmda_blocks(y)
    x += inputs.nmda  # x_j += multiplicity; s_j is not jumped

    spiked = threshold_and_reset(y, state.refractory_left, p, refractory_counts)
    state.I_stim = np.array(inputs.current, dtype=np.float64, copy=True)
    return spiked, currents


def threshold_and_reset(y: np.ndarray, refractory_left: np.ndarray, p: Parameters,
                        refractory_counts: np.ndarray) -> np.ndarray:
    """NEST's clamp / threshold / reset on the integrated V_m; returns which neurons spiked."""
    clamped = refractory_left > 0
    refractory_left[clamped] -= 1
    spiked = ~clamped & (y[:, 0] >= p.V_th)
    refractory_left[spiked] = refractory_counts[spiked]
    reset = clamped | spiked
    y[reset, 0] = p.V_reset[reset]
    return spiked
