"""evolve_apply and NEST's sub-step loop, vectorised with per-neuron masks."""
import math

import numpy as np

from harness.model import evolve, rkf45
from harness.model.control import DECREASE, adjust_step


def linear(rates):
    """rhs_for for y' = -rate_i * y (row i); rates may differ per neuron."""
    def rhs_for(index):
        r = rates if index is None else rates[index]
        return lambda y: -(r[:, None] * y)
    return rhs_for


def scalar_gsl_step(y, h, step, f, tol):
    """A literal scalar transcription of NEST's loop around gsl_odeiv_evolve_apply (one neuron)."""
    t = 0.0
    tries = 0
    while t < step:
        t0, h0, rem = t, h, step - t
        y0 = y.copy()
        dydt_in = f(y0)
        while True:
            final = rem >= 0 and h0 > rem
            if final:
                h0 = rem
            out = rkf45.rkf45_try(f, y0, np.array([h0]), dydt_in)
            tries += 1
            t_new = step if final else t0 + h0
            h_used = h0
            status, h_prop = adjust_step(out.yerr, np.array([h_used]), np.array([tol]))
            h0 = float(h_prop[0])
            if status[0] == DECREASE:
                if abs(h0) < abs(h_used) and t_new + h0 != t_new:
                    continue
                h0 = h_used
            y, t, h = out.y, t_new, h0
            break
    return y, h, tries


def test_final_sub_step_is_clipped_and_h_comes_from_the_clipped_step():
    y = np.array([[1.0]])
    h = np.array([0.25])
    evolve.advance(y, h, 0.1, linear(np.array([1.0])), np.array([1e-3]))
    # one try of length 0.1 (clipped from 0.25), error tiny -> 5 * 0.1, not 5 * 0.25
    assert h[0] == 5 * 0.1
    assert abs(y[0, 0] - math.exp(-0.1)) < 1e-8  # one 5th-order step


def test_unclipped_then_clipped_sub_steps():
    y = np.array([[1.0]])
    h = np.array([0.03])
    evolve.advance(y, h, 0.1, linear(np.array([1.0])), np.array([1e-3]))
    # 0.03 (-> 0.15), then the remaining 0.07 is clipped (-> 0.35)
    assert h[0] == 5 * (0.1 - 0.03)


def test_nil_after_clipped_step_keeps_the_clipped_h():
    # rate and tolerance chosen so that the clipped step's rmax lies in the NIL band [0.5, 1.1]
    y0 = np.array([[1.0]])
    step, rate = 0.1, 60.0
    out = rkf45.rkf45_try(lambda y: -rate * y, y0, np.array([step]), -rate * y0)
    tol = abs(out.yerr[0, 0]) / 0.8  # rmax = 0.8
    y, h = y0.copy(), np.array([0.3])
    evolve.advance(y, h, step, linear(np.array([rate])), np.array([tol]))
    assert h[0] == step


def test_rejections_retry_from_the_start_state():
    y = np.array([[1.0]])
    h = np.array([1.0])
    ref_y, ref_h, tries = scalar_gsl_step(y.copy(), 1.0, 1.0, lambda v: -(np.array([3.0])[:, None] * v), 1e-9)
    evolve.advance(y, h, 1.0, linear(np.array([3.0])), np.array([1e-9]))
    assert tries > 20  # many sub-steps and rejections were exercised
    assert y[0, 0] == ref_y[0, 0] and h[0] == ref_h


def test_neurons_with_different_sub_steps_match_their_scalar_runs_bitwise():
    rates = np.array([0.5, 3.0, 40.0, 1.0, 7.0])
    tols = np.array([1e-3, 1e-9, 1e-6, 1e-12, 1e-4])
    y = np.ones((5, 1))
    h = np.array([1.0, 1.0, 0.01, 2.0, 1.0])
    ref = [(y[i:i + 1].copy(), float(h[i])) for i in range(5)]
    for _ in range(4):  # h persists across steps
        evolve.advance(y, h, 1.0, linear(rates), tols)
        for i in range(5):
            def f(v, r=rates[i]):
                return -(np.array([r])[:, None] * v)
            yi, hi, _ = scalar_gsl_step(ref[i][0], ref[i][1], 1.0, f, tols[i])
            ref[i] = (yi, hi)
    for i in range(5):
        assert y[i, 0] == ref[i][0][0, 0]
        assert h[i] == ref[i][1]


def counting(rhs_for, calls):
    """rhs_for that counts the rows each RHS call evaluates."""
    def counted_rhs_for(index):
        f = rhs_for(index)

        def g(y):
            calls.append(y.shape[0])
            return f(y)
        return g
    return counted_rhs_for


def test_no_rhs_call_at_the_end_state_unless_a_sub_step_follows():
    """GSL's try ends with f(y_new) for the next sub-step's k1; a step of one try per neuron needs k1 and the
    five stages only (6 calls), and f(y_new) is evaluated only for neurons that go on."""
    calls = []
    y, h = np.ones((2, 1)), np.array([1.0, 1.0])
    evolve.advance(y, h, 0.1, counting(linear(np.array([1.0, 2.0])), calls), np.array([1e-3, 1e-3]))
    assert calls == [2] * 6
    calls.clear()
    # Neuron 0 makes one clipped try; neuron 1 a sub-step of 0.04 (after which h grows to 0.2), then the
    # clipped rest: one f(y_new) for neuron 1, then its second try.
    y, h = np.ones((2, 1)), np.array([1.0, 0.04])
    evolve.advance(y, h, 0.1, counting(linear(np.array([1.0, 1.0])), calls), np.array([1.0, 1.0]))
    assert calls == [2] * 6 + [1] + [1] * 5
    assert h[1] == 5 * (0.1 - 0.04)
