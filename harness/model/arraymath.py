"""The array namespace the model's formulas are written against, so the RHS, the RKF45 tableau and the step
control exist once and serve both the exact NumPy engine and the JAX engine (``harness.jax_engine``).

The formulas use plain ``+ - * /`` (identical, correctly rounded, in both) and take what differs from an
``ArrayMath``, chosen by the type of the arrays they are given (as the array-API's ``array_namespace``):

* ``xp``: ``numpy`` or ``jax.numpy``;
* ``exp``: the C library's exp, bit for bit (``libm.exp`` here; a glibc reimplementation under JAX);
* ``row_sum_in_order``: row sums added strictly left to right (NEST's port loop), never pairwise;
* ``runtime``: hides a literal from the compiler. The identity for NumPy; under XLA an optimization barrier,
  because XLA's simplifier drops ``x + 0.0`` (keeping a -0.0 that C turns into +0.0);
* ``divide(a, b)``: ``a / b`` where b broadcasts (a per-neuron tau over the ports, a scalar). XLA rewrites a
  division by a broadcast or a literal as a multiplication by the reciprocal, which C does not do and which
  changes the last bit for ~25 % of operands; the JAX version hands XLA a full-shape divisor it cannot see
  through.

The JAX engine registers its ``ArrayMath`` for ``jax.Array`` on import; NumPy arrays always get ``NUMPY``.
"""
from __future__ import annotations

from types import ModuleType
from typing import Callable, NamedTuple

import numpy as np

from . import libm


class ArrayMath(NamedTuple):
    xp: ModuleType
    exp: Callable
    row_sum_in_order: Callable
    runtime: Callable
    divide: Callable


def _numpy_row_sum_in_order(terms: np.ndarray) -> np.ndarray:
    # np.add.accumulate adds strictly left to right (np.sum would add pairwise).
    return np.add.accumulate(terms, axis=1)[:, -1]


def _c_library_exp(x: np.ndarray) -> np.ndarray:
    # Looked up at call time, so replacing libm.exp (the negative-control tests do) reaches the RHS.
    return libm.exp(x)


NUMPY = ArrayMath(np, _c_library_exp, _numpy_row_sum_in_order, lambda value: value, np.divide)
_REGISTERED: list[tuple[type, ArrayMath]] = []


def register(array_type: type, math: ArrayMath) -> None:
    """Use ``math`` for arrays of ``array_type`` (done once by an engine on import)."""
    _REGISTERED.append((array_type, math))


def of(array) -> ArrayMath:
    """The ArrayMath for this array (NumPy unless a registered engine's array type matches)."""
    if isinstance(array, np.ndarray):
        return NUMPY
    for array_type, math in _REGISTERED:
        if isinstance(array, array_type):
            return math
    return NUMPY
