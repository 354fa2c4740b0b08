"""The facts of iaf_bw_2001_exact, in one place: NEST's model name, parameter names, defaults and units, the
settable initial state, the recordables, the receptor types, and NEST's validation rules.

Every other module (the scenario schema, both engines, the NEST backend, the tolerances) imports these
facts from here; ``tests/test_scenario_defaults.py`` ties them to the live NEST's ``GetDefaults``. This
module needs nothing but NumPy, so that importing it never starts JAX or NEST.

Every parameter is held as one float64 array with one entry per neuron, so a population may mix
parameter values freely while the right-hand side stays a handful of elementwise array operations.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

MODEL = "iaf_bw_2001_exact"

# NEST 3.10 defaults (from the model source; its documentation table's C_m = 250 pF is wrong).
DEFAULTS: dict[str, float] = {
    "E_L": -70.0,  # leak reversal
    "E_ex": 0.0,  # excitatory (AMPA, NMDA) reversal
    "E_in": -70.0,  # inhibitory (GABA) reversal
    "V_th": -55.0,  # spike threshold
    "V_reset": -60.0,
    "C_m": 500.0,
    "g_L": 25.0,
    "t_ref": 2.0,
    "tau_AMPA": 2.0,
    "tau_GABA": 5.0,
    "tau_rise_NMDA": 2.0,
    "tau_decay_NMDA": 100.0,
    "alpha": 0.5,
    "conc_Mg2": 1.0,
    "gsl_error_tol": 1e-3,  # absolute error bound of the RKF45 step control
}
PARAMETER_NAMES: tuple[str, ...] = tuple(DEFAULTS)
# NEST's units for each parameter ("" for a pure number).
UNITS: dict[str, str] = {
    "E_L": "mV", "E_ex": "mV", "E_in": "mV", "V_th": "mV", "V_reset": "mV", "C_m": "pF", "g_L": "nS",
    "t_ref": "ms", "tau_AMPA": "ms", "tau_GABA": "ms", "tau_rise_NMDA": "ms", "tau_decay_NMDA": "ms",
    "alpha": "1/ms", "conc_Mg2": "mM", "gsl_error_tol": "",
}
# What a scenario that leaves gsl_error_tol out is integrated (and judged) with.
DEFAULT_GSL_ERROR_TOL: float = DEFAULTS["gsl_error_tol"]

# The state NEST lets a user set, and its value at creation. V_m starts at -70 whatever E_L is:
# NEST's node is built with the default E_L and Create(params={"E_L": ...}) does not move V_m.
INITIAL_STATE: dict[str, float] = {"V_m": -70.0, "s_AMPA": 0.0, "s_GABA": 0.0}

# What NEST's multimeter can record, in the model's order (state variables first, then the currents);
# NEST itself lists them alphabetically.
RECORDABLES: tuple[str, ...] = ("V_m", "s_AMPA", "s_GABA", "s_NMDA", "I_AMPA", "I_GABA", "I_NMDA")
# Their units: the gating variables carry the weights' nS (s_NMDA is NEST's weighted sum over the ports).
RECORDABLE_UNITS: dict[str, str] = {"V_m": "mV", "s_AMPA": "nS", "s_GABA": "nS", "s_NMDA": "nS",
                                    "I_AMPA": "pA", "I_GABA": "pA", "I_NMDA": "pA"}
# NEST's receptor_type of each synapse kind (a connection's rport).
RECEPTOR_TYPES: dict[str, int] = {"AMPA": 1, "GABA": 2, "NMDA": 3}

# NEST's SetStatus rules: these must be > 0, V_reset < V_th, t_ref >= 0 (nothing else is checked).
POSITIVE: tuple[str, ...] = ("C_m", "tau_AMPA", "tau_GABA", "tau_rise_NMDA", "tau_decay_NMDA", "alpha",
                             "conc_Mg2", "gsl_error_tol")


class Parameters:
    """One float64 array of length n per parameter, validated as NEST validates ``SetStatus``."""

    def __init__(self, n: int, values: Mapping[str, object] | None = None):
        self.n = n
        self._arrays: dict[str, np.ndarray] = {name: np.full(n, value) for name, value in DEFAULTS.items()}
        if values:
            self.update(values)

    def update(self, values: Mapping[str, object], neurons=None) -> None:
        """Set parameters (scalars or per-neuron arrays) for all or some neurons, all or nothing."""
        unknown = sorted(set(values) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown {MODEL} parameter(s) {unknown}; known: {list(DEFAULTS)}")
        selected = slice(None) if neurons is None else neurons
        candidate = {name: array.copy() for name, array in self._arrays.items()}
        for name, value in values.items():
            candidate[name][selected] = np.asarray(value, dtype=np.float64)
        validate(candidate)
        self._arrays = candidate

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["_arrays"][name]
        except KeyError:
            raise AttributeError(name) from None

    def take(self, index: np.ndarray) -> "Parameters":
        """The parameters of a subset of neurons (used for neurons that need further sub-steps)."""
        subset = Parameters.__new__(Parameters)
        subset.n = len(index)
        subset._arrays = {name: array[index] for name, array in self._arrays.items()}
        return subset

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: array.copy() for name, array in self._arrays.items()}


def validate(values: Mapping[str, np.ndarray]) -> None:
    """NEST's rules (and only those: V_th = inf, a common way to silence a neuron, stays legal).

    The error names the parameter, the offending value, the neuron and the rule.
    """
    def check(ok: np.ndarray, name: str, rule: str, context: str = "") -> None:
        bad = np.flatnonzero(~np.asarray(ok))
        if bad.size:
            i = bad[0]
            extra = f" ({context} = {float(values[context][i])!r})" if context else ""
            raise ValueError(f"{name} = {float(values[name][i])!r} (neuron {i}) violates the rule {rule}{extra}")

    check(values["V_reset"] < values["V_th"], "V_reset", "V_reset < V_th", context="V_th")
    check(values["t_ref"] >= 0, "t_ref", "t_ref >= 0")
    for name in POSITIVE:
        check(values[name] > 0, name, f"{name} > 0")
