"""Running a release report: the gate (``harness.judge.gate``) with pictures.

Every scenario runs live NEST, the candidate (the reimplementation, or a selftest variant with ``--variant``) and
the stored reference in the gate's worker processes; the three pairs are judged exactly as the gate judges
them (with the same accuracy ladder against the stored truth), and each worker also draws its scenario's
figure (``harness.report.figures``; a network's: ``harness.report.network_figures``) while it still holds the
traces. The provenance says what ran, for a
reviewer who wants to reproduce the report.
"""
from __future__ import annotations

import time

from harness.executor.dispatch import map_tasks
from harness.judge.gate import LIVE, GateResult, error_outcome, judged_outcome, produce_sources
from harness.judge.pool import DEFAULT_TIMEOUT_S, default_workers
from harness.report.data import ScenarioReport
from harness.scenario.types import Scenario
from harness.traces.provenance import base_provenance, package_version
from harness.traces.references import REFERENCE_DIR


def report_task(scenario: Scenario, profile: str | None, reference_dir: str, run_candidate,
                labels: tuple[str, str]) -> ScenarioReport:
    """The report's task for one scenario (runs in a gate worker): the gate's check (with its accuracy ladder
    against the stored truth), then the figure."""
    started = time.perf_counter()
    traces, problems = produce_sources(scenario, reference_dir, run_candidate)
    outcome = judged_outcome(scenario, profile, reference_dir, traces, problems, started)
    live = outcome.pair(LIVE)
    figure, why = None, None
    if live.status == "error":
        why = f"no figure: {live.error}"
    else:
        try:
            figure = _figure(scenario, traces, live, labels)
        except Exception as exc:  # a figure must never hide the numbers; the page says what went wrong
            why = f"no figure: drawing it failed: {type(exc).__name__}: {exc}"
    return ScenarioReport(scenario.name, scenario.path, scenario.description, outcome, figure, why,
                          _versions(traces.get("nest")), _versions(traces.get("stored")))


def _figure(scenario: Scenario, traces: dict, live, labels: tuple[str, str]):
    """A network's figure (raster, rates, one neuron's traces, error map) or a single neuron's."""
    title = f"{scenario.name}: {labels[0]} vs {labels[1]}"
    if scenario.is_network:
        from harness.report.network_figures import rates_title, render_network_figure

        return render_network_figure(traces["nest"], traces["python"], live, title=title,
                                     populations=[p.name for p in scenario.network.populations],
                                     rates_title=rates_title(scenario), reference_label=labels[0],
                                     candidate_label=labels[1], scenario=scenario)
    from harness.report.figures import render_figure

    return render_figure(traces["nest"], traces["python"], title=title, reference_label=labels[0],
                         candidate_label=labels[1], judged_until_ms=live.ms(live.judged_until_step),
                         scenario=scenario, comparison=live)


def _failed_report(scenario: Scenario, profile: str | None, reason: str, seconds: float) -> ScenarioReport:
    outcome = error_outcome(scenario, profile, reason, seconds)
    return ScenarioReport(scenario.name, scenario.path, scenario.description, outcome, None,
                          f"no figure: {outcome.comparisons[0].error}")


def _versions(traces) -> dict:
    """What NEST itself said when it ran (the GSL version can only be read once NEST has loaded it)."""
    if traces is None:
        return {}
    prov = traces.provenance or {}
    return {"nest_version": str(prov.get("nest_version", "unknown")), "gsl_version": str(prov.get("gsl_version",
            "unknown")), "date": str(prov.get("date", "unknown"))[:10],
            "platform": str((prov.get("platform") or {}).get("platform", "unknown"))}


def run_report(scenarios: list[Scenario], *, profile: str | None = None, reference_dir=REFERENCE_DIR,
               workers: int | None = None, run_candidate=None, candidate_label: str = "python",
               timeout: float | None = None, scheduler: str | None = None):
    """Every scenario in the gate's process pool (or on Dask with ``scheduler``, harness.executor.dispatch);
    returns (ScenarioReport list, GateResult).

    A scenario past the time limit (its worker killed) is an ``error`` with no figure; the others go on.
    """
    workers = workers or default_workers()
    timeout = timeout or DEFAULT_TIMEOUT_S
    labels = (f"NEST {package_version('nest-simulator')}", candidate_label)
    started = time.perf_counter()
    items = [(s, profile, str(reference_dir), run_candidate, labels) for s in scenarios]
    reports = map_tasks(report_task, items, scheduler=scheduler, workers=workers, desc="report", timeout=timeout,
                        failed=lambda item, reason: _failed_report(item[0], item[1], reason, timeout))
    gate = GateResult([r.outcome for r in reports], time.perf_counter() - started,
                      max(1, min(workers, len(items))), profile)
    return reports, gate


def report_provenance(command: str, reports: list) -> dict:
    """The gate's provenance plus everything a reviewer needs to reproduce the report.

    The NEST and GSL versions are those the live NEST runs reported (in the workers); the stored references'
    are summarised separately, because drift is exactly a difference between the two.
    """
    prov = base_provenance()
    prov.update({
        "nest_version": _agreed([r.live_nest.get("nest_version") for r in reports],
                                f"{package_version('nest-simulator')} (installed; no NEST run succeeded)"),
        "gsl_version": _agreed([r.live_nest.get("gsl_version") for r in reports], "unknown (no NEST run succeeded)"),
        "stored_references": {
            key: _agreed([r.stored_nest.get(key) for r in reports], "none loaded")
            for key in ("nest_version", "gsl_version", "date", "platform")},
        "python_version": prov["platform"]["python"],
        "jax_version": package_version("jax"),
        "jaxlib_version": package_version("jaxlib"),
        "matplotlib_version": package_version("matplotlib"),
        "command": command,
    })
    return prov


def _agreed(values, fallback: str) -> str:
    """One value when all agree, else every distinct value (in order); ``fallback`` when there is none."""
    distinct = list(dict.fromkeys(v for v in values if v))
    return ", ".join(distinct) if distinct else fallback
