"""The Python API of nest-parity, for notebooks and other programs (``import nest_parity``; docs/api.md).

Everything the command line does for one scenario, as functions that return objects instead of printing:

* ``load_scenario(path | YAML text | mapping)`` -> ``Scenario``, validated by the same schema as a file
  (every problem at once, as a ``ScenarioError``);
* ``run(scenario, backend)`` -> ``Traces``: live NEST, the exact engine (``python``), the JAX engine
  (``python-jax``), the truth solution (``truth``), a stored reference (``stored``, ``stored-truth``), a
  port registered in candidates.yaml (its name, or ``candidate:<name>``), or a Python callable that takes
  the Scenario and returns Traces;
* ``compare(scenario, reference, candidate, profile)`` -> ``Comparison``, with its accuracy ladder and both
  sides' traces, judged exactly as ``nest-parity compare`` judges (``harness.judge.compare_sources``);
* ``gate(paths)`` -> the gate's result; ``export(obj, path)`` and ``read_export(path)``: Parquet and
  NetCDF files.

Results: ``Traces.to_dataframe(form="wide"|"long")``, ``.to_xarray()``, ``.plot()``;
``Comparison.to_dataframe()``, ``.to_xarray()``, ``.traces_dataframe(variables)``, ``.plot()``.
Runs happen in this process (NEST included: each run resets its kernel); ``timeout`` runs a named backend
in a killable worker process instead, as the command line does.
"""
from __future__ import annotations

import difflib
import functools
from pathlib import Path

from harness.backends.sources import SOURCES
from harness.errors import ScenarioError, UsageError
from harness.judge.comparator import Comparison
from harness.scenario.coerce import load_any
from harness.scenario.types import Scenario
from harness.traces.references import REFERENCE_DIR
from harness.traces.traces import Traces

__all__ = ["load_scenario", "run", "compare", "gate", "export", "read_export", "frame", "candidates",
           "BACKENDS", "Scenario", "Traces", "Comparison", "ScenarioError", "UsageError"]

BACKENDS = SOURCES  # the built-in ones; candidates() lists the registered ports
CANDIDATE_PREFIX = "candidate:"


def load_scenario(source, *, name: str | None = None) -> Scenario:
    """A validated Scenario from a path, YAML text (a str with a newline, or a ``{...}`` flow mapping), a
    mapping, or a Scenario (returned as it is). ``name``: for text or a mapping without ``name:``."""
    return load_any(source, name=name)


def candidates(registry=None) -> list[str]:
    """The names of the ports registered in candidates.yaml (or ``registry``)."""
    from harness.candidates.registry import load_registry

    return list(load_registry(registry))


def _references(references) -> Path:
    """Where stored references are read from: ``references``, else the harness's default."""
    return Path(references) if references is not None else REFERENCE_DIR


def registered_candidate(name: str):
    """The registered candidate a backend name means, or None for a built-in source."""
    from harness.candidates.registry import get_candidate, load_registry

    if name in SOURCES:
        return None
    registry = load_registry()
    explicit = name.startswith(CANDIDATE_PREFIX)
    key = name[len(CANDIDATE_PREFIX):] if explicit else name
    if explicit or key in registry:
        return get_candidate(key, registry)
    known = list(SOURCES) + [f"{CANDIDATE_PREFIX}{n}" for n in registry] + list(registry)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UsageError(f"unknown backend {name!r}{hint}; allowed: {', '.join(SOURCES)}, a registered candidate "
                     f"({', '.join(registry) or 'none'}) or, in Python, a callable taking a Scenario")


def produce_named(source: str, scenario: Scenario, reference_dir: Path, nest_threads: int | None) -> Traces:
    """The traces of a named backend: a built-in source or a registered candidate (module level, so that a
    worker process can run it)."""
    from harness.backends.sources import produce

    candidate = registered_candidate(source)
    if candidate is None:
        return produce(source, scenario, reference_dir, nest_threads)
    from harness.candidates.execute import run_candidate

    return run_candidate(candidate, scenario)


def callable_name(function) -> str:
    """What a callable backend is called in a comparison: its name, a partial's with its arguments
    (``run_variant('nmda-unweighted')``), else its type's."""
    if isinstance(function, functools.partial):
        args = [repr(a) for a in function.args] + [f"{k}={v!r}" for k, v in function.keywords.items()]
        return f"{callable_name(function.func)}({', '.join(args)})"
    return getattr(function, "__name__", None) or type(function).__name__


def _call_backend(function, scenario: Scenario) -> Traces:
    traces = function(scenario)
    if not isinstance(traces, Traces):
        raise TypeError(f"backend {callable_name(function)!r} returned {type(traces).__name__}, not Traces")
    return traces


def _caller(timeout: float | None, callables: bool):
    from harness.judge.compare_sources import direct

    if timeout is None:
        return direct
    if callables:
        raise UsageError("timeout: a callable backend runs in this process; a time limit needs a named backend")
    from harness.judge.pool import run_bounded

    def bounded(function, *args, what: str = ""):
        return run_bounded(function, *args, timeout=timeout, what=what)

    return bounded


def run(scenario, backend="nest", *, references=None, nest_threads: int | None = None,
        timeout: float | None = None) -> Traces:
    """The traces of ``scenario`` (anything ``load_scenario`` takes) from ``backend`` (see the module)."""
    scenario = load_scenario(scenario)
    if callable(backend):
        if timeout is not None:
            _caller(timeout, callables=True)
        return _call_backend(backend, scenario)
    if not isinstance(backend, str):
        raise TypeError(f"backend is a name or a callable, not {type(backend).__name__}")
    call = _caller(timeout, callables=False)
    return call(produce_named, backend, scenario, _references(references), nest_threads,
                what=f"{scenario.path}: the {backend} run")


def compare(scenario, reference="nest", candidate="python", *, profile: str | None = None, truth: str = "auto",
            references=None, nest_threads: int | None = None, timeout: float | None = None) -> Comparison:
    """``candidate`` judged against ``reference`` on ``scenario``, as ``nest-parity compare`` judges.

    ``profile`` None: the scenario's ``tolerances:`` block, else a registered candidate's own profile (as
    ``nest-parity candidates`` judges it), else ``exact``. ``truth``: the ladder's truth (``auto``: the
    stored truth reference when there is one; ``stored``, ``live``, ``none``). The result keeps both sides'
    traces (``.traces``) for ``traces_dataframe()`` and ``plot()``.
    """
    from harness.judge.compare_sources import compare_sources
    from harness.judge.tolerances import check_profile_name

    scenario = load_scenario(scenario)
    if profile is not None:
        check_profile_name(profile, "profile")
    named, functions = [], {}
    for role, side in (("reference", reference), ("candidate", candidate)):
        if callable(side):
            label = callable_name(side)
            if label in named or label in SOURCES:  # two sides of one name would be run once
                label = f"{label} ({role})"
            functions[label] = side
            named.append(label)
        elif isinstance(side, str):
            named.append(side)
        else:
            raise TypeError(f"a source is a name or a callable, not {type(side).__name__}")
    if profile is None and not scenario.tolerances.get("profile"):
        profile = _candidate_profile(named[1], scenario) if named[1] not in functions else None

    def produce(source, scenario, reference_dir, nest_threads):
        if source in functions:
            return _call_backend(functions[source], scenario)
        return produce_named(source, scenario, reference_dir, nest_threads)

    call = _caller(timeout, callables=bool(functions))
    return compare_sources(scenario, named[0], named[1], profile=profile, truth=truth,
                           reference_dir=_references(references), nest_threads=nest_threads,
                           produce=produce if functions else produce_named, call=call, keep_traces=True)


def _candidate_profile(name: str, scenario: Scenario) -> str | None:
    candidate = registered_candidate(name)
    return None if candidate is None else candidate.profile


def gate(paths=None, *, profile: str | None = None, references=None, workers: int | None = None,
         timeout: float | None = None):
    """The gate over scenario files, folders or globs (default: the catalogue), as ``nest-parity gate``:
    a ``harness.judge.gate.GateResult`` (``.status``, ``.outcomes``, ``.comparisons``)."""
    from harness.judge.gate import run_gate
    from harness.scenario.discovery import DEFAULT_SCENARIOS, find_scenarios
    from harness.scenario.schema import load_scenarios

    scenarios = load_scenarios(find_scenarios(paths or [DEFAULT_SCENARIOS]))
    return run_gate(scenarios, profile=profile, reference_dir=_references(references), workers=workers,
                    timeout=timeout)


def export(obj, path, *, format: str | None = None, force: bool = False) -> Path:
    """Write Traces, a Comparison (or several, or a GateResult) or a comparison table to ``path`` as Parquet
    or NetCDF (``format``, else from the suffix: .parquet, .nc); an existing file only with ``force``."""
    from harness.traces.exports import write_export

    return write_export(obj, path, format, force=force, option="path")


def read_export(path):
    """What ``export`` wrote: Traces (bit for bit) or a comparison table (a DataFrame)."""
    from harness.traces.exports import read_export as read

    return read(path)


def frame(runs: dict, variables=None):
    """Several traces of one scenario (label -> Traces) side by side in one DataFrame indexed by time_ms:
    columns (source, variable[, neuron]); a single variable (a str) gives one column per source."""
    from harness.traces.frames import joined_dataframe

    return joined_dataframe(runs, variables)
