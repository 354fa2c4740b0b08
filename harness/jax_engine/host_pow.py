"""The C library's ``pow`` for the step-size control, called on the host.

GSL's control needs ``pow(rmax, 1/5)`` after a rejected-size try and ``pow(rmax, 1/6)`` for a moderate
increase. XLA's ``pow`` is not glibc's, and glibc's pow (a 128-entry log table plus an exp, with
FMA-dependent paths) is not reimplemented here: it is rare enough to leave to the host. Python's
``math.pow`` is the C library's. The call runs only in loop passes where some neuron needs it
(``lax.cond`` on a scalar predicate executes one branch); in the common regime the increase is capped at
5 without any pow (``control.SURELY_CAPPED_RMAX``) and no call happens at all.

On the CPU the call is a custom call to a handler registered under ``CPU_TARGET`` (``xla_ffi``), so the
programs that contain it can be written to the persistent compilation cache. Elsewhere (a GPU), and in
programs traced under ``as_host_callback()``, it is a ``jax.pure_callback``: a program that contains the
custom call takes ~40 µs longer to launch on XLA:CPU (measured on the per-step API: 68 -> 110 µs per step
for one neuron, even when the call is skipped), which only the per-step API notices.
"""
from __future__ import annotations

import contextlib
import contextvars
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import xla_ffi

CPU_TARGET = "nest_parity_c_pow"
_host_callback_only = contextvars.ContextVar("host_callback_only", default=False)


def pow_where_needed(base: np.ndarray, exponent: np.ndarray, needed: np.ndarray, out: np.ndarray) -> None:
    """out = pow(base, exponent) of the C library where ``needed``, 1.0 elsewhere (flat arrays)."""
    out[...] = 1.0
    index = np.flatnonzero(needed)
    out[index] = [math.pow(b, e) for b, e in zip(base[index].tolist(), exponent[index].tolist())]


def _pow_callback(base, exponent, needed) -> np.ndarray:
    # The callback receives jax Arrays; indexing those would dispatch XLA operations (~1 ms per call).
    base, exponent, needed = np.asarray(base), np.asarray(exponent), np.asarray(needed)
    out = np.empty(base.shape, dtype=np.float64)
    pow_where_needed(base, exponent, needed, out)
    return out


xla_ffi.register_cpu_handler(CPU_TARGET, lambda args, results: pow_where_needed(*args, *results))


@contextlib.contextmanager
def as_host_callback():
    """Trace ``c_pow`` as a host callback on every backend while this is active (programs launched often)."""
    token = _host_callback_only.set(True)
    try:
        yield
    finally:
        _host_callback_only.reset(token)


def c_pow(base, exponent, needed):
    """pow(base_i, exponent_i) of the C library where ``needed``, 1.0 elsewhere."""
    shape = jax.ShapeDtypeStruct(base.shape, jnp.float64)
    if jax.default_backend() == "cpu" and not _host_callback_only.get():
        call = lambda: jax.ffi.ffi_call(CPU_TARGET, shape)(base, exponent, needed)  # noqa: E731
    else:
        call = lambda: jax.pure_callback(_pow_callback, shape, base, exponent, needed)  # noqa: E731
    return lax.cond(jnp.any(needed), call, lambda: jnp.ones_like(base))
