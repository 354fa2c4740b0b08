"""An exactly rounded fused multiply-add, ``fma(a, b, c) = RN(a*b + c)``, from plain float64 operations.

glibc's ``exp`` on an FMA-capable x86-64 CPU runs a build compiled with ``-mfma``, where GCC fuses its
``a*b + c`` expressions; to reproduce its bits the JAX engine needs the fused result. JAX has no fma
primitive, and the engine turns XLA's own contraction off (``platform``), so fma is emulated:

* ``two_product``: Dekker's exact product, ``a*b = p + e`` (Veltkamp split, no FMA needed);
* ``two_sum``: Knuth's exact sum; ``fast_two_sum`` (Dekker) when the first operand is known to be at least
  as large in magnitude, three operations instead of six;
* Boldo & Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using rounding to
  odd" (IEEE TC 2008): ``th + tl = c + p`` exactly, ``v = RO(tl + e)`` rounded to odd, then
  ``RN(th + v)`` is the correctly rounded ``a*b + c``.

Where one factor is a constant its Veltkamp halves are computed once (``Split``), which is the same split
the general code would compute at run time, so the product and its error are the same bits.

Valid while nothing overflows and no partial result is subnormal, which holds for every argument the
exp of this model sees (the Mg block's -0.062 * V_m). Written against an array namespace (NumPy or
jax.numpy) so that the same code is tested against exact rational arithmetic under NumPy.

Under XLA every operand of these functions must be a runtime value, never a literal: XLA's algebraic
simplifier rewrites ``(C + p) - C`` to ``p`` (it reassociates float additions of constants), which turns
the exact error term of ``two_sum`` into 0. Callers pass constants through ``runtime`` (an optimization
barrier under JAX, the identity under NumPy).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

SPLITTER = 134217729.0  # 2**27 + 1 (Veltkamp)


class Split(NamedTuple):
    """A constant and its Veltkamp halves (high + low == value exactly, each with at most 26 bits)."""

    value: float
    high: float
    low: float


def split_constant(value: float) -> Split:
    high, low = _split(np.float64(value), np.float64(SPLITTER))
    return Split(float(value), float(high), float(low))


def two_sum(a, b):
    """s + err == a + b exactly, s = RN(a + b)."""
    s = a + b
    b_virtual = s - a
    a_virtual = s - b_virtual
    return s, (a - a_virtual) + (b - b_virtual)


def fast_two_sum(a, b):
    """s + err == a + b exactly, s = RN(a + b), provided |a| >= |b| (or a == 0)."""
    s = a + b
    return s, b - (s - a)


def _split(a, splitter):
    c = splitter * a
    high = c - (c - a)
    return high, a - high


def _product_error(p, a_high, a_low, b_high, b_low):
    return ((a_high * b_high - p) + a_high * b_low + a_low * b_high) + a_low * b_low


def two_product(a, b, splitter=SPLITTER):
    """p + err == a * b exactly, p = RN(a * b). ``splitter`` is 2**27 + 1, passed in as a runtime value."""
    p = a * b
    return p, _product_error(p, *_split(a, splitter), *_split(b, splitter))


def two_product_by_constant(a, b: Split, splitter=SPLITTER):
    """two_product(a, b.value) with b's split done once, ahead of time (fields may be runtime values)."""
    p = a * b.value
    return p, _product_error(p, *_split(a, splitter), b.high, b.low)


def round_to_odd_sum(a, b, xp):
    """a + b rounded to odd: if inexact, the neighbour of RN(a + b) whose last mantissa bit is 1."""
    s, err = two_sum(a, b)
    bits = s.view(np.int64)
    inexact_even = (err != 0.0) & ((bits & 1) == 0)
    # One ulp towards the exact sum: away from zero if err has the sign of s, towards zero otherwise.
    away = (err > 0.0) == (s > 0.0)
    nudged = xp.where(away, bits + 1, bits - 1)
    return xp.where(inexact_even, nudged, bits).view(np.float64)


def round_sum(high, low, err, xp):
    """RN(high + low + err) for ``high + low`` an exact two_sum pair and err any double (Boldo-Melquiond)."""
    return high + round_to_odd_sum(low, err, xp)


def fma(a, b, c, xp=np, splitter=SPLITTER, c_dominates: bool = False):
    """RN(a * b + c), correctly rounded (Boldo-Melquiond's emulated FMA). No operand may be a literal.

    ``c_dominates`` promises |c| >= |RN(a * b)| (or c == 0), which allows the cheaper exact sum.
    """
    return _add_product(c, *two_product(a, b, splitter), xp, c_dominates)


def fma_by_constant(a, b: Split, c, xp=np, splitter=SPLITTER, c_dominates: bool = False):
    """fma(a, b.value, c) with b split ahead of time; ``c_dominates`` as for ``fma``."""
    return _add_product(c, *two_product_by_constant(a, b, splitter), xp, c_dominates)


def _add_product(c, p, p_err, xp, c_dominates: bool):
    """RN(c + p + p_err) for the exact product p + p_err."""
    return round_sum(*(fast_two_sum(c, p) if c_dominates else two_sum(c, p)), p_err, xp)
