"""Setting up XLA so that its float64 arithmetic is the C++ arithmetic NEST compiles to.

Measured with jax/jaxlib 0.10.2 on x86-64 CPU (``docs/jax.md`` has the numbers):

* **FMA contraction.** XLA compiles ``a*b + c`` to a fused multiply-add whenever the CPU has FMA, which
  changes the last bit for ~23 % of random inputs. ``--xla_cpu_ftz`` and the fast-math flags do not stop
  it; capping the instruction set at AVX (``--xla_cpu_max_isa=AVX``, no FMA instructions) does. The flag
  must be in ``XLA_FLAGS`` before the CPU backend starts, so ``configure`` adds it when it still can, and
  ``contraction_free`` checks the result on random inputs instead of trusting the flag.
* **Division by a literal or a broadcast** is rewritten as multiplication by its reciprocal (differs for
  ~20 % of inputs), so ``jax_math.divide`` hands XLA a full-shape divisor behind a barrier.
* **``x + 0.0``** is simplified to ``x``, which keeps a ``-0.0`` that C turns into ``+0.0``.
* **Subnormals** are flushed to zero on input and output (XLA sets the CPU's DAZ/FTZ bits while it runs;
  no flag changes that). Results agree only while no value of the model drops below 2.2e-308.
* XLA's ``exp`` differs from glibc's in ~14 % of arguments: see ``glibc_exp``.

On an NVIDIA H200 (jax 0.11.2, CUDA 13; ``bench/xla_probe.py``) XLA does not contract float64 multiply-adds,
divides a broadcast truly (a literal still becomes a reciprocal multiplication), keeps subnormals, and its
``exp`` differs from glibc's in ~6 % of arguments. No flag is needed there; ``contraction_free`` checks
whichever backend runs.
"""
from __future__ import annotations

import os
from pathlib import Path

REQUIRED_XLA_FLAGS = ("--xla_cpu_max_isa=AVX",)
# For speed only, and left out if the user passes backend options of their own. Without AVX2 a loop iteration
# of a kernel holds one 4-wide vector, and the exp's long chain of dependent operations leaves the core
# waiting on each result; LLVM's loop vectorizer interleaving 4 iterations fills the gaps and changes no
# operation (exp kernel 20 -> 13 ns per value; docs/jax.md).
BACKEND_OPTIONS_FLAG = "--xla_backend_extra_options"
SPEED_XLA_FLAGS = (f"{BACKEND_OPTIONS_FLAG}=-force-vector-interleave=4",)
HOST_DEVICES_FLAG = "--xla_force_host_platform_device_count"
CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "jax"


class ContractionError(RuntimeError):
    """XLA fuses multiply-add here, so the engine cannot reproduce NEST's bits."""


def configure() -> None:
    """XLA flags (if the backend has not started yet), float64, and the persistent compilation cache."""
    import jax
    from jax._src import xla_bridge

    from . import sharding

    if not xla_bridge.backends_are_initialized():
        os.environ["XLA_FLAGS"] = with_engine_flags(os.environ.get("XLA_FLAGS", ""), sharding.host_device_count)
    jax.config.update("jax_enable_x64", True)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(CACHE_DIR))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def with_engine_flags(xla_flags: str, host_device_count) -> str:
    """``xla_flags`` plus what the engine needs and the user has not set: the required flags, one host device
    per shard (``host_device_count()``, see ``sharding``), the speed flags."""
    flags = xla_flags.split()
    missing = [f for f in REQUIRED_XLA_FLAGS if f not in flags]
    if not any(f.startswith(HOST_DEVICES_FLAG) for f in flags):
        missing.append(f"{HOST_DEVICES_FLAG}={host_device_count()}")
    if not any(f.startswith(BACKEND_OPTIONS_FLAG) for f in flags):
        missing.extend(SPEED_XLA_FLAGS)
    return " ".join(flags + missing)


def contraction_free(samples: int = 4096) -> bool:
    """True if jitted ``a*b + c`` and ``c - a*b`` equal NumPy's (unfused) results on random inputs."""
    import jax
    import numpy as np

    rng = np.random.default_rng(20010101)
    a, b, c = (rng.standard_normal(samples) for _ in range(3))
    fused = jax.jit(lambda a, b, c: (a * b + c, c - a * b))(a, b, c)
    return bool(np.array_equal(np.asarray(fused[0]), a * b + c) and np.array_equal(np.asarray(fused[1]), c - a * b))


def require_contraction_free() -> None:
    if not contraction_free():
        raise ContractionError(
            "XLA fuses a*b + c on this backend, which changes the last bit of the model's arithmetic. "
            f"Start Python with XLA_FLAGS containing {' '.join(REQUIRED_XLA_FLAGS)} (or import harness.jax_engine "
            "before anything else starts JAX).")


def description() -> dict:
    import jax

    return {"jax": jax.__version__, "backend": jax.default_backend(), "device": jax.devices()[0].device_kind,
            "xla_flags": os.environ.get("XLA_FLAGS", "")}
