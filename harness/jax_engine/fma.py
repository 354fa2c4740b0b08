"""An exactly rounded fused multiply-add, ``fma(a, b, c) = RN(a*b + c)``, from plain float64 operations.

glibc's ``exp`` on an FMA-capable x86-64 CPU runs a build compiled with ``-mfma``, where GCC fuses its
``a*b + c`` expressions; to reproduce its bits the JAX engine needs the fused result. JAX has no fma
primitive, and the engine turns XLA's own contraction off (``platform``), so fma is emulated:

* ``two_product``: Dekker's exact product, ``a*b = p + e`` (Veltkamp split, no FMA needed);
* ``two_sum``: Knuth's exact sum;
* Boldo & Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using rounding to
  odd" (IEEE TC 2008): ``th + tl = c + p`` exactly, ``v = RO(tl + e)`` rounded to odd, then
  ``RN(th + v)`` is the correctly rounded ``a*b + c``.

Valid while nothing overflows and no partial result is subnormal, which holds for every argument the
exp of this model sees (the Mg block's -0.062 * V_m). Written against an array namespace (NumPy or
jax.numpy) so that the same code is tested against exact rational arithmetic under NumPy.

Under XLA every operand of these functions must be a runtime value, never a literal: XLA's algebraic
simplifier rewrites ``(C + p) - C`` to ``p`` (it reassociates float additions of constants), which turns
the exact error term of ``two_sum`` into 0. Callers pass constants through ``runtime`` (an optimization
barrier under JAX, the identity under NumPy).
"""
from __future__ import annotations

import numpy as np

SPLITTER = 134217729.0  # 2**27 + 1 (Veltkamp)


def two_sum(a, b):
    """s + err == a + b exactly, s = RN(a + b)."""
    s = a + b
    b_virtual = s - a
    a_virtual = s - b_virtual
    return s, (a - a_virtual) + (b - b_virtual)


def _split(a, splitter):
    c = splitter * a
    high = c - (c - a)
    return high, a - high


def two_product(a, b, splitter=SPLITTER):
    """p + err == a * b exactly, p = RN(a * b). ``splitter`` is 2**27 + 1, passed in as a runtime value."""
    p = a * b
    a_high, a_low = _split(a, splitter)
    b_high, b_low = _split(b, splitter)
    err = ((a_high * b_high - p) + a_high * b_low + a_low * b_high) + a_low * b_low
    return p, err


def round_to_odd_sum(a, b, xp):
    """a + b rounded to odd: if inexact, the neighbour of RN(a + b) whose last mantissa bit is 1."""
    s, err = two_sum(a, b)
    bits = s.view(np.int64)
    inexact_even = (err != 0.0) & ((bits & 1) == 0)
    # One ulp towards the exact sum: away from zero if err has the sign of s, towards zero otherwise.
    away = (err > 0.0) == (s > 0.0)
    nudged = xp.where(away, bits + 1, bits - 1)
    return xp.where(inexact_even, nudged, bits).view(np.float64)


def fma(a, b, c, xp=np, splitter=SPLITTER):
    """RN(a * b + c), correctly rounded (Boldo-Melquiond's emulated FMA). No operand may be a literal."""
    p, p_err = two_product(a, b, splitter)
    high, low = two_sum(c, p)
    return high + round_to_odd_sum(low, p_err, xp)
