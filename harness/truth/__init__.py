"""``truth``: NEST's time-discrete model with each step's ODE solved to high accuracy (step 11, first part).

``TruthPopulation`` is ``harness.model.Population`` with one engine method replaced: the integration of a
step's interval ``(0, step]`` is ``scipy.integrate.solve_ivp`` (DOP853 by default, Radau for stiff cases)
instead of GSL's RKF45. Everything else is the engines' own code: the right-hand side (``model.rhs``),
the jumps, clamp and threshold test at the step's end (``model.neuron.end_of_step``), the recorded currents
at the integrated state and the stimulus current's one-step delay. So a network runs through
``harness.network.Network(scenario, TruthPopulation)`` unchanged.
"""
from .engine import DEFAULT_METHOD, DEFAULT_TOLERANCE, TruthPopulation, convergence_line, convergence_of, run_truth

__all__ = ["DEFAULT_METHOD", "DEFAULT_TOLERANCE", "TruthPopulation", "convergence_line", "convergence_of", "run_truth"]
