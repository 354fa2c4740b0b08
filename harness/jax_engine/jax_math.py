"""The ``ArrayMath`` of the JAX engine: jax.numpy, glibc's exp, an in-order row sum, optimization barriers.

Registering it for ``jax.Array`` (tracers included) makes the shared formulas of ``harness.model.rhs``,
``rkf45`` and ``control`` evaluate under JAX exactly as they are written there.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ..model import arraymath
from . import glibc_exp


def runtime(value):
    """A constant the XLA simplifier cannot see through (it would drop ``x + 0.0``)."""
    return lax.optimization_barrier(jnp.asarray(value, dtype=jnp.float64))


def exp(x):
    return glibc_exp.exp(x, jnp, runtime)


def row_sum_in_order(terms):
    """((t_0 + t_1) + t_2) + ... per row, unrolled at trace time (XLA's reduce and cumsum may add pairwise)."""
    acc = terms[:, 0]
    for j in range(1, terms.shape[1]):
        acc = acc + terms[:, j]
    return acc


def divide(a, b):
    """a / b with b materialised at the result's shape behind a barrier: XLA turns a division by a
    broadcast into a multiplication by its reciprocal (a last-bit change for ~25 % of operands)."""
    shape = jnp.broadcast_shapes(jnp.shape(a), jnp.shape(b))
    return a / lax.optimization_barrier(jnp.broadcast_to(jnp.asarray(b, dtype=jnp.float64), shape))


JAX = arraymath.ArrayMath(jnp, exp, row_sum_in_order, runtime, divide)
arraymath.register(jax.Array, JAX)
