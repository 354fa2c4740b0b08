"""Test-only protocol version 1 candidates for the ``as-accurate-as-nest`` profile (tests/test_candidates_accuracy.py).

    python tests/accuracy_runner.py INPUT_DIR OUTPUT_DIR --solve METHOD TOL
        NEST's time-discrete model (the engines' step logic) with each step solved by scipy's solve_ivp
        METHOD (DOP853, Radau, RK45) at rtol = atol = TOL (a number, or `gsl` for the scenario's
        gsl_error_tol): a correct port built differently, accurate or not depending on TOL;
    python tests/accuracy_runner.py INPUT_DIR OUTPUT_DIR --ceil-refractory
        the exact engine with the refractory count ceil(t_ref / dt) in floating point, as the brainpy.state
        port computes it (scenarios/ports/brainpy/port_brainpy_refractory_rounding.yaml): a real error.

Like every runner it reads only the protocol's input files.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.candidates import protocol  # noqa: E402
from harness.model import Population  # noqa: E402
from harness.truth.engine import TruthPopulation  # noqa: E402


def population_class(mode: list, meta: dict) -> type:
    if mode[0] == "--solve":
        method, tol = mode[1], mode[2]
        tolerance = float(meta["params"]["gsl_error_tol"]) if tol == "gsl" else float(tol)
        return type("SolvedPopulation", (TruthPopulation,), {"method": method, "tolerance": tolerance})
    if mode == ["--ceil-refractory"]:
        dt = float(meta["resolution_ms"])

        def counts(self):
            return np.array([math.ceil(t / dt) for t in self._params.t_ref.tolist()], dtype=np.int64)

        return type("CeilRefractoryPopulation", (Population,), {"_compute_refractory_counts": counts})
    raise SystemExit(f"accuracy_runner: unknown mode {mode!r}; allowed: --solve METHOD TOL, --ceil-refractory")


def main(argv) -> int:
    paths, mode = argv[:2], argv[2:]

    def simulate(inputs):
        meta, arrays = inputs.meta, inputs.arrays
        cls = population_class(mode, meta)
        pop = cls(1, tics_per_step=meta["tics_per_step"], params=meta["params"], **meta["initial"])
        for weight in arrays["nmda_weights"]:
            pop.add_nmda_port(float(weight))
        recording = pop.run(meta["n_steps"], ampa=arrays["ampa"], gaba=arrays["gaba"], nmda=arrays["nmda"],
                            current=arrays["current"], record=tuple(meta["record"]))
        return {name: recording.traces[name][:, 0].copy() for name in meta["record"]}, recording.spike_stamps

    info = {"name": "accuracy_runner " + " ".join(mode)}
    return protocol.runner_main(paths, "tests/accuracy_runner.py", simulate, lambda: info)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
