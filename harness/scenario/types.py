"""The validated, normalised form of a scenario: what every backend consumes.

All times are integer grid steps (step S means time S * resolution); the loader (``schema``)
has already rejected anything off the grid, so no backend ever rounds a time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Re-exported for the modules that import them together with the scenario types; their home is the model's.
from harness.model.parameters import RECEPTOR_TYPES, RECORDABLES  # noqa: F401


@dataclass(frozen=True)
class SpikeInput:
    """One spike_generator (explicit or expanded from poisson_spikes) and its connection."""

    device: str  # "spike_generator" | "poisson_spikes"
    receptor: str  # "AMPA" | "GABA" | "NMDA"
    weight: float  # nS
    delay_steps: int
    spike_steps: np.ndarray  # int64, non-decreasing, each >= 1 (spike time = S * resolution)
    multiplicities: np.ndarray  # int64, same length, each >= 1


@dataclass(frozen=True)
class CurrentInput:
    """A dc_generator or step_current_generator and its connection (weight multiplies the amplitude)."""

    device: str  # "dc_generator" | "step_current_generator"
    weight: float
    delay_steps: int
    start_steps: int  # NEST's `start`, in steps (default 0)
    stop_steps: int | None  # NEST's `stop`, in steps; None means never
    amplitude: float = 0.0  # dc_generator, pA
    amplitude_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # step_current
    amplitude_values: np.ndarray = field(default_factory=lambda: np.zeros(0))  # step_current, pA


@dataclass(frozen=True)
class PopulationSpec:
    """One population of a network: neurons ``start .. start + n - 1``, named ``<name>[i]``."""

    name: str
    start: int
    n: int


@dataclass(frozen=True)
class Connections:
    """The explicit connection list every backend builds, in creation order (``docs/model.md#networks``).

    The order fixes each target's NMDA port numbers and the order NEST delivers a source's spike to its
    targets; every rule of the scenario file has been expanded into it once, by ``harness.scenario.connections``.
    """

    source: np.ndarray  # int64 neuron index
    target: np.ndarray  # int64 neuron index
    receptor: np.ndarray  # int64 NEST receptor type: 1 AMPA, 2 GABA, 3 NMDA
    weight: np.ndarray  # float64, nS
    delay_steps: np.ndarray  # int64, >= 1

    def __len__(self) -> int:
        return len(self.source)


@dataclass(frozen=True)
class NetworkSpec:
    """Populations of iaf_bw_2001_exact neurons, their connections and their generators."""

    populations: tuple  # PopulationSpec, in file order (= NEST's creation order, node IDs 1..n)
    params: dict  # every parameter name -> (n,) float64
    initial: dict  # V_m, s_AMPA, s_GABA -> (n,) float64
    connections: Connections
    inputs: tuple  # (target neuron, SpikeInput | CurrentInput), one generator each, in creation order
    record_neurons: np.ndarray  # int64, ascending, unique
    threads: int = 1  # NEST's local_num_threads for the reference run

    @property
    def n(self) -> int:
        return sum(p.n for p in self.populations)

    @property
    def labels(self) -> tuple[str, ...]:
        """Every neuron's name, ``<population>[i]``, by neuron index."""
        return tuple(f"{p.name}[{i}]" for p in self.populations for i in range(p.n))

    def nmda_ports(self) -> list[list[tuple[str, int, float]]]:
        """Per neuron, its NMDA ports in NEST's port order: network connections first (list order), then
        generators (creation order); each port is ("connection" | "input", index, weight)."""
        ports = [[] for _ in range(self.n)]
        c = self.connections
        for i in np.flatnonzero(c.receptor == RECEPTOR_TYPES["NMDA"]).tolist():
            ports[int(c.target[i])].append(("connection", i, float(c.weight[i])))
        for k, (neuron, inp) in enumerate(self.inputs):
            if isinstance(inp, SpikeInput) and inp.receptor == "NMDA":
                ports[neuron].append(("input", k, float(inp.weight)))
        return ports


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    path: str
    model: str
    resolution: float  # ms, as written in the file
    tics_per_step: int
    n_steps: int  # duration / resolution
    chunk_steps: tuple[int, ...]  # one Simulate call per entry; sums to n_steps
    params: dict  # every iaf_bw_2001_exact parameter, NEST defaults filled in
    initial: dict  # V_m, s_AMPA, s_GABA
    inputs: tuple  # SpikeInput | CurrentInput, in file order (= NEST creation/connection order)
    record: tuple[str, ...]
    content_hash: str  # sha256 of the parsed YAML, canonical JSON
    tolerances: dict = field(default_factory=dict)  # validated `tolerances:` block (harness.judge.tolerances)
    expect: str = "pass"  # "pass" | "fail": a port's expected status (harness.candidates.parity)
    expect_reason: str = ""  # why a port is expected to fail (required with expect: fail)
    network: NetworkSpec | None = None  # a network scenario (``populations:``); params, initial, inputs are then empty

    @property
    def is_network(self) -> bool:
        return self.network is not None

    @property
    def duration(self) -> float:
        return self.n_steps * self.resolution

    @property
    def nmda_inputs(self) -> list:
        """NMDA inputs in connection order: index j is NMDA port j (rport 3 + j)."""
        return [i for i in self.inputs if isinstance(i, SpikeInput) and i.receptor == "NMDA"]
