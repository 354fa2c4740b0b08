"""glibc's ``exp`` (2.28 and later, from Arm's optimized-routines), bit for bit, for array namespaces.

NEST's Mg block calls the C library's ``exp``. XLA's own float64 ``exp`` differs from glibc's in the last
bit for about 14 % of arguments, so the JAX engine computes exp the way glibc does:

    exp(x) = 2^(k/N) * exp(r),  k = round(x * N / ln2),  r = x - k * ln2 / N,  N = 128
    2^(k/N) = scale * (1 + tail) from a 128-entry table, exp(r) - 1 by a degree-5 polynomial.

On an x86-64 CPU with FMA, glibc dispatches to a build of this code compiled with ``-mfma``, in which GCC
fuses every ``a*b + c``; the fused operations are spelled out below (``fma``) because they change the last
bit for ~0.1 % of arguments (measured against ``math.exp``: 0 of 22000 differ with them, 18 without).

The table entries are computed here from their definition (2^(k/N) = H_k (1 + T_k), H_k the nearest
double, T_k the nearest double to the relative remainder; stored as glibc stores them) rather than typed
in; ``tests/test_jax_libm.py`` checks the result against the C library on millions of arguments.
Subnormal results (x < -708.4) come out as 0: XLA on CPU flushes subnormals to zero anyway.
"""
from __future__ import annotations

from decimal import Decimal, localcontext
from types import SimpleNamespace

import numpy as np

from .fma import SPLITTER, Split, fma, fma_by_constant, round_sum, split_constant, two_product_by_constant, two_sum

TABLE_BITS = 7
N = 1 << TABLE_BITS
INV_LN2_N = float.fromhex("0x1.71547652b82fep0") * N
SHIFT = float.fromhex("0x1.8p52")  # adding it rounds to an integer held in the low mantissa bits
NEG_LN2_HI_N = -float.fromhex("0x1.62e42fefa0000p-8")  # trailing zeros: k * NEG_LN2_HI_N is exact
NEG_LN2_LO_N = -float.fromhex("0x1.cf79abc9e3b3ap-47")
C2, C3, C4, C5 = (float.fromhex(h) for h in
                  ("0x1.ffffffffffdbdp-2", "0x1.555555555543cp-3", "0x1.55555cf172b91p-5", "0x1.1111167a4d017p-7"))
TINY = 2.0 ** -54  # below it glibc returns 1 + x
SPECIAL = 512.0  # from here on glibc rescales to keep the exponent field in range
HUGE = 1024.0  # from here on the result is 0 or inf


def _table() -> tuple[np.ndarray, np.ndarray]:
    """(tail T_k as float64, bits of H_k minus k << 45) for k = 0..N-1, as glibc's __exp_data.tab."""
    tails, scale_bits = np.empty(N), np.empty(N, dtype=np.uint64)
    with localcontext() as ctx:
        ctx.prec = 60
        for k in range(N):
            exact = Decimal(2) ** (Decimal(k) / N)
            H = float(exact)  # Decimal -> float rounds correctly
            tails[k] = float((exact - Decimal(H)) / Decimal(H))
            h_bits = int(np.float64(H).view(np.uint64))
            scale_bits[k] = (h_bits - ((k << 52) // N)) % 2 ** 64
    return tails, scale_bits


TAILS, SCALE_BITS = _table()


def exp(x, xp=np, runtime=lambda value: value):
    """glibc's exp(x) element by element (x float64, any shape).

    ``runtime`` hides each constant from the compiler (see ``fma``): identity for NumPy, an optimization
    barrier for JAX.
    """
    c = _constants(xp, runtime)
    result, tmp, sbits = _main_path(x, _shifted_nearest_integer(x, c), xp, c)
    return _special_cases(x, result, tmp, sbits, xp, c)


def on_short_path(x, xp=np, runtime=lambda value: value):
    """True where ``exp_short_path`` is glibc's exp: glibc's main path (2^-54 <= |x| < 512; NaN is not), and
    x * InvLn2N not rounded to a point halfway between two integers, where the unfused kd differs from the
    fused one (``_shifted_nearest_integer``)."""
    c = _constants(xp, runtime)
    magnitude = xp.abs(x)
    halfway = xp.abs(_rounding_remainder(x * c.inv_ln2_n.value, c)) == 0.5
    return (magnitude >= TINY) & (magnitude < SPECIAL) & ~halfway


def exp_short_path(x, xp=np, runtime=lambda value: value):
    """glibc's exp(x) where ``on_short_path(x)`` holds everywhere: no special cases, and kd unfused.

    Under XLA this is also what lets the kernel vectorise: without AVX2's gathers LLVM computes a table
    index, and every operation it depends on, in scalar code, and the fused kd's ~20 operations with it.
    """
    c = _constants(xp, runtime)
    return _main_path(x, x * c.inv_ln2_n.value + c.shift, xp, c)[0]


def _constants(xp, runtime) -> SimpleNamespace:
    # One barrier for all constants (each barrier is a separate kernel launch under XLA).
    values = runtime(xp.asarray(list(_CONSTANTS.values()), dtype=np.float64))
    c = SimpleNamespace(**{name: values[i] for i, name in enumerate(_CONSTANTS)})
    for name in ("inv_ln2_n", "c3", "c5"):
        setattr(c, name, Split(getattr(c, name), getattr(c, name + "_high"), getattr(c, name + "_low")))
    return c


def _main_path(x, kd, xp, c):
    """(result, tmp, scale bits) of glibc's main path from kd = fma(InvLn2N, x, Shift); the result is right
    for 2^-54 <= |x| < 512."""
    ki = kd.view(np.uint64)
    kd = kd - c.shift
    r = _reduced_argument(x, kd, c, xp)
    index = ki & np.uint64(N - 1)
    tail = xp.take(xp.asarray(TAILS), index)
    # The integer part of k/N goes into the exponent field (wrapping uint64 arithmetic, as in C).
    sbits = xp.take(xp.asarray(SCALE_BITS), index) + (ki << np.uint64(52 - TABLE_BITS))
    r2 = r * r
    # |r| <= ln2/256 bounds each product below its addend (C2 = 1/2, C4 = 1/24, |tmp| < 0.003 < 1 = scale's
    # factor), which lets three of the fused operations use the cheaper exact sum.
    a = fma_by_constant(r, c.c3, c.c2, xp, c.splitter, c_dominates=True)
    b = fma_by_constant(r, c.c5, c.c4, xp, c.splitter, c_dominates=True)
    tmp = fma(r2 * r2, b, fma(r2, a, tail + r, xp, c.splitter), xp, c.splitter)
    scale = sbits.view(np.float64)
    return fma(scale, tmp, scale, xp, c.splitter, c_dominates=True), tmp, sbits


def _shifted_nearest_integer(x, c):
    """glibc's kd = fma(InvLn2N, x, Shift): Shift plus x * InvLn2N rounded to an integer (ties to even).

    Unfused, RN(p + Shift) rounds the rounded product p = RN(x * InvLn2N) instead of the exact one, p + e.
    Both give the same integer unless p lies exactly halfway between two integers: otherwise p is at least
    one ulp of p from the midpoint, more than |e| <= ulp/2 can bridge. At a halfway p the sign of e decides.
    """
    p, e = two_product_by_constant(x, c.inv_ln2_n, c.splitter)
    d = _rounding_remainder(p, c)
    return (p + c.shift) + ((d == 0.5) & (e > 0.0)) - ((d == -0.5) & (e < 0.0))


def _rounding_remainder(p, c):
    """p minus the integer RN(p + Shift) rounds it to (exact, |p| < 2^51)."""
    return p - ((p + c.shift) - c.shift)


def _reduced_argument(x, kd, c, xp):
    """glibc's r = fma(kd, NegLn2loN, x + kd * NegLn2hiN), kd an integer with |kd| < 2^18 (|x| < 1024).

    NegLn2loN is split ahead of time into a 35-bit head and an 18-bit rest, so both partial products with kd
    are exact and give the product's rounding error exactly (the head product is within a factor 2 of p).
    """
    p = kd * c.neg_ln2_lo_n
    p_err = (kd * c.neg_ln2_lo_n_head - p) + kd * c.neg_ln2_lo_n_rest
    return round_sum(*two_sum(x + kd * c.neg_ln2_hi_n, p), p_err, xp)


def _head(value: float, dropped_bits: int) -> float:
    """value with the lowest ``dropped_bits`` mantissa bits cleared."""
    bits = int(np.float64(value).view(np.uint64)) & ~((1 << dropped_bits) - 1)
    return float(np.uint64(bits).view(np.float64))


NEG_LN2_LO_N_HEAD = _head(NEG_LN2_LO_N, 18)
_CONSTANTS = {"inv_ln2_n": INV_LN2_N, "shift": SHIFT, "neg_ln2_hi_n": NEG_LN2_HI_N, "neg_ln2_lo_n": NEG_LN2_LO_N,
              "neg_ln2_lo_n_head": NEG_LN2_LO_N_HEAD, "neg_ln2_lo_n_rest": NEG_LN2_LO_N - NEG_LN2_LO_N_HEAD,
              "c2": C2, "c3": C3, "c4": C4, "c5": C5, "splitter": SPLITTER}
for _name in ("inv_ln2_n", "c3", "c5"):
    _CONSTANTS[_name + "_high"], _CONSTANTS[_name + "_low"] = split_constant(_CONSTANTS[_name])[1:]


def _special_cases(x, result, tmp, sbits, xp, c):
    """glibc's branches for |x| < 2^-54 and |x| >= 512 (inf, nan, overflow, underflow)."""
    magnitude = xp.abs(x)
    # 512 <= |x| < 1024: the scale's exponent is moved by 1009 (x > 0) or 1022 (x < 0) and moved back by
    # an exact power-of-two multiplication (glibc's specialcase), subnormal results flushed to 0. In the
    # x < 0 branch GCC does not fuse ``scale + scale * tmp`` (it reuses the product ``scale * tmp`` in the
    # subnormal fix-up); fusing it there changes 1363 of 2e6 results in [-708, -512], not fusing none.
    up_scale = (sbits - np.uint64(1009 << 52)).view(np.float64)
    up = fma(up_scale, tmp, up_scale, xp, c.splitter, c_dominates=True) * 2.0 ** 1009
    down_scale = (sbits + np.uint64(1022 << 52)).view(np.float64)
    down_y = down_scale + down_scale * tmp
    down = xp.where(down_y < 1.0, 0.0, down_y * 2.0 ** -1022)
    result = xp.where(magnitude >= SPECIAL, xp.where(x > 0.0, up, down), result)
    result = xp.where(magnitude >= HUGE, xp.where(x > 0.0, np.inf, 0.0), result)
    result = xp.where(magnitude < TINY, 1.0 + x, result)
    return xp.where(xp.isnan(x), x, result)
