"""The truth engine: ``Population``'s engine seam with each step integrated by ``solve_ivp``.

Only ``_advance`` differs from the exact engine: ``solve_ivp`` integrates ``(0, step]`` from the state at the
step's start, with the step's stimulus current, for the neurons of the population as one system (in blocks,
see ``block_size``). Neurons do not interact inside a step, so one system changes nothing but the step
sizes; scipy's error norm is the RMS over all components, so the tolerance is divided by sqrt(n) to keep
each neuron's worst-case bound what it is for one neuron alone. GSL's persistent step proposal ``h`` is not
used (it is left at the step length, so ``host_state`` stays complete).

``run_truth`` solves a scenario twice, at ``tolerance`` and ten times tighter, and records how far the second
moved each recordable (``provenance["convergence"]``): the truth proves its accuracy on every run, and
``harness.judge.distances.Ladder`` flags it where that figure is not small against NEST's distance.
"""
from __future__ import annotations

import math

import numpy as np

from harness.model import Population
from harness.model.neuron import end_of_step, recorded_values
from harness.model.parameters import RECORDABLE_UNITS, RECORDABLES
from harness.model.rhs import derivative, synaptic_currents

DEFAULT_METHOD = "DOP853"
DEFAULT_TOLERANCE = 1e-12
METHODS = ("DOP853", "Radau")
CHECK_FACTOR = 10  # the convergence check solves again at tolerance / CHECK_FACTOR


class TruthPopulation(Population):
    """n iaf_bw_2001_exact neurons whose steps are integrated by ``solve_ivp`` (``method``, ``tolerance``)."""

    method = DEFAULT_METHOD
    tolerance = DEFAULT_TOLERANCE
    relative = None  # solve_ivp's rtol when it is not the tolerance (a port measured with absolute control)

    def _advance(self, inputs):
        state = self._state
        n, m = state.y.shape
        size = block_size(self.tolerance)
        for start in range(0, n, size):
            block = np.arange(start, min(start + size, n))
            state.y[block] = self._solve(state.y[block], self._coefficients.take(block), state.I_stim[block].copy())
        currents = synaptic_currents(state.y, self._coefficients)
        state.y, state.refractory_left, spiked = end_of_step(state.y, state.refractory_left, inputs,
                                                             self._params.V_th, self._params.V_reset,
                                                             self._refractory_counts)
        state.I_stim = np.array(inputs.current, dtype=np.float64, copy=True)
        recorded = recorded_values(state.y, currents, RECORDABLES)
        return spiked, {name: np.array(value, copy=True) for name, value in recorded.items()}


    def _solve(self, y: np.ndarray, c, I_stim: np.ndarray) -> np.ndarray:
        """One step of the neurons of ``y`` (n, m) as one system."""
        from scipy.integrate import solve_ivp

        n, m = y.shape
        tol = self.tolerance / math.sqrt(n)
        rtol = tol if self.relative is None else self.relative

        def rhs(t, flat):
            return derivative(flat.reshape(n, m), c, I_stim).reshape(-1)

        options = {"jac_sparsity": _block_diagonal(n, m)} if self.method == "Radau" and n > 1 else {}
        solution = solve_ivp(rhs, (0.0, self.step_ms), y.reshape(-1), method=self.method, rtol=rtol, atol=tol,
                             **options)
        if not solution.success:
            raise RuntimeError(f"solve_ivp ({self.method}) failed at step {self.steps_done}: {solution.message}")
        return solution.y[:, -1].reshape(n, m)


def block_size(tolerance: float) -> int:
    """How many neurons one system may hold: each divides the tolerance by sqrt(n), and scipy raises an rtol
    below 100 machine epsilons to that (with a warning), which would quietly loosen the solution."""
    return max(1, int((tolerance / (100 * np.finfo(float).eps)) ** 2))


def _block_diagonal(n: int, m: int):
    """Radau's Jacobian pattern: each neuron's m components depend on its own only (a dense 100-neuron
    Jacobian would be 10^8 numbers)."""
    from scipy.sparse import block_diag

    return block_diag([np.ones((m, m))] * n, format="csc")


def truth_class(method: str = DEFAULT_METHOD, tolerance: float = DEFAULT_TOLERANCE) -> type:
    """A TruthPopulation class with its own method and tolerance."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance {tolerance!r}; allowed: a number between 0 and 1")
    return type("TruthPopulation", (TruthPopulation,), {"method": method, "tolerance": float(tolerance)})


def solve(scenario, method: str = DEFAULT_METHOD, tolerance: float = DEFAULT_TOLERANCE):
    """One truth solution of the scenario, without the convergence check."""
    from scipy import __version__ as scipy_version

    from harness.backends.python import run_python

    return run_python(scenario, population_class=truth_class(method, tolerance),
                      provenance={"backend": "truth", "model": "harness.truth", "method": method,
                                  "rtol": tolerance, "atol": tolerance, "scipy_version": scipy_version})


def run_truth(scenario, method: str = DEFAULT_METHOD, tolerance: float = DEFAULT_TOLERANCE, *,
              check: bool = True):
    """The scenario's truth traces (a single neuron or a network). With ``check`` (the default) it is solved
    again at ``tolerance / 10`` and ``provenance["convergence"]`` holds how far each recordable moved
    (``harness.judge.distances.Distance.to_json``); the tighter solution is only the check, not the result."""
    from harness.judge.distances import distance
    from harness.scenario.coerce import as_scenario

    scenario = as_scenario(scenario)  # a path works too
    traces = solve(scenario, method, tolerance)
    if check:
        tighter = solve(scenario, method, tolerance / CHECK_FACTOR)
        moved = distance(traces, tighter)
        traces.provenance = {**traces.provenance,
                             "convergence": {"rtol": tolerance / CHECK_FACTOR, **moved.to_json()}}
    return traces


def convergence_of(traces):
    """The convergence figure a truth trace carries (a ``Distance``), or None when it was not checked."""
    from harness.judge.distances import Distance

    figure = traces.provenance.get("convergence")
    return Distance.from_json(figure) if isinstance(figure, dict) and "max_abs" in figure else None


def convergence_line(traces) -> str:
    """One line for people: how far the convergence check moved each recordable."""
    figure = convergence_of(traces)
    if figure is None:
        return "          not checked for convergence"
    rtol = traces.provenance["convergence"]["rtol"]
    moved = ", ".join(f"{name} {value:.2g} {RECORDABLE_UNITS[name]}" for name, value in figure.variables.items())
    return f"          solved again at rtol {rtol:g}: moved {moved}; spikes {figure.spikes}"
