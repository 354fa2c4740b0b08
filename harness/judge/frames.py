"""A comparison as a table: one row per judged variable (a network's: per neuron and variable), then one
row for the spikes, with the unit of every number and, when the comparison carries its accuracy ladder, the
ladder's distances in the same row.

The table is built from the comparison's JSON summary (``harness.report.summary.comparison_json``, the
schema docs/compare.md documents), so an in-memory ``Comparison`` and a ``--json`` file written by
``compare`` or ``gate`` give the same table. Columns, each number in the row's ``unit`` unless said:

* ``max_abs``, ``tol_abs``: |candidate - reference| and the tolerance's abs; ``max_rel``, ``tol_rel``:
  relative (no unit); ``headroom``: how many times larger the error could be before failing (> 1 passes);
* ``worst_ms``, ``first_violation_ms``: times in ms (NaN: none); ``samples_judged``, ``samples_left_out``;
  ``passed``; ``reason`` ("" unless nothing was judged);
* ``distance_to_nest``, ``nest_to_truth``, ``distance_to_truth``, ``truth_moved``: the ladder's rungs,
  per recordable (a network's worst neuron), NaN where not measured.

The spikes row: ``max_abs`` is the largest |shift| of a paired spike in ms (NaN for a network, whose
spikes are paired neuron by neuron), ``tol_abs`` the window in ms, ``samples_judged`` the reference's
spike count, ``passed`` whether the trains match. The comparison's own facts (scenario, the two sources,
profile, status, error, first divergence) are ``attrs``.
"""
from __future__ import annotations

import math

import numpy as np

from harness.model.parameters import RECORDABLE_UNITS

COLUMNS = ("unit", "max_abs", "max_rel", "tol_abs", "tol_rel", "headroom", "worst_ms", "first_violation_ms",
           "samples_judged", "samples_left_out", "passed", "reason")
LADDER_COLUMNS = {"candidate_nest": "distance_to_nest", "nest_truth": "nest_to_truth",
                  "candidate_truth": "distance_to_truth", "truth_convergence": "truth_moved"}
SPIKES = "spikes"
TABLE_FORMAT = "nest-parity comparison table 1"
TABLE_ATTRS = ("nest_parity_format", "nest_parity_json_attrs", "nest_parity_columns")  # the Dataset's own
FACTS = ("scenario", "reference", "candidate", "pair", "profile", "status", "error")


def number(value) -> float:
    """A JSON summary's number ("inf", "-inf", "nan" as text, None for none) as a float (NaN for none)."""
    if value is None:
        return math.nan
    return float(value)


def comparison_frame(document: dict):
    """The table of one comparison's JSON summary (``comparison_json``); see the module docstring."""
    import pandas as pd

    ladder = document.get("ladder") or {}
    rows, keys, network = [], [], False
    for key, v in document.get("variables", {}).items():
        name = v.get("variable", key)
        network = network or "neuron" in v
        row = {"unit": RECORDABLE_UNITS.get(name, ""), "max_abs": number(v["max_abs"]),
               "max_rel": number(v["max_rel"]), "tol_abs": number(v["tol_abs"]), "tol_rel": number(v["tol_rel"]),
               "headroom": number(v["headroom"]), "worst_ms": number(v["worst_ms"]),
               "first_violation_ms": number(v["first_violation_ms"]), "samples_judged": int(v["samples_judged"]),
               "samples_left_out": int(v.get("samples_left_out", 0)), "passed": bool(v["pass"]),
               "reason": v.get("reason") or ""}
        row.update(_rungs(ladder, name))
        rows.append(row)
        keys.append((v.get("neuron", ""), name))
    spikes = document.get("spikes")
    if spikes is not None:
        rows.append(_spike_row(document, spikes, network))
        keys.append(("", SPIKES))
    columns = list(COLUMNS) + (list(LADDER_COLUMNS.values()) if ladder else [])
    if network:
        index = pd.MultiIndex.from_tuples(keys, names=["neuron", "variable"])
    else:
        index = pd.Index([name for _, name in keys], name="variable")
    frame = pd.DataFrame(rows, index=index, columns=columns)
    frame = frame.astype({"samples_judged": "int64", "samples_left_out": "int64", "passed": "bool"})
    frame.attrs = {key: document.get(key) for key in FACTS}
    frame.attrs["first_divergence"] = document.get("first_divergence")
    frame.attrs["units"] = {name: RECORDABLE_UNITS.get(name, "") for _, name in keys if name != SPIKES}
    if ladder.get("notes"):
        frame.attrs["ladder_notes"] = list(ladder["notes"])
    return frame


def _rungs(ladder: dict, name: str) -> dict:
    if not ladder:
        return {}
    row = {}
    for key, column in LADDER_COLUMNS.items():
        rung = ladder.get(key)
        row[column] = number(rung["max_abs"].get(name)) if rung else math.nan
    return row


def _spike_row(document: dict, spikes: dict, network: bool) -> dict:
    ref, cand = spikes["reference_ms"], spikes["candidate_ms"]
    common = min(len(ref), len(cand))
    shift = math.nan
    if not network and common:
        shift = float(np.max(np.abs(np.asarray(ref[:common]) - np.asarray(cand[:common]))))
    elif not network:
        shift = 0.0
    window = spikes["window_steps"]
    ms = _step_ms(document, spikes)
    return {"unit": "ms", "max_abs": shift, "max_rel": math.nan, "tol_abs": window * ms if ms else math.nan,
            "tol_rel": math.nan, "headroom": math.nan, "worst_ms": math.nan,
            "first_violation_ms": number(spikes.get("first_mismatch_ms")), "samples_judged": len(ref),
            "samples_left_out": 0, "passed": bool(spikes["match"]), "reason": ""}


def _step_ms(document: dict, spikes: dict) -> float | None:
    """The step length in ms, from a spike's step and time (the summary holds no resolution of its own)."""
    for steps, times in (("reference_steps", "reference_ms"), ("candidate_steps", "candidate_ms")):
        if spikes[steps]:
            return spikes[times][0] / spikes[steps][0]
    return None


def comparisons_frame(documents):
    """Several comparisons (a ``--json`` file of ``compare`` or ``gate``) in one flat table: the columns
    ``scenario``, ``reference``, ``candidate``, ``profile``, ``status``, ``neuron`` ("" for one neuron)
    and ``variable``, then those of ``comparison_frame``."""
    import pandas as pd

    parts = []
    for document in documents:
        frame = comparison_frame(document).reset_index()
        if "neuron" not in frame:
            frame.insert(0, "neuron", "")
        for i, key in enumerate(("scenario", "reference", "candidate", "profile", "status")):
            frame.insert(i, key, document.get(key))
        parts.append(frame)
    if not parts:
        return pd.DataFrame(columns=["scenario", "reference", "candidate", "profile", "status", "neuron",
                                     "variable", *COLUMNS])
    return pd.concat(parts, ignore_index=True)


def to_dataframe(comparison):
    """``comparison_frame`` of an in-memory ``Comparison``."""
    from harness.report.summary import comparison_json

    return comparison_frame(comparison_json(comparison))


def sides(comparison) -> dict:
    """The comparison's traces keyed by their sources' names (``nest``, ``python``), told apart when one
    source is on both sides."""
    if not comparison.traces:
        raise ValueError("this comparison holds no traces (it was not made by nest_parity.compare)")
    ref, cand = comparison.reference, comparison.candidate
    if ref == cand:
        ref, cand = f"{ref} (reference)", f"{cand} (candidate)"
    return {ref: comparison.traces["reference"], cand: comparison.traces["candidate"]}


def traces_dataframe(comparison, variables=None):
    """``harness.traces.frames.joined_dataframe`` of the comparison's two sides."""
    from harness.traces.frames import joined_dataframe

    return joined_dataframe(sides(comparison), variables)


def to_xarray(comparison):
    """``table_to_xarray`` of ``to_dataframe(comparison)``."""
    return table_to_xarray(to_dataframe(comparison))


def table_to_xarray(frame):
    """A comparison table as an xarray Dataset, one data variable per column: dim ``variable`` for one
    neuron's table, else ``row`` (a network's, or several comparisons'), with the key columns (``neuron``,
    ``variable``, ``scenario``, ...) as coordinates along it. The attributes are NetCDF-safe as for traces
    (``harness.traces.frames.flat_attrs``)."""
    import json

    from harness.traces.frames import flat_attrs

    if frame.index.nlevels > 1 or frame.index.name != "variable":
        flat = frame.reset_index() if frame.index.nlevels > 1 else frame.reset_index(drop=True)
        keys = [c for c in flat.columns if c not in COLUMNS and c not in LADDER_COLUMNS.values()]
        ds = flat.to_xarray().rename({"index": "row"}).set_coords(keys)
        columns = list(flat.columns)
    else:
        ds = frame.to_xarray()
        columns = list(frame.columns)
    ds.attrs = flat_attrs({k: v for k, v in frame.attrs.items() if v is not None})
    ds.attrs["nest_parity_format"] = TABLE_FORMAT
    ds.attrs["nest_parity_columns"] = json.dumps(columns)  # a Dataset puts coordinates first; reading restores
    return ds
