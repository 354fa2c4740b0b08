"""The right-hand side of iaf_bw_2001_exact, vectorised over neurons.

The equations (``derivative``, ``synaptic_currents``) as mathematics, with units and NEST's defaults, are in
docs/model.md#equations.

State layout, one row per neuron (the JAX engine transposes it: one column per neuron, see
``arraymath.Layout``):

    y[:, 0] = V_m     y[:, 1] = s_AMPA     y[:, 2] = s_GABA
    y[:, 3 : 3+P]    = x_0 ... x_{P-1}   (NMDA rise variables, port order)
    y[:, 3+P : 3+2P] = s_0 ... s_{P-1}   (NMDA gating variables, port order)

NEST interleaves (x_j, s_j); the blocked layout keeps each block contiguous (faster) and changes no bit:
the RK stages and the error control act component by component, the error control's maximum does not
depend on the order, and the weighted sum S still runs over the ports in port order.

Every expression is written exactly as NEST evaluates it, operation by operation and with the parentheses
of the C++ source, because a single re-association or a ``1/tau`` reciprocal already changes the last
bits. Elementwise + - * / on float64 are correctly rounded, so they equal the C++ scalar operations; only
``exp`` needs care (see ``libm`` and docs/model.md#numerics). The functions are written once against
``arraymath`` (NumPy arrays in, NumPy out; JAX arrays in, JAX out), so the JAX engine evaluates exactly
these expressions.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import arraymath
from .parameters import Parameters

N_FIXED = arraymath.N_FIXED  # V_m, s_AMPA, s_GABA; the NMDA blocks follow
MG_BLOCK_DIVISOR = 3.57  # NEST's literal in the Mg block (mM)


def nmda_blocks(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Views (x, s) of the NMDA rise and gating blocks, each (n, P) (the exact engine's layout)."""
    return arraymath.NEURON_ROWS.components(y)[3:]


class Coefficients:
    """Per-neuron constants of the RHS: parameters and NMDA port weights.

    Column vectors ([:, None]) are prepared once so the (n, P) NMDA expressions broadcast without
    re-slicing in every call. ``neg_g_L`` is NEST's ``-g_L`` (negation is exact).
    """

    def __init__(self, p: Parameters, weights: np.ndarray):
        self.E_L, self.E_ex, self.E_in = p.E_L, p.E_ex, p.E_in
        self.neg_g_L, self.C_m, self.conc_Mg2 = -p.g_L, p.C_m, p.conc_Mg2
        self.tau_AMPA, self.tau_GABA = p.tau_AMPA, p.tau_GABA
        self.tau_rise = p.tau_rise_NMDA[:, None]
        self.tau_decay = p.tau_decay_NMDA[:, None]
        self.alpha = p.alpha[:, None]
        self.weights = weights

    def take(self, index: np.ndarray) -> "Coefficients":
        subset = Coefficients.__new__(Coefficients)
        subset.__dict__ = {name: value[index] for name, value in self.__dict__.items()}
        return subset


class SynapticCurrents(NamedTuple):
    """The RHS side effects NEST records: I_AMPA, I_GABA, I_NMDA and s_NMDA (= weighted sum S)."""

    I_AMPA: np.ndarray
    I_GABA: np.ndarray
    I_NMDA: np.ndarray
    s_NMDA: np.ndarray


def nmda_weighted_sum(s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """NEST's ``S = 0.0; for j in ports: S = S + s_j * w_j``, per neuron, in port order (the recorded s_NMDA).

    ``port_sum_in_order`` adds strictly left to right (unlike ``np.sum``, which adds pairwise):
    ``((p_0 + p_1) + p_2) + ...``. NEST's sum starts from ``+0.0``; ``0.0 + p_0`` equals ``p_0``
    except that it turns ``-0.0`` into ``+0.0``, and the two running sums can only differ in the sign of a
    zero while every term so far was a zero. So adding ``0.0`` once at the end gives NEST's result exactly.
    Zero-weight padding ports add ``+-0.0`` terms and therefore change nothing.
    """
    m = arraymath.of(s)
    port_axis = m.layout.component_axis
    if s.shape[port_axis] == 0:
        return m.xp.zeros(s.shape[1 - port_axis])
    return m.port_sum_in_order(s * w) + m.runtime(0.0)


def synaptic_currents(y: np.ndarray, c: Coefficients) -> SynapticCurrents:
    """The synaptic currents (pA) at state y, and S; NEST records them from the step's last RHS call:

        I_AMPA = (V_m - E_ex) s_AMPA
        I_GABA = (V_m - E_in) s_GABA
        I_NMDA = (V_m - E_ex) / (1 + conc_Mg2 exp(-0.062 V_m) / 3.57) * S,     S = sum_j w_j s_j

    (the fraction is the Mg block; -0.062 in 1/mV, 3.57 in mM). See docs/model.md#recordables for why the
    recorded values are these at the end-of-integration state, before the spike jumps and the reset.
    """
    m = arraymath.of(y)
    V, s_AMPA, s_GABA, _, s = m.layout.components(y)
    V_minus_E_ex = V - c.E_ex  # NEST computes this twice; same operands, same bits
    I_AMPA = V_minus_E_ex * s_AMPA
    I_GABA = (V - c.E_in) * s_GABA
    S = nmda_weighted_sum(s, c.weights)
    # The negative literal -0.062 and the division by 3.57 *after* the multiplication by conc_Mg2 are NEST's.
    I_NMDA = (V_minus_E_ex / (1 + m.divide(c.conc_Mg2 * m.exp((-0.062) * V), MG_BLOCK_DIVISOR))) * S
    return SynapticCurrents(I_AMPA, I_GABA, I_NMDA, S)


def derivative(y: np.ndarray, c: Coefficients, I_stim: np.ndarray) -> np.ndarray:
    """dy/dt for every neuron (docs/model.md#equations); I_stim is the step's stimulus current (pA):

        dV_m/dt    = (-g_L (V_m - E_L) - I_syn + I_stim) / C_m,    I_syn = I_AMPA + I_GABA + I_NMDA
        ds_AMPA/dt = -s_AMPA / tau_AMPA
        ds_GABA/dt = -s_GABA / tau_GABA
        dx_j/dt    = -x_j / tau_rise_NMDA                              for each NMDA port j
        ds_j/dt    = -s_j / tau_decay_NMDA + alpha x_j (1 - s_j)

    with the currents of ``synaptic_currents``. The code's parentheses are NEST's evaluation order, e.g.
    ``((-g_L * (V - E_L)) - I_syn) + I_stim``; I_stim is constant within a step and time does not appear.
    """
    m = arraymath.of(y)
    I_AMPA, I_GABA, I_NMDA, _ = synaptic_currents(y, c)
    V, s_AMPA, s_GABA, x, s = m.layout.components(y)
    I_syn = (I_AMPA + I_GABA) + I_NMDA
    f_V = (((c.neg_g_L * (V - c.E_L)) - I_syn) + I_stim) / c.C_m
    f_AMPA = (-s_AMPA) / c.tau_AMPA  # a true division: s * (1/tau) differs by ~1e-14
    f_GABA = (-s_GABA) / c.tau_GABA
    f_x = m.divide(-x, c.tau_rise)  # tau: (n, 1) or (1, n), broadcast over the ports
    f_s = m.divide(-s, c.tau_decay) + ((c.alpha * x) * (1 - s))
    return m.layout.assemble(m.xp, f_V, f_AMPA, f_GABA, f_x, f_s)
