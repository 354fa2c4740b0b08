"""``JaxPopulation``: the public ``harness.model.Population`` API on the JAX engine.

Configuration, validation, error cases and NEST semantics are inherited from ``Population`` unchanged; the
engine implements ``Population``'s engine seam (``_start``, ``_advance``, ``_parameters_changed``,
``host_state``): ``step()`` calls one compiled step, and ``run()`` scans compiled segments.
Two additions: ``run(..., record_neurons=...)`` records only some neurons (so N = 100,000 fits in memory),
and inputs without a neuron axis stay shared on the device instead of being copied N times.

The device holds the state padded to the shape buckets (``buckets``) and split into shards of neurons
(``sharding``), privately; ``host_state()``, which the inherited accessors (``V_m``, ``nmda_state``, ...)
read, is a read-only host copy made on demand. RKF45 try counts are not kept.
"""
from __future__ import annotations

import jax
import numpy as np

from harness.model.neuron import NeuronState, StepInputs
from harness.model.parameters import INITIAL_STATE, Parameters
from harness.model.population import RECORDABLES, HostState, Population, Recording, _joined
from harness.model.rhs import N_FIXED, Coefficients

from . import sharding, simulate
from .buckets import bucket
from .neuron import DeviceCoefficients, Inputs, Neurons, State


class JaxPopulation(Population):
    """n iaf_bw_2001_exact neurons integrated by the JAX engine; same constructor and methods as Population."""

    _device: State  # from the first step: the padded, sharded state, which only this class touches
    _shards = 1
    _tiles = 1

    # ----------------------------------------------------------------------------------- engine seam
    def _start(self) -> None:
        """The initial state, padded to the buckets and placed on the shards' devices."""
        state = self._initial_state(self._weights.shape[1])
        n_pad, P_pad = bucket(self.n), bucket(self._weights.shape[1])
        self._shards, self._tiles = sharding.partition(n_pad, N_FIXED + 2 * P_pad)
        self._device = sharding.place(State(y=_pad_state(state.y, n_pad, P_pad),
                                            h=_pad_rows(state.h, n_pad, self.step_ms),
                                            refractory_left=_pad_rows(state.refractory_left, n_pad, 0),
                                            I_stim=_pad_rows(state.I_stim, n_pad, 0.0)), self._shards)
        self._neurons = self._device_neurons()
        # Ports are frozen from now on, so the padding mask of _checked_nmda can be computed once.
        self._port_padding = np.arange(self._weights.shape[1])[None, :] >= self.n_ports[:, None]
        self._has_padding = bool(self._port_padding.any())

    def _advance(self, inputs: StepInputs) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One compiled step (the per-step API); Population.step validated and broadcast the inputs."""
        step_inputs = self._device_inputs(inputs.ampa, inputs.gaba, inputs.nmda, inputs.current)
        self._device, packed = simulate.one_step(self._shards)(self._device, self._neurons, step_inputs)
        packed = np.asarray(packed)[:, :self.n]  # one transfer: spike flags, then the recordables
        return packed[0] != 0.0, dict(zip(RECORDABLES, packed[1:]))

    def _parameters_changed(self) -> None:
        self._neurons = self._device_neurons()

    def host_state(self) -> HostState:
        """A read-only host copy of the (unpadded) device state."""
        if not self.started:
            return super().host_state()
        y = np.asarray(self._device.y).T  # the device keeps one column per neuron
        P = self._weights.shape[1]
        P_pad = (y.shape[1] - N_FIXED) // 2
        keep = np.r_[0:N_FIXED + P, N_FIXED + P_pad:N_FIXED + P_pad + P]
        n = self.n
        return HostState.copy_of(NeuronState(y=y[:n][:, keep], h=np.asarray(self._device.h)[:n],
                                              refractory_left=np.asarray(self._device.refractory_left)[:n],
                                              I_stim=np.asarray(self._device.I_stim)[:n]))

    # ----------------------------------------------------------------------------------- properties
    @property
    def shards(self) -> int:
        """How many shards of neurons the engine runs in parallel (``sharding``); 1 until the first step."""
        return self._shards

    @property
    def tiles(self) -> int:
        """How many tiles each shard runs one after the other (``sharding.partition``); 1 until the first step."""
        return self._tiles

    @property
    def integrator_counts(self):
        raise NotImplementedError("the JAX engine does not count RKF45 tries; use harness.model.Population")

    # ----------------------------------------------------------------------------------- simulation
    def run(self, n_steps: int, ampa=None, gaba=None, nmda=None, current=None,
            record=RECORDABLES, record_neurons=None, segment_steps=None) -> Recording:
        """As ``Population.run``; ``record_neurons`` (indices) limits the recording to those neurons.

        ``Recording.traces[name]`` is (n_steps, number of recorded neurons).
        """
        ampa, gaba, nmda, current = self._per_step_inputs(n_steps, ampa, gaba, nmda, current, record)
        record = tuple(record)
        chosen = self._neuron_index(record_neurons)
        n = self.n
        first = self.steps_done + 1
        spikes_before = len(self._spike_stamps)
        traces = {name: np.empty((n_steps, chosen.size)) for name in record}
        # A short run scans a shorter segment: one compiled program per power of 2, or ``segment_steps`` (a
        # network's min_delay: every update call is one segment of that length, the cut ones padded).
        L = segment_steps or min(simulate.SEGMENT_STEPS, 1 << max(0, n_steps - 1).bit_length())
        record_index, columns = sharding.local_record_index(chosen, bucket(n), self._shards * self._tiles)
        for a in range(0, n_steps, L):
            b = min(a + L, n_steps)
            inputs = self._device_inputs(*(_segment(v, a, b, L) for v in (ampa, gaba, nmda, current)), 1)
            real = np.arange(L) < b - a
            self._device, (spiked, values) = simulate.run_segment(self._device, self._neurons, inputs, real,
                                                                  record_index, record, shards=self._shards,
                                                                  tiles=self._tiles)
            spiked, values = jax.device_get((spiked, values))
            for i, name in enumerate(record):
                traces[name][a:b] = values[:b - a, i][:, columns]
            self._note_spikes(spiked[:b - a, :n], self.steps_done)
            self.steps_done += b - a
        if n_steps and np.array_equal(chosen, np.arange(n)):  # what recordables() reports after a run
            self._last = {name: traces[name][-1].copy() for name in record}
        return Recording(np.arange(first, first + n_steps, dtype=np.int64), traces,
                         _joined(self._spike_stamps[spikes_before:]), _joined(self._spike_neurons[spikes_before:]),
                         self.tics_per_step)

    # ----------------------------------------------------------------------------------- internals
    def _device_neurons(self) -> Neurons:
        """Per-neuron constants padded to the bucket: default neurons and zero-weight ports as padding."""
        n, n_pad, P_pad = self.n, bucket(self.n), bucket(self._weights.shape[1])
        params = Parameters(n_pad)
        params.update({name: np.r_[values, params.as_dict()[name][n:]] for name, values in
                       self._params.as_dict().items()})
        weights = np.zeros((n_pad, P_pad))
        weights[:n, :self._weights.shape[1]] = self._weights
        c = {name: value.T for name, value in vars(Coefficients(params, weights)).items()}  # neurons last
        return sharding.place(Neurons(coefficients=DeviceCoefficients(**c), V_th=params.V_th, V_reset=params.V_reset,
                                      eps_abs=_pad_rows(self._eps_abs, n_pad, params.gsl_error_tol[-1]),
                                      refractory_counts=_pad_rows(self._refractory_counts, n_pad, 0),
                                      step=np.full(n_pad, self.step_ms)), self._shards)

    def _checked_nmda(self, nmda: np.ndarray) -> np.ndarray:
        """Population's check (inputs only to existing ports) with the padding mask cached at the start."""
        if self._has_padding and np.any(nmda[..., self._port_padding] != 0):
            raise ValueError("NMDA input addressed to a port that the neuron does not have")
        return nmda

    def _device_inputs(self, ampa, gaba, nmda, current, neuron_axis: int = 0) -> Inputs:
        """Inputs padded to the buckets (neuron axis 0 for one step, 1 for a segment of steps); the NMDA
        multiplicities (..., n, P) become (..., P, n), neurons last as on the device."""
        n_pad, P_pad = bucket(self.n), bucket(self._weights.shape[1])
        # NumPy arrays go to the compiled function as they are: jit transfers them faster than jnp.asarray.
        nmda = _pad_ports(_pad_neurons(nmda, n_pad, neuron_axis), P_pad)
        return Inputs(ampa=_pad_neurons(ampa, n_pad, neuron_axis), gaba=_pad_neurons(gaba, n_pad, neuron_axis),
                      nmda=np.ascontiguousarray(np.swapaxes(nmda, -1, -2)),
                      current=_pad_neurons(current, n_pad, neuron_axis))


def _pad_rows(values: np.ndarray, n_pad: int, fill) -> np.ndarray:
    values = np.asarray(values)
    return np.concatenate([values, np.full((n_pad - values.shape[0],) + values.shape[1:], fill, values.dtype)])


def _pad_state(y: np.ndarray, n_pad: int, P_pad: int) -> np.ndarray:
    """Padded neurons (NEST's initial V_m, all else 0) and zero padded ports, in both blocks; one column per
    neuron."""
    n, P = y.shape[0], (y.shape[1] - N_FIXED) // 2
    out = np.zeros((n_pad, N_FIXED + 2 * P_pad))
    out[:, 0] = INITIAL_STATE["V_m"]
    out[:n, :N_FIXED + P] = y[:, :N_FIXED + P]
    out[:n, N_FIXED + P_pad:N_FIXED + P_pad + P] = y[:, N_FIXED + P:]
    return np.ascontiguousarray(out.T)


def _pad_neurons(values: np.ndarray, n_pad: int, axis: int) -> np.ndarray:
    """Neuron axis ``axis`` padded with zeros to n_pad, or of length 1 if all neurons get the same input.

    An input given without a neuron axis reaches here as a broadcast view (stride 0), which is kept as one
    shared row instead of being copied N times.
    """
    if values.shape[axis] > 1 and values.strides[axis] == 0:
        values = values[(slice(None),) * axis + (slice(0, 1),)]
    if values.shape[axis] == 1 or values.shape[axis] == n_pad:
        return np.ascontiguousarray(values, dtype=np.float64)
    shape = list(values.shape)
    shape[axis] = n_pad
    out = np.zeros(shape)
    out[(slice(None),) * axis + (slice(0, values.shape[axis]),)] = values
    return out


def _pad_ports(nmda: np.ndarray, P_pad: int) -> np.ndarray:
    if nmda.shape[-1] == P_pad:
        return nmda
    out = np.zeros(nmda.shape[:-1] + (P_pad,))
    out[..., :nmda.shape[-1]] = nmda
    return out


def _segment(values: np.ndarray, a: int, b: int, L: int) -> np.ndarray:
    """Steps a..b of a per-step array, padded with zero steps to L; a broadcast neuron axis stays length 1."""
    part = values[a:b]
    if part.shape[1] > 1 and part.strides[1] == 0:
        part = part[:, :1]
    out = np.zeros((L,) + part.shape[1:])
    out[:b - a] = part
    return out
