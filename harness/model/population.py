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
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness import grid
from .evolve import TryTally
from .neuron import NeuronState, StepInputs, update
from .parameters import INITIAL_STATE, Parameters
from .rhs import N_FIXED, Coefficients, nmda_blocks

RECORDABLES = ("V_m", "s_AMPA", "s_GABA", "s_NMDA", "I_AMPA", "I_GABA", "I_NMDA")


class PortsFrozenError(RuntimeError):
    """An NMDA port was added or re-weighted after the first step (NEST: IllegalConnection / KernelException)."""


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
    are initial values (scalars or per-neuron arrays).
    """

    def __init__(self, n: int = 1, *, resolution: float | None = None, tics_per_step: int | None = None,
                 params=None, V_m=None, s_AMPA=None, s_GABA=None):
        if n < 1:
            raise ValueError(f"a population needs at least one neuron, got n = {n}")
        self.n = int(n)
        self.tics_per_step = _tics_per_step(resolution, tics_per_step)
        self.step_ms = grid.step_length_ms(self.tics_per_step)  # 0.013 -> 0.013000000000000001, as NEST
        self._params = Parameters(self.n, params)
        self._state: NeuronState | None = None  # built at the first step, like NEST's init_state_/init_buffers_
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
            self._coefficients = Coefficients(self._params, self._weights)

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
        return self._state is not None

    @property
    def V_m(self) -> np.ndarray:
        return self._state.y[:, 0].copy() if self.started else self._initial["V_m"].copy()

    @property
    def s_AMPA(self) -> np.ndarray:
        return self._state.y[:, 1].copy() if self.started else self._initial["s_AMPA"].copy()

    @property
    def s_GABA(self) -> np.ndarray:
        return self._state.y[:, 2].copy() if self.started else self._initial["s_GABA"].copy()

    @property
    def nmda_state(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, s), each (n, P): the NMDA rise and gating variables of every port."""
        if not self.started:
            zeros = np.zeros((self.n, int(self.n_ports.max(initial=0))))
            return zeros, zeros.copy()
        x, s = nmda_blocks(self._state.y)
        return x.copy(), s.copy()

    @property
    def integration_step(self) -> np.ndarray:
        """Each neuron's persistent RKF45 step proposal h (ms)."""
        return self._state.h.copy() if self.started else np.full(self.n, self.step_ms)

    @property
    def integrator_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(tries, rejected tries) of RKF45 per neuron since the first step (GSL's count, failed_steps)."""
        if not self.started:
            return np.zeros(self.n, np.int64), np.zeros(self.n, np.int64)
        return self._state.tally.tries.copy(), self._state.tally.rejections.copy()

    @property
    def refractory_left(self) -> np.ndarray:
        return self._state.refractory_left.copy() if self.started else np.zeros(self.n, np.int64)

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
        return self._advance(inputs)

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
            self._advance(StepInputs(ampa[k], gaba[k], nmda[k], current[k]))
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
        """NEST's init_state_/init_buffers_ at the first Simulate: fix ports, h = step, tolerance, r = 0."""
        if self.started:
            return
        self._weights = self.nmda_weights
        P = self._weights.shape[1]
        y = np.zeros((self.n, N_FIXED + 2 * P))
        y[:, 0] = self._initial["V_m"]
        y[:, 1] = self._initial["s_AMPA"]
        y[:, 2] = self._initial["s_GABA"]
        self._eps_abs = self._params.gsl_error_tol.copy()
        self._refractory_counts = self._compute_refractory_counts()
        self._coefficients = Coefficients(self._params, self._weights)
        self._state = NeuronState(y=y, h=np.full(self.n, self.step_ms),
                                  refractory_left=np.zeros(self.n, np.int64), I_stim=np.zeros(self.n),
                                  tally=TryTally(self.n))

    def _advance(self, inputs: StepInputs) -> np.ndarray:
        spiked, currents = update(self._state, self._params, self._coefficients, self._eps_abs,
                                  self._refractory_counts, self.step_ms, inputs)
        self.steps_done += 1
        y = self._state.y
        self._last = {"V_m": y[:, 0].copy(), "s_AMPA": y[:, 1].copy(), "s_GABA": y[:, 2].copy(),
                      "s_NMDA": currents.s_NMDA, "I_AMPA": currents.I_AMPA, "I_GABA": currents.I_GABA,
                      "I_NMDA": currents.I_NMDA}
        if spiked.any():
            neurons = np.flatnonzero(spiked)
            self._spike_neurons.append(neurons)
            self._spike_stamps.append(np.full(neurons.size, self.steps_done, dtype=np.int64))
        return spiked

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
