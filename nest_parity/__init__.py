"""nest-parity for notebooks and other programs: load a scenario, run it on any backend, compare, and get
the results as pandas DataFrames, xarray Datasets, figures, Parquet and NetCDF files (docs/api.md).

    import nest_parity
    c = nest_parity.compare("scenarios/ampa_only.yaml", reference="nest", candidate="python")
    c.traces_dataframe("V_m")      # time_ms x (nest, python), in mV

The functions live in ``harness.api``; this package is the name other programs import.
"""
from harness import __version__
from harness.api import (
    BACKENDS,
    Comparison,
    Scenario,
    ScenarioError,
    Traces,
    UsageError,
    candidates,
    compare,
    export,
    frame,
    gate,
    load_scenario,
    read_export,
    run,
)

__all__ = ["__version__", "load_scenario", "run", "compare", "gate", "export", "read_export", "frame",
           "candidates", "BACKENDS", "Scenario", "Traces", "Comparison", "ScenarioError", "UsageError"]
