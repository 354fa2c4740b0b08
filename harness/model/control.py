"""GSL's standard step-size control as NEST sets it up: ``gsl_odeiv_control_y_new(eps_abs=tol, eps_rel=0)``.

That is the "standard" control with a_y = 1 and a_dydt = 0. Per component GSL forms
``D0 = eps_rel*(a_y*|y| + a_dydt*|h*y'|) + eps_abs``, which is exactly ``eps_abs`` for every finite y
(0 * finite = 0), and ``r = |yerr| / |D0|``; ``rmax`` starts at DBL_MIN and takes the larger of itself and
each r (so a NaN r is ignored, as GSL's ``r > rmax ? r : rmax`` ignores it). Then, with ``ord`` = 5:

* rmax > 1.1  -> DECREASE: h = max(0.9 / rmax^(1/ord), 0.2) * h_old
* rmax < 0.5  -> INCREASE: h = clamp(0.9 / rmax^(1/(ord+1)), 1, 5) * h_old
* otherwise   -> NIL: h unchanged

The formulas (``max_error_ratio``, ``decrease_factor``, ``increase_factor``) are written once against
``arraymath`` and shared with the JAX engine; ``adjust_step`` is the NumPy driver that applies them only to
the rows that need them, because C's pow has to be called element by element.
"""
from __future__ import annotations

import sys

import numpy as np

from . import arraymath, libm
from .rkf45 import ORDER

DBL_MIN = sys.float_info.min  # 2.2250738585072014e-308, GSL's starting rmax
DECREASE, NIL, INCREASE = -1, 0, 1
SAFETY = 0.9
MAX_SHRINK = 0.2
MAX_GROWTH = 5.0

SHRINK_ABOVE = 1.1  # rmax above: DECREASE
GROW_BELOW = 0.5  # rmax below: INCREASE

DECREASE_EXPONENT = 1.0 / ORDER  # 0.2, as C computes 1.0 / (unsigned) 5
INCREASE_EXPONENT = 1.0 / (ORDER + 1.0)  # 0.16666666666666666

# Below this rmax the increase factor 0.9 / rmax^(1/6) exceeds 5 by more than 2 %, so it is capped at 5
# however pow rounds. Skipping the (slow, per element) exact pow there is therefore exact, and that is
# the common case: a clipped, tiny final sub-step has rmax ~1e-8 or less.
SURELY_CAPPED_RMAX = 3.0e-5


def max_error_ratio(yerr: np.ndarray, eps_abs: np.ndarray) -> np.ndarray:
    """rmax per neuron: max(DBL_MIN, max_i |yerr_i| / eps_abs), NaN ratios ignored as GSL ignores them.

    GSL divides every component; here the largest |yerr_i| is divided once. That is the same double:
    division by the same eps_abs > 0 and rounding are both monotonic, so the largest rounded quotient is
    the rounded quotient of the largest error (NaN errors are skipped either way, an infinite one gives inf
    either way). It saves one division per state value and try, ~1/8 of the engines' divisions.
    """
    m = arraymath.of(yerr)
    largest = m.xp.nanmax(m.xp.abs(yerr), axis=m.layout.component_axis, initial=0.0)
    ratio = m.divide(largest, eps_abs)
    return m.xp.where(ratio > DBL_MIN, ratio, DBL_MIN)  # GSL's running max starts from DBL_MIN


def decrease_factor(rmax_pow_decrease):
    """GSL's shrink factor from pow(rmax, DECREASE_EXPONENT): 0.9 / p, but at least MAX_SHRINK."""
    r = SAFETY / rmax_pow_decrease
    return arraymath.of(r).xp.where(r < MAX_SHRINK, MAX_SHRINK, r)


def increase_factor(rmax_pow_increase):
    """GSL's growth factor from pow(rmax, INCREASE_EXPONENT): 0.9 / p clamped to [1, MAX_GROWTH]."""
    xp = arraymath.of(rmax_pow_increase).xp
    r = SAFETY / rmax_pow_increase
    r = xp.where(r > MAX_GROWTH, MAX_GROWTH, r)
    return xp.where(r < 1.0, 1.0, r)


def adjust_step(yerr: np.ndarray, h_old: np.ndarray, eps_abs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GSL's ``hadjust`` for each row: returns (status in {DECREASE, NIL, INCREASE}, proposed h)."""
    rmax = max_error_ratio(yerr, eps_abs)
    if rmax.max() < SURELY_CAPPED_RMAX:  # every row grows by the full factor 5 (the usual case)
        return np.full(rmax.shape, INCREASE, dtype=np.int8), MAX_GROWTH * h_old
    status = np.full(rmax.shape, NIL, dtype=np.int8)
    h_new = h_old.copy()

    shrink = np.flatnonzero(rmax > SHRINK_ABOVE)
    if shrink.size:
        h_new[shrink] = decrease_factor(libm.pow_at(rmax[shrink], DECREASE_EXPONENT)) * h_old[shrink]
        status[shrink] = DECREASE

    grow = rmax < GROW_BELOW
    status[grow] = INCREASE
    capped = np.flatnonzero(grow & (rmax < SURELY_CAPPED_RMAX))
    h_new[capped] = MAX_GROWTH * h_old[capped]
    exact = np.flatnonzero(grow & (rmax >= SURELY_CAPPED_RMAX))
    if exact.size:
        h_new[exact] = increase_factor(libm.pow_at(rmax[exact], INCREASE_EXPONENT)) * h_old[exact]
    return status, h_new
