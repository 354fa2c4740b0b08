"""The release report: one folder with a self-contained HTML page, the same content in Markdown, the JSON
summary and one figure per scenario (``nest-parity report``, docs/report.md).

It is the gate (``harness.judge.gate``) with pictures: every scenario runs live NEST, the candidate (the
reimplementation, or a selftest variant with ``--variant``) and the stored reference in the gate's worker
processes, the three pairs are judged exactly as the gate judges them, and each worker also draws its
scenario's figure (``harness.report.figures``) while it still holds the traces.

Folder layout (written into a temporary folder beside the target, then renamed, so a reader never sees half
a report)::

    reports/<tag>/report.html       one file: CSS inline, figures as base64 PNG, no script, no external fetch
    reports/<tag>/report.md         the same content; figures as relative links to figures/
    reports/<tag>/summary.json      the gate's JSON summary (docs/compare.md) plus a "report" block
    reports/<tag>/figures/<scenario>.png

An existing report folder is replaced only with ``force``; anything that is not a report folder never is.
"""
from __future__ import annotations

import base64
import datetime
import html
import json
import math
import os
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import UsageError
from harness.judge.gate import LIVE, GateResult, ScenarioOutcome, gate_tolerances, judge_pairs, produce_sources
from harness.judge.pool import default_workers, run_parallel
from harness.traces.provenance import base_provenance, git_commit, package_version
from harness.report.summary import gate_json, json_number
from harness.scenario.types import Scenario

REPORT_DIR = Path("reports")
SUMMARY_FILE = "summary.json"
HTML_FILE = "report.html"
MARKDOWN_FILE = "report.md"
FIGURE_DIR = "figures"

# Gate verdicts in the words of a release report. "FAIL" is the gate's "regression": the candidate disagrees
# with NEST. "DRIFT": live NEST no longer reproduces the stored references (NEST, GSL or the platform changed).
STATUS_LABEL = {"pass": "PASS", "regression": "FAIL", "drift": "DRIFT", "regression+drift": "FAIL+DRIFT",
                "error": "ERROR"}
STATUS_CLASS = {"pass": "pass", "regression": "fail", "drift": "drift", "regression+drift": "fail",
                "error": "error"}
PAIR_WORDS = {"nest-vs-python": "live NEST vs the candidate", "stored-vs-python": "stored NEST vs the candidate",
              "stored-vs-nest": "stored NEST vs live NEST (drift)"}


# ============================================================================================ running
@dataclass
class ScenarioReport:
    """One scenario: the gate's outcome and, when the traces allowed it, the figure."""

    scenario: str
    path: str
    description: str
    outcome: ScenarioOutcome
    figure: object | None  # harness.report.figures.Figure
    no_figure: str | None = None  # why there is no figure
    live_nest: dict = field(default_factory=dict)  # nest_version, gsl_version of the live NEST run
    stored_nest: dict = field(default_factory=dict)  # the same for the stored reference, plus its date/platform

    @property
    def live(self):
        return self.outcome.pair(LIVE)

    @property
    def verdict(self) -> str:
        return self.outcome.verdict


def report_task(scenario: Scenario, profile: str | None, reference_dir: str, run_candidate,
                labels: tuple[str, str]) -> ScenarioReport:
    """The report's task for one scenario (runs in a gate worker): the gate's check, then the figure."""
    started = time.perf_counter()
    traces, problems = produce_sources(scenario, reference_dir, run_candidate)
    comparisons = judge_pairs(scenario, gate_tolerances(scenario, profile), traces, problems)
    outcome = ScenarioOutcome(scenario.name, scenario.path, comparisons, time.perf_counter() - started)
    live = outcome.pair(LIVE)
    figure, why = None, None
    if live.status == "error":
        why = f"no figure: {live.error}"
    else:
        from harness.report.figures import render_figure

        try:
            figure = render_figure(traces["nest"], traces["python"], title=f"{scenario.name}: {labels[0]} vs "
                                   f"{labels[1]}", reference_label=labels[0], candidate_label=labels[1],
                                   judged_until_ms=live.ms(live.judged_until_step))
        except Exception as exc:  # a figure must never hide the numbers; the page says what went wrong
            why = f"no figure: drawing it failed: {type(exc).__name__}: {exc}"
    return ScenarioReport(scenario.name, scenario.path, scenario.description, outcome, figure, why,
                          _versions(traces.get("nest")), _versions(traces.get("stored")))


def _versions(traces) -> dict:
    """What NEST itself said when it ran (the GSL version can only be read once NEST has loaded it)."""
    if traces is None:
        return {}
    prov = traces.provenance or {}
    return {"nest_version": str(prov.get("nest_version", "unknown")), "gsl_version": str(prov.get("gsl_version",
            "unknown")), "date": str(prov.get("date", "unknown"))[:10],
            "platform": str((prov.get("platform") or {}).get("platform", "unknown"))}


def run_report(scenarios: list[Scenario], *, profile: str | None = None, reference_dir="reference_traces",
               workers: int | None = None, run_candidate=None, candidate_label: str = "python"):
    """Every scenario in the gate's process pool; returns (ScenarioReport list, GateResult)."""
    workers = workers or default_workers()
    labels = (f"NEST {package_version('nest-simulator')}", candidate_label)
    started = time.perf_counter()
    items = [(s, profile, str(reference_dir), run_candidate, labels) for s in scenarios]
    reports = run_parallel(report_task, items, workers=workers, desc="report")
    gate = GateResult([r.outcome for r in reports], time.perf_counter() - started,
                      max(1, min(workers, len(items))), profile)
    return reports, gate


# ============================================================================================ provenance
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


def default_out_dir(now: datetime.date | None = None) -> Path:
    """reports/<date>-<short commit>, e.g. reports/2026-03-01-ebf7f48 (…-dirty with uncommitted changes)."""
    commit = git_commit()
    short = "nogit" if commit == "unknown" else commit[:7] + ("-dirty" if commit.endswith("-dirty") else "")
    return REPORT_DIR / f"{(now or datetime.date.today()).isoformat()}-{short}"


# ============================================================================================ numbers
def num(x) -> str:
    """How every number appears in the HTML and the Markdown (the tests format the comparator's with it)."""
    if x is None:
        return "-"
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "0" if x == 0 else f"{x:.3g}"


def _order(x) -> float:
    """Sort key: NaN is the worst (largest) error."""
    return math.inf if x is None or math.isnan(x) else x


def worst_variable(comparison):
    """The variable closest to (or furthest past) its tolerance: smallest headroom, then largest relative and
    absolute error, then recording order. None when nothing differs at all."""
    if not comparison.variables:
        return None
    worst = min(comparison.variables.values(), key=lambda v: (v.headroom, -_order(v.max_rel), -_order(v.max_abs)))
    return None if worst.headroom == math.inf else worst


def first_divergence_text(sr: ScenarioReport) -> str:
    """The earliest broken tolerance of the live pair, else of the first other pair that did not pass."""
    for c in [sr.live] + [c for c in sr.outcome.comparisons if c.pair != LIVE]:
        divergence = c.first_divergence()
        if divergence is not None:
            where = "" if c.pair == LIVE else f" ({c.pair})"
            return f"{divergence[0]} at {num(divergence[1])} ms{where}"
    errors = [c.pair for c in sr.outcome.comparisons if c.status == "error"]
    return f"error in {', '.join(errors)} (see its section)" if errors else "-"


# ============================================================================================ baseline
@dataclass
class BaselineDiff:
    source: str
    created: str
    commit: str
    nest_version: str
    added: list = field(default_factory=list)  # scenario names
    removed: list = field(default_factory=list)
    newly_failing: list = field(default_factory=list)  # (scenario, old verdict, new verdict)
    newly_passing: list = field(default_factory=list)
    changed: list = field(default_factory=list)  # other verdict changes (e.g. regression -> error)
    grew: list = field(default_factory=list)  # (scenario, pair, variable, before, now)
    shrank: int = 0  # how many (scenario, pair, variable) errors got smaller

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.newly_failing or self.newly_passing or self.changed
                    or self.grew)

    def to_json(self) -> dict:
        return {"source": self.source, "created": self.created, "commit": self.commit,
                "nest_version": self.nest_version, "added": self.added, "removed": self.removed,
                "newly_failing": [{"scenario": s, "before": a, "now": b} for s, a, b in self.newly_failing],
                "newly_passing": [{"scenario": s, "before": a, "now": b} for s, a, b in self.newly_passing],
                "changed": [{"scenario": s, "before": a, "now": b} for s, a, b in self.changed],
                "errors_grew": [{"scenario": s, "pair": p, "variable": v, "before": json_number(a),
                                 "now": json_number(b)} for s, p, v, a, b in self.grew],
                "errors_shrank": self.shrank}


def load_baseline(path) -> tuple[str, dict]:
    """A report folder (its summary.json) or a gate/report JSON summary; anything else is a UsageError."""
    path = Path(path)
    source = path / SUMMARY_FILE if path.is_dir() else path
    if not source.exists():
        raise UsageError(f"--baseline {path}: no such report (expected a report folder with {SUMMARY_FILE}, "
                         f"or a JSON summary written by `nest-parity report` or `nest-parity gate`)")
    try:
        document = json.loads(source.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"--baseline {source}: not readable JSON: {exc}") from None
    if not (isinstance(document, dict) and isinstance(document.get("scenarios"), list)
            and isinstance(document.get("comparisons"), list)):
        raise UsageError(f"--baseline {source}: not a report or gate summary (it needs the lists 'scenarios' "
                         f"and 'comparisons'; `nest-parity compare --json` writes no per-scenario verdicts)")
    return str(source), document


def _agreed(values, fallback: str) -> str:
    """One value when all agree, else every distinct value (in order); ``fallback`` when there is none."""
    distinct = list(dict.fromkeys(v for v in values if v))
    return ", ".join(distinct) if distinct else fallback


def _json_float(x):
    if x is None:
        return None
    try:
        return float(x)  # also "inf", "-inf", "nan"
    except (TypeError, ValueError):
        return None


def diff_against_baseline(source: str, old: dict, new: dict) -> BaselineDiff:
    """What changed from ``old`` to ``new`` (both JSON summaries): scenarios, verdicts, and larger errors."""
    prov = old.get("provenance") or {}
    diff = BaselineDiff(source, str(old.get("created", "?")), str(prov.get("harness_commit", "?")),
                        str(prov.get("nest_version", "?")))
    before = {s.get("scenario"): s.get("verdict") for s in old["scenarios"] if isinstance(s, dict)}
    now = {s["scenario"]: s["verdict"] for s in new["scenarios"]}
    diff.added = [name for name in now if name not in before]
    diff.removed = [name for name in before if name not in now]
    for name, verdict in now.items():
        if name not in before or before[name] == verdict:
            continue
        entry = (name, before[name], verdict)
        if before[name] == "pass":
            diff.newly_failing.append(entry)
        elif verdict == "pass":
            diff.newly_passing.append(entry)
        else:
            diff.changed.append(entry)
    old_errors = {(c.get("scenario"), c.get("pair"), name): _json_float(v.get("max_abs"))
                  for c in old["comparisons"] if isinstance(c, dict)
                  for name, v in (c.get("variables") or {}).items() if isinstance(v, dict)}
    for c in new["comparisons"]:
        for name, v in c["variables"].items():
            key = (c["scenario"], c["pair"], name)
            a, b = old_errors.get(key), _json_float(v["max_abs"])
            if a is None or b is None or (math.isnan(a) and math.isnan(b)):
                continue
            if _order(b) > _order(a) or (math.isnan(b) and not math.isnan(a)):
                diff.grew.append((*key, a, b))
            elif _order(b) < _order(a):
                diff.shrank += 1
    return diff


# ============================================================================================ the model
@dataclass
class Report:
    """Everything the HTML and the Markdown show, computed once so that both show the same."""

    scenarios: list  # ScenarioReport
    gate: GateResult
    document: dict  # the JSON summary
    candidate: str  # short label (figure legends, titles)
    command: str
    candidate_description: str = ""
    baseline: BaselineDiff | None = None

    @property
    def verdict(self) -> str:
        counts = self.gate.counts
        if counts["error"]:
            return "ERROR"
        if counts["regression"] or counts["regression+drift"]:
            return "FAIL"
        return "DRIFT" if counts["drift"] else "PASS"

    def headline_counts(self) -> dict:
        c = self.gate.counts
        return {"pass": c["pass"], "fail": c["regression"] + c["regression+drift"], "drift": c["drift"],
                "error": c["error"]}

    def headline(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in self.headline_counts().items())
        extra = (f" ({self.gate.counts['regression+drift']} of the failures also drifted)"
                 if self.gate.counts["regression+drift"] else "")
        return f"{self.verdict}: {_scenarios(len(self.scenarios))}: {counts}{extra}"

    def provenance_rows(self) -> list[tuple[str, str]]:
        p = self.document["provenance"]
        plat = p["platform"]
        return [
            ("overall verdict", self.verdict),
            ("candidate", f"{self.candidate}: {self.candidate_description}" if self.candidate_description
             else self.candidate),
            ("NEST", p["nest_version"]),
            ("GSL (bundled with the NEST wheel)", p["gsl_version"]),
            ("stored references", "recorded with NEST {nest_version}, GSL {gsl_version}, on {date}, "
                                  "{platform}".format(**p["stored_references"])),
            ("harness", f"{p['harness_version']} at commit {p['harness_commit']}"),
            ("Python", p["python_version"]),
            ("NumPy", p["numpy_version"]),
            ("JAX / jaxlib", f"{p['jax_version']} / {p['jaxlib_version']}"),
            ("matplotlib", p["matplotlib_version"]),
            ("platform", f"{plat['platform']} ({plat['machine']}, {plat['libc']}, {plat['cpu_count']} CPUs)"),
            ("date", p["date"]),
            ("command", p["command"]),
            ("tolerance profile", self.gate.profile or "exact (the gate's; scenario tolerance blocks are ignored)"),
            ("run time", f"{self.gate.wall_seconds:.1f} s wall with {self.gate.workers} worker process"
                         f"{'es' if self.gate.workers != 1 else ''}"),
        ]

    def summary_rows(self) -> list[dict]:
        rows = []
        for sr in self.scenarios:
            live = sr.live
            worst = worst_variable(live) if live.status != "error" else None
            spikes = live.spikes
            rows.append({
                "scenario": sr.scenario, "verdict": sr.verdict, "status": STATUS_LABEL[sr.verdict],
                "worst": worst.name if worst else ("-" if live.status == "error" else "none (identical)"),
                "max_abs": num(worst.max_abs) if worst else ("-" if live.status == "error" else "0"),
                "max_rel": num(worst.max_rel) if worst else ("-" if live.status == "error" else "0"),
                "tolerance": _tolerance_text(worst.tolerance) if worst else _common_tolerance(live),
                "headroom": num(worst.headroom) if worst else ("-" if live.status == "error" else "inf"),
                "spikes": (f"{len(spikes.reference_steps)} / {len(spikes.candidate_steps)}"
                           if spikes is not None else "-"),
                "first_divergence": first_divergence_text(sr),
            })
        return rows


SUMMARY_HEADER = ("scenario", "status", "worst variable", "max |diff|", "max rel", "tolerance", "headroom",
                  "spikes NEST / candidate", "first divergence")
SUMMARY_KEYS = ("scenario", "status", "worst", "max_abs", "max_rel", "tolerance", "headroom", "spikes",
                "first_divergence")
VARIABLE_HEADER = ("variable", "max |diff|", "max rel", "tolerance", "headroom", "worst at (ms)",
                   "first violation (ms)", "result")


def _scenarios(n: int) -> str:
    return f"{n} scenario{'s' if n != 1 else ''}"


def _common_tolerance(c) -> str:
    tolerances = {v.tolerance for v in c.variables.values()}
    if len(tolerances) == 1:
        return _tolerance_text(tolerances.pop())
    return "per variable" if tolerances else "-"


def _tolerance_text(tol) -> str:
    return f"abs {num(tol.abs)}, rel {num(tol.rel)}"


def variable_rows(c) -> list[tuple]:
    return [(name, num(v.max_abs), num(v.max_rel), _tolerance_text(v.tolerance), num(v.headroom),
             num(v.worst_ms), num(v.first_violation_ms), "ok" if v.passed else "FAIL")
            for name, v in c.variables.items()]


def spike_text(c) -> str:
    s = c.spikes
    if s is None:
        return "-"
    head = (f"{len(s.reference_steps)} {c.reference} / {len(s.candidate_steps)} {c.candidate} spikes, window "
            f"{s.window_steps} step{'s' if s.window_steps != 1 else ''}")
    return f"{head}: match" if s.match else f"{head}: FAIL, first mismatch at {num(c.ms(s.first_violation_step))} ms"


def judged_note(c) -> str | None:
    if c.judged_until_step is None:
        return None
    return (f"traces judged only before the first spike difference at {num(c.ms(c.judged_until_step))} ms "
            f"(later samples differ because of it)")


def figure_words(sr: ScenarioReport) -> str:
    f = sr.figure
    if f is None:
        return sr.no_figure or "no figure"
    if f.all_zero:
        return ("|candidate - NEST| is exactly 0 for every variable at every sample: the traces are "
                "bit-identical, so the difference panel has nothing to draw on a log scale.")
    parts = [f"|candidate - NEST| is nonzero in {', '.join(f.nonzero_difference)}" if f.nonzero_difference else ""]
    if f.zero_difference:
        parts.append(f"exactly 0 at every sample in {', '.join(f.zero_difference)}")
    if f.nonfinite:
        parts.append(f"NaN or inf in {', '.join(f.nonfinite)}")
    return "; ".join(p for p in parts if p) + "."


def figure_name(scenario: str) -> str:
    return f"{FIGURE_DIR}/{re.sub(r'[^A-Za-z0-9_.-]', '_', scenario)}.png"


# ============================================================================================ document
def build_report(reports: list, gate: GateResult, *, candidate: str, command: str, candidate_description: str = "",
                 baseline: tuple[str, dict] | None = None) -> Report:
    document = gate_json(gate)
    document["command"] = "report"
    document["provenance"] = report_provenance(command, reports)
    report = Report(reports, gate, document, candidate, command, candidate_description)
    if baseline is not None:
        report.baseline = diff_against_baseline(baseline[0], baseline[1], document)
    document["report"] = {
        "verdict": report.verdict, "headline": report.headline(), "candidate": candidate,
        "candidate_description": candidate_description,
        "counts": report.headline_counts(),
        "files": {"html": HTML_FILE, "markdown": MARKDOWN_FILE, "summary": SUMMARY_FILE},
        "figures": {sr.scenario: figure_name(sr.scenario) for sr in reports if sr.figure is not None},
        "zero_difference": {sr.scenario: sr.figure.zero_difference for sr in reports if sr.figure is not None},
        "baseline": report.baseline.to_json() if report.baseline else None,
    }
    return report


# ============================================================================================ HTML
CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f;
       margin: 0 auto; max-width: 1180px; padding: 1.2em 1.5em 3em; }
h1 { font-size: 1.55em; margin: .2em 0 .4em; } h2 { font-size: 1.25em; margin-top: 1.8em; }
h3 { font-size: 1.1em; margin: 1.6em 0 .4em; } h4 { font-size: 1em; margin: 1em 0 .3em; }
.headline { border-radius: 8px; padding: .8em 1.1em; font-size: 1.2em; font-weight: 600; margin: .6em 0 1em; }
.headline.pass { background: #e3f4e5; border: 1px solid #7cc487; }
.headline.fail, .headline.error { background: #fde7e7; border: 1px solid #e08a8a; }
.headline.drift { background: #fff4d6; border: 1px solid #e0b84a; }
.counts span { margin-right: 1.2em; font-weight: 500; }
table { border-collapse: collapse; margin: .4em 0 1em; font-size: 13px; }
th, td { border: 1px solid #d0d4da; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f1f3f6; } td.num { font-variant-numeric: tabular-nums; text-align: right; }
table.prov th { width: 16em; }
.badge { display: inline-block; border-radius: 4px; padding: 0 .45em; font-weight: 700; font-size: 12px; }
.badge.pass { background: #d4efd8; color: #145a1f; } .badge.fail, .badge.error { background: #f9d0d0; color: #8a1010; }
.badge.drift { background: #ffe8a8; color: #6b4a00; }
td.bad { color: #8a1010; font-weight: 600; }
figure { margin: .6em 0 1.2em; } figure img { max-width: 100%; height: auto; border: 1px solid #e1e4e8; }
figcaption { font-size: 13px; color: #444; margin-top: .3em; }
.note { color: #444; font-size: 13px; } .error-text { color: #8a1010; white-space: pre-wrap; }
section.scenario { border-top: 2px solid #e1e4e8; margin-top: 1.5em; }
code { background: #f3f4f6; padding: 0 .25em; border-radius: 3px; font-size: 12.5px; }
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _table(header, rows, *, cls: str = "", num_from: int = 1, bad=None, html_cells: bool = False,
           table_id: str | None = None) -> str:
    attrs = (f' class="{cls}"' if cls else "") + (f' id="{table_id}"' if table_id else "")
    out = [f"<table{attrs}>", "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            classes = (["num"] if i >= num_from and _looks_numeric(cell) else []) + (["bad"] if bad and bad(i, cell) else [])
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{cell if html_cells and i in (0, 1) else _e(cell)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _looks_numeric(cell) -> bool:
    return bool(re.fullmatch(r"-?(inf|NaN|[0-9.e+-]+)", str(cell)))


def _badge(verdict: str) -> str:
    return f'<span class="badge {STATUS_CLASS[verdict]}">{_e(STATUS_LABEL[verdict])}</span>'


def _pair_badge(status: str) -> str:
    cls = {"pass": "pass", "fail": "fail", "error": "error"}[status]
    return f'<span class="badge {cls}">{_e(status.upper())}</span>'


def render_html(report: Report) -> str:
    counts = report.headline_counts()
    verdict_class = report.verdict.lower()
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        # The page fetches nothing: no scripts, no remote anything; images only from data: URLs.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        'style-src \'unsafe-inline\'">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>nest-parity report: {_e(report.verdict)}</title>", f"<style>{CSS}</style>", "</head><body>",
        f"<h1>nest-parity report: {_e(report.candidate)} vs NEST {_e(report.document['provenance']['nest_version'])}</h1>",
        f'<div class="headline {verdict_class}" id="headline">{_e(report.verdict)}: '
        f'{_scenarios(len(report.scenarios))} <div class="counts">'
        + " ".join(f'<span id="count-{k}">{n} {k}</span>' for k, n in counts.items()) + "</div></div>",
    ]
    if report.gate.counts["regression+drift"]:
        parts.append(f'<p class="note">{report.gate.counts["regression+drift"]} of the failures also drifted '
                     f'(FAIL+DRIFT).</p>')
    parts.append('<p class="note">Every scenario runs live NEST, the candidate and the stored NEST reference; '
                 'PASS means the candidate matches NEST within the tolerance (the exact profile: bit for bit '
                 'unless stated otherwise), FAIL that it does not, DRIFT that live NEST no longer reproduces the '
                 'stored references (NEST, GSL or the platform changed), ERROR that a run or a comparison could '
                 'not be made. The numbers below are those of live NEST vs the candidate.</p>')
    parts.append("<h2>Scenarios</h2>")
    rows = []
    for r in report.summary_rows():
        rows.append((f'<a href="#s-{_e(r["scenario"])}">{_e(r["scenario"])}</a>', _badge(r["verdict"]),
                     *(r[k] for k in SUMMARY_KEYS[2:])))
    parts.append(_table(SUMMARY_HEADER, rows, html_cells=True, num_from=3, table_id="summary-table"))
    if report.baseline is not None:
        parts.append(_baseline_html(report.baseline))
    parts.append("<h2>Provenance</h2>")
    parts.append(_table(("", ""), [(k, v) for k, v in report.provenance_rows()], cls="prov", num_from=99,
                        table_id="provenance").replace("<thead><tr><th></th><th></th></tr></thead>", ""))
    parts.append("<h2>Per scenario</h2>")
    for sr in report.scenarios:
        parts.append(_scenario_html(sr))
    parts.append(f'<p class="note">Generated by <code>{_e(report.command)}</code>, '
                 f'{_e(report.document["created"])}.</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _baseline_html(b: BaselineDiff) -> str:
    out = [f"<h2>Changes since the baseline</h2>",
           f'<p class="note">Baseline: <code>{_e(b.source)}</code>, created {_e(b.created)}, harness commit '
           f'{_e(b.commit)}, NEST {_e(b.nest_version)}.</p>', '<ul id="baseline-changes">']
    for label, items in _baseline_items(b):
        out.append(f"<li><b>{_e(label)}</b>: {_e(items)}</li>")
    out.append("</ul>")
    if b.grew:
        out.append("<h4>Errors that grew</h4>")
        out.append(_table(GREW_HEADER, grew_rows(b), num_from=99, table_id="errors-grew"))
    return "\n".join(out)


GREW_HEADER = ("scenario", "pairs", "max |diff| before -> now")


def grew_rows(b: BaselineDiff) -> list[tuple[str, str, str]]:
    """One row per scenario and set of pairs in which the same variables grew by the same amounts."""
    by_scenario: dict = {}
    for scenario, pair, variable, before, now in b.grew:
        by_scenario.setdefault(scenario, {}).setdefault(pair, []).append(f"{variable} {num(before)} -> {num(now)}")
    rows = []
    for scenario, pairs in by_scenario.items():
        merged: dict = {}
        for pair, changes in pairs.items():
            merged.setdefault("; ".join(changes), []).append(pair)
        rows += [(scenario, ", ".join(names), text) for text, names in merged.items()]
    return rows


def _baseline_items(b: BaselineDiff) -> list[tuple[str, str]]:
    def verdicts(entries):
        return ", ".join(f"{s} ({STATUS_LABEL.get(a, a)} -> {STATUS_LABEL.get(c, c)})" for s, a, c in entries)

    if b.unchanged:
        return [("no changes", f"the same scenarios with the same verdicts, and no error grew"
                               f"{f' ({b.shrank} got smaller)' if b.shrank else ''}")]
    return [("added", ", ".join(b.added) or "none"), ("removed", ", ".join(b.removed) or "none"),
            ("newly failing", verdicts(b.newly_failing) or "none"),
            ("newly passing", verdicts(b.newly_passing) or "none"),
            ("other verdict changes", verdicts(b.changed) or "none"),
            ("errors that grew", f"the largest |difference| of {len(b.grew)} variables (counting each pair) in "
                                 f"{len({g[0] for g in b.grew})} scenarios, listed below" if b.grew else "none"),
            ("errors that shrank", str(b.shrank))]


def _scenario_html(sr: ScenarioReport) -> str:
    out = [f'<section class="scenario" id="s-{_e(sr.scenario)}">',
           f"<h3>{_e(sr.scenario)} {_badge(sr.verdict)}</h3>",
           f'<p class="note"><code>{_e(sr.path)}</code>{": " + _e(sr.description) if sr.description else ""}</p>',
           '<p class="note">' + " &middot; ".join(f"{_e(c.pair)} {_pair_badge(c.status)}"
                                                  for c in sr.outcome.comparisons) + "</p>"]
    for c in _shown_pairs(sr):
        out.append(f"<h4>{_e(c.pair)}: {_e(PAIR_WORDS.get(c.pair, c.pair))}, profile {_e(c.profile)}</h4>")
        if c.status == "error":
            out.append(f'<p class="error-text">error: {_e(c.error)}</p>')
            continue
        out.append(_table(VARIABLE_HEADER, variable_rows(c), bad=lambda i, cell: i == 7 and cell == "FAIL"))
        out.append(f'<p class="note">spikes: {_e(spike_text(c))}</p>')
        note = judged_note(c)
        if note:
            out.append(f'<p class="note">note: {_e(note)}</p>')
    if sr.figure is not None:
        data = base64.b64encode(sr.figure.png).decode("ascii")
        out.append(f'<figure><img src="data:image/png;base64,{data}" width="{sr.figure.width}" '
                   f'height="{sr.figure.height}" alt="{_e(sr.scenario)}: NEST and candidate traces and their '
                   f'difference"><figcaption>{_e(figure_words(sr))}</figcaption></figure>')
    else:
        out.append(f'<p class="error-text">{_e(figure_words(sr))}</p>')
    out.append("</section>")
    return "\n".join(out)


def _shown_pairs(sr: ScenarioReport) -> list:
    """The live pair always; the other pairs only when they did not pass (they are then the news)."""
    return [c for c in sr.outcome.comparisons if c.pair == LIVE or c.status != "pass"]


# ============================================================================================ Markdown
def _md(text) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(header, rows) -> str:
    lines = ["| " + " | ".join(_md(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _md_status(verdict: str) -> str:
    label = STATUS_LABEL[verdict]
    return label if verdict == "pass" else f"**{label}**"


def render_markdown(report: Report) -> str:
    counts = report.headline_counts()
    out = [f"# nest-parity report: {report.candidate} vs NEST {report.document['provenance']['nest_version']}", "",
           f"**{report.verdict}**: {_scenarios(len(report.scenarios))}: "
           + ", ".join(f"{n} {k}" for k, n in counts.items())
           + (f" ({report.gate.counts['regression+drift']} of the failures also drifted)"
              if report.gate.counts["regression+drift"] else ""), "",
           "Every scenario runs live NEST, the candidate and the stored NEST reference; PASS means the candidate "
           "matches NEST within the tolerance (the exact profile: bit for bit unless stated otherwise), FAIL that "
           "it does not, DRIFT that live NEST no longer reproduces the stored references (NEST, GSL or the "
           "platform changed), ERROR that a run or a comparison could not be made. The numbers below are those "
           "of live NEST vs the candidate.", ""]
    out += ["## Scenarios", ""]
    rows = [(f"[{r['scenario']}](#{_md_anchor(r['scenario'])})", _md_status(r["verdict"]),
             *(r[k] for k in SUMMARY_KEYS[2:])) for r in report.summary_rows()]
    out += [_md_table(SUMMARY_HEADER, rows), ""]
    if report.baseline is not None:
        b = report.baseline
        out += ["## Changes since the baseline", "",
                f"Baseline: `{b.source}`, created {b.created}, harness commit {b.commit}, NEST {b.nest_version}.", ""]
        out += [f"* **{label}**: {items}" for label, items in _baseline_items(b)]
        if b.grew:
            out += ["", "Errors that grew:", "", _md_table(GREW_HEADER, grew_rows(b))]
        out.append("")
    out += ["## Provenance", "",
            _md_table(("", ""), [(k, f"`{v}`" if k == "command" else v) for k, v in report.provenance_rows()]), "",
            "## Per scenario", ""]
    for sr in report.scenarios:
        out += [f"### {sr.scenario}", "", f"{_md_status(sr.verdict)} · `{sr.path}`"
                + (f": {sr.description}" if sr.description else ""), "",
                "Pairs: " + ", ".join(f"{c.pair} {c.status.upper()}" for c in sr.outcome.comparisons), ""]
        for c in _shown_pairs(sr):
            out += [f"**{c.pair}** ({PAIR_WORDS.get(c.pair, c.pair)}, profile {c.profile})", ""]
            if c.status == "error":
                out += [f"error: {c.error}", ""]
                continue
            out += [_md_table(VARIABLE_HEADER, [(n, *rest[:-1], rest[-1] if rest[-1] == "ok" else "**FAIL**")
                                                for n, *rest in variable_rows(c)]), "",
                    f"spikes: {spike_text(c)}", ""]
            note = judged_note(c)
            if note:
                out += [f"note: {note}", ""]
        if sr.figure is not None:
            out += [f"![{sr.scenario}: NEST and candidate traces and their difference]({figure_name(sr.scenario)})",
                    "", f"*{figure_words(sr)}*", ""]
        else:
            out += [f"*{figure_words(sr)}*", ""]
    out += [f"Generated by `{report.command}`, {report.document['created']}.", ""]
    return "\n".join(out)


def _md_anchor(name: str) -> str:
    """The anchor GitHub gives a "### name" heading."""
    return re.sub(r"[^a-z0-9_ -]", "", name.lower()).replace(" ", "-")


# ============================================================================================ text
def render_text(report: Report, out_dir: Path | None = None) -> str:
    rows = [("scenario", "status", "worst", "max|diff|", "headroom", "spikes", "first divergence")]
    for r in report.summary_rows():
        rows.append((r["scenario"], r["status"], r["worst"], r["max_abs"], r["headroom"], r["spikes"],
                     r["first_divergence"]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines += ["", f"report: {report.headline()}; {report.gate.wall_seconds:.1f} s wall"]
    return "\n".join(lines)


# ============================================================================================ writing
def report_files(report: Report) -> dict:
    """Relative path -> bytes of everything in the report folder."""
    files = {HTML_FILE: render_html(report).encode(), MARKDOWN_FILE: render_markdown(report).encode(),
             SUMMARY_FILE: (json.dumps(report.document, indent=2, allow_nan=False) + "\n").encode()}
    for sr in report.scenarios:
        if sr.figure is not None:
            files[figure_name(sr.scenario)] = sr.figure.png
    return files


def check_out_dir(out: Path, force: bool) -> None:
    """Refuse before anything runs: an existing report needs --force, and anything else is never replaced."""
    out = Path(out)
    if not out.exists() and not out.is_symlink():
        return
    if out.is_symlink() or not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder; choose another --out")
    entries = list(out.iterdir())
    if entries and not (out / SUMMARY_FILE).is_file():
        raise UsageError(f"--out {out}: exists and is not a report folder (no {SUMMARY_FILE}); it is never "
                         f"replaced, even with --force; choose another --out")
    if entries and not force:
        raise UsageError(f"--out {out}: a report already exists there; pass --force to replace it, or choose "
                         f"another --out")


def write_report_folder(out: Path, files: dict, *, force: bool) -> Path:
    """Write ``files`` into a temporary folder beside ``out``, then rename it to ``out``.

    With ``force`` an existing report folder is moved aside first and deleted only after the new one is in
    place; on any failure the temporary folder is removed and an existing report is left as it was.
    """
    out = Path(out)
    check_out_dir(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    old = None
    try:
        for rel, data in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        mask = os.umask(0)
        os.umask(mask)
        for folder in [tmp, *(p for p in tmp.rglob("*") if p.is_dir())]:
            os.chmod(folder, 0o777 & ~mask)  # mkdtemp makes the folder private; give it a normal folder's mode
        if out.exists():
            old = out.parent / f".{out.name}.{uuid.uuid4().hex[:8]}.old"
            os.rename(out, old)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out.exists():
            os.rename(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out
