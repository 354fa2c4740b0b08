"""The array namespace the model's formulas are written against, so the RHS, the RKF45 tableau and the step
control exist once and serve both the exact NumPy engine and the JAX engine (``harness.jax_engine``).

The formulas use plain ``+ - * /`` (identical, correctly rounded, in both) and take what differs from an
``ArrayMath``, chosen by the type of the arrays they are given (as the array-API's ``array_namespace``):

* ``xp``: ``numpy`` or ``jax.numpy``;
* ``exp``: the C library's exp, bit for bit (``libm.exp`` here; a glibc reimplementation under JAX);
* ``port_sum_in_order``: per-neuron sums over the NMDA ports, strictly left to right (NEST's port loop),
  never pairwise;
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

N_FIXED = 3  # V_m, s_AMPA, s_GABA; the NMDA blocks x_0..x_{P-1}, s_0..s_{P-1} follow


class Layout(NamedTuple):
    """The state array's shape: (n, 3 + 2P) with ``neuron_axis`` 0, or (3 + 2P, n) with ``neuron_axis`` -1.

    Per-neuron coefficients that meet the NMDA blocks are shaped to broadcast along the ports ((n, 1) or
    (1, n)), and NMDA port arrays (weights, multiplicities) are (n, P) or (P, n), like the blocks.
    """

    neuron_axis: int

    @property
    def component_axis(self) -> int:
        return 1 if self.neuron_axis == 0 else 0

    def components(self, y):
        """(V_m, s_AMPA, s_GABA, x, s): three per-neuron vectors and the two NMDA blocks (views)."""
        if self.neuron_axis == 0:
            P = (y.shape[1] - N_FIXED) // 2
            return y[:, 0], y[:, 1], y[:, 2], y[:, N_FIXED:N_FIXED + P], y[:, N_FIXED + P:]
        P = (y.shape[0] - N_FIXED) // 2
        return y[0], y[1], y[2], y[N_FIXED:N_FIXED + P], y[N_FIXED + P:]

    def assemble(self, xp, V, s_AMPA, s_GABA, x, s):
        """The state (or derivative) array from its components, in this layout."""
        if self.neuron_axis == 0:
            return xp.concatenate([V[:, None], s_AMPA[:, None], s_GABA[:, None], x, s], axis=1)
        return xp.concatenate([V[None], s_AMPA[None], s_GABA[None], x, s], axis=0)

    def per_neuron(self, values):
        """A per-neuron vector shaped to broadcast against the state array."""
        return values[:, None] if self.neuron_axis == 0 else values


NEURON_ROWS = Layout(0)
NEURON_COLUMNS = Layout(-1)


class ArrayMath(NamedTuple):
    xp: ModuleType
    exp: Callable
    port_sum_in_order: Callable
    runtime: Callable
    divide: Callable
    layout: Layout


def _numpy_port_sum_in_order(terms: np.ndarray) -> np.ndarray:
    # np.add.accumulate adds strictly left to right (np.sum would add pairwise).
    return np.add.accumulate(terms, axis=1)[:, -1]


def _c_library_exp(x: np.ndarray) -> np.ndarray:
    # Looked up at call time, so replacing libm.exp (the negative-control tests do) reaches the RHS.
    return libm.exp(x)


NUMPY = ArrayMath(np, _c_library_exp, _numpy_port_sum_in_order, lambda value: value, np.divide, NEURON_ROWS)
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
