"""The C library's ``pow`` for the step-size control, called on the host.

GSL's control needs ``pow(rmax, 1/5)`` after a rejected-size try and ``pow(rmax, 1/6)`` for a moderate
increase. XLA's ``pow`` is not glibc's, and glibc's pow (a 128-entry log table plus an exp, with
FMA-dependent paths) is not reimplemented here: it is rare enough to leave to the host. Python's
``math.pow`` is the C library's. The callback runs only in loop passes where some neuron needs it
(``lax.cond`` on a scalar predicate executes one branch); in the common regime the increase is capped at
5 without any pow (``control.SURELY_CAPPED_RMAX``) and no callback happens at all.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def _pow_on_host(base, exponent, needed) -> np.ndarray:
    # The callback receives jax Arrays; indexing those would dispatch XLA operations (~1 ms per call).
    base, exponent, needed = np.asarray(base), np.asarray(exponent), np.asarray(needed)
    out = np.ones(base.shape, dtype=np.float64)
    index = np.flatnonzero(needed)
    out[index] = [math.pow(b, e) for b, e in zip(base[index].tolist(), exponent[index].tolist())]
    return out


def c_pow(base, exponent, needed):
    """pow(base_i, exponent_i) of the C library where ``needed``, 1.0 elsewhere."""
    shape = jax.ShapeDtypeStruct(base.shape, jnp.float64)
    return lax.cond(jnp.any(needed),
                    lambda: jax.pure_callback(_pow_on_host, shape, base, exponent, needed),
                    lambda: jnp.ones_like(base))
