"""GSL's rkf45 tableau and one try."""
import math

import numpy as np

from harness.model import rkf45


def test_tableau_rows_sum_to_their_nodes():
    # Consistency: each stage's b-row sums to its node c_i (GSL's ah = 1/4, 3/8, 12/13, 1, 1/2).
    nodes = (3 / 8, 12 / 13, 1.0, 1 / 2)
    for row, node in zip(rkf45.B, nodes):
        assert math.isclose(sum(row), node, rel_tol=0, abs_tol=1e-15)
    assert math.isclose(sum(rkf45.C), 1.0, abs_tol=1e-15)  # 5th-order weights
    assert abs(sum(rkf45.E)) < 1e-16  # 5th minus 4th order: the weights cancel


def test_coefficients_are_the_c_quotients():
    assert rkf45.B[1][0] == 0.8793809740555303
    assert rkf45.B[2][1] == -8.0
    assert rkf45.C[0] == 0.11851851851851852 and rkf45.C[4] == -0.18
    assert rkf45.E[3] == -0.029199893673577886
    assert rkf45.C[1] == 0.0 and rkf45.E[1] == 0.0


def decay(y):
    return -y


def one_try(h):
    y0 = np.array([[1.0]])
    return rkf45.rkf45_try(decay, y0, np.array([h]), decay(y0))


def test_linear_decay_is_fifth_order_accurate():
    errors = [abs(one_try(h).y[0, 0] - math.exp(-h)) for h in (0.2, 0.1)]
    # local error O(h^6): halving h divides it by about 64
    assert 40 < errors[0] / errors[1] < 90
    assert errors[1] < 1e-9


def test_error_estimate_scales_like_h5():
    e1, e2 = (abs(one_try(h).yerr[0, 0]) for h in (0.2, 0.1))
    assert 20 < e1 / e2 < 45  # the embedded 4th-order difference is O(h^5)


def test_try_is_bitwise_the_gsl_loop_for_exactly_rounded_rhs():
    """With an RHS of basic operations only, the vectorised try equals the scalar C loop bit for bit."""
    rng = np.random.default_rng(4)
    y = rng.normal(size=(3, 4))
    h = np.array([0.1, 0.37, 1e-4])
    def f(v):
        return (-v) / 3.0 + 0.25 * v * v
    out = rkf45.rkf45_try(f, y, h, f(y))
    b, c, e = rkf45.B, rkf45.C, rkf45.E
    for i in range(3):
        yi, hi = y[i].tolist(), float(h[i])
        def fs(v):
            return [(-a) / 3.0 + 0.25 * a * a for a in v]
        k1 = fs(yi)
        k2 = fs([yi[j] + rkf45.A2 * hi * k1[j] for j in range(4)])
        k3 = fs([yi[j] + hi * (b[0][0] * k1[j] + b[0][1] * k2[j]) for j in range(4)])
        k4 = fs([yi[j] + hi * (b[1][0] * k1[j] + b[1][1] * k2[j] + b[1][2] * k3[j]) for j in range(4)])
        k5 = fs([yi[j] + hi * (b[2][0] * k1[j] + b[2][1] * k2[j] + b[2][2] * k3[j] + b[2][3] * k4[j])
                 for j in range(4)])
        k6 = fs([yi[j] + hi * (b[3][0] * k1[j] + b[3][1] * k2[j] + b[3][2] * k3[j] + b[3][3] * k4[j]
                               + b[3][4] * k5[j]) for j in range(4)])
        ynew = [yi[j] + hi * (c[0] * k1[j] + c[2] * k3[j] + c[3] * k4[j] + c[4] * k5[j] + c[5] * k6[j])
                for j in range(4)]
        yerr = [hi * (e[0] * k1[j] + e[2] * k3[j] + e[3] * k4[j] + e[4] * k5[j] + e[5] * k6[j])
                for j in range(4)]
        assert out.y[i].tolist() == ynew
        assert out.yerr[i].tolist() == yerr
