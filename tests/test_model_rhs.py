"""The right-hand side against a literal scalar transcription of NEST's iaf_bw_2001_exact_dynamics."""
import math

import numpy as np

from harness.model import libm
from harness.model.parameters import Parameters
from harness.model.rhs import Coefficients, derivative, nmda_weighted_sum, synaptic_currents


def nest_rhs(y, p, I_stim, w):
    """NEST's RHS for one neuron, interleaved layout y = [V, sA, sG, x0, s0, x1, s1, ...]."""
    V = y[0]
    I_AMPA = (V - p["E_ex"]) * y[1]
    I_GABA = (V - p["E_in"]) * y[2]
    S = 0.0
    for j, wj in enumerate(w):
        S = S + y[4 + 2 * j] * wj
    I_NMDA = ((V - p["E_ex"]) / (1 + ((p["conc_Mg2"] * math.exp((-0.062) * V)) / 3.57))) * S
    I_syn = (I_AMPA + I_GABA) + I_NMDA
    f = [0.0] * len(y)
    f[0] = ((((-p["g_L"]) * (V - p["E_L"])) - I_syn) + I_stim) / p["C_m"]
    f[1] = (-y[1]) / p["tau_AMPA"]
    f[2] = (-y[2]) / p["tau_GABA"]
    for j in range(len(w)):
        x, s = y[3 + 2 * j], y[4 + 2 * j]
        f[4 + 2 * j] = ((-s) / p["tau_decay_NMDA"]) + ((p["alpha"] * x) * (1 - s))
        f[3 + 2 * j] = (-x) / p["tau_rise_NMDA"]
    return f, (I_AMPA, I_GABA, I_NMDA, S)


def test_rhs_is_bitwise_nest_for_random_states_and_parameters():
    rng = np.random.default_rng(7)
    n, P = 50, 4
    values = {"E_L": rng.uniform(-80, -60, n), "g_L": rng.uniform(10, 40, n), "C_m": rng.uniform(100, 900, n),
              "tau_AMPA": rng.uniform(0.5, 5, n), "tau_decay_NMDA": rng.uniform(50, 150, n),
              "alpha": rng.uniform(0.1, 1, n), "conc_Mg2": rng.uniform(0.5, 2, n), "E_in": rng.uniform(-90, -60, n)}
    p = Parameters(n, values)
    w = rng.uniform(-5, 20, (n, P))
    w[3, 2:] = 0.0  # padding ports
    y = np.empty((n, 3 + 2 * P))
    y[:, 0] = rng.uniform(-90, 10, n)
    y[:, 1:] = rng.uniform(0, 3, (n, 2 + 2 * P))
    I_stim = rng.uniform(-500, 500, n)
    f = derivative(y, Coefficients(p, w), I_stim)
    cur = synaptic_currents(y, Coefficients(p, w))
    for i in range(n):
        interleaved = [y[i, 0], y[i, 1], y[i, 2]]
        for j in range(P):
            interleaved += [y[i, 3 + j], y[i, 3 + P + j]]
        pi = {k: float(v[i]) for k, v in p.as_dict().items()}
        f_ref, cur_ref = nest_rhs(interleaved, pi, float(I_stim[i]), w[i].tolist())
        mine = [f[i, 0], f[i, 1], f[i, 2]]
        for j in range(P):
            mine += [f[i, 3 + j], f[i, 3 + P + j]]
        assert mine == f_ref
        assert (cur.I_AMPA[i], cur.I_GABA[i], cur.I_NMDA[i], cur.s_NMDA[i]) == cur_ref


def test_nmda_sum_is_sequential_in_port_order_including_signed_zeros():
    rng = np.random.default_rng(8)
    s = rng.normal(size=(200, 30)) * 10.0 ** rng.integers(-8, 8, (200, 30))
    w = rng.normal(size=(200, 30))
    s[0] = -0.0  # all terms -0.0: NEST's sum is +0.0
    s[1, :5] = 0.0
    w[1, :5] = -1.0
    got = nmda_weighted_sum(s, w)
    for i in range(200):
        S = 0.0
        for j in range(30):
            S = S + s[i, j] * w[i, j]
        assert got[i].tobytes() == np.float64(S).tobytes()
    assert np.signbit(got[0]) == False  # noqa: E712


def test_exp_route_equals_glibc_exp():
    x = np.random.default_rng(9).uniform(-8, 8, 50000)
    assert np.array_equal(libm.exp(x), np.array([math.exp(v) for v in x]))
    assert libm.exp(np.zeros((2, 3))).shape == (2, 3)


def test_exp_near_overflow_equals_glibc_and_overflows_to_inf():
    # glibc's cexp rescales above 709 and is then 1 ulp off exp for ~30 % of these arguments
    x = np.linspace(709.0, 709.78, 20001)
    assert np.array_equal(libm.exp(x), np.array([math.exp(v) for v in x]))
    assert libm.exp(np.array([710.0, 1e5]))[0] == math.inf and libm.exp(np.array([-1e5]))[0] == 0.0
