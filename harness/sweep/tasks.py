"""One task of a sweep, run on a Dask worker: a batch of variants through NEST, each candidate and the judge.

A batch shares one NEST kernel and one vectorised engine call (``harness.backends.batch``, as the fuzzer
batches): single-neuron variants are planned into kernels whose shared min_delay changes no variant's slot
sums, so every result is bit-identical to a run of the variant alone. Network variants run one by one.
When a shared run raises, the batch's variants are run alone, so that the error is the one variant's.

What comes back is rows of the results dataset (``harness.sweep.store.COLUMNS``), never traces: a few
hundred bytes per variable instead of megabytes per variant through the scheduler.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

from harness.model.parameters import RECORDABLE_UNITS

NEST = "nest"
BATCHED = ("python", "python-jax")  # the in-house engines, which run a whole batch in one call


@dataclass(frozen=True)
class Item:
    """What a worker needs of one variant (picklable; the Scenario travels parsed)."""

    variant_id: str
    base: str
    label: str
    changes: dict
    scenario: object  # harness.scenario.types.Scenario
    scenario_yaml: str


@dataclass(frozen=True)
class Settings:
    sweep: str
    candidates: tuple
    profile: str
    truth: str  # none | live | stored
    reference_dir: str | None = None  # where stored truths are looked up (truth: stored)
    registry: str | None = None  # the candidate registry of registered candidates (default: candidates.yaml)


def run_task(items: list, settings: Settings, task: str) -> list[dict]:
    """The rows of every variant of ``items`` (one task): NEST, the candidates, the judge."""
    from harness.executor.cluster import worker_name

    started = time.perf_counter()
    scenarios = [item.scenario for item in items]
    nest = _produce(NEST, scenarios)
    runs = {name: _produce(name, scenarios, settings.registry) for name in settings.candidates}
    truths = [_truth(s, settings) if settings.truth != "none" else (None, "no truth asked for") for s in scenarios]
    share = (time.perf_counter() - started) / max(1, len(items))
    where = worker_name()
    rows = []
    for i, item in enumerate(items):
        for name in settings.candidates:
            rows.extend(_judged_rows(item, settings, name, nest[i], runs[name][i], truths[i]))
    for row in rows:
        row.update(seconds=share, worker=where, task=task)
    return rows


# ------------------------------------------------------------------------------------------- runs
def _produce(source: str, scenarios: list, registry: str | None = None) -> list:
    """``(traces, None)`` or ``(None, why)`` per scenario: batched where the source can, else one by one."""
    singles = [i for i, s in enumerate(scenarios) if not s.is_network]
    results: list = [None] * len(scenarios)
    if singles and (source == NEST or source in BATCHED):
        try:
            from harness.backends.batch import run_batched

            outputs = run_batched([scenarios[i] for i in singles], _batch_runner(source))
            for i, traces in zip(singles, outputs):
                results[i] = (traces, None)
        except Exception:  # noqa: BLE001  (each variant alone below names the one that raises)
            pass
    for i, scenario in enumerate(scenarios):
        if results[i] is None:
            results[i] = _alone(source, scenario, registry)
    return results


def _batch_runner(source: str):
    from harness.backends import batch

    if source == NEST:
        return batch.run_nest_batch
    if source == "python":
        return batch.run_python_batch
    return lambda scenarios, min_delay: [r.traces for r in batch.jax_batch_runs(scenarios, min_delay)]


def _alone(source: str, scenario, registry: str | None = None) -> tuple:
    try:
        if source == NEST or source in BATCHED:
            from harness.backends.sources import produce

            return produce(source, scenario), None
        from harness.candidates.execute import run_candidate
        from harness.candidates.registry import get_candidate, load_registry

        return run_candidate(get_candidate(source, load_registry(registry)), scenario), None
    except Exception as exc:  # noqa: BLE001  (a crash on one variant is that variant's error)
        describe = getattr(exc, "describe", None)
        return None, describe() if callable(describe) else f"the {source} run raised {type(exc).__name__}: {exc}"


def _truth(scenario, settings: Settings) -> tuple:
    from pathlib import Path

    from harness.backends.sources import obtain_truth
    from harness.traces.references import REFERENCE_DIR

    mode = "live" if settings.truth == "live" else "auto"  # a variant's stored truth exists only if unchanged
    try:
        return obtain_truth(scenario, mode, Path(settings.reference_dir or REFERENCE_DIR))
    except Exception as exc:  # noqa: BLE001
        return None, f"the truth could not be obtained: {type(exc).__name__}: {exc}"


# ------------------------------------------------------------------------------------------- judging
def _judged_rows(item: Item, settings: Settings, candidate: str, nest: tuple, cand: tuple, truth: tuple) -> list:
    from harness.judge.accuracy import build_ladder, judge_accuracy
    from harness.judge.comparator import compare
    from harness.judge.tolerances import ACCURACY_PROFILE, profile_tolerances, scenario_gsl_error_tol

    base = _base_row(item, settings, candidate)
    (nest_traces, nest_error), (cand_traces, cand_error), (truth_traces, truth_note) = nest, cand, truth
    if nest_error or cand_error:
        return [{**base, "verdict": "error", "error": nest_error or cand_error}]
    if settings.profile == ACCURACY_PROFILE:
        if truth_traces is None:
            return [{**base, "verdict": "error", "error": f"{ACCURACY_PROFILE} needs the truth: {truth_note}"}]
        comparison, ladder = judge_accuracy(nest_traces, truth_traces, cand_traces, candidate_name=candidate)
    else:
        tolerances = profile_tolerances(settings.profile, scenario_gsl_error_tol(item.scenario))
        comparison = compare(nest_traces, cand_traces, tolerances, reference_name=NEST, candidate_name=candidate)
        ladder = build_ladder(nest_traces, truth_traces, cand_traces) if truth_traces is not None else None
    base["pair"], base["reference"] = comparison.pair, comparison.reference
    if comparison.status == "error":
        return [{**base, "verdict": "error", "error": comparison.error}]
    return _variable_rows(base, comparison, ladder)


def _base_row(item: Item, settings: Settings, candidate: str) -> dict:
    return {"sweep": settings.sweep, "variant_id": item.variant_id, "base": item.base, "variant": item.label,
            "changes": json.dumps(item.changes, sort_keys=False), "pair": f"{NEST}-vs-{candidate}",
            "reference": NEST, "candidate": candidate, "profile": settings.profile,
            "scenario": item.scenario_yaml}


def _variable_rows(base: dict, comparison, ladder) -> list:
    """One row per recordable (a network's: the worst over its neurons) and one for the spikes."""
    first = comparison.first_divergence()
    verdict = comparison.status
    common = {**base, "verdict": verdict, "first_divergence": first[0] if first else None,
              "first_divergence_ms": first[1] if first else None}
    worst: dict = {}
    for key, result in comparison.variables.items():
        name = key.rsplit(".", 1)[-1]
        row = worst.setdefault(name, {**common, "variable": name, "unit": RECORDABLE_UNITS.get(name, ""),
                                      "max_abs": 0.0, "max_rel": 0.0, "headroom": math.inf, "passed": True,
                                      "abs_tol": result.tolerance.abs, "rel_tol": result.tolerance.rel})
        row["max_abs"] = _worse(row["max_abs"], result.max_abs)
        row["max_rel"] = _worse(row["max_rel"], result.max_rel)
        row["headroom"] = min(row["headroom"], result.headroom)
        row["passed"] = row["passed"] and result.passed
    rows = list(worst.values())
    for row in rows:
        if ladder is not None:
            row["truth_distance"] = _rung(ladder.candidate_truth, row["variable"])
            row["nest_truth_distance"] = _rung(ladder.nest_truth, row["variable"])
    spikes = comparison.spikes
    if spikes is not None:
        rows.append({**common, "variable": "spikes", "unit": "", "passed": spikes.match,
                     "reference_spikes": len(spikes.reference_steps), "candidate_spikes": len(spikes.candidate_steps)})
    return rows


def _worse(x: float, y: float) -> float:
    return math.nan if math.isnan(x) or math.isnan(y) else max(x, y)


def _rung(distance, name: str):
    return None if distance is None else distance.get(name)
