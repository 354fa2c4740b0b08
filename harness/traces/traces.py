"""The trace object every backend returns, and its exact on-disk form.

Sample i holds the state after simulation step k = i, stamped (k+1)·dt (NEST's multimeter has no t = 0
sample). Values are float64 and are stored in NPZ, so a reference round-trips bit for bit.

One trace file is one unit: ``<name>.npz`` holds the arrays *and* the provenance (member ``meta_json``),
and the provenance carries a SHA-256 of everything else in the file, so a truncated, bit-flipped or edited
file is refused on load instead of being judged. ``<name>.json`` beside it is the same provenance in
readable form, for people and diffs: it is never trusted, only checked against the ``.npz`` (a mismatch is
refused too: one of the two was edited, or a write was killed between the two renames).
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.errors import UsageError
from harness.grid import steps_to_ms
from harness.traces.atomic import atomic_write as _atomic_write  # kept under its old name for existing callers

FORMAT = 2  # 1: no checksum (before step 9); 2: meta_json carries "sha256" of the whole file's content
META = "meta_json"
# The only dtypes a trace file holds; anything else (objects, pickles, other widths) is not ours.
ALLOWED_DTYPES = {"steps": "<i8", "spike_steps": "<i8", "spike_neurons": "<i8", META: "|u1"}
VARIABLE_DTYPE = "<f8"


class TraceFileError(UsageError):
    """A trace file that cannot be trusted: unreadable, corrupt, tampered with, or not a trace file."""

    def __init__(self, path: Path, why: str):
        self.path, self.why = Path(path), why
        super().__init__(f"{path}: {why}")


def data_path(path: str | Path) -> Path:
    """``<path>.npz``: the full name plus the extension (``ampa_only.v2`` -> ``ampa_only.v2.npz``, never
    ``with_suffix``, which would map it onto ``ampa_only.npz``); a name already ending in .npz is kept."""
    path = Path(path)
    return path if path.name.endswith(".npz") else path.with_name(path.name + ".npz")


def readable_path(path: str | Path) -> Path:
    """The readable provenance beside the data: ``<name>.json`` for ``<name>.npz``."""
    npz = data_path(path)
    return npz.with_name(npz.name[:-len(".npz")] + ".json")


def checksum(meta: dict, arrays: dict) -> str:
    """SHA-256 over the provenance (without its own checksum) and every array's name, dtype, shape and bytes."""
    h = hashlib.sha256()
    h.update(json.dumps({k: v for k, v in meta.items() if k != "sha256"}, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"\0{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


@dataclass
class Traces:
    scenario: str
    tics_per_step: int
    steps: np.ndarray  # int64 stamps 1..n_steps
    variables: dict  # recordable name -> float64 array, one value per stamp
    spike_steps: np.ndarray  # int64 stamps of emitted spikes
    provenance: dict = field(default_factory=dict)
    # A network's traces: the recorded neurons' names; each variable is then (stamps, neurons), and
    # spike_neurons[i] is the column (index into ``neurons``) of spike i. None for one neuron.
    neurons: tuple | None = None
    spike_neurons: np.ndarray | None = None

    @property
    def is_network(self) -> bool:
        return self.neurons is not None

    def neuron(self, label: str) -> "Traces":
        """One recorded neuron of a network's traces, as single-neuron Traces (views, not copies)."""
        j = self.neurons.index(label)
        return Traces(scenario=self.scenario, tics_per_step=self.tics_per_step, steps=self.steps,
                      variables={k: v[:, j] for k, v in self.variables.items()},
                      spike_steps=self.spike_steps[self.spike_neurons == j], provenance=self.provenance)

    @property
    def times_ms(self) -> np.ndarray:
        return steps_to_ms(self.steps, self.tics_per_step)

    @property
    def spike_times_ms(self) -> np.ndarray:
        return steps_to_ms(self.spike_steps, self.tics_per_step)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.variables[name]

    def _arrays(self) -> dict:
        arrays = {"steps": np.asarray(self.steps, dtype=np.int64),
                  "spike_steps": np.asarray(self.spike_steps, dtype=np.int64)}
        arrays.update({f"var/{k}": np.asarray(v, dtype=np.float64) for k, v in self.variables.items()})
        if self.is_network:
            arrays["spike_neurons"] = np.asarray(self.spike_neurons, dtype=np.int64)
        return arrays

    def meta(self) -> dict:
        """What ``meta_json`` holds: names, grid, provenance, format and the checksum of it all."""
        meta = {"format": FORMAT, "scenario": self.scenario, "tics_per_step": int(self.tics_per_step),
                "variables": list(self.variables), "provenance": self.provenance}
        if self.is_network:  # only then: a single neuron's file (and its checksum) is what it was before
            meta["neurons"] = list(self.neurons)
        meta["sha256"] = checksum(meta, self._arrays())
        return meta

    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write <path>.npz (everything, checksummed), then <path>.json (readable copy), each atomically.

        The ``.npz`` is the unit that is read; a kill between the two renames leaves a ``.json`` that no
        longer matches, which the next load reports (and ``record`` rewrites from the ``.npz``).
        """
        npz, side = data_path(path), readable_path(path)
        meta = self.meta()
        arrays = self._arrays()
        arrays[META] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
        _atomic_write(npz, lambda f: np.savez(f, **arrays))
        write_readable(side, meta)
        return npz, side

    @classmethod
    def load(cls, path: str | Path, *, check_readable: bool = True) -> "Traces":
        """Read <path>.npz, refusing (TraceFileError) anything that is not exactly what ``save`` wrote."""
        npz = data_path(path)
        meta, arrays = read_npz(npz)
        variables = {k: arrays[f"var/{k}"] for k in meta["variables"]}
        network = "neurons" in meta
        traces = cls(scenario=meta["scenario"], tics_per_step=meta["tics_per_step"], steps=arrays["steps"],
                     variables=variables, spike_steps=arrays["spike_steps"], provenance=meta["provenance"],
                     neurons=tuple(meta["neurons"]) if network else None,
                     spike_neurons=arrays["spike_neurons"] if network else None)
        if check_readable:
            why = readable_mismatch(readable_path(npz), meta)
            if why and why != "missing":
                raise TraceFileError(readable_path(npz), why)
        return traces

    # Tables, Datasets and figures (harness.traces.frames, harness.traces.plotting; docs/api.md).
    def to_dataframe(self, form: str = "wide"):
        """The samples as a pandas DataFrame indexed by time_ms: ``wide`` (a column per variable) or ``long``."""
        from harness.traces.frames import to_dataframe

        return to_dataframe(self, form)

    def spikes_dataframe(self):
        from harness.traces.frames import spikes_to_dataframe

        return spikes_to_dataframe(self)

    def to_xarray(self):
        """The traces as an xarray Dataset: dims time (and neuron), units and provenance as attributes."""
        from harness.traces.frames import to_xarray

        return to_xarray(self)

    def plot(self, variables=None, neurons=None):
        """A matplotlib Figure, one axis per variable in its unit."""
        from harness.traces.plotting import plot_traces

        return plot_traces({self.provenance.get("backend", "traces"): self}, variables, neurons)

    def equals_exactly(self, other: "Traces") -> bool:
        """Bit-for-bit equality of grid, spikes and every recorded variable."""
        return (self.tics_per_step == other.tics_per_step
                and np.array_equal(self.steps, other.steps)
                and np.array_equal(self.spike_steps, other.spike_steps)
                and self.neurons == other.neurons
                and (not self.is_network or np.array_equal(self.spike_neurons, other.spike_neurons))
                and self.variables.keys() == other.variables.keys()
                and all(self.variables[k].tobytes() == other.variables[k].tobytes() for k in self.variables))


def write_readable(path: Path, meta: dict) -> None:
    _atomic_write(path, lambda f: f.write(json.dumps(meta, indent=2, sort_keys=True).encode() + b"\n"))


def readable_mismatch(side: Path, meta: dict) -> str | None:
    """Why the readable ``.json`` is not a copy of ``meta`` ("missing" when there is none), or None."""
    try:
        text = side.read_bytes()
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"cannot read the readable provenance: {exc.strerror or exc}"
    try:
        shown = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"is not valid JSON ({str(exc)[:120]}), so it is not a copy of the provenance in {side.stem}.npz"
    if shown == meta:
        return None
    where = _first_difference(meta, shown, "")
    return (f"does not match the provenance stored in {side.stem}.npz (first difference at {where}); the .npz "
            f"is what is read: one of the two was edited, or a write was interrupted between them")


def _first_difference(a, b, at: str) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b or a[key] != b[key]:
                return _first_difference(a.get(key), b.get(key), f"{at}.{key}" if at else str(key))
    return f"{at or 'the top level'}: {_short(a)} in the .npz, {_short(b)} in the .json"


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def read_npz(npz: Path) -> tuple[dict, dict]:
    """The verified (meta, arrays) of a trace file; every way it can be broken is a TraceFileError."""
    try:
        with zipfile.ZipFile(npz) as z:
            infos = {info.filename: info for info in z.infolist()}
            if f"{META}.npy" not in infos:
                raise TraceFileError(npz, "is not a nest-parity trace file (no meta_json member)")
            meta = _parse_meta(npz, _read_member(z, infos[f"{META}.npy"], "|u1"))
            expected = {"steps", "spike_steps", META, *(f"var/{k}" for k in meta["variables"])}
            if "neurons" in meta:
                expected.add("spike_neurons")
            present = {name[:-len(".npy")] for name in infos if name.endswith(".npy")}
            if present != expected or len(infos) != len(expected):
                raise TraceFileError(npz, f"holds members {sorted(infos)}, expected {sorted(expected)}")
            ndim = {name: 2 if "neurons" in meta and name.startswith("var/") else 1 for name in expected}
            arrays = {name: _read_member(z, infos[f"{name}.npy"], ALLOWED_DTYPES.get(name, VARIABLE_DTYPE), ndim[name])
                      for name in sorted(expected - {META})}
    except TraceFileError:
        raise
    except FileNotFoundError:
        raise TraceFileError(npz, "does not exist") from None
    except OSError as exc:
        raise TraceFileError(npz, f"cannot be read: {exc.strerror or exc}") from None
    except (zipfile.BadZipFile, EOFError, ValueError, KeyError, TypeError, OverflowError, MemoryError,
            RuntimeError, NotImplementedError) as exc:
        # zipfile and numpy's reader raise all of these for a truncated or bit-flipped file.
        raise TraceFileError(npz, f"is corrupt (truncated or damaged): {type(exc).__name__}: "
                                  f"{str(exc)[:200]}") from None
    _check_arrays(npz, meta, arrays)
    return meta, arrays


def _read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, dtype: str, ndim: int = 1) -> np.ndarray:
    """One .npy member, its header checked against the member's size before any array is allocated."""
    with z.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, found = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, found = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"{info.filename}: unsupported .npy version {version}")
        if found.str != dtype or len(shape) != ndim or fortran:
            raise ValueError(f"{info.filename}: holds {found.str} of shape {shape}, expected {ndim}-D {dtype}")
        count = int(np.prod(shape, dtype=object))
        size = count * found.itemsize
        if size > info.file_size - f.tell():
            raise ValueError(f"{info.filename}: header claims {count} values, more than the member holds")
        data = f.read(size)
        if len(data) != size or f.read(1):  # reading to the end is also what makes zipfile check the CRC
            raise ValueError(f"{info.filename}: size does not match its header")
    return np.frombuffer(data, dtype=found).reshape(shape).copy()


def _parse_meta(npz: Path, raw: np.ndarray) -> dict:
    try:
        meta = json.loads(raw.tobytes().decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise TraceFileError(npz, f"is corrupt: its provenance is not JSON ({str(exc)[:120]})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format", 1) if isinstance(meta, dict) else "?"
        raise TraceFileError(npz, f"is in trace file format {found}, this harness reads format {FORMAT} "
                                  f"(the arrays carry no checksum)")
    kinds = {"scenario": str, "tics_per_step": int, "variables": list, "provenance": dict, "sha256": str}
    for key, kind in kinds.items():
        if not isinstance(meta.get(key), kind):
            raise TraceFileError(npz, f"is corrupt: provenance key {key!r} is missing or not a {kind.__name__}")
    if not all(isinstance(v, str) for v in meta["variables"]) or len(set(meta["variables"])) != len(meta["variables"]):
        raise TraceFileError(npz, "is corrupt: provenance key 'variables' is not a list of distinct names")
    neurons = meta.get("neurons", [])
    if not isinstance(neurons, list) or not all(isinstance(v, str) for v in neurons) or \
            len(set(neurons)) != len(neurons) or ("neurons" in meta and not neurons):
        raise TraceFileError(npz, "is corrupt: provenance key 'neurons' is not a list of distinct names")
    return meta


def _check_arrays(npz: Path, meta: dict, arrays: dict) -> None:
    if checksum(meta, arrays) != meta["sha256"]:
        raise TraceFileError(npz, "failed its checksum: the arrays or the provenance were changed after "
                                  "the file was written")
    n = len(arrays["steps"])
    for name, values in arrays.items():
        if name.startswith("var/") and len(values) != n:
            raise TraceFileError(npz, f"is corrupt: {name[4:]} has {len(values)} samples, steps has {n}")
        if name.startswith("var/") and "neurons" in meta and values.shape[1] != len(meta["neurons"]):
            raise TraceFileError(npz, f"is corrupt: {name[4:]} has {values.shape[1]} columns for "
                                      f"{len(meta['neurons'])} neurons")
    if "neurons" in meta:
        spikes, columns = arrays["spike_steps"], arrays["spike_neurons"]
        known = not len(columns) or 0 <= columns.min() <= columns.max() < len(meta["neurons"])
        if len(spikes) != len(columns) or not known:
            raise TraceFileError(npz, "is corrupt: spike_neurons does not give a recorded neuron for every spike")
