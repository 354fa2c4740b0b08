"""Compiled drivers: one step (the per-step API) and a segment of steps (``lax.scan``) with chosen recordings.

A segment always has ``SEGMENT_STEPS`` scan iterations so that runs of any length share one compiled
program; iterations past the end of the run are skipped by ``lax.cond`` on a per-step flag (on a scalar
predicate only the taken branch executes). The state buffers are donated: XLA updates them in place.
Both drivers run on ``shards`` shards of the neurons (``sharding``): each shard runs the same step on its
own neurons, and inputs shared by all neurons stay one replicated row.
"""
from __future__ import annotations

from functools import lru_cache, partial

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import PartitionSpec

from . import host_pow, sharding
from .neuron import Inputs, Neurons, State, update

SEGMENT_STEPS = 256
NEURONS_LAST = PartitionSpec(None, sharding.AXIS)


@lru_cache(maxsize=None)
def one_step(shards: int = 1):
    """The compiled step for ``shards`` shards: (state, neurons, inputs) -> (state, (8, n) spike flags (1.0 /
    0.0), then the recordables in ``neuron.RECORDABLES`` order).

    One packed array, because every array handed back to the host costs a transfer of its own. A function per
    shard count, called with arrays only: a static keyword argument would cost the per-step API ~30 µs of
    dispatch on every call.
    """
    def local(state, neurons, inputs):
        with host_pow.as_host_callback():  # launched once per step: the custom call's launch cost would show
            state, spiked, recorded = update(state, neurons, inputs)
        return state, jnp.stack([spiked.astype(jnp.float64)] + list(recorded.values()))

    def step(state: State, neurons: Neurons, inputs: Inputs):
        args = (state, neurons, inputs)
        return sharding.across_neurons(local, shards, in_specs=sharding.neuron_specs(args),
                                       out_specs=(sharding.neuron_specs(state), NEURONS_LAST))(*args)

    return jax.jit(step, donate_argnums=(0,))


@partial(jax.jit, static_argnames=("record", "shards", "tiles"), donate_argnums=(0,))
def run_segment(state: State, neurons: Neurons, inputs: Inputs, real, record_index, record: tuple[str, ...],
                shards: int = 1, tiles: int = 1):
    """Scan over the leading axis of ``inputs``; returns (state, spiked (L, n), recorded (L, len(record), r)).

    ``real[k]`` False makes step k a no-op (padding of the last segment); ``record`` picks the recordables
    and ``record_index`` the recorded neurons, as indices local to each part, r / (shards * tiles) per part
    (``sharding.local_record_index``); the recorded columns come back part after part. Each shard runs its
    ``tiles`` tiles one after the other, each through the whole segment.
    """
    def segment(state, neurons, inputs, real, record_index):
        n = state.h.shape[-1]
        blank = (jnp.zeros(n, dtype=bool), jnp.zeros((len(record), record_index.shape[0])))

        def live(state, step_inputs):
            state, spiked, recorded = update(state, neurons, step_inputs)
            values = jnp.stack([recorded[name][record_index] for name in record]) if record else blank[1]
            return state, (spiked, values)

        def body(state, xs):
            step_inputs, is_real = xs
            return lax.cond(is_real, live, lambda state, _: (state, blank), state, step_inputs)

        return lax.scan(body, state, (inputs, real))

    def tiled_segment(state, neurons, inputs, real, record_index):
        if tiles == 1:
            return segment(state, neurons, inputs, real, record_index)
        n = state.h.shape[-1]
        split = partial(_split_neurons, tiles=tiles)
        mapped = Inputs(*(split(a) if a.shape[-1] == n else None for a in inputs))  # shared rows stay whole

        def one_tile(xs):
            state, neurons, mapped, record_index = xs
            tile_inputs = Inputs(*(a if m is None else m for a, m in zip(inputs, mapped)))
            return segment(state, neurons, tile_inputs, real, record_index)

        out = lax.map(one_tile, (jax.tree.map(split, state), jax.tree.map(split, neurons), mapped,
                                 record_index.reshape(tiles, -1)))
        return jax.tree.map(_join_neurons, out)

    args = (state, neurons, inputs, real, record_index)
    in_specs = (*sharding.neuron_specs((state, neurons, inputs)), PartitionSpec(), PartitionSpec(sharding.AXIS))
    out_specs = (sharding.neuron_specs(state), (NEURONS_LAST, PartitionSpec(None, None, sharding.AXIS)))
    return sharding.across_neurons(tiled_segment, shards, in_specs, out_specs)(*args)


def _split_neurons(a, tiles: int):
    """(..., n) -> (tiles, ..., n / tiles): consecutive runs of neurons, tile first (for ``lax.map``)."""
    return jnp.moveaxis(a.reshape(a.shape[:-1] + (tiles, a.shape[-1] // tiles)), -2, 0)


def _join_neurons(a):
    """The inverse of ``_split_neurons``."""
    return jnp.moveaxis(a, 0, -2).reshape(a.shape[1:-1] + (a.shape[0] * a.shape[-1],))
