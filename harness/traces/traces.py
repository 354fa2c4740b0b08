"""The trace object every backend returns, and its exact on-disk form.

Sample i holds the state after simulation step k = i, stamped (k+1)·dt (NEST's multimeter has no t = 0
sample). Values are float64 and are stored in NPZ, so a reference round-trips bit for bit.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.grid import steps_to_ms
from harness.traces.atomic import atomic_write as _atomic_write  # kept under its old name for existing callers


@dataclass
class Traces:
    scenario: str
    tics_per_step: int
    steps: np.ndarray  # int64 stamps 1..n_steps
    variables: dict  # recordable name -> float64 array, one value per stamp
    spike_steps: np.ndarray  # int64 stamps of emitted spikes
    provenance: dict = field(default_factory=dict)

    @property
    def times_ms(self) -> np.ndarray:
        return steps_to_ms(self.steps, self.tics_per_step)

    @property
    def spike_times_ms(self) -> np.ndarray:
        return steps_to_ms(self.spike_steps, self.tics_per_step)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.variables[name]

    def save(self, path_stem: str | Path) -> tuple[Path, Path]:
        """Write <stem>.npz (data) and <stem>.json (provenance, human readable), each atomically."""
        stem = Path(path_stem)
        arrays = {"steps": self.steps, "spike_steps": self.spike_steps}
        arrays.update({f"var/{k}": v for k, v in self.variables.items()})
        meta = {"scenario": self.scenario, "tics_per_step": self.tics_per_step,
                "variables": list(self.variables), "provenance": self.provenance}
        arrays["meta_json"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
        npz = stem.with_suffix(".npz")
        side = stem.with_suffix(".json")
        _atomic_write(npz, lambda f: np.savez(f, **arrays))
        _atomic_write(side, lambda f: f.write(json.dumps(meta, indent=2, sort_keys=True).encode() + b"\n"))
        return npz, side

    @classmethod
    def load(cls, path: str | Path) -> "Traces":
        npz = Path(path).with_suffix(".npz")
        with np.load(npz, allow_pickle=False) as z:
            meta = json.loads(z["meta_json"].tobytes().decode())
            variables = {k: z[f"var/{k}"].copy() for k in meta["variables"]}
            return cls(scenario=meta["scenario"], tics_per_step=meta["tics_per_step"],
                       steps=z["steps"].copy(), variables=variables,
                       spike_steps=z["spike_steps"].copy(), provenance=meta["provenance"])

    def equals_exactly(self, other: "Traces") -> bool:
        """Bit-for-bit equality of grid, spikes and every recorded variable."""
        return (self.tics_per_step == other.tics_per_step
                and np.array_equal(self.steps, other.steps)
                and np.array_equal(self.spike_steps, other.spike_steps)
                and self.variables.keys() == other.variables.keys()
                and all(self.variables[k].tobytes() == other.variables[k].tobytes() for k in self.variables))

