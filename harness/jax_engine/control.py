"""GSL's step-size control for every neuron at once, from the formulas of ``harness.model.control``.

The exact engine applies the formulas to index subsets; here every neuron gets every branch and masks pick
the right one. The constants, thresholds and factor formulas are the exact engine's own functions.
"""
from __future__ import annotations

import jax.numpy as jnp

from harness.model.control import (
    DECREASE,
    DECREASE_EXPONENT,
    GROW_BELOW,
    INCREASE,
    INCREASE_EXPONENT,
    MAX_GROWTH,
    NIL,
    SHRINK_ABOVE,
    SURELY_CAPPED_RMAX,
    decrease_factor,
    increase_factor,
    max_error_ratio,
)

from .host_pow import c_pow


def adjust_step(yerr, h_old, eps_abs):
    """GSL's ``hadjust`` per neuron: (status in {DECREASE, NIL, INCREASE}, proposed h)."""
    rmax = max_error_ratio(yerr, eps_abs)
    shrink = rmax > SHRINK_ABOVE
    grow = rmax < GROW_BELOW
    capped = grow & (rmax < SURELY_CAPPED_RMAX)  # factor 5 whatever pow says: no pow needed
    exponent = jnp.where(shrink, DECREASE_EXPONENT, INCREASE_EXPONENT)
    powed = c_pow(rmax, exponent, shrink | (grow & ~capped))
    factor = jnp.where(shrink, decrease_factor(powed), jnp.where(capped, MAX_GROWTH, increase_factor(powed)))
    status = jnp.where(shrink, DECREASE, jnp.where(grow, INCREASE, NIL))
    return status, jnp.where(status == NIL, h_old, factor * h_old)
