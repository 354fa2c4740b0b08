"""Where traces come from: live NEST, the reimplementation, or a stored reference in reference_traces/."""
from __future__ import annotations

from pathlib import Path

from harness.errors import UsageError
from harness.scenario.types import Scenario
from harness.traces.references import REFERENCE_DIR, reference_stem
from harness.traces.traces import Traces

SOURCES = ("nest", "python", "python-jax", "stored")
REFERENCE_SOURCES = ("nest", "stored")
CANDIDATE_SOURCES = ("python", "python-jax", "stored", "nest")


def produce(source: str, scenario: Scenario, reference_dir: Path = REFERENCE_DIR) -> Traces:
    """The traces of ``scenario`` from ``source``; a missing or stale stored reference is a UsageError."""
    if source == "nest":
        from harness.backends.nest import run_nest  # imported on demand: NEST is slow to import

        return run_nest(scenario)
    if source == "python":
        from harness.backends.python import run_python

        return run_python(scenario)
    if source == "python-jax":
        from harness.backends.jax import run_python_jax  # starts JAX: only when asked for

        return run_python_jax(scenario)
    if source == "stored":
        return load_stored(scenario, Path(reference_dir))
    raise UsageError(f"unknown trace source {source!r}; allowed: {', '.join(SOURCES)}")


def load_stored(scenario: Scenario, reference_dir: Path) -> Traces:
    """The stored reference of a scenario, refused when it was recorded from a different scenario file."""
    stem = reference_stem(scenario.name, reference_dir)
    npz = stem.with_suffix(".npz")
    if not npz.exists():
        raise UsageError(f"{scenario.path}: no stored reference {npz} for scenario {scenario.name!r}; "
                         f"record it with `nest-parity record {scenario.path}` (or `make references`)")
    try:
        traces = Traces.load(stem)
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"{npz}: cannot read the stored reference: {exc}") from None
    recorded = traces.provenance.get("scenario_hash")
    if recorded != scenario.content_hash:
        # Comparing against a reference of another experiment would report nonsense as a regression.
        raise UsageError(f"{npz}: was recorded from a different version of {scenario.path} (scenario hash "
                         f"{recorded} stored, {scenario.content_hash} now); re-record it with "
                         f"`nest-parity record --force {scenario.path}` once the change is intended")
    return traces
