"""GSL's ``rkf45`` stepper (Runge-Kutta-Fehlberg 4(5)): its tableau as data and one try.

Like scipy's ``integrate/_ivp/rk.py`` the method is a table plus one generic loop, but the loop keeps GSL's
exact evaluation order: every stage sum is accumulated left to right, ``((b1*k1 + b2*k2) + b3*k3) + ...``,
and always from the *start* state y. The coefficients are the C compile-time quotients; Python's ``a/b`` on
the same literals gives the same doubles.

The 5th-order solution (weights C) is propagated; the error estimate (weights E) is 5th minus 4th order.
k1 is the caller's ``dydt_in``. GSL's stepper also evaluates f at the new state (its ``dydt_out``), which the
next sub-step takes as its k1; here the caller makes that call, and only where a next sub-step follows. It
has the same arguments, so it gives the same bits, and in the usual regime (one try per step, whose new
state is then jumped by the inputs) nothing follows: it would be a seventh RHS call per step that no
result depends on.

Only + and * on whatever arrays come in, so NumPy and JAX (``harness.jax_engine``) share this code.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from . import arraymath

ORDER = 5  # what gsl_odeiv_step_order reports; the step control's exponents are 1/ORDER and 1/(ORDER+1)

# Stage 2 uses the node coefficient directly, evaluated as (A2 * h) * k1 (GSL's ``ah[0] * h * k1[i]``).
A2 = 1.0 / 4.0

# Rows for stages 3..6: y + h * (sum_j B[i][j] * k_j).
B = (
    (3.0 / 32.0, 9.0 / 32.0),
    (1932.0 / 2197.0, -7200.0 / 2197.0, 7296.0 / 2197.0),
    (8341.0 / 4104.0, -32832.0 / 4104.0, 29440.0 / 4104.0, -845.0 / 4104.0),
    (-6080.0 / 20520.0, 41040.0 / 20520.0, -28352.0 / 20520.0, 9295.0 / 20520.0, -5643.0 / 20520.0),
)

# Solution and error weights for k1..k6. k2 has weight 0 in both: GSL leaves the k2 term out of the sums
# (it does not add 0*k2, which could turn a -0.0 sum into +0.0), so zero weights are skipped, not multiplied.
C = (902880.0 / 7618050.0, 0.0, 3953664.0 / 7618050.0, 3855735.0 / 7618050.0, -1371249.0 / 7618050.0,
     277020.0 / 7618050.0)
E = (1.0 / 360.0, 0.0, -128.0 / 4275.0, -2197.0 / 75240.0, 1.0 / 50.0, 2.0 / 55.0)


class TryResult(NamedTuple):
    y: np.ndarray  # the 5th-order solution at t + h
    yerr: np.ndarray  # GSL's error estimate, h * sum(E * k)


def _terms(weights) -> tuple[tuple[int, float], ...]:
    """(stage index, weight) pairs with the zero weights left out, as GSL's hand-written sums do."""
    return tuple((j, w) for j, w in enumerate(weights) if w != 0.0)


STAGE_TERMS = tuple(_terms(row) for row in B)
SOLUTION_TERMS = _terms(C)
ERROR_TERMS = _terms(E)


def weighted_sum(terms, ks) -> np.ndarray:
    """sum of w_j * k_j over ``terms``, left to right: ((w0*k0 + w1*k1) + w2*k2) + ..."""
    (j0, w0), rest = terms[0], terms[1:]
    acc = w0 * ks[j0]
    for j, w in rest:
        acc = acc + w * ks[j]
    return acc


def rkf45_try(f: Callable[[np.ndarray], np.ndarray], y: np.ndarray, h: np.ndarray,
              dydt_in: np.ndarray) -> TryResult:
    """One RKF45 try for every neuron of y, each with its own step h (shape (m,)). Five RHS calls."""
    h = arraymath.of(y).layout.per_neuron(h)
    ks = [dydt_in, f(y + (A2 * h) * dydt_in)]
    for terms in STAGE_TERMS:
        ks.append(f(y + h * weighted_sum(terms, ks)))
    y_new = y + h * weighted_sum(SOLUTION_TERMS, ks)
    yerr = h * weighted_sum(ERROR_TERMS, ks)
    return TryResult(y_new, yerr)
