"""Where traces come from: live NEST, the reimplementation, the high-accuracy ``truth`` solution of NEST's
time-discrete model, or a stored reference in reference_traces/ (NEST's: ``stored``; the truth's, in
reference_traces/truth/: ``stored-truth``). The default ``reference_dir`` is the scenario's project's
reference folder, not the current directory's (``harness.traces.references.reference_folder``)."""
from __future__ import annotations

from pathlib import Path

from harness.errors import UsageError
from harness.scenario.coerce import as_scenario
from harness.scenario.types import Scenario
from harness.traces.references import REFERENCE_DIR, load_reference
from harness.traces.traces import Traces

SOURCES = ("nest", "python", "python-jax", "stored", "truth", "stored-truth")
REFERENCE_SOURCES = ("nest", "stored", "truth", "stored-truth")
CANDIDATE_SOURCES = ("python", "python-jax", "stored", "nest", "truth", "stored-truth")


def produce(source: str, scenario: Scenario, reference_dir: Path = REFERENCE_DIR,
            nest_threads: int | None = None) -> Traces:
    """The traces of ``scenario`` from ``source``; a missing or stale stored reference is a UsageError.
    ``nest_threads``: live NEST's thread count for a network scenario (default: the scenario's). ``scenario``
    may also be a path."""
    scenario = as_scenario(scenario)
    if source == "nest":
        from harness.backends.nest import run_nest  # imported on demand: NEST is slow to import

        return run_nest(scenario, nest_threads)
    if source == "python":
        from harness.backends.python import run_python

        return run_python(scenario)
    if source == "python-jax":
        from harness.backends.jax import run_python_jax  # starts JAX: only when asked for

        return run_python_jax(scenario)
    if source == "truth":
        from harness.truth import run_truth  # each step solved by scipy's solve_ivp (DOP853, rtol = atol = 1e-12)

        return run_truth(scenario)
    if source == "stored":
        return load_stored(scenario, Path(reference_dir))
    if source == "stored-truth":
        return load_reference(scenario, Path(reference_dir), kind="truth")
    raise UsageError(f"unknown trace source {source!r}; allowed: {', '.join(SOURCES)}")


def load_stored(scenario: Scenario, reference_dir: Path) -> Traces:
    """The verified stored reference of a scenario: missing, corrupt, tampered or recorded from a different
    scenario file is a UsageError that says how to repair it (harness.traces.references)."""
    return load_reference(scenario, Path(reference_dir))


TRUTH_MODES = ("auto", "stored", "live", "none")


def obtain_truth(scenario: Scenario, mode: str, reference_dir: Path = REFERENCE_DIR) -> tuple[Traces | None, str]:
    """The truth to measure distances against, and a note saying where it came from.

    ``stored``: the stored truth reference (missing or stale is a UsageError); ``live``: solved now (with its
    convergence check; seconds per thousand steps); ``auto``: the stored one when there is a valid one, else
    none; ``none``: no truth, no distances to it.
    """
    from harness.traces.references import reference_file

    if mode == "none":
        return None, "no truth asked for (--truth none)"
    if mode == "live":
        from harness.truth import run_truth

        return run_truth(scenario), "truth solved now (DOP853, rtol = atol = 1e-12)"
    path = reference_file(scenario, reference_dir, "truth")
    if mode == "auto" and not path.exists():
        return None, (f"no stored truth reference {path}: record it with `nest-parity record --truth "
                      f"{scenario.path}`, or pass --truth live")
    try:
        traces = load_reference(scenario, Path(reference_dir), kind="truth")
    except UsageError as exc:
        if mode == "stored":
            raise
        return None, f"the stored truth reference is not usable ({exc})"
    return traces, f"stored truth reference {path}"
