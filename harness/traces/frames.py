"""Traces as labelled tables: pandas DataFrames and xarray Datasets, with units and provenance in the data.

Conventions (docs/api.md states them for users):

* time is in ms, ``(step) * resolution`` as NEST stamps it: the DataFrame index ``time_ms``, the Dataset
  coordinate ``time`` (attribute ``units: ms``), with the integer ``step`` beside it in the Dataset;
* columns and data variables carry NEST's names (``V_m``, ``s_AMPA``, ...) without a unit in the name, so
  that ``df["V_m"]`` works; the units (``harness.model.parameters.RECORDABLE_UNITS``) are in
  ``df.attrs["units"]``, in the long form's ``unit`` column (which survives any pandas operation, where
  ``attrs`` may not), and in every DataArray's ``units`` attribute;
* a network's traces have a neuron axis, labelled ``<population>[i]``: columns ``(variable, neuron)`` in
  the wide form, a ``neuron`` column in the long form, a ``neuron`` dimension in the Dataset. A single
  neuron's have none (its DataArrays are 1-D, so ``ds.V_m.plot()`` draws a line);
* the provenance (versions, platform, backend) is ``df.attrs["provenance"]``; in a Dataset it is spread
  over flat attributes, since NetCDF attributes hold only text and numbers: a value that is neither (a
  mapping, a list, a boolean, a large integer) is stored as JSON text, and ``nest_parity_json_attrs``
  names those attributes so that ``traces_from_xarray`` restores the provenance exactly.
"""
from __future__ import annotations

import json

import numpy as np

from harness.grid import step_length_ms
from harness.model.parameters import RECORDABLE_UNITS
from harness.traces.traces import Traces

FORMS = ("wide", "long")
TIME = "time_ms"
FORMAT = "nest-parity traces 1"  # the Dataset's (and an exported file's) ``nest_parity_format``
# Dataset attributes that describe the traces themselves; the provenance's keys go beside them.
OWN_ATTRS = ("nest_parity_format", "scenario", "tics_per_step", "resolution_ms", "nest_parity_json_attrs")
INT32 = 2 ** 31


def units_of(traces: Traces) -> dict:
    """Each recorded variable's unit ("" for one the model does not name)."""
    return {name: RECORDABLE_UNITS.get(name, "") for name in traces.variables}


def to_dataframe(traces: Traces, form: str = "wide"):
    """The samples as a DataFrame indexed by ``time_ms`` (see the module docstring for both forms)."""
    import pandas as pd

    if form not in FORMS:
        raise ValueError(f"form {form!r}; allowed: {', '.join(FORMS)}")
    names = list(traces.variables)
    times = np.asarray(traces.times_ms, dtype=np.float64)
    if form == "wide":
        index = pd.Index(times, name=TIME)
        if traces.is_network:
            columns = pd.MultiIndex.from_product([names, list(traces.neurons)], names=["variable", "neuron"])
            data = np.concatenate([traces.variables[n] for n in names], axis=1) if names else np.zeros((len(times), 0))
            frame = pd.DataFrame(data, index=index, columns=columns)
        else:
            frame = pd.DataFrame({n: np.array(traces.variables[n], dtype=np.float64) for n in names}, index=index)
            frame.columns.name = "variable"
    else:
        frame = _long(traces, names, times)
    frame.attrs = {"units": units_of(traces), "scenario": traces.scenario, "tics_per_step": traces.tics_per_step,
                   "resolution_ms": step_length_ms(traces.tics_per_step), "provenance": dict(traces.provenance)}
    return frame


def _long(traces: Traces, names: list, times: np.ndarray):
    """One row per (variable, time[, neuron]), variables in recording order, then time, then neuron."""
    import pandas as pd

    per = len(times) * (len(traces.neurons) if traces.is_network else 1)  # rows per variable
    values = np.concatenate([np.asarray(traces.variables[n], dtype=np.float64).ravel() for n in names]) \
        if names else np.zeros(0)
    columns = {}
    if traces.is_network:
        k = len(traces.neurons)
        columns["neuron"] = pd.Categorical.from_codes(np.tile(np.arange(k), len(times) * len(names)),
                                                      categories=list(traces.neurons))
        index = np.tile(np.repeat(times, k), len(names))
    else:
        index = np.tile(times, len(names))
    codes = np.repeat(np.arange(len(names)), per)
    columns["variable"] = pd.Categorical.from_codes(codes, categories=names)
    columns["value"] = values
    units = [RECORDABLE_UNITS.get(n, "") for n in names]
    kinds = list(dict.fromkeys(units))
    columns["unit"] = pd.Categorical.from_codes(np.repeat([kinds.index(u) for u in units], per).astype(np.int64),
                                                categories=kinds)
    return pd.DataFrame(columns, index=pd.Index(index, name=TIME))


def spikes_to_dataframe(traces: Traces):
    """One row per spike, in time order: ``time_ms``, ``step`` and, in a network, ``neuron``."""
    import pandas as pd

    data = {TIME: np.asarray(traces.spike_times_ms, dtype=np.float64),
            "step": np.asarray(traces.spike_steps, dtype=np.int64)}
    if traces.is_network:
        data["neuron"] = pd.Categorical.from_codes(np.asarray(traces.spike_neurons, dtype=np.int64),
                                                   categories=list(traces.neurons))
    frame = pd.DataFrame(data)
    frame.attrs = {"units": {TIME: "ms", "step": ""}, "scenario": traces.scenario}
    return frame


# ------------------------------------------------------------------------------------------------ xarray
def to_xarray(traces: Traces):
    """The traces as an xarray Dataset that ``to_netcdf(engine="scipy")`` writes as it is (NetCDF 3)."""
    import xarray as xr

    dims = ("time", "neuron") if traces.is_network else ("time",)
    coords = {"time": ("time", np.asarray(traces.times_ms, dtype=np.float64),
                       {"units": "ms", "long_name": "sample time, (step) * resolution"}),
              "step": ("time", np.asarray(traces.steps, dtype=np.int64), {"long_name": "simulation step"})}
    if traces.is_network:
        coords["neuron"] = ("neuron", np.array(traces.neurons, dtype=object), {"long_name": "recorded neuron"})
    data = {}
    for name, values in traces.variables.items():
        data[name] = (dims, np.asarray(values, dtype=np.float64), {"units": RECORDABLE_UNITS.get(name, "")})
    data["spike_time"] = ("spike", np.asarray(traces.spike_times_ms, dtype=np.float64),
                          {"units": "ms", "long_name": "spike time"})
    data["spike_step"] = ("spike", np.asarray(traces.spike_steps, dtype=np.int64))
    if traces.is_network:
        labels = np.array(traces.neurons, dtype=object)[np.asarray(traces.spike_neurons, dtype=np.int64)]
        data["spike_neuron"] = ("spike", labels.astype(object), {"long_name": "the neuron that spiked"})
    attrs = {"nest_parity_format": FORMAT, "scenario": traces.scenario, "tics_per_step": int(traces.tics_per_step),
             "resolution_ms": step_length_ms(traces.tics_per_step)}
    attrs.update(flat_attrs(traces.provenance, reserved=OWN_ATTRS))
    return xr.Dataset(data, coords=coords, attrs=attrs)


def flat_attrs(values: dict, reserved=()) -> dict:
    """``values`` as NetCDF-safe attributes: text and floats as they are, int32 integers as they are,
    anything else as JSON text, named in ``nest_parity_json_attrs``. A key that would hide one of
    ``reserved`` gets a ``provenance_`` prefix (and is listed, so that it is restored under its own name)."""
    attrs, encoded = {}, []
    for key, value in values.items():
        name = f"provenance_{key}" if key in reserved or key.startswith("provenance_") else str(key)
        plain = isinstance(value, str) or type(value) is float or (type(value) is int and -INT32 <= value < INT32)
        attrs[name] = value if plain else json.dumps(value, sort_keys=True)
        if not plain or name != key:
            encoded.append([name, key, not plain])
    if encoded:
        attrs["nest_parity_json_attrs"] = json.dumps(encoded)
    return attrs


def unflatten_attrs(attrs: dict, own=OWN_ATTRS) -> dict:
    """The dictionary that ``flat_attrs`` flattened (the attributes of ``own`` left out)."""
    renamed = {name: (key, is_json) for name, key, is_json in json.loads(attrs.get("nest_parity_json_attrs", "[]"))}
    values = {}
    for name, value in attrs.items():
        if name in own:
            continue
        key, is_json = renamed.get(name, (name, False))
        values[key] = json.loads(value) if is_json else _python(value)
    return values


def _python(value):
    """A NetCDF attribute as read back (NumPy scalars) as the Python value it was written from."""
    return value.item() if isinstance(value, np.generic) else value


def traces_from_xarray(ds) -> Traces:
    """The Traces that ``to_xarray`` made ``ds`` from (read back from NetCDF, say): bit for bit."""
    if ds.attrs.get("nest_parity_format") != FORMAT:
        raise ValueError(f"not a nest-parity traces Dataset (nest_parity_format is "
                         f"{ds.attrs.get('nest_parity_format')!r}, expected {FORMAT!r})")
    network = "neuron" in ds.dims
    neurons = tuple(str(n) for n in ds["neuron"].values) if network else None
    names = [n for n in ds.data_vars if ds[n].dims and ds[n].dims[0] == "time"]
    spike_neurons = None
    if network:
        column = {label: i for i, label in enumerate(neurons)}
        spike_neurons = np.array([column[str(x)] for x in ds["spike_neuron"].values], dtype=np.int64)
    return Traces(scenario=str(ds.attrs["scenario"]), tics_per_step=int(ds.attrs["tics_per_step"]),
                  steps=np.asarray(ds["step"].values, dtype=np.int64),
                  variables={n: np.asarray(ds[n].transpose(*(("time", "neuron") if network else ("time",))).values,
                                           dtype=np.float64) for n in names},
                  spike_steps=np.asarray(ds["spike_step"].values, dtype=np.int64),
                  provenance=unflatten_attrs(dict(ds.attrs)), neurons=neurons, spike_neurons=spike_neurons)


def joined_dataframe(runs: dict, variables=None):
    """Several traces of one scenario side by side: columns ``(source, variable)`` (a network's
    ``(source, variable, neuron)``), one source per key of ``runs``; a single variable (a str) gives
    columns ``source`` (``(source, neuron)``). Index ``time_ms``; ``attrs["units"]`` as for one."""
    import pandas as pd

    if not runs:
        raise ValueError("no traces to join")
    single = isinstance(variables, str)
    wanted = [variables] if single else variables
    frames = {}
    for label, traces in runs.items():
        frame = to_dataframe(traces, "wide")
        if wanted is not None:
            missing = [v for v in wanted if v not in traces.variables]
            if missing:
                raise KeyError(f"{label}: records {', '.join(traces.variables)}, not {', '.join(missing)}")
            frame = frame.loc[:, wanted]
        frames[str(label)] = frame
    first = next(iter(frames.values()))
    for label, frame in frames.items():
        if not frame.index.equals(first.index):
            raise ValueError(f"{label}: sampled at other times than {next(iter(frames))}; only traces of one "
                             f"scenario on one grid are joined")
    joined = pd.concat(frames, axis=1, names=["source"])
    if single:
        joined = joined.droplevel("variable", axis=1)
    units = {}
    for frame in frames.values():
        units.update(frame.attrs["units"])
    joined.attrs = {"units": {v: units[v] for v in (wanted or units)}, "scenario": first.attrs["scenario"]}
    if single:
        joined.attrs["variable"] = variables
    return joined
