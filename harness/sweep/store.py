"""A sweep's results: a partitioned Parquet dataset, written part by part as tasks finish.

Layout of ``DIR`` (``--out``)::

    sweep.json                      the sweep file's name, content hash and axes; a rerun must match it
    results/base=<name>/part-<task>.parquet   one file per finished task (hive partitioning by base scenario)

One row per variant x pair x variable (``COLUMNS``; ``base`` is the partition's folder, not a column of the
files); a variant whose run failed or that the schema refused has
one row per pair (``variable`` null) with verdict ``error`` or ``invalid``. A part is written to a temporary
name and renamed, so a crash leaves whole parts only; ``done_variants`` reads what is there, which is what a
rerun skips.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# name -> (arrow type, meaning). The one place the dataset's columns are written down (README, "Sweeps").
COLUMNS = {
    "sweep": (pa.string(), "the sweep's name"),
    "variant_id": (pa.string(), "hash of the variant's normalised scenario (12 hex digits)"),
    "base": (pa.string(), "the base scenario's name"),
    "variant": (pa.string(), "what changed, as axis=value pairs"),
    "changes": (pa.string(), "JSON: swept axis -> value"),
    "pair": (pa.string(), "reference-vs-candidate"),
    "reference": (pa.string(), "the reference source (nest)"),
    "candidate": (pa.string(), "the candidate (python, python-jax, a registered candidate)"),
    "profile": (pa.string(), "the tolerance profile judged under"),
    "variable": (pa.string(), "a recordable, 'spikes', or null for an error or invalid variant"),
    "unit": (pa.string(), "the variable's unit"),
    "max_abs": (pa.float64(), "the largest abs(candidate - reference) (a network's: over all neurons)"),
    "max_rel": (pa.float64(), "the largest relative difference"),
    "headroom": (pa.float64(), "the smallest tolerance / abs(difference): above 1 passes, inf if nothing differs"),
    "abs_tol": (pa.float64(), "the absolute tolerance"),
    "rel_tol": (pa.float64(), "the relative tolerance"),
    "passed": (pa.bool_(), "the variable (or the spikes) within tolerance"),
    "truth_distance": (pa.float64(), "the largest abs(candidate - truth) where the truth was computed, else null"),
    "nest_truth_distance": (pa.float64(), "the largest abs(NEST - truth) where the truth was computed, else null"),
    "reference_spikes": (pa.int64(), "spikes row: the reference's spike count"),
    "candidate_spikes": (pa.int64(), "spikes row: the candidate's spike count"),
    "first_divergence": (pa.string(), "what first broke its tolerance in this pair, or null"),
    "first_divergence_ms": (pa.float64(), "when it did"),
    "verdict": (pa.string(), "the variant x pair: pass, fail, error or invalid"),
    "error": (pa.string(), "why an error or invalid variant has no numbers"),
    "seconds": (pa.float64(), "the variant's share of its task's wall time"),
    "worker": (pa.string(), "host:pid of the worker that ran it"),
    "task": (pa.string(), "the task (batch) it ran in"),
    "scenario": (pa.string(), "the variant's scenario file (YAML), as `nest-parity sweep --show` writes it"),
}
SCHEMA = pa.schema([(name, kind) for name, (kind, _) in COLUMNS.items()])
PARTITION = "base"  # a folder name, not a column of the files (a reader that merges both would refuse)
FILE_SCHEMA = SCHEMA.remove(SCHEMA.get_field_index(PARTITION))
VERDICTS = ("pass", "fail", "error", "invalid")  # in the order counts are shown
WORST_FIRST = ("error", "invalid", "fail", "pass")  # a variant's verdict is its worst pair's
RESULTS = "results"
MANIFEST = "sweep.json"


def write_part(out: Path, base: str, task: str, rows: list[dict]) -> Path:
    """``rows`` (dicts with the keys of COLUMNS; missing ones null) as one part, atomically."""
    if base != safe_name(base):
        raise ValueError(f"a base scenario's name must be a plain name to partition by: {base!r}")
    folder = Path(out) / RESULTS / f"{PARTITION}={base}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([{name: row.get(name) for name in FILE_SCHEMA.names} for row in rows],
                                 schema=FILE_SCHEMA)
    path = folder / f"part-{safe_name(task)}.parquet"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, path)
    return path


def worst(a: str, b: str) -> str:
    """The worse of two verdicts (``WORST_FIRST``)."""
    return min(a, b, key=WORST_FIRST.index)


def read_manifest(out: Path) -> dict:
    """``DIR/sweep.json``; UsageError when it is missing or not a JSON object."""
    from harness.errors import UsageError

    path = Path(out) / MANIFEST
    if not path.is_file():
        raise UsageError(f"{out}: is not a sweep's results folder (no {MANIFEST}); pass the --out of "
                         f"`nest-parity sweep`")
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot be read as a sweep manifest ({exc}); move the folder away or choose "
                         f"another --out") from None
    if not isinstance(document, dict):
        raise UsageError(f"{path}: is not a JSON object, so no sweep manifest")
    return document


def parts(out: Path) -> list[Path]:
    return sorted((Path(out) / RESULTS).glob("base=*/part-*.parquet"))


def read_table(out: Path) -> pa.Table:
    """Every part's rows, the base column from the partition's folder, the columns in the order of COLUMNS."""
    files = parts(out)
    if not files:
        return SCHEMA.empty_table()
    tables = []
    for f in files:
        table = pq.read_table(f, schema=FILE_SCHEMA)
        base = f.parent.name.split("=", 1)[1]
        tables.append(table.append_column(PARTITION, pa.array([base] * table.num_rows, pa.string())).select(
            SCHEMA.names))
    return pa.concat_tables(tables)


def read_results(out: Path):
    """The dataset as a pandas DataFrame, with a ``param:<axis>`` column per swept axis (from ``changes``)."""
    import pandas as pd

    frame = read_table(out).to_pandas()
    params = pd.DataFrame([json.loads(c) if c else {} for c in frame["changes"]], index=frame.index)
    for axis in params.columns:
        frame[f"param:{axis}"] = params[axis]
    return frame


def done_variants(out: Path) -> set[str]:
    """Ids of the variants that already have their rows (what a rerun skips)."""
    files = parts(out)
    return {v for f in files for v in pq.read_table(f, columns=["variant_id"]).column(0).to_pylist()}


def safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)
