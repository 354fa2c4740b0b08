"""GSL's standard step-size control as NEST sets it up: ``gsl_odeiv_control_y_new(eps_abs=tol, eps_rel=0)``.

That is the "standard" control with a_y = 1 and a_dydt = 0. Per component GSL forms
``D0 = eps_rel*(a_y*|y| + a_dydt*|h*y'|) + eps_abs``, which is exactly ``eps_abs`` for every finite y
(0 * finite = 0), and ``r = |yerr| / |D0|``; ``rmax`` starts at DBL_MIN and takes the larger of itself and
each r (so a NaN r is ignored, as GSL's ``r > rmax ? r : rmax`` ignores it). Then, with ``ord`` = 5:

* rmax > 1.1  -> DECREASE: h = max(0.9 / rmax^(1/ord), 0.2) * h_old
* rmax < 0.5  -> INCREASE: h = clamp(0.9 / rmax^(1/(ord+1)), 1, 5) * h_old
* otherwise   -> NIL: h unchanged
"""
from __future__ import annotations

import sys

import numpy as np

from . import libm
from .rkf45 import ORDER

DBL_MIN = sys.float_info.min  # 2.2250738585072014e-308, GSL's starting rmax
DECREASE, NIL, INCREASE = -1, 0, 1
SAFETY = 0.9
MAX_SHRINK = 0.2
MAX_GROWTH = 5.0

DECREASE_EXPONENT = 1.0 / ORDER  # 0.2, as C computes 1.0 / (unsigned) 5
INCREASE_EXPONENT = 1.0 / (ORDER + 1.0)  # 0.16666666666666666

# Below this rmax the increase factor 0.9 / rmax^(1/6) exceeds 5 by more than 2 %, so it is capped at 5
# however pow rounds. Skipping the (slow, per element) exact pow there is therefore exact, and that is
# the common case: a clipped, tiny final sub-step has rmax ~1e-8 or less.
SURELY_CAPPED_RMAX = 3.0e-5


def max_error_ratio(yerr: np.ndarray, eps_abs: np.ndarray) -> np.ndarray:
    """rmax per row: max(DBL_MIN, max_i |yerr_i| / eps_abs), NaN ratios ignored as GSL ignores them."""
    ratios = np.abs(yerr) / eps_abs[:, None]
    return np.fmax(np.fmax.reduce(ratios, axis=1), DBL_MIN)


def adjust_step(yerr: np.ndarray, h_old: np.ndarray, eps_abs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GSL's ``hadjust`` for each row: returns (status in {DECREASE, NIL, INCREASE}, proposed h)."""
    rmax = max_error_ratio(yerr, eps_abs)
    if rmax.max() < SURELY_CAPPED_RMAX:  # every row grows by the full factor 5 (the usual case)
        return np.full(rmax.shape, INCREASE, dtype=np.int8), MAX_GROWTH * h_old
    status = np.full(rmax.shape, NIL, dtype=np.int8)
    h_new = h_old.copy()

    shrink = np.flatnonzero(rmax > 1.1)
    if shrink.size:
        r = SAFETY / libm.pow_at(rmax[shrink], DECREASE_EXPONENT)
        r = np.where(r < MAX_SHRINK, MAX_SHRINK, r)
        h_new[shrink] = r * h_old[shrink]
        status[shrink] = DECREASE

    grow = rmax < 0.5
    status[grow] = INCREASE
    capped = np.flatnonzero(grow & (rmax < SURELY_CAPPED_RMAX))
    h_new[capped] = MAX_GROWTH * h_old[capped]
    exact = np.flatnonzero(grow & (rmax >= SURELY_CAPPED_RMAX))
    if exact.size:
        r = SAFETY / libm.pow_at(rmax[exact], INCREASE_EXPONENT)
        r = np.where(r > MAX_GROWTH, MAX_GROWTH, r)
        r = np.where(r < 1.0, 1.0, r)
        h_new[exact] = r * h_old[exact]
    return status, h_new
