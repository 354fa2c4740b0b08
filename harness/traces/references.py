"""Stored NEST outputs in reference_traces/: the memory that keeps the gate honest across NEST upgrades.

A reference is only replaced when it is identical or when the user says --force: a silently rewritten
reference would hide exactly the drift it exists to reveal.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.scenario.types import Scenario
from harness.traces.traces import Traces

REFERENCE_DIR = Path("reference_traces")


@dataclass
class RecordOutcome:
    scenario: str
    status: str  # "written" | "unchanged" | "refused"
    detail: str
    path: Path


def reference_stem(scenario_name: str, directory: Path = REFERENCE_DIR) -> Path:
    return Path(directory) / scenario_name


def load_reference(scenario: Scenario, directory: Path = REFERENCE_DIR) -> Traces:
    return Traces.load(reference_stem(scenario.name, directory))


def first_difference(new: Traces, old: Traces, scenario_hash: str) -> str | None:
    """Why ``new`` is not the same reference as ``old``, or None when it is bit-identical."""
    if old.provenance.get("scenario_hash") != scenario_hash:
        return "the scenario file changed since the reference was recorded"
    if new.tics_per_step != old.tics_per_step or not np.array_equal(new.steps, old.steps):
        return "the time grid differs"
    if not np.array_equal(new.spike_steps, old.spike_steps):
        return f"spike steps differ ({len(old.spike_steps)} stored, {len(new.spike_steps)} now)"
    if new.variables.keys() != old.variables.keys():
        return f"recorded variables differ ({sorted(old.variables)} stored, {sorted(new.variables)} now)"
    for name, values in new.variables.items():
        if values.tobytes() != old.variables[name].tobytes():
            diff = np.abs(values - old.variables[name])
            i = int(np.nanargmax(diff))
            return f"{name} differs, max |difference| {diff[i]:.3g} at step {int(new.steps[i])}"
    return None


def record_reference(scenario: Scenario, traces: Traces, *, force: bool,
                     directory: Path = REFERENCE_DIR) -> RecordOutcome:
    stem = reference_stem(scenario.name, directory)
    npz = stem.with_suffix(".npz")
    if npz.exists():
        why = first_difference(traces, Traces.load(stem), scenario.content_hash)
        if why is None:
            return RecordOutcome(scenario.name, "unchanged", "identical to the stored reference", npz)
        if not force:
            return RecordOutcome(scenario.name, "refused", f"{why}; use --force to overwrite", npz)
        traces.save(stem)
        return RecordOutcome(scenario.name, "written", f"overwritten (--force): {why}", npz)
    traces.save(stem)
    return RecordOutcome(scenario.name, "written", "new reference", npz)
