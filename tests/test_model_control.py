"""GSL's standard step-size control (y_new, eps_rel = 0), every branch."""
import math

import numpy as np
import pytest

from harness.model import control
from harness.model.control import DBL_MIN, DECREASE, INCREASE, NIL, adjust_step

TOL = 1e-3


def adjust(rmax, h_old=0.1, tol=TOL):
    """Run the control on one row whose largest error ratio is rmax."""
    yerr = np.array([[rmax * tol, -0.5 * rmax * tol, 0.0]])
    status, h = adjust_step(yerr, np.array([h_old]), np.array([tol]))
    return int(status[0]), float(h[0])


def test_decrease_follows_gsl_formula():
    status, h = adjust(2.0)
    assert status == DECREASE
    r = 0.9 / math.pow(max(abs(2.0 * TOL) / TOL, DBL_MIN), 1.0 / 5)
    assert h == r * 0.1 and h < 0.1


def test_decrease_is_clamped_at_one_fifth():
    status, h = adjust(1e10)
    assert status == DECREASE
    assert h == 0.2 * 0.1


def test_increase_follows_gsl_formula():
    status, h = adjust(0.01)
    rmax = abs(0.01 * TOL) / TOL
    assert status == INCREASE
    assert h == (0.9 / math.pow(rmax, 1.0 / 6.0)) * 0.1
    assert 1.0 < h / 0.1 < 5.0


def test_increase_is_capped_at_five():
    status, h = adjust(1e-9)
    assert (status, h) == (INCREASE, 5.0 * 0.1)


def test_increase_is_at_least_one():
    # just below 0.5 the factor 0.9/rmax^(1/6) is 1.0102...: never a decrease (GSL also clamps r >= 1)
    status, h = adjust(0.4999999)
    assert status == INCREASE and h >= 0.1


@pytest.mark.parametrize("rmax", [0.5, 0.8, 1.1])
def test_nil_band_keeps_h(rmax):
    status, h = adjust(rmax)
    assert (status, h) == (NIL, 0.1)


def test_all_zero_errors_use_dbl_min_floor_and_grow_fivefold():
    status, h = adjust_step(np.zeros((1, 5)), np.array([0.3]), np.array([TOL]))
    assert status[0] == INCREASE and h[0] == 1.5
    assert control.max_error_ratio(np.zeros((1, 5)), np.array([TOL]))[0] == DBL_MIN


def test_nan_ratios_are_ignored_like_gsl_max():
    yerr = np.array([[np.nan, 2.0 * TOL]])
    assert control.max_error_ratio(yerr, np.array([TOL]))[0] == 2.0


def test_one_division_of_the_largest_error_equals_gsl_per_component_maximum():
    """GSL: rmax = DBL_MIN, then for each component r = |yerr_i| / eps, rmax = r > rmax ? r : rmax."""
    rng = np.random.default_rng(31)
    yerr = rng.standard_normal((400, 23)) * 10.0 ** rng.uniform(-320, 3, (400, 23))
    yerr[::7, 3] = np.nan
    yerr[::11, 5] = np.inf
    yerr[::13] = 0.0
    eps = 10.0 ** rng.uniform(-12, -1, 400)

    def gsl(row, e):
        rmax = DBL_MIN
        for value in row:
            r = abs(value) / e
            rmax = r if r > rmax else rmax
        return rmax

    expected = np.array([gsl(row, e) for row, e in zip(yerr.tolist(), eps.tolist())])
    assert np.array_equal(control.max_error_ratio(yerr, eps), expected)


def test_rows_are_independent():
    yerr = np.array([[1e-12], [5.0 * TOL], [0.7 * TOL], [0.05 * TOL]])
    h_old = np.array([0.1, 0.2, 0.3, 0.4])
    status, h = adjust_step(yerr, h_old, np.full(4, TOL))
    assert status.tolist() == [INCREASE, DECREASE, NIL, INCREASE]
    assert h[0] == 0.5 and h[2] == 0.3
    assert h[1] == (0.9 / math.pow(5.0, 0.2)) * 0.2
    assert h[3] == (0.9 / math.pow(0.05, 1.0 / 6)) * 0.4


def test_skipping_pow_below_threshold_is_exact():
    # below SURELY_CAPPED_RMAX the factor exceeds 5 with margin, whatever the last bit of pow
    assert 0.9 / math.pow(control.SURELY_CAPPED_RMAX, 1.0 / 6) > 5.0 * 1.02
    for rmax in np.geomspace(1e-12, 0.49, 400):
        _, h = adjust_step(np.array([[rmax * TOL]]), np.array([0.1]), np.array([TOL]))
        ratio = abs(rmax * TOL) / TOL
        assert h[0] == min(max(0.9 / math.pow(ratio, 1.0 / 6), 1.0), 5.0) * 0.1
