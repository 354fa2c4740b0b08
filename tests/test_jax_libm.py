"""The JAX engine's arithmetic building blocks against exact references: rational arithmetic and the C library.

The emulated fma and glibc's exp are written against an array namespace, so they are checked under NumPy
(where + - * / are plainly IEEE) against exact references, and then under XLA against the NumPy results.
"""
import math
import warnings
from fractions import Fraction

import jax  # noqa: E402  (harness.jax_engine has set XLA up)
import jax.numpy as jnp  # noqa: E402
import numpy as np
import pytest

from harness.jax_engine import glibc_exp, platform
from harness.jax_engine.fma import fma
from harness.jax_engine.jax_math import JAX  # noqa: E402
from harness.model import libm

pytestmark = pytest.mark.jax

DBL_MIN = np.finfo(np.float64).tiny


def exact_fma(a: float, b: float, c: float) -> float:
    return float(Fraction(a) * Fraction(b) + Fraction(c))  # int / int true division rounds correctly


def test_fma_is_correctly_rounded():
    rng = np.random.default_rng(3)
    a, b, c = rng.standard_normal((3, 3000))
    c[:1000] *= 1e-17  # addend far below the product
    a[1000:2000] = rng.uniform(-1e3, 1e3, 1000)
    got = fma(a, b, c)
    expected = np.array([exact_fma(x, y, z) for x, y, z in zip(a.tolist(), b.tolist(), c.tolist())])
    assert np.array_equal(got, expected)
    assert not np.array_equal(a * b + c, expected)  # the test would notice an unfused emulation


def probes(rng, n):
    special = [0.0, -0.0, 1e-17, -1e-17, 2.0 ** -60, 1.0, -1.0, 4.34, -4.34, 511.9, 512.0, -512.0, 709.7,
               709.8, 710.0, -708.3, 1023.9, 1024.0, -1024.0, 1e300, -1e300, np.inf, -np.inf, np.nan]
    return np.concatenate([rng.uniform(-10.0, 10.0, n), rng.uniform(-708.0, 709.7, n // 4), special])


def test_glibc_exp_emulation_equals_the_c_library_under_numpy():
    x = probes(np.random.default_rng(11), 400_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf/nan probes
        got = glibc_exp.exp(x)
    expected = libm.exp_by_loop(x)
    assert np.array_equal(got, expected, equal_nan=True)


def test_glibc_exp_under_xla_equals_the_c_library():
    x = probes(np.random.default_rng(12), 400_000)
    got = np.asarray(jax.jit(JAX.exp)(x))
    expected = libm.exp_by_loop(x)
    subnormal = (expected != 0) & (np.abs(expected) < DBL_MIN)  # XLA flushes these to 0
    assert np.array_equal(got[~subnormal], expected[~subnormal], equal_nan=True)
    assert np.all(got[subnormal] == 0.0)


def test_glibc_exp_main_branch_under_xla_equals_the_c_library():
    """Arguments all in 2^-54 <= |x| < 512 take the branch without the special cases (``jax_math.exp``)."""
    x = np.random.default_rng(14).uniform(-20.0, 20.0, 400_000)
    assert glibc_exp.on_short_path(x).all()
    assert np.array_equal(np.asarray(jax.jit(JAX.exp)(x)), libm.exp_by_loop(x))


def halfway_probes(count: int) -> np.ndarray:
    """x whose rounded product x * InvLn2N lies exactly halfway between two integers (and is inexact)."""
    k = np.random.default_rng(15).integers(-94_000, 94_000, count)
    start = (k + 0.5) / glibc_exp.INV_LN2_N
    x = (start[:, None] + np.arange(-40, 41)[None, :] * np.spacing(start)[:, None]).ravel()
    return x[x * glibc_exp.INV_LN2_N == np.repeat(k, 81) + 0.5]


def test_exp_rounds_halfway_products_as_the_fused_multiply_add_does():
    """glibc's kd = fma(InvLn2N, x, Shift) is emulated from the rounded product and the sign of its error;
    at an exactly halfway rounded product only that sign picks the table entry."""
    x = halfway_probes(5000)
    expected = libm.exp_by_loop(x)
    assert x.size > 3000
    np_exp = np.errstate(over="ignore", invalid="ignore")(glibc_exp.exp)  # special-case lanes overflow, unused
    assert np.array_equal(np_exp(x), expected)
    assert np.array_equal(np.asarray(jax.jit(JAX.exp)(x)), expected)
    # The short path (unfused kd) is not taken for them, also when they are few among many ordinary arguments.
    assert not glibc_exp.on_short_path(x).any()
    mixed = np.concatenate([np.random.default_rng(16).uniform(-20.0, 20.0, 4000), x[:3]])
    assert np.array_equal(np.asarray(jax.jit(JAX.exp)(mixed)), libm.exp_by_loop(mixed))
    assert not np.array_equal(glibc_exp.exp_short_path(x), expected)  # negative control: the predicate matters
    # Negative control: rounding the rounded product, as unfused code does, changes some results.
    unfused = glibc_exp._shifted_nearest_integer
    glibc_exp._shifted_nearest_integer = lambda x, c: x * c.inv_ln2_n.value + c.shift
    try:
        assert not np.array_equal(np_exp(x), expected)
    finally:
        glibc_exp._shifted_nearest_integer = unfused


def test_xla_exp_itself_would_break_parity():
    """Negative control: XLA's own exp differs from the C library's in the last bit (about 14 %)."""
    x = np.random.default_rng(13).uniform(-10.0, 10.0, 20_000)
    differs = np.mean(np.asarray(jax.jit(jnp.exp)(x)) != libm.exp(x))
    assert differs > 0.01


def test_xla_does_not_fuse_multiply_add():
    assert platform.contraction_free()
    assert "--xla_cpu_max_isa=AVX" in platform.description()["xla_flags"]
    assert "-force-vector-interleave=4" in platform.description()["xla_flags"]  # the speed flag, see below


def test_engine_flags_keep_what_the_user_set():
    devices = lambda: 6  # noqa: E731
    assert platform.with_engine_flags("", devices).split() == [
        "--xla_cpu_max_isa=AVX", "--xla_force_host_platform_device_count=6",
        "--xla_backend_extra_options=-force-vector-interleave=4"]
    own = "--xla_force_host_platform_device_count=2 --xla_backend_extra_options=-unroll-threshold=0"
    assert platform.with_engine_flags(own, devices).split() == own.split() + ["--xla_cpu_max_isa=AVX"]
    complete = platform.with_engine_flags("", devices)
    assert platform.with_engine_flags(complete, devices) == complete  # configuring twice adds nothing


@pytest.mark.parametrize("shape_b", [(), (50, 1)])
def test_divide_by_broadcast_is_a_true_division(shape_b):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((50, 7))
    b = rng.uniform(0.5, 150.0, shape_b)
    got = np.asarray(jax.jit(JAX.divide)(a, b))
    assert np.array_equal(got, a / b)
    if jax.default_backend() == "cpu":
        # Negative control: on the CPU the plain jitted division becomes a reciprocal multiplication (on an
        # H200 only division by a literal does; bench/xla_probe.py).
        assert not np.array_equal(np.asarray(jax.jit(lambda a, b: a / b)(a, b)), a / b)


def test_port_sum_is_sequential_and_adding_runtime_zero_keeps_its_meaning():
    terms = np.array([[1.0, 1e16, -1e16], [-0.0, -0.0, -0.0]]).T  # one row per port, one column per neuron
    got = np.asarray(jax.jit(lambda t: JAX.port_sum_in_order(t) + JAX.runtime(0.0))(terms))
    assert got[0] == 0.0  # (1 + 1e16) - 1e16 = 0 sequentially; pairwise it would be 1
    assert got[1] == 0.0 and not np.signbit(got[1])  # -0.0 + 0.0 is +0.0, as in C
    assert np.signbit(np.asarray(jax.jit(lambda t: t + 0.0)(np.array([-0.0])))[0])  # XLA drops a literal + 0.0


def test_c_pow_is_the_c_library_pow_where_needed_and_one_elsewhere():
    from harness.jax_engine.host_pow import c_pow

    rng = np.random.default_rng(17)
    base = rng.uniform(3e-5, 40.0, 2000)
    exponent = np.where(rng.random(2000) < 0.5, 1.0 / 5.0, 1.0 / 6.0)
    needed = rng.random(2000) < 0.3
    got = np.asarray(jax.jit(c_pow)(base, exponent, needed))
    expected = np.array([math.pow(b, e) if n else 1.0 for b, e, n in zip(base, exponent, needed)])
    assert np.array_equal(got, expected)
    assert np.array_equal(np.asarray(jax.jit(c_pow)(base, exponent, np.zeros(2000, bool))), np.ones(2000))


def test_c_pow_is_a_custom_call_on_the_cpu_not_a_host_callback():
    """JAX does not persist programs with host callbacks; the named custom call keeps them cacheable."""
    from harness.jax_engine.host_pow import CPU_TARGET, c_pow

    lowered = jax.jit(c_pow).lower(np.ones(8), np.ones(8), np.ones(8, bool))
    text = lowered.as_text()
    assert CPU_TARGET in text
    assert "callback" not in text.lower()


def test_a_failing_custom_call_handler_returns_nan_not_stale_memory():
    from harness.jax_engine import xla_ffi

    def failing(args, results):
        raise RuntimeError("deliberately broken handler")

    xla_ffi.register_cpu_handler("nest_parity_test_failing", failing)
    call = jax.ffi.ffi_call("nest_parity_test_failing", jax.ShapeDtypeStruct((4,), jnp.float64))
    assert np.isnan(np.asarray(jax.jit(call)(np.ones(4)))).all()
