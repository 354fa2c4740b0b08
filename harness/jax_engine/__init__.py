"""A batched JAX engine for iaf_bw_2001_exact that computes what the exact engine (``harness.model``) computes.

Import this package before anything else starts JAX: it sets the XLA flags that keep float64 arithmetic
unfused (``platform``), enables float64 and the persistent compilation cache, and refuses to run if XLA
still fuses multiply-adds.

Modules, one concept each: ``platform`` (XLA set-up and its checks), ``fma`` (exact fused multiply-add from
plain operations), ``glibc_exp`` (glibc's exp, bit for bit), ``host_pow`` (the C library's pow via the host),
``xla_ffi`` (a Python handler for an XLA custom call), ``jax_math`` (the ArrayMath under which the exact
engine's RHS, tableau and control formulas run), ``control`` (GSL's step control with masks), ``evolve``
(the masked sub-step loop), ``neuron`` (one step),
``simulate`` (compiled step and scan), ``sharding`` (the neurons split across the CPU's cores), ``buckets``
(shape buckets), ``population`` (``JaxPopulation``).
"""
from . import platform

platform.configure()
platform.require_contraction_free()

from .population import JaxPopulation  # noqa: E402  (after the XLA set-up)

__all__ = ["JaxPopulation"]
