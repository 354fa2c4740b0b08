"""The candidate file formats: what the harness hands a port, and what the port must hand back.

Two versions: 1 for a single-neuron scenario (this module's docstring), 2 for a network scenario
(``protocol_network``; docs/candidates.md, "Protocol version 2"). ``compile_inputs`` and ``read_traces``
choose by the scenario and by ``format_version``; a candidate states the versions it speaks in its registry
entry (``protocols``), and may repeat it as ``protocol_version`` in candidate.json (checked when present).

A candidate never sees a scenario file. The harness compiles the scenario, with NEST's timing rules
(``harness.backends.python.input_slots``), into explicit per-step inputs, so a port only has to integrate
the model and apply them; it needs neither this package nor NEST. The format is documented for port
authors in docs/candidates.md; this module is its executable definition.

Input folder (written by the harness, read by the candidate):

* ``inputs.json``: ``format`` ("nest-parity-candidate-inputs"), ``format_version``, ``scenario``,
  ``model``, ``resolution_ms`` (as written in the scenario), ``step_ms`` (the step length NEST integrates
  over, 0.001·tics_per_step: not always the literal resolution), ``tics_per_step``, ``n_steps``,
  ``params`` (all 15 parameters, NEST defaults filled in), ``initial`` (V_m, s_AMPA, s_GABA),
  ``record`` (recordables the candidate must write), ``n_nmda_ports``, ``refractory_steps`` (NEST's
  rounding of t_ref, for reference: a port should compute its own), ``conventions`` (the rules below in
  words).
* ``inputs.npz``: float64 arrays, index k = simulation step k, which integrates (k·dt, (k+1)·dt]:

  - ``ampa[k]``, ``gaba[k]`` (nS): the pre-summed jump added to s_AMPA / s_GABA right after the
    integration of step k (weight·multiplicity of every spike that arrives then);
  - ``nmda[k, j]``: the multiplicity added to x_j of NMDA port j after the integration of step k
    (shape (n_steps, P); P may be 0); ``nmda_weights[j]`` (nS): port j's weight, which multiplies s_j
    inside the right-hand side;
  - ``current[k]`` (pA): the current the neuron reads in step k. It becomes I_stim for the **next**
    step: the integration of step k+1, over ((k+1)·dt, (k+2)·dt], uses current[k]; step 0 integrates
    with I_stim = 0.

Output folder (written by the candidate, read by ``read_traces``):

* ``traces.npz``: ``steps`` (integers 1..n_steps: sample i is the state after step i-1, stamped
  (i)·dt as NEST's multimeter does), one floating array per name in ``record`` (length n_steps),
  ``spike_steps`` (strictly increasing integers: a spike emitted in step k is stamped k+1). Nothing else:
  an unknown array name is an error, so that a misspelt recordable cannot go unnoticed.
* ``candidate.json`` (optional): a JSON object describing the candidate (name, version, settings); it
  is kept in the traces' provenance.

Anything else, or a missing, short, non-finite or mistyped array, or a candidate.json whose
``protocol_version`` is not the inputs' ``format_version``, is a ``CandidateOutputError``.

The output is read with limits, since a candidate is someone else's code: the names, shapes and types of
the arrays are read from the NPZ's member headers before any array is loaded, and an array claiming more
values than ``n_steps`` (a header saying (10^12,)), an object or an unusual type is refused unloaded;
float16 is refused (it cannot hold a membrane potential to the comparator's precision); ``candidate.json``
is read only up to ``MAX_INFO_BYTES``.
"""
from __future__ import annotations

import json
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import grid
from harness.errors import EXIT_OK, EXIT_USAGE
from harness.scenario.types import Scenario
from harness.traces.atomic import atomic_write, atomic_write_text
from harness.traces.traces import Traces

INPUT_FORMAT = "nest-parity-candidate-inputs"
FORMAT_VERSION = 1  # a single neuron; version 2 (a network) is protocol_network.NETWORK_FORMAT_VERSION
VERSIONS = (1, 2)
INPUT_META = "inputs.json"
INPUT_ARRAYS = "inputs.npz"
OUTPUT_TRACES = "traces.npz"
OUTPUT_INFO = "candidate.json"
MAX_INFO_BYTES = 1_000_000
MAX_HEADER_BYTES = 10_000

CONVENTIONS = {
    "step": "step k integrates (k*step_ms, (k+1)*step_ms]; the state starts from `initial`, I_stim = 0, "
            "every NMDA x_j = s_j = 0, no refractoriness",
    "order_within_step": "1. integrate with I_stim; 2. s_AMPA += ampa[k], s_GABA += gaba[k], "
                         "x_j += nmda[k, j]; 3. refractory clamp or threshold test (V_m >= V_th) and reset; "
                         "4. I_stim = current[k]; 5. record",
    "current": "current[k] is read in step k and used as I_stim by the integration of step k+1",
    "nmda": "nmda[k, j] is a multiplicity added to x_j; nmda_weights[j] multiplies s_j in the right-hand side",
    "samples": "traces.npz: steps = 1..n_steps; sample i is the state after step i-1 (time i*step_ms)",
    "spikes": "a spike emitted in step k is stamped k+1 in spike_steps",
    "recorded_currents": "s_NMDA = sum_j w_j*s_j and I_* are evaluated on the integrated state before the "
                         "spike jumps, the clamp and the reset of the step (NEST's last right-hand-side call)",
}


class CandidateOutputError(Exception):
    """The candidate's output folder does not hold valid traces (missing, malformed, short, non-finite)."""


class InputFormatError(ValueError):
    """An input folder of a format or version the reader does not know."""


@dataclass(frozen=True)
class CompiledInputs:
    meta: dict
    arrays: dict  # name -> np.ndarray (float64)


# ------------------------------------------------------------------------------------------- inputs
def version_for(scenario: Scenario) -> int:
    """The protocol version a scenario is handed over in: 2 for a network, 1 for one neuron."""
    return 2 if scenario.is_network else FORMAT_VERSION


def compile_inputs(scenario: Scenario) -> CompiledInputs:
    """The scenario as explicit per-step inputs, with NEST's timing already applied (version 2 for a network;
    ValueError when a network's inputs would not fit in memory)."""
    if scenario.is_network:
        from .protocol_network import compile_network_inputs

        return compile_network_inputs(scenario)
    from harness.backends.python import input_slots  # the same slots the in-house engine is driven with

    slots = input_slots(scenario)
    weights = np.asarray([inp.weight for inp in scenario.nmda_inputs], dtype=np.float64)
    arrays = {"ampa": slots["AMPA"], "gaba": slots["GABA"],
              "nmda": slots["NMDA"].reshape(scenario.n_steps, len(weights)),
              "nmda_weights": weights, "current": slots["current"]}
    meta = {
        "format": INPUT_FORMAT, "format_version": FORMAT_VERSION, "scenario": scenario.name,
        "model": scenario.model, "resolution_ms": scenario.resolution,
        "step_ms": grid.step_length_ms(scenario.tics_per_step), "tics_per_step": scenario.tics_per_step,
        "n_steps": scenario.n_steps, "params": dict(scenario.params), "initial": dict(scenario.initial),
        "record": list(scenario.record), "n_nmda_ports": int(len(weights)),
        "refractory_steps": grid.refractory_counts(scenario.params["t_ref"], scenario.tics_per_step),
        "conventions": CONVENTIONS,
    }
    return CompiledInputs(meta, {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()})


def write_inputs(compiled: CompiledInputs, directory: Path) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_text(directory / INPUT_META, json.dumps(compiled.meta, indent=2, allow_nan=False) + "\n")
    atomic_write(directory / INPUT_ARRAYS, lambda f: np.savez(f, **compiled.arrays))


def read_inputs(directory: Path, versions=VERSIONS) -> CompiledInputs:
    """For runners written in Python with this package at hand (the in-house candidates): an input folder of
    one of ``versions``, else InputFormatError."""
    directory = Path(directory)
    meta = json.loads((directory / INPUT_META).read_text())
    if meta.get("format") != INPUT_FORMAT or meta.get("format_version") not in versions:
        raise InputFormatError(f"{directory / INPUT_META}: not {INPUT_FORMAT} version "
                               f"{' or '.join(map(str, versions))} (found format {meta.get('format')!r}, version "
                               f"{meta.get('format_version')!r})")
    with np.load(directory / INPUT_ARRAYS, allow_pickle=False) as z:
        arrays = {k: z[k].copy() for k in z.files}
    return CompiledInputs(meta, arrays)


# ------------------------------------------------------------------------------------------- outputs
def write_traces(directory: Path, variables: dict, spike_steps, info: dict | None = None,
                 spike_neurons=None) -> None:
    """What a Python runner calls to hand its traces back (third-party runners write the same by hand);
    ``spike_neurons`` (the neuron index of each spike) for version 2."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    n = len(next(iter(variables.values()))) if variables else 0
    arrays = {"steps": np.arange(1, n + 1, dtype=np.int64),
              "spike_steps": np.asarray(spike_steps, dtype=np.int64), **variables}
    if spike_neurons is not None:
        arrays["spike_neurons"] = np.asarray(spike_neurons, dtype=np.int64)
    atomic_write(directory / OUTPUT_TRACES, lambda f: np.savez(f, **arrays))
    if info is not None:
        atomic_write_text(directory / OUTPUT_INFO, json.dumps(info, indent=2, sort_keys=True) + "\n")


def runner_main(argv, runner: str, simulate, info, tamper=None) -> int:
    """The command line of a Python runner, ``python -m RUNNER INPUT_DIR OUTPUT_DIR``: inputs in, traces out.

    ``simulate(inputs)`` returns (recordable -> trace, spike stamps), and for version 2 also the spikes'
    neuron indices; ``info()`` the candidate.json object, asked for after the run (its ``protocol_version`` is
    added here); ``tamper(inputs)`` may change the inputs first (the tests' broken candidates).
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(f"usage: python -m {runner} INPUT_DIR OUTPUT_DIR", file=sys.stderr)
        return EXIT_USAGE
    try:
        inputs = read_inputs(Path(args[0]))
    except InputFormatError as exc:
        print(f"{runner}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if tamper is not None:
        tamper(inputs)
    variables, spikes, *neurons = simulate(inputs)
    write_traces(Path(args[1]), variables, spikes, info={**info(), "protocol_version": inputs.meta["format_version"]},
                 spike_neurons=neurons[0] if neurons else None)
    return EXIT_OK


def read_traces(directory: Path, meta: dict) -> Traces:
    """The candidate's traces, checked strictly against what ``meta`` (inputs.json, either version) asked for."""
    directory = Path(directory)
    path = directory / OUTPUT_TRACES
    if not path.is_file():
        raise CandidateOutputError(f"it wrote no {OUTPUT_TRACES}")
    _check_info_version(directory, meta)
    if meta["format_version"] != FORMAT_VERSION:
        from .protocol_network import read_network_traces

        return read_network_traces(directory, meta)
    n_steps, record = meta["n_steps"], meta["record"]
    allowed = {"steps", "spike_steps", *record}
    arrays = _load_npz(path, {name: (n_steps, f"the {n_steps} values of one per step") for name in allowed})
    return check_traces(arrays, meta, read_info(directory))


def check_traces(arrays: dict, meta: dict, info=None, *, implied_steps: bool = False) -> Traces:
    """Traces from arrays in memory, by the rules that ``read_traces`` applies to ``traces.npz`` (either
    version): the same names, shapes, types, finiteness and spike order. ``implied_steps``: ``steps`` may be
    left out (an in-process candidate), and is then 1..n_steps."""
    if meta["format_version"] != FORMAT_VERSION:
        from .protocol_network import check_network_traces

        return check_network_traces(arrays, meta, info, implied_steps=implied_steps)
    n_steps, record = meta["n_steps"], meta["record"]
    allowed = {"steps", "spike_steps", *record}
    unknown = sorted(set(arrays) - allowed)
    if unknown:
        raise CandidateOutputError(f"{OUTPUT_TRACES} holds unknown arrays {', '.join(unknown)}; "
                                   f"allowed: steps, spike_steps, {', '.join(record)}")
    expected = np.arange(1, n_steps + 1, dtype=np.int64)
    if implied_steps and "steps" not in arrays:
        arrays = {**arrays, "steps": expected}
    missing = [name for name in ("steps", "spike_steps", *record) if name not in arrays]
    if missing:
        raise CandidateOutputError(f"{OUTPUT_TRACES} lacks {', '.join(missing)}")
    check_steps(arrays["steps"], n_steps)
    variables = {name: _trace_values(arrays[name], name, n_steps) for name in record}
    spikes = _spike_steps(arrays["spike_steps"], n_steps)
    return Traces(scenario=meta["scenario"], tics_per_step=meta["tics_per_step"], steps=expected,
                  variables=variables, spike_steps=spikes, provenance={"candidate_info": info})


def check_steps(values: np.ndarray, n_steps: int) -> None:
    steps = _integer_array(values, "steps")
    expected = np.arange(1, n_steps + 1, dtype=np.int64)
    if steps.shape != expected.shape or not np.array_equal(steps, expected):
        raise CandidateOutputError(f"steps must be 1..{n_steps} (one sample per step), got "
                                   f"{_describe_steps(steps)}")


def read_info(directory: Path):
    path = Path(directory) / OUTPUT_INFO
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_INFO_BYTES:
        raise CandidateOutputError(f"{OUTPUT_INFO} is larger than {MAX_INFO_BYTES} bytes")
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CandidateOutputError(f"{OUTPUT_INFO} is not valid JSON: {exc}") from None
    if not isinstance(info, dict):
        raise CandidateOutputError(f"{OUTPUT_INFO} must hold a JSON object")
    return info


def _check_info_version(directory: Path, meta: dict) -> None:
    """A candidate.json that names a protocol_version must name the inputs' own."""
    info = read_info(directory)
    version = meta["format_version"]
    if info is not None and "protocol_version" in info and info["protocol_version"] != version:
        kind = "a network" if version != FORMAT_VERSION else "a single-neuron"
        raise CandidateOutputError(f"{OUTPUT_INFO} says protocol_version {info['protocol_version']!r}, but its "
                                   f"inputs were version {version} ({kind} scenario)")


def _load_npz(path: Path, limits: dict) -> dict:
    """The arrays of the NPZ, each checked from its header first (names, type, size) and only then loaded.

    ``limits``: every allowed name -> (the most values it may hold, those values in words)."""
    try:
        _check_headers(path, limits)
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        # allow_pickle=False turns an object array into a ValueError: a candidate cannot run code here.
        raise CandidateOutputError(f"{OUTPUT_TRACES} is not a readable NPZ file: {exc}") from None


def _check_headers(path: Path, limits: dict) -> None:
    """Refuse, before loading anything, arrays that are unknown, of objects, or larger than their limit."""
    allowed = set(limits)
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        names = [m.filename[:-4] if m.filename.endswith(".npy") else m.filename for m in members]
        unknown = sorted(set(names) - allowed)
        if unknown or len(names) != len(set(names)):
            shown = ", ".join(n[:40] for n in unknown[:5]) or "repeated names"
            fixed = [k for k in ("steps", "spike_steps", "spike_neurons") if k in allowed]
            raise CandidateOutputError(f"{OUTPUT_TRACES} holds unknown arrays {shown}; allowed: "
                                       f"{', '.join(fixed + sorted(allowed - set(fixed)))}")
        for member, name in zip(members, names):
            with archive.open(member) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=MAX_HEADER_BYTES)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=MAX_HEADER_BYTES)
                else:
                    raise ValueError(f"{name}: NPY format version {version} (allowed: 1.0, 2.0)")
            if dtype.hasobject:
                raise ValueError(f"{name} holds Python objects (pickles are never loaded)")
            values = int(np.prod(shape, dtype=object))
            most, what = limits[name]
            if values > most or dtype.itemsize > 8:
                raise CandidateOutputError(f"{name} claims shape {shape} of {dtype} in its header: more than "
                                           f"{what} (or wider than 8 bytes); not loaded")


def _integer_array(values: np.ndarray, name: str) -> np.ndarray:
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        raise CandidateOutputError(f"{name} must be a 1-D integer array, got {values.dtype} of shape "
                                   f"{values.shape}")
    return values.astype(np.int64)


def _values_check(values: np.ndarray, name: str) -> None:
    if values.dtype.kind != "f" or values.dtype.itemsize not in (4, 8):  # float16 cannot hold V_m to 1e-12
        raise CandidateOutputError(f"{name} must be float32 or float64, got {values.dtype}")


def _trace_values(values: np.ndarray, name: str, n_steps: int) -> np.ndarray:
    _values_check(values, name)
    if values.shape != (n_steps,):
        raise CandidateOutputError(f"{name} has shape {values.shape}, expected ({n_steps},): one value per step")
    out = values.astype(np.float64)  # float32 -> float64 is exact
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        # A blown-up port is reported as an error, never as a comparison that might be misread.
        raise CandidateOutputError(f"{name} is not finite ({out[bad[0]]}) from step {bad[0] + 1} on "
                                   f"({bad.size} samples)")
    return out


def _spike_steps(values: np.ndarray, n_steps: int) -> np.ndarray:
    spikes = _integer_array(values, "spike_steps")
    if spikes.size and (spikes.min() < 1 or spikes.max() > n_steps):
        raise CandidateOutputError(f"spike_steps must lie in 1..{n_steps}, got {spikes.min()}..{spikes.max()}")
    if np.any(np.diff(spikes) <= 0):
        raise CandidateOutputError("spike_steps must be strictly increasing (one neuron spikes at most once "
                                   "per step)")
    return spikes


def _describe_steps(steps: np.ndarray) -> str:
    if steps.size == 0:
        return "no samples"
    return f"{steps.size} samples {int(steps[0])}..{int(steps[-1])}"

