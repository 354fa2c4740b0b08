"""``exp`` and ``pow`` exactly as the C library computes them, for whole arrays.

NEST's model calls glibc's ``exp`` (Mg block) and GSL's step control calls glibc's ``pow``. NumPy's float64
``np.exp`` and ``np.power`` may use their own SIMD kernels, and whether those differ from glibc depends on
the CPU: by 1 ulp for about 5 % of arguments on an AVX-512 machine (Zen 4), not at all on an AVX2 one (Zen 3)
(docs/model.md, "Numerics"). Either way they are not glibc's, and one ulp breaks bit parity. Python's
``math.exp``/``math.pow`` *are* the C library's, but a Python loop over neurons costs ~50 ns per element.

The fast route for ``exp``: NumPy's complex128 ``exp`` calls the C library's ``cexp``, and glibc's ``cexp(x +
0i)`` returns ``exp(x) * cos(0) = exp(x) * 1``, i.e. exactly ``exp(x)`` (the same ``__ieee754_exp``), at
~8 ns per element. That chain depends on how NumPy and the C library were built, so it is not assumed: at
import the fast route is compared against ``math.exp`` on a spread of arguments and is used only if every one
of them agrees bit for bit; otherwise the element-wise ``math.exp`` loop is used.
"""
from __future__ import annotations

import math

import numpy as np

# glibc's cexp computes exp(x) for x above int(1023 * ln 2) = 709 as exp(709) * exp(x - 709) (to avoid a
# spurious overflow), which can differ from exp(x) in the last bit; those arguments go through math.exp.
CEXP_SCALING_THRESHOLD = 709.0


def _c_exp(v: float) -> float:
    """C's exp(v): math.exp raises OverflowError where C returns +inf."""
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


def exp_by_loop(x: np.ndarray) -> np.ndarray:
    """The reference: the C library's exp, one element at a time."""
    flat = np.asarray(x, dtype=np.float64).ravel().tolist()
    return np.fromiter(map(_c_exp, flat), dtype=np.float64, count=len(flat)).reshape(np.shape(x))


def exp_by_cexp(x: np.ndarray) -> np.ndarray:
    """exp(x) as the real part of the C library's cexp(x + 0i); huge x via the loop."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):  # overflow to +inf is C's answer too
        result = np.exp(x.astype(np.complex128)).real
    huge = x > CEXP_SCALING_THRESHOLD
    if huge.any():
        result[huge] = exp_by_loop(x[huge])
    return result


def _cexp_agrees_with_libm() -> bool:
    rng = np.random.default_rng(20010101)
    probes = np.concatenate([
        rng.uniform(-10.0, 10.0, 20000),  # the Mg block sees (-0.062)*V, i.e. about -3 ... +7
        rng.uniform(-760.0, 760.0, 4000),
        np.array([0.0, -0.0, 1.0, -1.0, 4.34, -4.34, 1e-300, -1e-300, 1e-17, 709.0, 709.5, 710.0, -745.0,
                  -750.0, np.inf, -np.inf]),
    ])
    return np.array_equal(exp_by_cexp(probes), exp_by_loop(probes))


if _cexp_agrees_with_libm():
    exp = exp_by_cexp
    EXP_ROUTE = "numpy complex128 exp (C library cexp), checked against math.exp at import"
else:  # pragma: no cover - depends on the platform's NumPy build
    exp = exp_by_loop
    EXP_ROUTE = "math.exp element by element"


def pow_at(base: np.ndarray, exponent: float) -> np.ndarray:
    """The C library's pow(base_i, exponent) for each element (callers pass only the few that matter)."""
    return np.fromiter((math.pow(b, exponent) for b in base.tolist()), dtype=np.float64, count=base.size)
