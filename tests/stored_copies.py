"""Copies of stored references in a temporary folder, optionally with one sample changed on purpose."""
from pathlib import Path

import numpy as np
from conftest import REFERENCE_DIR

from harness.traces.traces import Traces


def copy_reference(name: str, directory: Path, *, variable: str | None = None, index: int = 0,
                   ulps: int = 1, spikes=None, truncate: int | None = None,
                   scenario_hash: str | None = None) -> Traces:
    """Save reference ``name`` into ``directory``: ``variable[index]`` moved by ``ulps`` ulp, spikes replaced,
    or the trace cut to ``truncate`` samples. The provenance (scenario hash) is kept, so it still counts as
    the reference of the same scenario file, unless ``scenario_hash`` says which file it belongs to."""
    traces = Traces.load(REFERENCE_DIR / name)
    if variable is not None:
        values = traces.variables[variable]
        for _ in range(ulps):
            values[index] = np.nextafter(values[index], np.inf)
    if spikes is not None:
        traces.spike_steps = np.asarray(spikes, dtype=np.int64)
    if truncate is not None:
        traces.steps = traces.steps[:truncate]
        traces.variables = {k: v[:truncate] for k, v in traces.variables.items()}
    if scenario_hash is not None:
        traces.provenance = {**traces.provenance, "scenario_hash": scenario_hash}
    traces.save(Path(directory) / name)
    return traces
