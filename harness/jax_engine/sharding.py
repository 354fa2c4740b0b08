"""Splitting the neuron axis across the CPU's cores: one XLA host "device" per shard of neurons.

XLA's CPU backend runs a step as a sequence of kernels, each a pass over the whole population (about 100
per step). At N = 1000 x 10 ports one RKF45 try moves ~10 MB through the caches that way, more than a core's
L2 holds, and a kernel uses the second core only now and then. Split into shards, each shard's copy of the
program runs on its own thread with a working set that stays in L2: measured on this 2-core machine (bit
for bit the same results), µs per neuron-step, 1 / 2 / 4 shards: 1024 x 10 ports 0.40 / 0.27 / 0.26,
128 x 100 ports -- / 2.1 / 1.8, 1024 x 1 port 0.33 / 0.16 / 0.15.

Sharding changes no bit: every operation of the model acts on one neuron's row, each shard runs its own
sub-step loop (``jnp.any(busy)`` is the shard's), and a neuron's sub-steps never depend on its neighbours
(``evolve``). ``XLA_FLAGS`` must ask for the host devices before the backend starts (``platform.configure``).
Off the CPU (a GPU is one device) the engine runs unsharded.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Callable

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ..errors import UsageError

AXIS = "neurons"
MIN_VALUES_PER_SHARD = 256  # state values (neurons x (3 + 2P)); measured: 2 shards of 64 x 5 still gain
SHARDS_VARIABLE = "NEST_PARITY_JAX_SHARDS"


def host_device_count() -> int:
    """Host devices to ask XLA for: $NEST_PARITY_JAX_SHARDS, else two per core (measured best here), at most 16."""
    value = os.environ.get(SHARDS_VARIABLE, "")
    if value.strip():
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count < 1:
            raise UsageError(f"environment variable {SHARDS_VARIABLE}={value!r}: expected a whole number >= 1 "
                             "(the most shards of neurons the JAX engine runs in parallel)")
        return count
    return max(1, min(16, 2 * (os.cpu_count() or 1)))


def shard_count(n_padded: int, values_per_neuron: int) -> int:
    """Shards for ``n_padded`` neurons of ``values_per_neuron`` state values each: the largest power of two
    that the host devices allow, that divides the neurons evenly and that leaves each shard at least
    MIN_VALUES_PER_SHARD state values."""
    if jax.default_backend() != "cpu":
        return 1
    devices = jax.device_count()
    shards = 1
    while (shards * 2 <= devices and n_padded % (shards * 2) == 0
           and n_padded // (shards * 2) * values_per_neuron >= MIN_VALUES_PER_SHARD):
        shards *= 2
    return shards


@lru_cache(maxsize=None)
def mesh(shards: int) -> Mesh:
    return Mesh(np.array(jax.devices()[:shards]), (AXIS,))


def neuron_spec(array, axis: int) -> PartitionSpec:
    """Split along ``axis``, or replicated if that axis has length 1 (an input shared by all neurons)."""
    if array.shape[axis] == 1:
        return PartitionSpec()
    return PartitionSpec(*([None] * axis), AXIS)


def place(tree, shards: int):
    """Put every array of ``tree`` (neuron axis first) on the shards' devices, split along the neurons."""
    if shards == 1:
        return jax.tree.map(jax.numpy.asarray, tree)
    sharding = NamedSharding(mesh(shards), PartitionSpec(AXIS))
    return jax.tree.map(lambda a: jax.device_put(a, sharding), tree)


def across_neurons(f: Callable, shards: int, in_specs, out_specs) -> Callable:
    """f run on every shard's neurons (``jax.shard_map``), or f itself for one shard.

    Replication checks are off: the per-shard loop state mixes shard-local and replicated values by design.
    """
    if shards == 1:
        return f
    return jax.shard_map(f, mesh=mesh(shards), in_specs=in_specs, out_specs=out_specs, check_vma=False)


def local_record_index(chosen: np.ndarray, n_padded: int, shards: int) -> tuple[np.ndarray, np.ndarray]:
    """Recording indices local to each shard, and where each chosen neuron lands in the gathered result.

    Every shard records the same number of neurons (padded with its neuron 0), so the gathered recording is
    shard-major: column ``s * per_shard + i`` is shard s's i-th recorded neuron. Returns (the flat index array
    handed to the device, one entry per shard and slot; the column of each neuron of ``chosen``).
    """
    size = n_padded // shards
    owner, local = np.divmod(np.asarray(chosen, dtype=np.int64), size)
    per_shard = max(1, int(np.bincount(owner, minlength=shards).max())) if chosen.size else 1
    index = np.zeros((shards, per_shard), dtype=np.int64)
    columns = np.empty(chosen.size, dtype=np.int64)
    filled = np.zeros(shards, dtype=np.int64)
    for k, (s, i) in enumerate(zip(owner.tolist(), local.tolist())):
        index[s, filled[s]] = i
        columns[k] = s * per_shard + filled[s]
        filled[s] += 1
    return index.ravel(), columns
