"""How close a candidate trace must be to the reference: named profiles and per-scenario overrides.

A sample of variable v passes when ``|candidate - reference| <= abs_v + rel_v * |reference|``, evaluated in
float64 exactly as written. Spike trains are compared by step index, each spike may move by at most
``window_steps`` steps.

Profiles:

* ``exact`` (the default): abs 0, rel 0, window 0. The reimplementation reproduces NEST bit for bit, so
  anything else is a bug; even a ``s/tau`` written as ``s*(1/tau)`` (~1e-14) must fail.
* ``roundoff``: rel 1e-12, window 0. For ports that compute the same operations but cannot promise the
  same rounding (another compiler, fused multiply-add, a different ``exp``): a few ulp per operation,
  amplified by a few hundred RKF45 stages per ms, stays far below 1e-12 relative.
* ``integrator``: for ports that do not mirror GSL's RKF45 and step control (another ODE solver, an exact
  exponential for the synapses). GSL bounds each sub-step's local error estimate by ``gsl_error_tol``
  (absolute, per component, eps_rel = 0), so with ``tol = gsl_error_tol`` of the scenario:

  - ``V_m`` (mV): abs ``10*tol``;
  - ``s_AMPA``, ``s_GABA``, ``s_NMDA``: abs ``10*tol``, rel ``10*tol``;
  - ``I_AMPA``, ``I_GABA``, ``I_NMDA`` (pA, a driving force of up to ~100 mV times a gating variable):
    abs ``1000*tol``, rel ``10*tol``;
  - spikes: a window of 1 step (a threshold crossing can fall one step earlier or later). The window
    moves no sample out of judgement beyond the few around each moved spike (``harness.judge.alignment``):
    the traces after it are held to the tolerances above.

  The factor 10 allows a differently built integrator that meets the same per-step bound to accumulate
  a few bounds of difference over a trace; the leak (tau_m = C_m/g_L = 20 ms) keeps errors from growing
  without bound. It is a heuristic scale, not a proof: a port that needs more should say so in the
  scenario's ``tolerances:`` block, where it is visible and reviewed.

* ``as-accurate-as-nest``: for the same ports, judged against the truth (``harness.truth``) instead of NEST,
  with bounds set by NEST's own distance to the truth in each run (``harness.judge.accuracy``; the bounds
  need both traces, so ``profile_tolerances`` cannot give them).

Precedence, per variable: a value in the scenario's ``tolerances:`` block (``V_m: {abs: ..., rel: ...}``;
a key it leaves out keeps the profile's value) beats the profile; the profile is ``--profile`` if given,
else the scenario's ``tolerances.profile``, else ``exact``. This is how ``nest-parity compare`` judges; the
gate judges the reimplementation with ``exact`` (or its --profile) only (see ``harness.judge.gate``).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from harness.errors import UsageError
from harness.model.parameters import DEFAULT_GSL_ERROR_TOL, RECORDABLES

DEFAULT_PROFILE = "exact"
ACCURACY_PROFILE = "as-accurate-as-nest"
PROFILE_NAMES = ("exact", "roundoff", "integrator", ACCURACY_PROFILE)
# The integrator profile scales a current's tolerance by its driving force (see above).
CURRENTS = tuple(name for name in RECORDABLES if name.startswith("I_"))
STATE_VARIABLES = tuple(name for name in RECORDABLES if name not in CURRENTS)


@dataclass(frozen=True)
class Tolerance:
    abs: float
    rel: float

    def describe(self) -> str:
        return f"abs {self.abs:g}, rel {self.rel:g}"


@dataclass(frozen=True)
class Tolerances:
    """What one comparison is judged by: a tolerance per recordable and the spike window."""

    profile: str
    variables: dict  # recordable -> Tolerance
    spike_window_steps: int

    def __getitem__(self, name: str) -> Tolerance:
        return self.variables[name]


def profile_tolerances(profile: str, gsl_error_tol: float = DEFAULT_GSL_ERROR_TOL) -> Tolerances:
    """The tolerances a named profile gives every recordable (see the module docstring for why)."""
    check_profile_name(profile)
    if profile == ACCURACY_PROFILE:
        raise UsageError(f"profile {ACCURACY_PROFILE!r} judges a port against the truth with bounds from NEST's "
                         "distance to it: it needs both traces (harness.judge.accuracy), and is used by "
                         "`nest-parity compare` and `nest-parity candidates`")
    if profile == "exact":
        return Tolerances(profile, {v: Tolerance(0.0, 0.0) for v in RECORDABLES}, 0)
    if profile == "roundoff":
        return Tolerances(profile, {v: Tolerance(0.0, 1e-12) for v in RECORDABLES}, 0)
    tol = float(gsl_error_tol)
    variables = {"V_m": Tolerance(10 * tol, 0.0)}
    variables.update({v: Tolerance(10 * tol, 10 * tol) for v in STATE_VARIABLES[1:]})
    variables.update({v: Tolerance(1000 * tol, 10 * tol) for v in CURRENTS})
    return Tolerances(profile, variables, 1)


def scenario_gsl_error_tol(scenario) -> float:
    """The gsl_error_tol the profiles scale with: the scenario's, or a network's loosest neuron's."""
    network = getattr(scenario, "network", None)  # any object with ``params`` will do for one neuron
    if network is not None:
        return float(network.params["gsl_error_tol"].max())
    return scenario.params.get("gsl_error_tol", DEFAULT_GSL_ERROR_TOL)


def resolve_tolerances(scenario, profile: str | None = None) -> Tolerances:
    """The tolerances for one scenario: ``profile`` (the --profile flag) or the scenario's, then its overrides.

    ``scenario.tolerances`` has been validated and normalised by the scenario loader (numbers are floats,
    ``window_steps`` is an int).
    """
    block = scenario.tolerances or {}
    chosen = chosen_profile(scenario, profile)
    base = profile_tolerances(chosen, scenario_gsl_error_tol(scenario))
    variables = dict(base.variables)
    for name in RECORDABLES:
        override = block.get(name)
        if override:
            old = variables[name]
            variables[name] = Tolerance(float(override.get("abs", old.abs)), float(override.get("rel", old.rel)))
    window = int(block.get("spikes", {}).get("window_steps", base.spike_window_steps))
    return Tolerances(chosen, variables, window)


def chosen_profile(scenario, profile: str | None = None) -> str:
    """The profile name a comparison uses: ``profile`` (the --profile flag), else the scenario's, else exact."""
    return profile or (scenario.tolerances or {}).get("profile") or DEFAULT_PROFILE


def check_profile_name(name: str, where: str = "--profile") -> None:
    if name not in PROFILE_NAMES:
        raise UsageError(f"{where}: {unknown_profile_message(name)}")


def unknown_profile_message(name) -> str:
    close = difflib.get_close_matches(str(name), PROFILE_NAMES, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown tolerance profile {name!r}{hint}; allowed: {', '.join(PROFILE_NAMES)}"
