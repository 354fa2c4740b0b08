"""Many scenarios in one run: one NEST kernel and one vectorised ``Population`` for a whole batch.

Every scenario becomes one neuron with its own parameters, generators, NMDA ports and per-step inputs, so a
batch of N scenarios costs one kernel set-up and one Python stepping loop instead of N. Results are
bit-identical to ``run_nest`` / ``run_python`` of each scenario alone (``tests/test_batch.py``), because:

* a batch shares one time grid: scenarios are bucketed by (tics per step, number of steps, Simulate chunks);
* the neurons never interact; each neuron's generators are created and connected in file order, so NMDA
  ports (numbered per target in connection order) and the node-ID order of its generators are as in a
  single run;
* the one thing a shared kernel changes is min_delay, the minimum over *all* connections of the batch. It
  cuts the update calls, and the call is the first key of NEST's slot summation order (docs/model.md,
  "Ring-buffer summation order"), so a slot holding three or more values from two or more generators may
  sum differently. ``plan_batches`` therefore checks each scenario's slots under the batch's min_delay
  against its own and moves every scenario whose sums would change into a batch of scenarios with its own
  min_delay.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from harness import grid
from harness.backends.python import input_slots, min_delay_steps, neuron_traces
from harness.model import Population, libm
from harness.model.parameters import RECORDABLES
from harness.scenario.types import Scenario
from harness.traces.provenance import base_provenance
from harness.traces.traces import Traces


@dataclass(frozen=True)
class Batch:
    """Indices (into the caller's list) of scenarios that run together, and the kernel's min_delay."""

    indices: tuple[int, ...]
    min_delay_steps: int


@dataclass
class PythonRun:
    """One scenario's Python traces plus what only the reimplementation can see.

    The JAX engine records traces only: no try counts (empty ``step_paths``) and no NMDA state extremes
    (None: not observed, so ``fuzz_checks`` leaves those invariants to the exact engine's runs).
    """

    traces: Traces
    step_paths: Counter  # (tries, rejected tries) of one simulation step -> number of steps
    min_x: float | None  # smallest NMDA rise variable x_j seen after any step (inf without ports)
    min_s: float | None  # smallest NMDA gating variable s_j (inf without ports)
    max_s: float | None  # largest s_j (-inf without ports)


# ------------------------------------------------------------------------------------------ planning
def grid_key(scenario: Scenario) -> tuple:
    """What scenarios must share to run in one kernel: the grid and the Simulate chunks."""
    return scenario.tics_per_step, scenario.n_steps, tuple(scenario.chunk_steps)


def plan_batches(scenarios: list[Scenario], max_size: int | None = None) -> list[Batch]:
    """Group scenarios into batches whose shared kernel leaves every scenario's results unchanged."""
    batches = []
    by_grid = defaultdict(list)
    for i, s in enumerate(scenarios):
        by_grid[grid_key(s)].append(i)
    for members in by_grid.values():
        batches.extend(_split_by_summation_order(scenarios, members))
    if max_size:
        batches = [Batch(b.indices[i:i + max_size], b.min_delay_steps)
                   for b in batches for i in range(0, len(b.indices), max_size)]
    return batches


def _split_by_summation_order(scenarios, members: list[int]) -> list[Batch]:
    """The largest shared batch whose min_delay changes no scenario's slot sums, plus per-min_delay rest."""
    own = {i: min_delay_steps(scenarios[i]) for i in members}
    shared, moved = list(members), []
    while shared:
        kernel = min(own[i] for i in shared)
        sensitive = [i for i in shared if own[i] != kernel and not _same_slots(scenarios[i], kernel)]
        if not sensitive:
            break
        moved.extend(sensitive)  # removing them may raise the kernel's min_delay: check the rest again
        shared = [i for i in shared if i not in sensitive]
    batches = [Batch(tuple(shared), min(own[i] for i in shared))] if shared else []
    by_delay = defaultdict(list)
    for i in sorted(moved):
        by_delay[own[i]].append(i)
    batches.extend(Batch(tuple(ix), d) for d, ix in sorted(by_delay.items()))
    return batches


def _same_slots(scenario: Scenario, kernel_min_delay: int) -> bool:
    own, shared = input_slots(scenario), input_slots(scenario, kernel_min_delay)
    return all(own[k].tobytes() == shared[k].tobytes() for k in own)


def _check_shared_grid(scenarios: list[Scenario]) -> None:
    if not scenarios:
        raise ValueError("a batch needs at least one scenario")
    keys = {grid_key(s) for s in scenarios}
    if len(keys) != 1:
        raise ValueError(f"a batch must share one grid (tics per step, steps, chunks); got {sorted(keys)}")


# ------------------------------------------------------------------------------------------ NEST
def run_nest_batch(scenarios: list[Scenario], min_delay: int | None = None) -> list[Traces]:
    """All scenarios (one shared grid) in one NEST kernel, one neuron each; returns their traces in order.

    ``min_delay`` (steps), if given, is checked against the kernel's: it is what the Python side assumed.
    """
    # The single-run connection code, so that a neuron's generators are set up exactly as in run_nest.
    from harness.backends.nest import build_network, simulate

    _check_shared_grid(scenarios)
    first = scenarios[0]
    nest, neurons, multimeter, spike_recorder = build_network(scenarios)
    kernel_min_delay = grid.ms_to_steps(nest.min_delay, first.tics_per_step)
    if min_delay is not None and kernel_min_delay != min_delay:
        raise RuntimeError(f"NEST's min_delay is {kernel_min_delay} steps, the batch plan assumed {min_delay}")
    simulate(nest, first)
    return _split_nest_events(nest, scenarios, neurons, multimeter, spike_recorder)


def _split_nest_events(nest, scenarios, neurons, multimeter, spike_recorder) -> list[Traces]:
    from harness.traces.provenance import gsl_version

    n_steps = scenarios[0].n_steps
    events = multimeter.events
    senders = np.asarray(events["senders"], dtype=np.int64)
    stamps = np.asarray(events["times"], dtype=np.int64)
    spike_senders = np.asarray(spike_recorder.events["senders"], dtype=np.int64)
    spike_stamps = np.asarray(spike_recorder.events["times"], dtype=np.int64)
    values = {name: np.asarray(events[name], dtype=np.float64) for name in RECORDABLES}
    expected = np.arange(1, n_steps + 1, dtype=np.int64)
    provenance = {**base_provenance(), "backend": "nest-batch", "nest_version": nest.__version__,
                  "gsl_version": gsl_version(), "min_delay_ms": nest.min_delay, "batch_size": len(scenarios)}
    out = []
    for scenario, node_id in zip(scenarios, neurons.tolist()):
        mine = (senders == node_id) & (stamps <= n_steps)
        order = np.argsort(stamps[mine], kind="stable")
        steps = stamps[mine][order]
        if not np.array_equal(steps, expected):
            raise RuntimeError(f"{scenario.name}: NEST's multimeter returned {len(steps)} samples, "
                               f"expected {n_steps} (one per step)")
        spikes = spike_stamps[(spike_senders == node_id) & (spike_stamps <= n_steps)]
        out.append(Traces(
            scenario=scenario.name, tics_per_step=scenario.tics_per_step, steps=steps,
            variables={name: values[name][mine][order] for name in scenario.record},
            spike_steps=np.sort(spikes),
            provenance={**provenance, "scenario_path": scenario.path, "scenario_hash": scenario.content_hash}))
    return out


# ------------------------------------------------------------------------------------------ Python
def run_python_batch(scenarios: list[Scenario], min_delay: int | None = None) -> list[Traces]:
    """All scenarios (one shared grid) in one vectorised Population; returns their traces in order."""
    return [run.traces for run in python_batch_runs(scenarios, min_delay)]


def python_batch_runs(scenarios: list[Scenario], min_delay: int | None = None) -> list[PythonRun]:
    """Like ``run_python_batch``, plus each neuron's integrator paths and NMDA state extremes.

    ``min_delay`` (steps) is the kernel's min_delay of the matching NEST batch; by default the smallest
    of the scenarios' own, which is what a shared kernel gets.
    """
    pop, (ampa, gaba, current, nmda) = _batch_population(Population, scenarios, min_delay)
    n, n_steps = len(scenarios), scenarios[0].n_steps
    real_port = np.arange(nmda.shape[2])[None, :] < pop.n_ports[:, None]  # (n, P)

    traces = {name: np.empty((n_steps, n)) for name in RECORDABLES}
    tries, rejections = np.empty((n_steps, n), np.int64), np.empty((n_steps, n), np.int64)
    min_x, min_s, max_s = np.full(n, np.inf), np.full(n, np.inf), np.full(n, -np.inf)
    before = pop.integrator_counts
    for k in range(n_steps):
        pop.step(ampa[k], gaba[k], nmda[k], current[k])
        for name, value in pop.recordables().items():
            traces[name][k] = value
        after = pop.integrator_counts
        tries[k], rejections[k] = after[0] - before[0], after[1] - before[1]
        before = after
        x, s = pop.nmda_state
        min_x = np.minimum(min_x, np.where(real_port, x, np.inf).min(axis=1, initial=np.inf))
        min_s = np.minimum(min_s, np.where(real_port, s, np.inf).min(axis=1, initial=np.inf))
        max_s = np.maximum(max_s, np.where(real_port, s, -np.inf).max(axis=1, initial=-np.inf))

    stamps, neurons = pop.spikes()
    provenance = {**base_provenance(), "backend": "python-batch", "model": "harness.model",
                  "exp_route": libm.EXP_ROUTE, "batch_size": n}
    runs = []
    for i, s in enumerate(scenarios):
        paths = Counter(zip(tries[:, i].tolist(), rejections[:, i].tolist()))
        runs.append(PythonRun(neuron_traces(s, i, traces, stamps, neurons, provenance), paths,
                              float(min_x[i]), float(min_s[i]), float(max_s[i])))
    return runs


def jax_batch_runs(scenarios: list[Scenario], min_delay: int | None = None) -> list[PythonRun]:
    """``python_batch_runs`` on the JAX engine (``harness.jax_engine``): the whole batch in one compiled run.

    Traces only (see ``PythonRun``). Imports the JAX engine, which sets XLA up: call it before anything else
    starts JAX.
    """
    from harness.jax_engine import JaxPopulation, platform

    pop, (ampa, gaba, current, nmda) = _batch_population(JaxPopulation, scenarios, min_delay)
    recording = pop.run(scenarios[0].n_steps, ampa=ampa, gaba=gaba, nmda=nmda, current=current)
    provenance = {**base_provenance(), "backend": "python-jax-batch", "model": "harness.jax_engine",
                  "platform": platform.description(), "batch_size": len(scenarios)}
    stamps, neurons = recording.spike_stamps, recording.spike_neurons
    return [PythonRun(neuron_traces(s, i, recording.traces, stamps, neurons, provenance),
                      Counter(), None, None, None) for i, s in enumerate(scenarios)]


jax_batch_runs.flushes_subnormals = True  # XLA on a CPU flushes subnormals to zero (docs/jax.md)


def _batch_population(cls, scenarios: list[Scenario], min_delay: int | None):
    """A ``cls`` population of one neuron per scenario (one shared grid) and its stacked input slots."""
    _check_shared_grid(scenarios)
    first = scenarios[0]
    if min_delay is None:
        min_delay = min(min_delay_steps(s) for s in scenarios)
    pop = cls(len(scenarios), tics_per_step=first.tics_per_step,
              params={name: np.array([s.params[name] for s in scenarios]) for name in first.params},
              **{name: np.array([s.initial[name] for s in scenarios]) for name in first.initial})
    for i, s in enumerate(scenarios):
        for nmda in s.nmda_inputs:
            pop.add_nmda_port(nmda.weight, neurons=i)
    return pop, _stacked_slots(scenarios, min_delay, int(pop.n_ports.max(initial=0)))


def _stacked_slots(scenarios, min_delay: int, n_ports: int):
    """(n_steps, n) AMPA, GABA and current slots and (n_steps, n, P) NMDA slots, padding ports silent."""
    n, n_steps = len(scenarios), scenarios[0].n_steps
    ampa, gaba, current = (np.zeros((n_steps, n)) for _ in range(3))
    nmda = np.zeros((n_steps, n, n_ports))
    for i, s in enumerate(scenarios):
        slots = input_slots(s, min_delay)
        ampa[:, i], gaba[:, i], current[:, i] = slots["AMPA"], slots["GABA"], slots["current"]
        nmda[:, i, :slots["NMDA"].shape[1]] = slots["NMDA"]
    return ampa, gaba, current, nmda


# ------------------------------------------------------------------------------------------ both
def run_batched(scenarios: list[Scenario], runner, max_size: int | None = None) -> list:
    """Plan batches and run each with ``runner(batch_scenarios, min_delay)``; results in input order."""
    results = [None] * len(scenarios)
    for batch in plan_batches(scenarios, max_size):
        outputs = runner([scenarios[i] for i in batch.indices], batch.min_delay_steps)
        for i, out in zip(batch.indices, outputs):
            results[i] = out
    return results

