"""The network examples of ``nest-parity fuzz``: one generated network at a time, in NEST and an engine.

A network does not batch: its neurons share one kernel and one ring-buffer set already, so each example is
one ``run_nest`` (one thread) and one engine run (``harness.network.Network``), compared neuron by neuron
bit for bit and checked for the invariants of ``checks`` on each neuron.

The exact engine's run observes what NEST does not record: after every step, each neuron's NMDA state
extremes (the per-port bounds of ``checks``) and its RKF45 tries (the integrator paths of the summary). It
does so from a ``Population`` subclass whose ``_step`` (the one place every step goes through) calls the
engine's and then only reads the state, so its traces are ``run_python``'s (``tests/test_fuzz_network.py``).
The JAX engine's run is ``run_python_jax`` itself: traces only, subnormals flushed (``checks``).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from harness.fuzz.checks import network_invariant_violations, network_parity_differences
from harness.model import Population
from harness.traces.traces import Traces


@dataclass
class NetworkRun:
    """One network's engine traces, plus what only the exact engine observes (None elsewhere)."""

    traces: Traces
    step_paths: Counter  # (tries, rejected tries) of one neuron in one step -> count; empty if not counted
    min_x: np.ndarray | None  # (n,) smallest NMDA rise variable of each neuron's ports (inf without ports)
    min_s: np.ndarray | None  # (n,) smallest NMDA gating variable
    max_s: np.ndarray | None  # (n,) largest NMDA gating variable


class ObservedPopulation(Population):
    """The exact engine, noting after every step each neuron's NMDA state extremes and RKF45 tries."""

    def _start(self) -> None:
        super()._start()
        n = self.n
        self.min_x, self.min_s, self.max_s = np.full(n, np.inf), np.full(n, np.inf), np.full(n, -np.inf)
        self.step_paths = Counter()
        self._real_port = np.arange(self._weights.shape[1])[None, :] < self.n_ports[:, None]  # (n, P)
        self._counts = self.integrator_counts

    def _step(self, inputs):
        spiked = super()._step(inputs)
        x, s = self.nmda_state
        real = self._real_port
        self.min_x = np.minimum(self.min_x, np.where(real, x, np.inf).min(axis=1, initial=np.inf))
        self.min_s = np.minimum(self.min_s, np.where(real, s, np.inf).min(axis=1, initial=np.inf))
        self.max_s = np.maximum(self.max_s, np.where(real, s, -np.inf).max(axis=1, initial=-np.inf))
        counts = self.integrator_counts
        self.step_paths.update(zip((counts[0] - self._counts[0]).tolist(), (counts[1] - self._counts[1]).tolist()))
        self._counts = counts
        return spiked


def exact_network_run(scenario) -> NetworkRun:
    """The exact engine's run of a network scenario, as ``run_python`` runs it, observed."""
    from harness.model import libm
    from harness.network import Network
    from harness.traces.provenance import base_provenance

    net = Network(scenario, ObservedPopulation)
    traces = net.run({**base_provenance(), "backend": "python", "model": "harness.model", "exp_route": libm.EXP_ROUTE})
    pop = net.population  # started: every scenario has at least one step
    return NetworkRun(traces, pop.step_paths, pop.min_x, pop.min_s, pop.max_s)


def jax_network_run(scenario) -> NetworkRun:
    """The JAX engine's run (``run_python_jax``): traces only."""
    from harness.backends.jax import run_python_jax

    return NetworkRun(run_python_jax(scenario), Counter(), None, None, None)


jax_network_run.flushes_subnormals = True  # XLA on a CPU flushes subnormals to zero (docs/jax.md)

NETWORK_CANDIDATES = {"python": exact_network_run, "python-jax": jax_network_run}


def run_network_pair(scenario, candidate) -> tuple[Traces, NetworkRun]:
    """NEST's traces (one thread) and the candidate's run of one network (in a worker process when bounded)."""
    from harness.backends.nest import run_nest

    return run_nest(scenario, threads=1), candidate(scenario)


def network_reasons(scenario, reference: Traces, run: NetworkRun, flushes_subnormals: bool) -> list[str]:
    """Everything wrong with one network run: parity first, then the invariants (neuron by neuron)."""
    return (network_parity_differences(reference, run.traces, flushes_subnormals)
            + network_invariant_violations(scenario, run))
