"""Splitting the neuron axis across the CPU's cores: one XLA host "device" per shard of neurons.

XLA's CPU backend runs a step as a sequence of kernels, each a pass over the whole population (about 100
per step). At N = 1000 x 10 ports one RKF45 try moves ~10 MB through the caches that way, more than a core's
L2 holds, and a kernel uses the second core only now and then. Split into shards, each shard's copy of the
program runs on its own thread with a working set that stays in L2: measured on this 2-core machine (bit
for bit the same results), µs per neuron-step, 1 / 2 / 4 shards: 1024 x 10 ports 0.44 / 0.27 / 0.26,
112 x 100 ports -- / 3.4 / 2.1, 1024 x 1 port 0.33 / 0.16 / 0.15. More host devices than that cost time
even when unused (64 devices, 4 shards: 0.30 instead of 0.25), so a large population is cut further into
tiles that each shard runs one after the other through a whole segment of steps, each tile's working set
within L2 (N = 100,000 x 10 ports: 0.69 µs per neuron-step as 4 shards, 0.34 as 4 shards of 32 tiles).

Neither changes a bit: every operation of the model acts on one neuron's column, each shard and tile runs
its own sub-step loop (``jnp.any(busy)`` is its own), and a neuron's sub-steps never depend on its
neighbours (``evolve``). ``XLA_FLAGS`` must ask for the host devices before the backend starts
(``platform.configure``). Off the CPU (a GPU is one device) the engine runs as one shard of one tile.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Callable

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from harness.errors import UsageError

AXIS = "neurons"
MIN_VALUES_PER_SHARD = 256  # state values (neurons x (3 + 2P)); measured: 2 shards of 64 x 5 still gain
CACHE_VALUES_PER_TILE = 8192  # more, and a tile's ~10 working arrays outgrow a core's L2 cache
SHARDS_PER_CORE = 2  # measured: 4 shards on 2 cores beat 2 (and 8)
SHARDS_VARIABLE = "NEST_PARITY_JAX_SHARDS"


def host_device_count() -> int:
    """Host devices to ask XLA for, the most shards there can be: $NEST_PARITY_JAX_SHARDS, else two per core."""
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
    return SHARDS_PER_CORE * (os.cpu_count() or 1)


def partition(n_padded: int, values_per_neuron: int) -> tuple[int, int]:
    """(shards, tiles per shard) for ``n_padded`` neurons of ``values_per_neuron`` state values each.

    Shards: the largest power of two the host devices allow that divides the neurons evenly and leaves each
    shard at least MIN_VALUES_PER_SHARD values. Tiles: the fewest (a power of two dividing the shard) that
    bring a tile within CACHE_VALUES_PER_TILE values. One shard and one tile off the CPU.
    """
    if jax.default_backend() != "cpu":
        return 1, 1
    values = n_padded * values_per_neuron
    shards = 1
    while (shards * 2 <= jax.device_count() and n_padded % (shards * 2) == 0
           and values // (shards * 2) >= MIN_VALUES_PER_SHARD):
        shards *= 2
    tiles = 1
    while values // (shards * tiles) > CACHE_VALUES_PER_TILE and (n_padded // shards) % (tiles * 2) == 0:
        tiles *= 2
    return shards, tiles


@lru_cache(maxsize=None)
def mesh(shards: int) -> Mesh:
    return Mesh(np.array(jax.devices()[:shards]), (AXIS,))


def neuron_spec(array) -> PartitionSpec:
    """Split along the last axis (the engine keeps neurons last), or replicated if it has length 1 (an input
    shared by all neurons)."""
    if array.shape[-1] == 1:
        return PartitionSpec()
    return PartitionSpec(*([None] * (array.ndim - 1)), AXIS)


def neuron_specs(tree):
    return jax.tree.map(neuron_spec, tree)


def place(tree, shards: int):
    """Put every array of ``tree`` (neurons last) on the shards' devices, split along the neurons."""
    if shards == 1:
        return jax.tree.map(jax.numpy.asarray, tree)
    return jax.tree.map(lambda a: jax.device_put(a, NamedSharding(mesh(shards), neuron_spec(a))),
                        tree)


def across_neurons(f: Callable, shards: int, in_specs, out_specs) -> Callable:
    """f run on every shard's neurons (``jax.shard_map``), or f itself for one shard.

    Replication checks are off: the per-shard loop state mixes shard-local and replicated values by design.
    """
    if shards == 1:
        return f
    return jax.shard_map(f, mesh=mesh(shards), in_specs=in_specs, out_specs=out_specs, check_vma=False)


def local_record_index(chosen: np.ndarray, n_padded: int, parts: int) -> tuple[np.ndarray, np.ndarray]:
    """Recording indices local to each part (shard, or tile of a shard), and where each chosen neuron lands
    in the gathered result.

    The parts are equal, consecutive runs of neurons. Every part records the same number of neurons (padded
    with its neuron 0), so the gathered recording is part-major: column ``p * per_part + i`` is part p's i-th
    recorded neuron. Returns (the flat index array handed to the device, one entry per part and slot; the
    column of each neuron of ``chosen``).
    """
    size = n_padded // parts
    owner, local = np.divmod(np.asarray(chosen, dtype=np.int64), size)
    per_part = max(1, int(np.bincount(owner, minlength=parts).max())) if chosen.size else 1
    index = np.zeros((parts, per_part), dtype=np.int64)
    columns = np.empty(chosen.size, dtype=np.int64)
    filled = np.zeros(parts, dtype=np.int64)
    for k, (p, i) in enumerate(zip(owner.tolist(), local.tolist())):
        index[p, filled[p]] = i
        columns[k] = p * per_part + filled[p]
        filled[p] += 1
    return index.ravel(), columns
