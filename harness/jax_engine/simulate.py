"""Compiled drivers: one step (the per-step API) and a segment of steps (``lax.scan``) with chosen recordings.

A segment always has ``SEGMENT_STEPS`` scan iterations so that runs of any length share one compiled
program; iterations past the end of the run are skipped by ``lax.cond`` on a per-step flag (on a scalar
predicate only the taken branch executes). The state buffers are donated: XLA updates them in place.
Both drivers run on ``shards`` shards of the neurons (``sharding``): each shard runs the same step on its
own neurons, and inputs shared by all neurons stay one replicated row.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import PartitionSpec

from . import sharding
from .neuron import Inputs, Neurons, State, update

SEGMENT_STEPS = 256
SPLIT = PartitionSpec(sharding.AXIS)


def _input_specs(inputs: Inputs, neuron_axis: int) -> Inputs:
    return Inputs(*(sharding.neuron_spec(a, neuron_axis) for a in inputs))


@partial(jax.jit, static_argnames=("shards",), donate_argnums=(0,))
def one_step(state: State, neurons: Neurons, inputs: Inputs, shards: int = 1):
    """(state, (8, n): spike flags (1.0 / 0.0), then the recordables in ``neuron.RECORDABLES`` order).

    One packed array, because every array handed back to the host costs a transfer of its own.
    """
    def local(state, neurons, inputs):
        state, spiked, recorded = update(state, neurons, inputs)
        return state, jnp.stack([spiked.astype(jnp.float64)] + list(recorded.values()))

    return sharding.across_neurons(local, shards, in_specs=(SPLIT, SPLIT, _input_specs(inputs, 0)),
                                   out_specs=(SPLIT, PartitionSpec(None, sharding.AXIS)))(state, neurons, inputs)


@partial(jax.jit, static_argnames=("record", "shards"), donate_argnums=(0,))
def run_segment(state: State, neurons: Neurons, inputs: Inputs, real, record_index, record: tuple[str, ...],
                shards: int = 1):
    """Scan over the leading axis of ``inputs``; returns (state, spiked (L, n), recorded (L, len(record), r)).

    ``real[k]`` False makes step k a no-op (padding of the last segment); ``record`` picks the recordables
    and ``record_index`` the recorded neurons, as indices local to each shard, r / shards per shard
    (``sharding.local_record_index``); the recorded columns come back shard after shard.
    """
    def local(state, neurons, inputs, real, record_index):
        n = state.h.shape[0]
        blank = (jnp.zeros(n, dtype=bool), jnp.zeros((len(record), record_index.shape[0])))

        def live(state, step_inputs):
            state, spiked, recorded = update(state, neurons, step_inputs)
            values = jnp.stack([recorded[name][record_index] for name in record]) if record else blank[1]
            return state, (spiked, values)

        def body(state, xs):
            step_inputs, is_real = xs
            return lax.cond(is_real, live, lambda state, _: (state, blank), state, step_inputs)

        return lax.scan(body, state, (inputs, real))

    in_specs = (SPLIT, SPLIT, _input_specs(inputs, 1), PartitionSpec(), SPLIT)
    out_specs = (SPLIT, (PartitionSpec(None, sharding.AXIS), PartitionSpec(None, None, sharding.AXIS)))
    return sharding.across_neurons(local, shards, in_specs, out_specs)(state, neurons, inputs, real, record_index)
