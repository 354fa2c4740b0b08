"""One simulation step of iaf_bw_2001_exact on the device, in NEST's order (see ``harness.model.neuron``).

1. integrate (0, step] with this step's I_stim (``evolve.advance``);
2. record the RHS side effects of the end-of-integration state (NEST's last RHS call);
3. add the ring-buffer slots and clamp / test the threshold / reset: the exact engine's ``end_of_step``;
4. I_stim = C, felt from the next step on.

All arrays carry the neurons on their last axis (``arraymath.NEURON_COLUMNS``), of the (bucketed) population
size; inputs may instead have a neuron axis of length 1, shared by every neuron (a population driven by
common inputs needs no N-fold copy).
"""
from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from harness.model.neuron import end_of_step, recorded_values
from harness.model.parameters import RECORDABLES
from harness.model.rhs import derivative, synaptic_currents

from . import jax_math  # noqa: F401  (registers the JAX ArrayMath the shared formulas dispatch to)
from .evolve import advance


class DeviceCoefficients(NamedTuple):
    """``harness.model.rhs.Coefficients`` as a JAX pytree: same attribute names, so the shared RHS reads it."""

    E_L: jnp.ndarray
    E_ex: jnp.ndarray
    E_in: jnp.ndarray
    neg_g_L: jnp.ndarray
    C_m: jnp.ndarray
    conc_Mg2: jnp.ndarray
    tau_AMPA: jnp.ndarray
    tau_GABA: jnp.ndarray
    tau_rise: jnp.ndarray  # (1, n)
    tau_decay: jnp.ndarray  # (1, n)
    alpha: jnp.ndarray  # (1, n)
    weights: jnp.ndarray  # (P, n)


class Neurons(NamedTuple):
    """What stays fixed between steps (until set_params): RHS coefficients, threshold, reset, tolerance."""

    coefficients: DeviceCoefficients
    V_th: jnp.ndarray
    V_reset: jnp.ndarray
    eps_abs: jnp.ndarray  # gsl_error_tol at the first step
    refractory_counts: jnp.ndarray  # int64
    step: jnp.ndarray  # step length (ms) per neuron: batches may mix resolutions


class State(NamedTuple):
    """What NEST's node carries from step to step: N x (3 + 2P) + 3N numbers."""

    y: jnp.ndarray  # (3 + 2P, n): harness.model.rhs's layout, transposed
    h: jnp.ndarray  # (n,)
    refractory_left: jnp.ndarray  # (n,) int64
    I_stim: jnp.ndarray  # (n,)


class Inputs(NamedTuple):
    """The ring-buffer slots read in one step; neuron axis n or 1."""

    ampa: jnp.ndarray  # (n,)
    gaba: jnp.ndarray  # (n,)
    nmda: jnp.ndarray  # (P, n) multiplicities
    current: jnp.ndarray  # (n,) becomes I_stim of the next step


def update(state: State, neurons: Neurons, inputs: Inputs):
    """Advance every neuron one step; returns (state, spiked mask, {recordable: (n,) values} in
    ``RECORDABLES`` order)."""
    c = neurons.coefficients
    y, h = advance(state.y, state.h, neurons.step, lambda ys: derivative(ys, c, state.I_stim), neurons.eps_abs)
    currents = synaptic_currents(y, c)

    y, refractory_left, spiked = end_of_step(y, state.refractory_left, inputs, neurons.V_th, neurons.V_reset,
                                             neurons.refractory_counts)
    I_stim = jnp.broadcast_to(inputs.current, state.I_stim.shape).astype(jnp.float64)
    return State(y, h, refractory_left, I_stim), spiked, recorded_values(y, currents, RECORDABLES)
