"""In-process candidates: a port as a Python function, called with the compiled inputs in memory.

A registry entry ``python: "package.module:function"`` (instead of ``command:``) names a function::

    def run(inputs: CompiledInputs) -> dict:
        # inputs.meta: what inputs.json holds; inputs.arrays: what inputs.npz holds (read-only arrays)
        ...
        return {"V_m": v_m, "s_AMPA": ..., "spike_steps": stamps}   # one array per recordable in meta["record"]

The content is exactly the protocol's (docs/candidates.md, versions 1 and 2), without the files: the
harness compiles the scenario as for a command, hands the function ``CompiledInputs`` and checks what comes
back by the rules ``protocol.read_traces`` applies to ``traces.npz`` (``protocol.check_traces``): the
recordables asked for and nothing else, their shapes and float types, finite values, spike stamps in
1..n_steps and strictly increasing; ``spike_neurons`` too for version 2. ``steps`` may be left out (it is
1..n_steps). Anything else, and any exception the function raises, is a ``CandidateError`` (status
``error``, with the traceback's tail where the stderr would be), never a comparison.

``nest-parity candidates run`` calls the function in a worker process (``parity.collect``), within the
entry's ``timeout_s``; ``run_callable`` is the same check for a function at hand (the Python API, a pytest
fixture), called in this process.
"""
from __future__ import annotations

import copy
import importlib
import sys
import time
import traceback
from collections.abc import Mapping

import numpy as np

from harness.scenario.types import Scenario
from harness.traces.traces import Traces

from . import protocol
from .errors import STDERR_TAIL_CHARS, CandidateError
from .registry import Candidate


def resolve(candidate: Candidate, scenario_name: str = ""):
    """The function an in-process entry names, imported (``{root}`` is appended to ``sys.path``)."""
    module_name, function_name = candidate.target
    root = str(candidate.root)
    if root not in sys.path:
        sys.path.append(root)  # after the installed packages: an installed port wins over a same-named folder
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - a port whose import fails is an error of that port
        raise CandidateError(candidate.name, scenario_name, f"cannot import {module_name!r}: "
                             f"{type(exc).__name__}: {exc}", _traceback_tail(exc)) from None
    function = module
    for part in function_name.split("."):
        function = getattr(function, part, None)
    if not callable(function):
        raise CandidateError(candidate.name, scenario_name, f"{module_name!r} has no function {function_name!r}")
    return function


def run_inprocess(candidate: Candidate, scenario: Scenario, compiled: protocol.CompiledInputs) -> Traces:
    """The traces of a registered in-process candidate (``execute.run_candidate`` checked it may run)."""
    traces = call_function(resolve(candidate, scenario.name), compiled, name=candidate.name)
    traces.provenance["python"] = candidate.python
    return traces


def run_callable(function, scenario: Scenario, *, name: str | None = None) -> Traces:
    """``function(inputs) -> arrays`` judged as an in-process candidate on ``scenario``, in this process."""
    name = name or getattr(function, "__name__", None) or type(function).__name__
    try:
        compiled = protocol.compile_inputs(scenario)
    except ValueError as exc:  # a network too large to hand over
        raise CandidateError(name, scenario.name, str(exc)) from None
    traces = call_function(function, compiled, name=name)
    traces.provenance.update(scenario_path=scenario.path, scenario_hash=scenario.content_hash)
    return traces


def call_function(function, compiled: protocol.CompiledInputs, *, name: str) -> Traces:
    """Call ``function`` on read-only views of the inputs and check its arrays against a private copy of
    the inputs' description (what the function does to its own copy cannot change what is asked of it)."""
    meta = copy.deepcopy(compiled.meta)
    scenario = meta["scenario"]
    handed = protocol.CompiledInputs(copy.deepcopy(meta), {k: _read_only(v) for k, v in compiled.arrays.items()})
    started = time.perf_counter()
    try:
        result = function(handed)
    except Exception as exc:  # noqa: BLE001 - someone else's code: any exception is that run's error
        raise CandidateError(name, scenario, f"raised {type(exc).__name__}: {exc}", _traceback_tail(exc)) from None
    seconds = time.perf_counter() - started
    if not isinstance(result, Mapping):
        raise CandidateError(name, scenario, f"returned {type(result).__name__}; an in-process candidate returns "
                             f"a mapping of array names ({', '.join(_expected_names(meta))}) to arrays")
    try:
        arrays = {str(k): _as_array(v, str(k)) for k, v in result.items()}
        traces = protocol.check_traces(arrays, meta, {"name": name}, implied_steps=True)
    except protocol.CandidateOutputError as exc:
        raise CandidateError(name, scenario, f"malformed output: {exc}") from None
    traces.provenance.update({"backend": f"candidate:{name}", "candidate": name, "seconds": round(seconds, 3),
                              "protocol_version": meta["format_version"], "in_process": True})
    return traces


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False  # a port that writes into its inputs gets a ValueError, not a silent change
    return view


def _as_array(value, name: str) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)  # a list, or another library's array (JAX's, say)
    except Exception as exc:  # noqa: BLE001
        raise protocol.CandidateOutputError(f"{name} is not an array: {type(exc).__name__}: {exc}") from None


def _expected_names(meta: dict) -> list[str]:
    spikes = ["spike_steps"] + (["spike_neurons"] if meta["format_version"] != protocol.FORMAT_VERSION else [])
    return [*meta["record"], *spikes]


def _traceback_tail(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc))
    return text if len(text) <= STDERR_TAIL_CHARS else "…" + text[-STDERR_TAIL_CHARS:]
