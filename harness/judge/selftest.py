"""The harness proves it can fail: the gate's comparison against deliberately broken reimplementations.

Each variant is one plausible porting mistake. It is applied by swapping one module-level function of the
model for a broken wrapper inside a context manager, in the worker process that runs it, so the production
code paths carry no switches and no cost. Every wrapper counts its calls: a variant whose hook the model no
longer calls (after a refactoring) is reported as "did not engage" instead of silently testing nothing.

For each variant the selftest runs the gate's check (``harness.judge.gate.check_scenario``) on scenarios where the
mistake must show, with the ``exact`` profile, and requires that

* the reimplementation-vs-NEST pairs fail (live and stored) and the verdict is "regression", not drift;
* the earliest divergence names a variable the mistake acts on first (so it is caught for the right reason).

It also runs the unbroken reimplementation on the same scenarios, which must pass: a catch means something
only if the same comparison lets the real thing through.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from harness import grid
from harness.backends import python as python_backend
from harness.judge.gate import LIVE, REGRESSION, GateResult, check_scenario, error_outcome
from harness.judge.pool import default_workers
from harness.model import neuron, population, rhs
from harness.model.parameters import RECORDABLES
from harness.network import delivery
from harness.network import engine as network_engine
from harness.report.summary import json_number
from harness.scenario.types import Scenario
from harness.traces.references import REFERENCE_DIR
from harness.traces.traces import Traces

CURRENTS_AND_S_NMDA = frozenset({"I_AMPA", "I_GABA", "I_NMDA", "s_NMDA"})


class Hits:
    """How often a broken wrapper ran; zero means the variant did not engage."""

    def __init__(self):
        self.count = 0


@contextlib.contextmanager
def replaced(module, name: str, replacement):
    original = getattr(module, name)
    setattr(module, name, replacement)
    try:
        yield original
    finally:
        setattr(module, name, original)


# ------------------------------------------------------------------------------------------- the mistakes
@contextlib.contextmanager
def currents_from_first_rhs(hits: Hits):
    """Record I_* and s_NMDA from the step's first RHS call (start state) instead of its last (end state)."""
    start = {}
    real_advance, real_currents = neuron.advance, neuron.synaptic_currents

    def advance(y, *args, **kwargs):
        start["y"] = y.copy()  # GSL's dydt_in of the step is evaluated at this state
        return real_advance(y, *args, **kwargs)

    def synaptic_currents(y, coefficients):
        hits.count += 1
        return real_currents(start.pop("y"), coefficients)

    with replaced(neuron, "advance", advance), replaced(neuron, "synaptic_currents", synaptic_currents):
        yield


@contextlib.contextmanager
def before_each_update(hits: Hits, change: Callable):
    """Run ``change(state, step, inputs)`` before every step's ``population.update``."""
    real_update = population.update

    def update(state, p, coefficients, eps_abs, refractory_counts, step, inputs):
        hits.count += 1
        change(state, step, inputs)
        return real_update(state, p, coefficients, eps_abs, refractory_counts, step, inputs)

    with replaced(population, "update", update):
        yield


def stimulus_without_delay(hits: Hits):
    """Use the current read in step k already in step k (NEST feels it from step k + 1)."""

    def use_current_now(state, step, inputs):
        state.I_stim = np.array(inputs.current, dtype=np.float64, copy=True)

    return before_each_update(hits, use_current_now)


@contextlib.contextmanager
def spike_jump_late(hits: Hits):
    """Apply every synaptic jump (AMPA, GABA, NMDA x) one step after NEST does."""
    real_slots = python_backend.input_slots

    def input_slots(scenario, *args, **kwargs):
        hits.count += 1
        slots = real_slots(scenario, *args, **kwargs)
        for key in ("AMPA", "GABA", "NMDA"):
            slots[key] = np.concatenate([np.zeros_like(slots[key][:1]), slots[key][:-1]])
        return slots

    with replaced(python_backend, "input_slots", input_slots):
        yield


def h_reset_every_step(hits: Hits):
    """Start every step's integration with h = dt instead of GSL's step proposal carried over."""

    def reset_h(state, step, inputs):
        state.h[:] = step

    return before_each_update(hits, reset_h)


@contextlib.contextmanager
def refractory_round_down(hits: Hits):
    """Round t_ref down to whole steps (NEST rounds up: 2.05 ms at 0.1 ms is 21 steps, not 20)."""

    def refractory_counts(t_ref, tics_per_step):
        hits.count += 1
        return math.trunc(t_ref * grid.TICS_PER_MS + 0.5) // tics_per_step

    with replaced(grid, "refractory_counts", refractory_counts):
        yield


@contextlib.contextmanager
def nmda_unweighted(hits: Hits):
    """Sum the NMDA gating variables without their port weights."""
    real_sum = rhs.nmda_weighted_sum

    def nmda_weighted_sum(s, w):
        hits.count += 1
        return real_sum(s, np.ones_like(w))

    with replaced(rhs, "nmda_weighted_sum", nmda_weighted_sum):
        yield


@contextlib.contextmanager
def tau_reciprocal(hits: Hits):
    """Write ds/dt = -s/tau as -s*(1/tau) for AMPA and GABA (a last-bit difference unless tau is 2^k)."""
    real_derivative = neuron.derivative

    def derivative(y, c, I_stim):
        hits.count += 1
        f = real_derivative(y, c, I_stim)
        f[:, 1] = (-y[:, 1]) * (1 / c.tau_AMPA)
        f[:, 2] = (-y[:, 2]) * (1 / c.tau_GABA)
        return f

    with replaced(neuron, "derivative", derivative):
        yield


@contextlib.contextmanager
def network_spike_late(hits: Hits):
    """Deliver every spike of a neuron one step after NEST does (its targets read it in step k + D + 1)."""
    real_deliver = delivery.SpikeDelivery.deliver

    def deliver(self, buffers, calls, stamps, neurons):
        hits.count += len(stamps) > 0
        return real_deliver(self, buffers, calls, stamps + 1, neurons)

    with replaced(delivery.SpikeDelivery, "deliver", deliver):
        yield


@contextlib.contextmanager
def network_order_reversed(hits: Hits):
    """Add a slice's spikes to the slots in the reverse of NEST's order (last neuron first)."""
    real_order = delivery.register_order

    def register_order(calls, stamps, neurons, threads=1):
        hits.count += 1
        return real_order(calls, stamps, -neurons, threads)

    with replaced(delivery, "register_order", register_order):
        yield


@contextlib.contextmanager
def network_transposed(hits: Hits):
    """Build the connection list with source and target swapped."""
    real_init = network_engine.Network.__init__

    def init(self, scenario, population_class, threads=None):
        hits.count += 1
        c = scenario.network.connections
        transposed = dataclasses.replace(c, source=c.target, target=c.source)
        network = dataclasses.replace(scenario.network, connections=transposed)
        real_init(self, dataclasses.replace(scenario, network=network), population_class, threads)

    with replaced(network_engine.Network, "__init__", init):
        yield


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    apply: Callable  # hits -> context manager
    scenarios: tuple  # catalogue scenario names where the mistake must show
    first_diverging: frozenset  # what may diverge first when it is caught for the right reason


VARIANTS = {v.name: v for v in (
    Variant("currents-from-first-rhs", "recorded currents from the first RHS evaluation of a step",
            currents_from_first_rhs, ("ampa_only", "mixed_inputs"), CURRENTS_AND_S_NMDA),
    Variant("stimulus-without-delay", "stimulus current without the one-step delay",
            stimulus_without_delay, ("dc_regular_firing",), frozenset({"V_m"})),
    Variant("spike-jump-late", "synaptic jumps one step late",
            spike_jump_late, ("ampa_only", "nmda_one_port"), frozenset({"s_AMPA", "s_GABA", "s_NMDA"})),
    Variant("h-reset-every-step", "integration step reset to dt at every step",
            h_reset_every_step, ("stiff_dt1",), frozenset(RECORDABLES)),
    Variant("refractory-round-down", "refractory count rounded down",
            refractory_round_down, ("t_ref_off_grid",), frozenset({"V_m"})),
    Variant("nmda-unweighted", "NMDA sum without the port weights",
            nmda_unweighted, ("nmda_one_port", "mixed_inputs"), frozenset({"s_NMDA", "I_NMDA"})),
    Variant("tau-reciprocal", "s/tau replaced by s*(1/tau)",
            tau_reciprocal, ("gaba_only",), frozenset({"s_AMPA", "s_GABA"})),
    Variant("network-spike-late", "a neuron's spikes delivered one step late",
            network_spike_late, ("net_ampa_pair", "net_nmda_pair"), frozenset({"s_AMPA", "s_GABA", "s_NMDA"})),
    Variant("network-order-reversed", "a slice's spikes added to the slots in the reverse order",
            network_order_reversed, ("net_summation_order",), frozenset({"s_AMPA", "s_GABA"})),
    Variant("network-transposed", "the connection list with source and target swapped",
            network_transposed, ("net_nmda_pool_asymmetric",), frozenset(RECORDABLES) | {"spikes"}),
)}


def run_variant(name: str, scenario: Scenario) -> Traces:
    """The reimplementation with one mistake (runs in a gate worker; picklable via functools.partial)."""
    from harness.backends.python import run_python

    hits = Hits()
    with VARIANTS[name].apply(hits):
        traces = run_python(scenario)
    if hits.count == 0:
        raise RuntimeError(f"variant {name!r} did not engage: the model no longer calls the function it "
                           f"replaces; update harness/judge/selftest.py")
    return traces


# ------------------------------------------------------------------------------------------- the check
@dataclass
class Catch:
    """What the gate said about one variant on one scenario."""

    variant: str
    scenario: str
    verdict: str
    caught: bool
    reason: str  # why it counts as caught or not
    what: str | None = None  # the earliest diverging variable(s) (a network's with the neuron), or "spikes"
    variables: tuple = ()  # their recordable names (or "spikes")
    first_ms: float | None = None
    max_abs: float | None = None
    max_rel: float | None = None  # of the first diverging variable


def judge(variant: Variant, outcome) -> Catch:
    live, stored = outcome.pair(LIVE), outcome.pair(REGRESSION)
    catch = Catch(variant.name, outcome.scenario, outcome.verdict, caught=False, reason="")
    if live.status == "error" or stored.status == "error":
        catch.reason = f"error: {live.error or stored.error}"
        return catch
    divergence = live.first_divergence()
    if divergence is None:
        catch.reason = "NOT caught: the broken reimplementation passes"
        return catch
    first = [(key, v) for key, v in live.variables.items() if v.first_violation_ms == divergence[1]]
    earliest = [v.name for _, v in first]  # a network's "E[0].s_AMPA" is variable s_AMPA of E[0]
    if divergence[0].endswith("spikes") and not earliest:
        earliest = ["spikes"]
    catch.what, catch.first_ms = ", ".join(dict.fromkeys(key for key, _ in first) or earliest), divergence[1]
    catch.variables = tuple(dict.fromkeys(earliest))
    if first:
        catch.max_abs, catch.max_rel = first[0][1].max_abs, first[0][1].max_rel
    if stored.status != "fail" or outcome.verdict != "regression":
        catch.reason = f"only partly caught: stored-vs-python {stored.status}, verdict {outcome.verdict}"
    elif not variant.first_diverging & set(earliest):
        catch.reason = (f"caught for the wrong reason: expected {', '.join(sorted(variant.first_diverging))} "
                        f"to diverge first")
    else:
        catch.caught, catch.reason = True, "caught"
    return catch


@dataclass
class SelftestResult:
    control: GateResult  # the unbroken reimplementation on the same scenarios
    catches: list  # Catch per (variant, scenario)
    wall_seconds: float

    @property
    def ok(self) -> bool:
        return self.control.status == "pass" and all(c.caught for c in self.catches)


def run_selftest(catalogue: dict, variants=None, scenarios=None, *, workers=None,
                 reference_dir=REFERENCE_DIR, scheduler: str | None = None) -> SelftestResult:
    """Run each variant on its scenarios (or on ``scenarios``, a list of Scenario) under the exact profile.

    ``catalogue`` maps scenario names to loaded scenarios (the variants name the scenarios they need). The
    control runs and the broken runs share one process pool (or one Dask cluster with ``scheduler``).
    """
    from harness.executor.dispatch import map_tasks

    started = time.perf_counter()
    workers = workers or default_workers()
    chosen = [VARIANTS[name] for name in (variants or VARIANTS)]
    plan = [(v, s) for v in chosen for s in (scenarios or [catalogue[n] for n in v.scenarios])]
    used = list({s.name: s for _, s in plan}.values())
    items = [(s, "exact", str(reference_dir), None) for s in used]
    items += [(s, "exact", str(reference_dir), functools.partial(run_variant, v.name)) for v, s in plan]
    outcomes = map_tasks(check_scenario, items, scheduler=scheduler, workers=workers, desc="selftest",
                         failed=lambda item, reason: error_outcome(item[0], item[1], reason, 0.0))
    wall = time.perf_counter() - started
    control = GateResult(outcomes[:len(used)], wall, max(1, min(workers, len(items))), "exact")
    catches = [judge(v, outcome) for (v, _), outcome in zip(plan, outcomes[len(used):])]
    return SelftestResult(control, catches, wall)


def selftest_json(result: SelftestResult) -> dict:
    """The selftest's findings per variant and scenario (documented in docs/compare.md)."""
    return {
        "command": "selftest", "status": "pass" if result.ok else "fail", "profile": "exact",
        "wall_seconds": round(result.wall_seconds, 3), "control": result.control.status,
        "catches": [{"variant": c.variant, "description": VARIANTS[c.variant].description, "scenario": c.scenario,
                     "caught": c.caught, "verdict": c.verdict, "reason": c.reason,
                     "first_diverging": list(c.variables), "where": c.what, "first_ms": c.first_ms,
                     "max_abs": json_number(c.max_abs), "max_rel": json_number(c.max_rel)}
                    for c in result.catches],
    }


def selftest_table(result: SelftestResult) -> str:
    # max_abs and max_rel are those of the first variable listed (in recording order).
    rows = [("variant", "scenario", "first diverging", "at_ms", "max_abs", "max_rel", "result")]
    for c in result.catches:
        rows.append((c.variant, c.scenario, c.what or "-", "-" if c.first_ms is None else f"{c.first_ms:g}",
                     "-" if c.max_abs is None else f"{c.max_abs:.3g}", "-" if c.max_rel is None else f"{c.max_rel:.3g}",
                     c.reason))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    control = result.control
    lines.append("")
    lines.append(f"control: the unbroken reimplementation on the same {len(control.outcomes)} scenarios: "
                 f"{control.status.upper()}")
    caught = sum(c.caught for c in result.catches)
    lines.append(f"selftest: {caught} of {len(result.catches)} broken runs caught; "
                 f"{result.wall_seconds:.1f} s wall; {'OK' if result.ok else 'FAILED'}")
    return "\n".join(lines)
