"""The ``ArrayMath`` of the JAX engine: jax.numpy, glibc's exp, an in-order port sum, optimization barriers,
one column per neuron.

Registering it for ``jax.Array`` (tracers included) makes the shared formulas of ``harness.model.rhs``,
``rkf45`` and ``control`` evaluate under JAX exactly as they are written there.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from harness.model import arraymath

from . import glibc_exp


def runtime(value):
    """A constant the XLA simplifier cannot see through (it would drop ``x + 0.0``)."""
    return lax.optimization_barrier(jnp.asarray(value, dtype=jnp.float64))


# Neurons per shard. From 12 on the separate kernel wins clearly, and it also frees the RHS kernels to
# vectorise: 100 x 100 ports (26 neurons per shard) 1.82 -> 1.64 µs/neuron-step, 100 x 10 0.53 -> 0.41,
# 20 x 10 1.09 -> 0.8. At 4 to 10 neurons the two are level; for one neuron (the per-step API) the extra
# kernels cost more (65 vs 82 µs per step).
SEPARATE_EXP_KERNEL_FROM = 8


def exp(x):
    """glibc's exp. Arguments outside 2^-54 <= |x| < 512 (|V_m| above 8258 mV or below 1e-15 mV), and the
    rare ones whose fused rounding matters, are handled by a second branch, so the usual call takes
    ``glibc_exp.exp_short_path``.

    The branch has a second purpose: a ``lax.cond`` makes the exp a kernel of its own. Fused into the RHS
    kernel (whose output interleaves all state components), XLA compiles its ~200 operations to scalar code,
    about 3x slower than the separate, vectorised kernel; an optimization barrier does not stop that fusion.
    Off the CPU the exp stays fused: a GPU thread computes one element either way, and a conditional would
    copy its predicate to the host and wait for it on every call.
    """
    if x.size < SEPARATE_EXP_KERNEL_FROM or jax.default_backend() != "cpu":
        return glibc_exp.exp(x, jnp, runtime)
    return lax.cond(jnp.all(glibc_exp.on_short_path(x, jnp, runtime)),
                    lambda v: glibc_exp.exp_short_path(v, jnp, runtime),
                    lambda v: glibc_exp.exp(v, jnp, runtime), x)


def port_sum_in_order(terms):
    """((t_0 + t_1) + t_2) + ... over the ports (axis 0, one row per port), unrolled at trace time (XLA's
    reduce and cumsum may add pairwise)."""
    acc = terms[0]
    for j in range(1, terms.shape[0]):
        acc = acc + terms[j]
    return acc


def divide(a, b):
    """a / b with b materialised at the result's shape behind a barrier: XLA turns a division by a
    broadcast into a multiplication by its reciprocal (a last-bit change for ~25 % of operands)."""
    shape = jnp.broadcast_shapes(jnp.shape(a), jnp.shape(b))
    return a / lax.optimization_barrier(jnp.broadcast_to(jnp.asarray(b, dtype=jnp.float64), shape))


JAX = arraymath.ArrayMath(jnp, exp, port_sum_in_order, runtime, divide, arraymath.NEURON_COLUMNS)
arraymath.register(jax.Array, JAX)
