"""The truth engine: ``Population``'s engine seam with each step integrated by ``solve_ivp``.

Only ``_advance`` differs from the exact engine: neuron by neuron, ``solve_ivp`` integrates ``(0, step]``
from the state at the step's start, with the step's stimulus current, to ``rtol = atol = tolerance``. GSL's
persistent step proposal ``h`` is not used (it is left at the step length, so ``host_state`` stays
complete). Runs take about a millisecond per neuron and step: meant for references, not for speed.
"""
from __future__ import annotations

import numpy as np

from harness.model import Population
from harness.model.neuron import end_of_step, recorded_values
from harness.model.parameters import RECORDABLES
from harness.model.rhs import derivative, synaptic_currents

DEFAULT_METHOD = "DOP853"
DEFAULT_TOLERANCE = 1e-12
METHODS = ("DOP853", "Radau")


class TruthPopulation(Population):
    """n iaf_bw_2001_exact neurons whose steps are integrated by ``solve_ivp`` (``method``, ``tolerance``)."""

    method = DEFAULT_METHOD
    tolerance = DEFAULT_TOLERANCE

    def _advance(self, inputs):
        from scipy.integrate import solve_ivp

        state, step = self._state, self.step_ms
        for i in range(self.n):
            c, I_stim = self._coefficients.take([i]), state.I_stim[i:i + 1]
            solution = solve_ivp(lambda t, y: derivative(y[None, :], c, I_stim)[0], (0.0, step), state.y[i],
                                 method=self.method, rtol=self.tolerance, atol=self.tolerance)
            if not solution.success:
                raise RuntimeError(f"solve_ivp ({self.method}) failed for neuron {i}: {solution.message}")
            state.y[i] = solution.y[:, -1]
        currents = synaptic_currents(state.y, self._coefficients)
        state.y, state.refractory_left, spiked = end_of_step(state.y, state.refractory_left, inputs,
                                                             self._params.V_th, self._params.V_reset,
                                                             self._refractory_counts)
        state.I_stim = np.array(inputs.current, dtype=np.float64, copy=True)
        recorded = recorded_values(state.y, currents, RECORDABLES)
        return spiked, {name: np.array(value, copy=True) for name, value in recorded.items()}


def truth_class(method: str = DEFAULT_METHOD, tolerance: float = DEFAULT_TOLERANCE) -> type:
    """A TruthPopulation class with its own method and tolerance."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    return type("TruthPopulation", (TruthPopulation,), {"method": method, "tolerance": float(tolerance)})


def run_truth(scenario, method: str = DEFAULT_METHOD, tolerance: float = DEFAULT_TOLERANCE):
    """The scenario's traces from the truth engine (a single neuron or a network)."""
    from harness.backends.python import run_python

    return run_python(scenario, population_class=truth_class(method, tolerance),
                      provenance={"backend": "truth", "method": method, "rtol": tolerance, "atol": tolerance})
