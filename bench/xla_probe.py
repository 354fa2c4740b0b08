"""What XLA does to float64 arithmetic on this machine's default JAX backend, under the XLA_FLAGS it was given.

The JAX engine is bit-identical to NEST only where XLA computes a*b + c, x / y and exp as the C++ compiled
into NEST does. This probe measures each difference on random inputs against NumPy (plain IEEE operations)
and the C library (``math.exp``), without the engine's own set-up (``harness.jax_engine.platform``), so it
shows what the engine has to correct. Run it under different flags to see what a flag changes:

    XLA_FLAGS= .venv/bin/python bench/xla_probe.py
    XLA_FLAGS=--xla_cpu_max_isa=AVX .venv/bin/python bench/xla_probe.py
    python3 bench/xla_probe.py   # on a GPU machine (its own JAX with CUDA)

Prints one Markdown table. A measurement, not a test: it asserts nothing.
"""
from __future__ import annotations

import math
import os

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
SAMPLES = 1_000_000


def share_differing(got, expected) -> float:
    got, expected = np.asarray(got), np.asarray(expected)
    same = (got == expected) | (np.isnan(got) & np.isnan(expected))
    return float(np.mean(~same))


def main() -> None:
    rng = np.random.default_rng(20010101)
    a, b, c = (rng.standard_normal(SAMPLES) for _ in range(3))
    x = rng.uniform(-10.0, 10.0, SAMPLES)
    glibc_exp = np.array([math.exp(v) for v in x.tolist()])
    tiny = np.array([1e-310, -3e-320, 2.0 ** -1074])
    rows = [
        ("a*b + c contracted to FMA", share_differing(jax.jit(lambda a, b, c: a * b + c)(a, b, c), a * b + c)),
        ("c - a*b contracted to FMA", share_differing(jax.jit(lambda a, b, c: c - a * b)(a, b, c), c - a * b)),
        ("exp differs from the C library's, x in [-10, 10]", share_differing(jax.jit(jnp.exp)(x), glibc_exp)),
        ("x / 3.57 differs from a true division", share_differing(jax.jit(lambda v: v / 3.57)(x), x / 3.57)),
        ("x / y (both arrays) differs from a true division",
         share_differing(jax.jit(lambda u, v: u / v)(a, b), a / b)),
        ("subnormal inputs times 1.0 flushed to zero",
         share_differing(jax.jit(lambda v, one: v * one)(tiny, np.ones_like(tiny)), tiny)),
    ]
    device = jax.devices()[0]
    print(f"jax {jax.__version__}, backend {jax.default_backend()} ({device.device_kind}), "
          f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}, {SAMPLES:,} random inputs\n")
    print("| float64 behaviour | share of results that differ |\n|---|---|")
    for name, share in rows:
        print(f"| {name} | {100 * share:.2f} % |")


if __name__ == "__main__":
    main()
