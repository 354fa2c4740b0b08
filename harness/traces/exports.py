"""Traces and comparison tables as Parquet and NetCDF files, for tools that do not read NPZ.

* **Parquet** (pyarrow): traces in the long form of ``harness.traces.frames`` with a ``step`` column
  (``time_ms``, ``step``, [``neuron``], ``variable``, ``value``, ``unit``: any Parquet reader gets the
  units without knowing this harness); a comparison table flat, its keys as columns. The schema metadata
  key ``nest_parity`` holds JSON: the format, the scenario, the grid, the units, the provenance and, for
  traces, the spikes (``steps``, and in a network ``neurons`` as indexes into ``neurons``).
* **NetCDF** (format 3, written by xarray through scipy: no C library needed): the Dataset of
  ``frames.to_xarray`` (traces) or ``judge.frames.table_to_xarray`` (tables), units as each variable's
  ``units`` attribute, the provenance as flat attributes.

Values are float64 in both and come back bit for bit (``read_export``). Files are written whole or not at
all (``atomic.atomic_write``); a reference folder is refused (only ``nest-parity record`` writes there),
and so is an existing file unless ``force``.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from harness.errors import OverwriteRefused, UsageError
from harness.grid import step_length_ms
from harness.traces import frames
from harness.traces.traces import Traces

FORMATS = ("parquet", "netcdf")
SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".nc": "netcdf", ".nc3": "netcdf", ".cdf": "netcdf"}
META_KEY = b"nest_parity"
TABLE = "table"


def format_for(path: str | Path, fmt: str | None, option: str = "--format") -> str:
    """``fmt``, or the one the file name's suffix says (.parquet, .pq; .nc, .nc3, .cdf)."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageError(f"{option} {fmt}: unknown format; allowed: {', '.join(FORMATS)}")
        return fmt
    found = SUFFIXES.get(Path(path).suffix.lower())
    if found is None:
        raise UsageError(f"{path}: cannot tell the format from the suffix {Path(path).suffix or '(none)'!r}; give "
                         f"{option} {' or '.join(FORMATS)} (or name the file {', '.join(SUFFIXES)})")
    return found


def check_export_path(path: str | Path, force: bool, option: str = "--out") -> Path:
    """Refuse before any work: a reference folder, an existing file without ``force``, an unwritable path."""
    from harness.traces.atomic import check_output_file
    from harness.traces.references import is_recorded_reference, is_reference_folder

    path = Path(path)
    if is_reference_folder(path.parent) or is_recorded_reference(path):
        raise UsageError(f"{option} {path}: is inside a reference folder, where only `nest-parity record` writes; "
                         f"choose another path")
    check_output_file(path, option)
    if (path.exists() or path.is_symlink()) and not force:
        raise OverwriteRefused(f"{option} {path}: exists; pass --force to replace it, or choose another path")
    return path


def write_export(obj, path: str | Path, fmt: str | None = None, *, force: bool = False,
                 option: str = "--out") -> Path:
    """Write ``obj`` (Traces, a Comparison, a list of them, a GateResult, or a comparison table) to ``path``."""
    from harness.traces.atomic import atomic_write, write_failure

    fmt = format_for(path, fmt)
    path = check_export_path(path, force, option)
    data = export_bytes(obj, fmt)
    try:
        atomic_write(path, lambda f: f.write(data))
    except OSError as exc:
        raise write_failure(option, path, exc) from None
    return path


def export_bytes(obj, fmt: str) -> bytes:
    """The file's content: traces as themselves, anything with comparisons as their table."""
    if isinstance(obj, Traces):
        return _traces_parquet(obj) if fmt == "parquet" else _netcdf(frames.to_xarray(obj))
    table = table_of(obj)
    if fmt == "parquet":
        return _table_parquet(table)
    from harness.judge.frames import table_to_xarray

    return _netcdf(table_to_xarray(table))


def table_of(obj):
    """The comparison table of a Comparison, of several (a list, a GateResult's), or a table itself."""
    import pandas as pd

    from harness.judge.comparator import Comparison
    from harness.judge.frames import comparisons_frame
    from harness.report.summary import comparison_json

    if isinstance(obj, pd.DataFrame):
        return obj
    if isinstance(obj, Comparison):
        return obj.to_dataframe()
    comparisons = getattr(obj, "comparisons", obj)
    if isinstance(comparisons, (list, tuple)) and all(isinstance(c, Comparison) for c in comparisons):
        return comparisons_frame([comparison_json(c) for c in comparisons])
    raise TypeError(f"cannot export {type(obj).__name__}: allowed are Traces, a Comparison, a list of them, a "
                    f"GateResult or a comparison table (DataFrame)")


# ------------------------------------------------------------------------------------------------ Parquet
def _parquet_bytes(frame, meta: dict) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[META_KEY] = json.dumps(meta, sort_keys=True, default=str).encode()
    out = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(schema_meta), out)
    return out.getvalue()


def _traces_parquet(traces: Traces) -> bytes:
    frame = frames.to_dataframe(traces, "long").reset_index()
    steps = np.asarray(traces.steps, dtype=np.int64)
    block = np.repeat(steps, len(traces.neurons)) if traces.is_network else steps  # one variable's rows
    frame.insert(1, "step", np.tile(block, len(traces.variables)))
    spikes = {"steps": np.asarray(traces.spike_steps, dtype=np.int64).tolist()}
    if traces.is_network:
        spikes["neurons"] = np.asarray(traces.spike_neurons, dtype=np.int64).tolist()
    meta = {"format": frames.FORMAT, "scenario": traces.scenario, "tics_per_step": int(traces.tics_per_step),
            "resolution_ms": step_length_ms(traces.tics_per_step), "variables": list(traces.variables),
            "neurons": list(traces.neurons) if traces.is_network else None, "units": frames.units_of(traces),
            "provenance": traces.provenance, "spikes": spikes}
    return _parquet_bytes(frame, meta)


def _table_parquet(table) -> bytes:
    from harness.judge.frames import TABLE_FORMAT

    index = [n for n in table.index.names if n is not None]
    flat = table.reset_index() if index else table.reset_index(drop=True)
    meta = {"format": TABLE_FORMAT, "index": index, "attrs": table.attrs}
    return _parquet_bytes(flat, meta)


# ------------------------------------------------------------------------------------------------- NetCDF
def _netcdf(ds) -> bytes:
    # No fill value: a float that happened to equal it would be read back as NaN.
    encoding = {name: {"_FillValue": None} for name in [*ds.data_vars, *ds.coords] if ds[name].dtype.kind == "f"}
    return bytes(ds.to_netcdf(engine="scipy", format="NETCDF3_64BIT", encoding=encoding))


# ------------------------------------------------------------------------------------------------ reading
def read_export(path: str | Path):
    """What ``write_export`` wrote: Traces (bit for bit) or a comparison table (a DataFrame)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"PAR1":
        return _read_parquet(path)
    if magic[:3] == b"CDF":
        return _read_netcdf(path)
    raise UsageError(f"{path}: neither a Parquet nor a NetCDF 3 file")


def _read_parquet(path: Path):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise UsageError(f"{path}: a Parquet file that nest-parity did not write (no {META_KEY.decode()} metadata)")
    from harness.judge.frames import TABLE_FORMAT

    meta = json.loads(raw)
    frame = table.to_pandas()
    if meta.get("format") not in (frames.FORMAT, TABLE_FORMAT):
        raise UsageError(f"{path}: written in a format this harness does not read ({meta.get('format')!r})")
    if meta["format"] == TABLE_FORMAT:
        if meta["index"]:
            frame = frame.set_index(meta["index"])
        frame.attrs = meta["attrs"]
        return frame
    return _traces_from_long(frame, meta)


def _traces_from_long(frame, meta: dict) -> Traces:
    neurons = meta["neurons"]
    column = {label: i for i, label in enumerate(neurons or ())}
    variables, steps = {}, None
    for name in meta["variables"]:
        rows = frame[frame["variable"].astype(str) == name]
        step = rows["step"].to_numpy(dtype=np.int64)
        if neurons:
            order = np.lexsort((rows["neuron"].astype(str).map(column).to_numpy(dtype=np.int64), step))
        else:
            order = np.argsort(step, kind="stable")
        values = rows["value"].to_numpy(dtype=np.float64)[order]
        variables[name] = values.reshape(-1, len(neurons)) if neurons else values
        steps = step[order][::len(neurons)] if neurons else step[order]
    spikes = meta["spikes"]
    return Traces(scenario=meta["scenario"], tics_per_step=int(meta["tics_per_step"]),
                  steps=np.asarray(steps if steps is not None else [], dtype=np.int64), variables=variables,
                  spike_steps=np.asarray(spikes["steps"], dtype=np.int64), provenance=meta["provenance"],
                  neurons=tuple(neurons) if neurons else None,
                  spike_neurons=np.asarray(spikes["neurons"], dtype=np.int64) if neurons else None)


def _read_netcdf(path: Path):
    import xarray as xr

    from harness.judge.frames import TABLE_ATTRS, TABLE_FORMAT

    with xr.open_dataset(path, engine="scipy") as ds:
        ds = ds.load()
    kind = ds.attrs.get("nest_parity_format")
    if kind == frames.FORMAT:
        return frames.traces_from_xarray(ds)
    if kind != TABLE_FORMAT:
        raise UsageError(f"{path}: a NetCDF file that nest-parity did not write (nest_parity_format {kind!r})")
    table = ds.to_dataframe()
    if "row" in ds.dims:
        table = table.reset_index(drop=True)
    table = table[json.loads(ds.attrs["nest_parity_columns"])]
    table = table.astype({c: "int64" for c in table.columns if table[c].dtype == np.int32})  # NetCDF 3's width
    table.attrs = frames.unflatten_attrs(dict(ds.attrs), own=TABLE_ATTRS)
    return table
