"""Convergence studies: how NEST's error against the truth falls as gsl_error_tol (and the resolution) falls.

``convergence_study(scenario, tols, resolutions)`` solves the truth once per resolution (``run_truth`` with
its convergence check: the truth does not depend on gsl_error_tol, only on the time-discrete model, which the
resolution is part of) and runs live NEST on a variant of the scenario per (tol, resolution)
(``harness.scenario.variants``), measuring ``distance(nest, truth)`` per recordable. With a candidate (a
registered port from candidates.yaml, run out of process, or the in-house ``python`` / ``python-jax``) its
distance on the same variants is measured too.

The slope of log10(error) against log10(tol) is fitted by least squares per recordable, over the points above
the round-off level only: an error within ``FIT_MARGIN`` times the truth's own convergence figure (how far
the truth moves when solved ten times tighter), or within ``ROUND_OFF`` of the variable's size, says nothing
about NEST's integrator. Points whose spikes differ from the truth's are left out too: their distance is
measured only up to the first spike difference. ``harness.truth.convergence_figure`` draws a study.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from harness.errors import UsageError
from harness.judge.distances import Distance, distance
from harness.model.parameters import DEFAULT_GSL_ERROR_TOL, RECORDABLE_UNITS, RECORDABLES
from harness.scenario.variants import variant
from harness.truth.engine import DEFAULT_METHOD, DEFAULT_TOLERANCE, convergence_of, run_truth

# Decades from 1e-2 to 1e-9: NEST at 1e-9 takes ~15 times the RKF45 steps of 1e-3 (steps grow as tol^-1/5),
# still well under a second on the catalogue's single neurons; the schema allows down to 1e-10.
DEFAULT_LADDER = tuple(10.0 ** -k for k in range(2, 10))
FIT_MARGIN = 10.0  # an error within this factor of the truth's convergence figure is not fitted
ROUND_OFF = 64 * np.finfo(np.float64).eps  # relative to the variable's largest |value|
IN_HOUSE = ("python", "python-jax")  # candidates that are engines of this harness, run in process


@dataclass(frozen=True)
class Fit:
    """log10(error) = slope * log10(tol) + intercept over ``used`` of ``of`` points; slope None below 2."""

    slope: float | None
    intercept: float | None
    used: int
    of: int

    def to_json(self) -> dict:
        return {"slope": self.slope, "intercept": self.intercept, "points_used": self.used, "points": self.of}

    def shown(self) -> str:
        """The slope to two decimals ("–" when there is none; never "-0.00")."""
        return "–" if self.slope is None else f"{self.slope:.2f}".replace("-0.00", "0.00")


@dataclass
class TruthRun:
    resolution: float
    variant: str
    convergence: Distance | None  # how far the truth moved when solved ten times tighter
    scale: dict  # recordable -> largest |value| of the truth
    seconds: float
    source: str = "solved now"  # or the stored truth reference it was loaded from


@dataclass
class Point:
    gsl_error_tol: float
    resolution: float
    variant: str
    nest: Distance
    nest_seconds: float
    candidate: Distance | None = None
    candidate_seconds: float | None = None
    note: str = ""  # why the candidate's distance is missing


@dataclass
class Study:
    scenario: str
    path: str
    content_hash: str
    own_tol: float | None  # the scenario's own gsl_error_tol (None: a network whose populations differ)
    own_resolution: float
    tols: list
    resolutions: list
    method: str
    tolerance: float
    candidate: str | None
    truths: list  # TruthRun, one per resolution
    points: list  # Point, resolution-major, tol-minor
    seconds: float = 0.0
    recorded: tuple = RECORDABLES
    versions: dict = field(default_factory=dict)  # nest_version, gsl_version, scipy_version of the runs
    fits: dict = field(default_factory=dict)  # (who, resolution) -> {recordable: Fit}

    # ------------------------------------------------------------------ what is measured
    @property
    def zero_recordables(self) -> list:
        """Recordables that are exactly zero at every sample of every truth (nothing to draw or fit)."""
        return [name for name in self.recorded if all(t.scale.get(name, 0.0) == 0.0 for t in self.truths)]

    @property
    def recordables(self) -> list:
        return [name for name in self.recorded if name not in self.zero_recordables]

    def truth(self, resolution: float) -> TruthRun:
        return next(t for t in self.truths if t.resolution == resolution)

    def at(self, resolution: float) -> list:
        return [p for p in self.points if p.resolution == resolution]

    def floor(self, name: str, resolution: float) -> float:
        """The round-off level below which a point is not fitted (see the module docstring)."""
        truth = self.truth(resolution)
        moved = truth.convergence.get(name) if truth.convergence is not None else None
        moved = 0.0 if moved is None or math.isnan(moved) else moved
        return max(FIT_MARGIN * moved, ROUND_OFF * truth.scale.get(name, 0.0))

    def fitted(self, point: Point, who: str, name: str) -> bool:
        d = point.nest if who == "nest" else point.candidate
        value = None if d is None else d.get(name)
        return (value is not None and math.isfinite(value) and value > self.floor(name, point.resolution)
                and d.spikes != "differ")

    def fit(self, who: str, resolution: float) -> dict:
        key = (who, resolution)
        if key not in self.fits:
            self.fits[key] = {name: self._fit(who, resolution, name) for name in self.recordables}
        return self.fits[key]

    def _fit(self, who: str, resolution: float, name: str) -> Fit:
        points = [p for p in self.at(resolution) if (p.nest if who == "nest" else p.candidate) is not None]
        used = [p for p in points if self.fitted(p, who, name)]
        x = np.log10([p.gsl_error_tol for p in used])
        if len(set(x.tolist())) < 2:
            return Fit(None, None, len(used), len(points))
        y = np.log10([(p.nest if who == "nest" else p.candidate).get(name) for p in used])
        slope, intercept = np.polyfit(x, y, 1)
        return Fit(float(slope), float(intercept), len(used), len(points))

    def own_point(self) -> Point | None:
        """NEST at the scenario's own tolerance and resolution, if that was swept."""
        return next((p for p in self.points if p.gsl_error_tol == self.own_tol
                     and p.resolution == self.own_resolution), None)

    # ------------------------------------------------------------------ output
    def to_json(self) -> dict:
        own = self.own_point()
        return {
            "scenario": self.scenario, "path": self.path, "content_hash": self.content_hash,
            "own": {"gsl_error_tol": self.own_tol, "resolution": self.own_resolution,
                    "nest": None if own is None else own.nest.to_json()},
            "gsl_error_tols": list(self.tols), "resolutions": list(self.resolutions),
            "truth_solver": {"method": self.method, "rtol": self.tolerance, "atol": self.tolerance},
            "candidate": self.candidate, "recordables": self.recordables, "zero_recordables": self.zero_recordables,
            "units": {name: RECORDABLE_UNITS[name] for name in self.recorded},
            "fit_rule": fit_rule(),
            "truth": [{"resolution": t.resolution, "variant": t.variant, "source": t.source,
                       "seconds": round(t.seconds, 3),
                       "convergence": None if t.convergence is None else t.convergence.to_json()}
                      for t in self.truths],
            "points": [{"gsl_error_tol": p.gsl_error_tol, "resolution": p.resolution, "variant": p.variant,
                        "nest": p.nest.to_json(), "nest_seconds": round(p.nest_seconds, 3),
                        "candidate": None if p.candidate is None else p.candidate.to_json(),
                        "candidate_seconds": None if p.candidate_seconds is None else round(p.candidate_seconds, 3),
                        **({"note": p.note} if p.note else {})} for p in self.points],
            "slopes": [{"resolution": r, "nest": {n: f.to_json() for n, f in self.fit("nest", r).items()},
                        "candidate": None if self.candidate is None else
                        {n: f.to_json() for n, f in self.fit("candidate", r).items()}} for r in self.resolutions],
            "seconds": round(self.seconds, 3), "versions": dict(self.versions),
        }

    def table_markdown(self) -> str:
        from harness.truth.convergence_table import study_table

        return study_table(self)


def fit_rule() -> str:
    return (f"least squares of log10(error) on log10(gsl_error_tol) per recordable, over the points whose error "
            f"exceeds {FIT_MARGIN:g} x the truth's convergence figure and {ROUND_OFF:.1e} x the variable's "
            f"largest |value| (the round-off level), and whose spikes do not differ from the truth's")


# ---------------------------------------------------------------------------------------------- planning
def own_tol(scenario) -> float | None:
    if not scenario.is_network:
        return float(scenario.params.get("gsl_error_tol", DEFAULT_GSL_ERROR_TOL))
    values = np.unique(scenario.network.params["gsl_error_tol"])
    return float(values[0]) if len(values) == 1 else None


def default_tols(scenario) -> list:
    """The decade ladder 1e-2 .. 1e-9, with the scenario's own tolerance added where it is no decade of it."""
    tols = list(DEFAULT_LADDER)
    own = own_tol(scenario)
    if own is not None and not any(math.isclose(own, t, rel_tol=1e-12) for t in tols):
        tols.append(own)
    return sorted(tols, reverse=True)


def tol_changes(scenario, tol: float) -> dict:
    """The key paths that set gsl_error_tol: the neuron's, or every population's."""
    if not scenario.is_network:
        return {"params.gsl_error_tol": tol}
    return {f"populations.{p.name}.params.gsl_error_tol": tol for p in scenario.network.populations}


def plan(scenario, tols, resolutions=None) -> list:
    """[(resolution, truth variant, [(tol, NEST variant), ...]), ...], every variant validated before any
    run: a bad tolerance or resolution is a UsageError naming it."""
    tols = [_positive(t, "gsl_error_tol") for t in tols]
    if not tols:
        raise UsageError("no gsl_error_tol to sweep; give at least one")
    resolutions = [scenario.resolution] if not resolutions else [_positive(r, "resolution") for r in resolutions]
    for what, values in (("gsl_error_tol", tols), ("resolution", resolutions)):
        if len(set(values)) != len(values):
            raise UsageError(f"a {what} is given twice: {', '.join(f'{v:g}' for v in values)}")
    plans = []
    for res in resolutions:
        at = {} if res == scenario.resolution else {"resolution": res}
        base = variant(scenario, at) if at else scenario
        runs = []
        for tol in tols:
            changes = {**tol_changes(scenario, tol), **at}
            name = None if not scenario.is_network else ",".join(
                [f"gsl_error_tol={tol!r}"] + [f"resolution={res!r}"] * bool(at))
            runs.append((tol, variant(scenario, changes, name=name)))
        plans.append((res, base, runs))
    return plans


def _positive(value, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (number > 0 and math.isfinite(number)):
        raise UsageError(f"{what} {value!r}: allowed: a positive number")
    return number


# ---------------------------------------------------------------------------------------------- candidates
def check_candidate(name: str, scenario) -> None:
    """UsageError, before any run, for an unknown candidate or one that cannot run this scenario here."""
    if name in IN_HOUSE:
        return
    from harness.candidates.protocol import version_for
    from harness.candidates.registry import get_candidate, load_registry

    registry = load_registry()
    try:
        candidate = get_candidate(name, registry)
    except UsageError as exc:
        raise UsageError(f"{exc}; or in-house: {', '.join(IN_HOUSE)}") from None
    missing = candidate.missing_requirements()
    if missing:
        setup = f"; run `{candidate.setup}` first" if candidate.setup else ""
        raise UsageError(f"candidate {name!r} is not available: {', '.join(missing)} does not exist{setup}")
    version = version_for(scenario)
    if version not in candidate.protocols:
        raise UsageError(f"candidate {name!r} speaks protocol version {' and '.join(map(str, candidate.protocols))} "
                         f"only, and {scenario.name} is handed over in version {version} (docs/candidates.md)")


def run_candidate_source(name: str, scenario):
    """The candidate's traces of ``scenario``, or the CandidateError's description (a str) when it gave none."""
    if name in IN_HOUSE:
        from harness.backends.sources import produce

        return produce(name, scenario)
    from harness.candidates.execute import CandidateError, run_candidate
    from harness.candidates.registry import get_candidate, load_registry

    try:
        return run_candidate(get_candidate(name, load_registry()), scenario)
    except CandidateError as exc:  # a str crosses a worker's pipe where an exception with its own init may not
        return exc.describe()


def truth_of(scenario, method: str, tolerance: float, reference_dir=None):
    """(traces, source): the stored truth reference in ``reference_dir`` when there is a valid one solved the
    same way (method, tolerance, with its convergence figure), else the truth solved now."""
    if reference_dir is not None:
        from pathlib import Path

        from harness.backends.sources import obtain_truth

        traces, note = obtain_truth(scenario, "auto", Path(reference_dir))
        if (traces is not None and traces.provenance.get("method") == method
                and traces.provenance.get("rtol") == tolerance and convergence_of(traces) is not None):
            return traces, note
    return run_truth(scenario, method, tolerance), "solved now"


def run_nest_variant(scenario):
    from harness.backends.nest import run_nest  # imported on demand: NEST is slow to import

    return run_nest(scenario)


# ---------------------------------------------------------------------------------------------- the study
def _in_process(task, *args, what: str = ""):
    return task(*args)


def convergence_study(scenario, tols=None, resolutions=None, candidate: str | None = None,
                      method: str = DEFAULT_METHOD, tolerance: float = DEFAULT_TOLERANCE, *,
                      reference_dir=None, execute=None) -> Study:
    """Sweep gsl_error_tol (``tols``, default ``default_tols``) at each resolution (default: the scenario's)
    and measure NEST's, and the candidate's, distance to the truth. ``reference_dir``: take the truth at the
    scenario's own resolution from its stored truth reference there when it is valid (``truth_of``), instead
    of solving it. ``execute(task, *args, what=...)`` runs each NEST, truth and candidate run (default: in
    this process; the CLI bounds each in time)."""
    execute = execute or _in_process
    plans = plan(scenario, default_tols(scenario) if tols is None else tols, resolutions)
    if candidate is not None:
        check_candidate(candidate, scenario)
    started = time.perf_counter()
    truths, points, versions = [], [], {}
    for res, base, runs in plans:
        t0 = time.perf_counter()
        stored = reference_dir if base is scenario else None  # a variant has no stored reference
        truth, source = execute(truth_of, base, method, tolerance, stored, what=f"{base.name}: the truth")
        truths.append(TruthRun(res, base.name, convergence_of(truth), _scale(truth), time.perf_counter() - t0,
                               source))
        versions.setdefault("scipy_version", truth.provenance.get("scipy_version"))
        for tol, var in runs:
            t0 = time.perf_counter()
            nest = execute(run_nest_variant, var, what=f"{var.name}: the NEST run")
            point = Point(tol, res, var.name, distance(nest, truth), time.perf_counter() - t0)
            for key in ("nest_version", "gsl_version"):
                versions.setdefault(key, nest.provenance.get(key))
            if candidate is not None:
                t0 = time.perf_counter()
                traces = execute(run_candidate_source, candidate, var, what=f"{var.name}: the {candidate} run")
                point.candidate_seconds = time.perf_counter() - t0
                if isinstance(traces, str):
                    point.note = traces
                else:
                    point.candidate = distance(traces, truth)
            points.append(point)
    return Study(scenario=scenario.name, path=str(scenario.path), content_hash=scenario.content_hash,
                 own_tol=own_tol(scenario), own_resolution=scenario.resolution, tols=[t for t, _ in plans[0][2]],
                 resolutions=[r for r, _, _ in plans], method=method, tolerance=tolerance, candidate=candidate,
                 truths=truths, points=points, seconds=time.perf_counter() - started,
                 recorded=tuple(scenario.record), versions=versions)


def runs_in(scenario, tols, resolutions=None, candidate: str | None = None) -> int:
    """How many runs a study makes (for a progress bar)."""
    n_res = len(resolutions) if resolutions else 1
    return n_res * (1 + len(tols) * (1 + (candidate is not None)))


def _scale(truth) -> dict:
    return {name: float(np.max(np.abs(values))) if np.size(values) else 0.0
            for name, values in truth.variables.items()}


# The catalogue's stiff scenario (1 ms steps at gsl_error_tol 1e-8): the release report shows its study.
STIFF_SCENARIO = "stiff_dt1"


def stiff_study_figure(scenarios, reference_dir, execute) -> tuple[bytes, str] | None:
    """The convergence study of the stiff scenario, if it is among ``scenarios``: (PNG, caption), else None."""
    stiff = next((s for s in scenarios if s.name == STIFF_SCENARIO and not s.is_network), None)
    if stiff is None:
        return None
    study = convergence_study(stiff, reference_dir=reference_dir, execute=execute)
    fits = study.fit("nest", stiff.resolution)
    slopes = ", ".join(f"{name} {fit.shown()}" for name, fit in fits.items() if fit.slope is not None)
    return study_figure(study), (f"{stiff.name}: NEST's distance to the truth against gsl_error_tol "
                                 f"(fitted slopes {slopes}); `nest-parity convergence {stiff.path}` redraws it")


from harness.truth.convergence_figure import study_figure  # noqa: E402,F401  (the API is study + figure)
