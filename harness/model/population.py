"""``Population``: n independent iaf_bw_2001_exact neurons that compute what NEST 3.10 computes, bit for bit.

The population is the whole public model: parameters per neuron, NMDA ports per neuron, initial state, and
a step/run interface fed with per-step input slots. It knows nothing of NEST devices or connections: the
caller hands it, for every simulation step k, the values NEST's ring buffers would hold in step k
(see ``harness.backends.python`` for how NEST's generators and delays map onto those slots).

Semantics kept from NEST (and why):
* V_m starts at -70 mV whatever E_L is (NEST builds the node with the default E_L).
* NMDA ports are fixed once the first step has run (NEST refuses NMDA connections after the first Simulate
  and throws when a port's weight changes); adding a port or changing a port weight afterwards raises.
* The RKF45 error tolerance is taken at the first step: NEST creates its GSL control object once, so a later
  ``gsl_error_tol`` change is reported by ``get_params`` but does not affect the integration.
* A changed t_ref applies from the next step (NEST recomputes RefractoryCounts at each Simulate); other
  parameter changes act immediately in the right-hand side.
* The state (V_m, s_AMPA, s_GABA) can be set only before the first step: NEST's SetStatus after a Simulate
  corrupts the state of a neuron with NMDA ports, so there is no NEST behaviour to reproduce.

The engine seam: ``Population`` holds NEST's semantics and the bookkeeping (configuration, validation, spikes,
the recordables of the last step), and is also the exact engine. An engine implements four methods and keeps
its state to itself: ``_start()`` builds the state at the first step, ``_advance(inputs)`` runs one step,
``_parameters_changed()`` follows a ``set_params`` after the start, and ``host_state()`` returns a read-only
host copy of the state, which every accessor (``V_m``, ``nmda_state``, ``integration_step``, ...) reads. The
JAX engine (``harness.jax_engine.JaxPopulation``) implements the same four, and a faster ``run``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from harness import grid

from .evolve import TryTally
from .neuron import NeuronState, StepInputs, recorded_values, update
from .parameters import INITIAL_STATE, RECORDABLES, Parameters
from .rhs import N_FIXED, Coefficients, nmda_blocks


class PortsFrozenError(RuntimeError):
    """An NMDA port was added or re-weighted after the first step (NEST: IllegalConnection / KernelException)."""


class HostState(NamedTuple):
    """A host copy of an engine's state whose arrays are read-only (writing to them raises)."""

    y: np.ndarray  # (n, 3 + 2P) in the exact engine's layout (``rhs``): V_m, s_AMPA, s_GABA, x_j, s_j
    h: np.ndarray  # (n,) GSL's step proposal (ms)
    refractory_left: np.ndarray  # (n,) int64
    I_stim: np.ndarray  # (n,) pA, the current of the coming step
    tries: np.ndarray | None  # (n,) RKF45 tries since the first step; None where the engine does not count
    rejections: np.ndarray | None  # (n,) rejected tries

    @classmethod
    def copy_of(cls, state: NeuronState) -> "HostState":
        tally = state.tally
        counts = (None, None) if tally is None else (tally.tries, tally.rejections)
        return cls(*(None if a is None else _read_only_copy(a)
                     for a in (state.y, state.h, state.refractory_left, state.I_stim, *counts)))


@dataclass
class Recording:
    """What ``Population.run`` recorded: sample i is the state after step ``stamps[i] - 1``."""

    stamps: np.ndarray  # (n_steps,) int64 time stamps in steps, (k + 1)
    traces: dict  # recordable name -> (n_steps, n) float64
    spike_stamps: np.ndarray  # int64 stamps of all spikes, in time order
    spike_neurons: np.ndarray  # int64 neuron index of each spike (ascending within one stamp)
    tics_per_step: int

    @property
    def times_ms(self) -> np.ndarray:
        return grid.steps_to_ms(self.stamps, self.tics_per_step)

    def spikes_of(self, neuron: int) -> np.ndarray:
        return self.spike_stamps[self.spike_neurons == neuron]


class Population:
    """n iaf_bw_2001_exact neurons; each has its own parameters, NMDA ports and adaptive RKF45 step.

    ``resolution`` (ms) must be a whole number of tics (1 tic = 1 µs); alternatively give ``tics_per_step``.
    ``params`` maps NEST parameter names to scalars or per-neuron arrays. ``V_m``, ``s_AMPA``, ``s_GABA``
    are initial values (scalars or per-neuron arrays). The methods under "engine seam" are the exact
    engine's (see the module docstring).
    """

    def __init__(self, n: int = 1, *, resolution: float | None = None, tics_per_step: int | None = None,
                 params=None, V_m=None, s_AMPA=None, s_GABA=None):
        if n < 1:
            raise ValueError(f"a population needs at least one neuron, got n = {n}")
        self.n = int(n)
        self.tics_per_step = _tics_per_step(resolution, tics_per_step)
        self.step_ms = grid.step_length_ms(self.tics_per_step)  # 0.013 -> 0.013000000000000001, as NEST
        self._params = Parameters(self.n, params)
        self._started = False  # the state is built at the first step, like NEST's init_state_/init_buffers_
        self._initial = {name: np.full(self.n, value) for name, value in INITIAL_STATE.items()}
        self.set_state(V_m=V_m, s_AMPA=s_AMPA, s_GABA=s_GABA)
        self._port_weights: list[list[float]] = [[] for _ in range(self.n)]
        self.steps_done = 0
        self._spike_stamps: list[np.ndarray] = []
        self._spike_neurons: list[np.ndarray] = []
        self._last: dict[str, np.ndarray] = {}

    # ----------------------------------------------------------------------------------- configuration
    def set_state(self, V_m=None, s_AMPA=None, s_GABA=None) -> None:
        """Initial V_m / s_AMPA / s_GABA (all neurons or per-neuron arrays); only before the first step."""
        values = {"V_m": V_m, "s_AMPA": s_AMPA, "s_GABA": s_GABA}
        values = {k: v for k, v in values.items() if v is not None}
        if values and self.started:
            raise RuntimeError("the state can be set only before the first step (NEST's SetStatus after "
                               "Simulate corrupts iaf_bw_2001_exact's state, so there is nothing to mimic)")
        for name, value in values.items():
            self._initial[name][:] = np.asarray(value, dtype=np.float64)

    def set_params(self, values=None, *, neurons=None, **kwargs) -> None:
        """Change parameters (NEST names, scalars or per-neuron arrays) of all or the given neurons."""
        values = {**(values or {}), **kwargs}
        self._params.update(values, neurons)
        if self.started:
            self._refractory_counts = self._compute_refractory_counts()
            self._parameters_changed()

    def get_params(self) -> dict[str, np.ndarray]:
        return self._params.as_dict()

    def add_nmda_port(self, weight, neurons=None) -> np.ndarray:
        """Give each listed neuron (default: all) one more NMDA port with the given weight(s).

        Ports are numbered per neuron in the order they are added (NEST: connection order, rport 3, 4, ...).
        Returns the new port's index for each listed neuron.
        """
        if self.started:
            raise PortsFrozenError("NMDA ports can be added only before the first step "
                                   "(NEST: IllegalConnection after the first Simulate)")
        index = self._neuron_index(neurons)
        weights = np.broadcast_to(np.asarray(weight, dtype=np.float64), index.shape)
        ports = np.empty(index.size, dtype=np.int64)
        for i, (neuron, w) in enumerate(zip(index.tolist(), weights.tolist())):
            ports[i] = len(self._port_weights[neuron])
            self._port_weights[neuron].append(w)
        return ports

    def set_nmda_weight(self, neuron: int, port: int, weight: float) -> None:
        """Change a port's weight; only before the first step (NEST: "requires constant weights")."""
        if self.started:
            raise PortsFrozenError(f"the weight of NMDA port {port} of neuron {neuron} cannot change after "
                                   "the first step (NEST: iaf_bw_2001_exact requires constant weights)")
        self._port_weights[neuron][port] = float(weight)

    @property
    def n_ports(self) -> np.ndarray:
        return np.array([len(w) for w in self._port_weights], dtype=np.int64)

    @property
    def nmda_weights(self) -> np.ndarray:
        """(n, P) weights, P = the largest port count; missing ports are zero-weight padding."""
        P = int(self.n_ports.max(initial=0))
        w = np.zeros((self.n, P))
        for neuron, weights in enumerate(self._port_weights):
            w[neuron, :len(weights)] = weights
        return w

    # ----------------------------------------------------------------------------------- state access
    @property
    def started(self) -> bool:
        return self._started

    @property
    def V_m(self) -> np.ndarray:
        return self.host_state().y[:, 0].copy()

    @property
    def s_AMPA(self) -> np.ndarray:
        return self.host_state().y[:, 1].copy()

    @property
    def s_GABA(self) -> np.ndarray:
        return self.host_state().y[:, 2].copy()

    @property
    def nmda_state(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, s), each (n, P): the NMDA rise and gating variables of every port."""
        x, s = nmda_blocks(self.host_state().y)
        return x.copy(), s.copy()

    @property
    def integration_step(self) -> np.ndarray:
        """Each neuron's persistent RKF45 step proposal h (ms)."""
        return self.host_state().h.copy()

    @property
    def integrator_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(tries, rejected tries) of RKF45 per neuron since the first step (GSL's count, failed_steps)."""
        state = self.host_state()
        return state.tries.copy(), state.rejections.copy()

    @property
    def refractory_left(self) -> np.ndarray:
        return self.host_state().refractory_left.copy()

    def recordables(self) -> dict[str, np.ndarray]:
        """The seven recordables after the last step (what NEST's multimeter samples)."""
        return {name: value.copy() for name, value in self._last.items()}

    def spikes(self) -> tuple[np.ndarray, np.ndarray]:
        """(stamps, neurons) of every spike so far; a spike in step k has stamp k + 1."""
        return _joined(self._spike_stamps), _joined(self._spike_neurons)

    # ----------------------------------------------------------------------------------- simulation
    def step(self, ampa=0.0, gaba=0.0, nmda=0.0, current=0.0) -> np.ndarray:
        """Advance one step; returns the boolean spike mask. Arguments are the slots read in this step.

        ``ampa``/``gaba``: the summed weight * multiplicity arriving now (scalar or per neuron);
        ``nmda``: multiplicities per port, broadcastable to (n, P); ``current``: the summed weight * amplitude
        read now, which becomes the stimulus current of the *next* step (NEST's CurrentEvent timing).
        """
        self._start_if_needed()
        n, P = self.n, self._weights.shape[1]
        inputs = StepInputs(
            ampa=np.broadcast_to(np.asarray(ampa, dtype=np.float64), (n,)),
            gaba=np.broadcast_to(np.asarray(gaba, dtype=np.float64), (n,)),
            nmda=self._checked_nmda(np.broadcast_to(np.asarray(nmda, dtype=np.float64), (n, P))),
            current=np.broadcast_to(np.asarray(current, dtype=np.float64), (n,)),
        )
        return self._step(inputs)

    def run(self, n_steps: int, ampa=None, gaba=None, nmda=None, current=None,
            record=RECORDABLES) -> Recording:
        """Advance ``n_steps`` steps with per-step slot arrays: ampa/gaba/current (n_steps, n) or (n_steps,),
        nmda (n_steps, n, P) or (n_steps, P); None means no input. Records the names in ``record``."""
        ampa, gaba, nmda, current = self._per_step_inputs(n_steps, ampa, gaba, nmda, current, record)
        n = self.n
        first = self.steps_done + 1
        traces = {name: np.empty((n_steps, n)) for name in record}
        spikes_before = len(self._spike_stamps)
        for k in range(n_steps):
            self._step(StepInputs(ampa[k], gaba[k], nmda[k], current[k]))
            for name, trace in traces.items():
                trace[k] = self._last[name]
        return Recording(np.arange(first, first + n_steps, dtype=np.int64), traces,
                         _joined(self._spike_stamps[spikes_before:]), _joined(self._spike_neurons[spikes_before:]),
                         self.tics_per_step)

    # ----------------------------------------------------------------------------------- internals
    def _per_step_inputs(self, n_steps: int, ampa, gaba, nmda, current, record) -> tuple:
        """``run``'s arguments checked and viewed as (n_steps, n) and (n_steps, n, P) arrays; starts the
        population (fixing its ports) first, as NEST's first Simulate does."""
        self._start_if_needed()
        unknown = set(record) - set(RECORDABLES)
        if unknown:
            raise ValueError(f"unknown recordable(s) {sorted(unknown)}; known: {list(RECORDABLES)}")
        n, P = self.n, self._weights.shape[1]
        return (_per_step(ampa, n_steps, (n,), "ampa"), _per_step(gaba, n_steps, (n,), "gaba"),
                self._checked_nmda(_per_step(nmda, n_steps, (n, P), "nmda")),
                _per_step(current, n_steps, (n,), "current"))

    def _start_if_needed(self) -> None:
        """NEST's init_state_/init_buffers_ at the first Simulate: fix ports, tolerance and r, build the state."""
        if self.started:
            return
        self._weights = self.nmda_weights
        self._eps_abs = self._params.gsl_error_tol.copy()
        self._refractory_counts = self._compute_refractory_counts()
        self._start()
        self._started = True

    def _step(self, inputs: StepInputs) -> np.ndarray:
        """One step of the engine, then the population's bookkeeping; returns the spike mask."""
        spiked, self._last = self._advance(inputs)
        self._note_spikes(spiked[None, :], self.steps_done)
        self.steps_done += 1
        return spiked

    def _note_spikes(self, spiked: np.ndarray, steps_before: int) -> None:
        """Spikes of steps ``steps_before`` ... from a (steps, n) mask, stamped step + 1."""
        steps, neurons = np.nonzero(spiked)
        if steps.size:
            self._spike_stamps.append(steps_before + 1 + steps.astype(np.int64))
            self._spike_neurons.append(neurons.astype(np.int64))

    def _initial_state(self, P: int) -> NeuronState:
        """The state at the first step: V_m, s_AMPA, s_GABA as set, NMDA variables 0, h = step, r = 0."""
        y = np.zeros((self.n, N_FIXED + 2 * P))
        y[:, 0] = self._initial["V_m"]
        y[:, 1] = self._initial["s_AMPA"]
        y[:, 2] = self._initial["s_GABA"]
        return NeuronState(y=y, h=np.full(self.n, self.step_ms), refractory_left=np.zeros(self.n, np.int64),
                           I_stim=np.zeros(self.n), tally=TryTally(self.n))

    def _compute_refractory_counts(self) -> np.ndarray:
        return np.array([grid.refractory_counts(t, self.tics_per_step) for t in self._params.t_ref.tolist()],
                        dtype=np.int64)

    def _checked_nmda(self, nmda: np.ndarray) -> np.ndarray:
        """Inputs may reach only ports that exist; padding ports must stay silent (and so exactly 0)."""
        P = self._weights.shape[1]
        padding = np.arange(P)[None, :] >= self.n_ports[:, None]  # (n, P)
        if padding.any() and np.any(nmda[..., padding] != 0):
            raise ValueError("NMDA input addressed to a port that the neuron does not have")
        return nmda

    def _neuron_index(self, neurons) -> np.ndarray:
        if neurons is None:
            return np.arange(self.n)
        index = np.atleast_1d(np.asarray(neurons, dtype=np.int64))
        if index.size and (index.min() < -self.n or index.max() >= self.n):
            raise IndexError(f"neuron index out of range for a population of {self.n}")
        return index % self.n

    # ----------------------------------------------------------------------------------- engine seam
    def _start(self) -> None:
        """Build the engine's state; ports, tolerance and refractory counts are fixed by now."""
        self._coefficients = Coefficients(self._params, self._weights)
        self._state = self._initial_state(self._weights.shape[1])

    def _advance(self, inputs: StepInputs) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One step: (spike mask, the recordables after it)."""
        spiked, currents = update(self._state, self._params, self._coefficients, self._eps_abs,
                                  self._refractory_counts, self.step_ms, inputs)
        recorded = recorded_values(self._state.y, currents, RECORDABLES)
        return spiked, {name: value.copy() for name, value in recorded.items()}  # y is integrated in place

    def _parameters_changed(self) -> None:
        """``set_params`` after the start changed the parameters (and the refractory counts)."""
        self._coefficients = Coefficients(self._params, self._weights)

    def host_state(self) -> HostState:
        """A read-only copy of the state; before the first step, the state it would start from."""
        if not self.started:
            return HostState.copy_of(self._initial_state(int(self.n_ports.max(initial=0))))
        return HostState.copy_of(self._state)


def _read_only_copy(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


def _joined(parts: list) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _tics_per_step(resolution, tics_per_step) -> int:
    if tics_per_step is not None:
        if resolution is not None and grid.ms_to_tics(resolution) != tics_per_step:
            raise ValueError(f"resolution {resolution} ms disagrees with tics_per_step {tics_per_step}")
        if int(tics_per_step) < 1:
            raise ValueError(f"tics_per_step must be >= 1, got {tics_per_step}")
        return int(tics_per_step)
    resolution = 0.1 if resolution is None else resolution
    if resolution <= 0 or not grid.is_whole_tics(resolution):
        raise ValueError(f"resolution {resolution} ms is not a positive whole number of tics (1 tic = 1 µs)")
    return grid.ms_to_tics(resolution)


def _per_step(values, n_steps: int, shape: tuple, name: str) -> np.ndarray:
    """A (n_steps, *shape) float64 view; a missing neuron axis broadcasts over all neurons."""
    if values is None:
        return np.zeros((n_steps,) + shape)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == len(shape):  # no neuron axis: the same input for every neuron
        values = values[:, None, ...]
    try:
        return np.broadcast_to(values, (n_steps,) + shape)
    except ValueError:
        raise ValueError(f"{name} has shape {values.shape}, expected ({n_steps}, {', '.join(map(str, shape))}) "
                         "or without the neuron axis") from None
