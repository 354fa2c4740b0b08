"""What a release report says, computed once so that the HTML, the Markdown and the terminal say the same:
the per-scenario outcome (``ScenarioReport``), the whole report (``Report``), and how numbers, tolerances,
spikes and figures are put into words."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.judge.gate import LIVE, GateResult, ScenarioOutcome

if TYPE_CHECKING:
    from harness.report.baseline import BaselineDiff


# Gate verdicts in the words of a release report. "FAIL" is the gate's "regression": the candidate disagrees
# with NEST. "DRIFT": live NEST no longer reproduces the stored references (NEST, GSL or the platform changed).
STATUS_LABEL = {"pass": "PASS", "regression": "FAIL", "drift": "DRIFT", "regression+drift": "FAIL+DRIFT",
                "error": "ERROR"}
STATUS_CLASS = {"pass": "pass", "regression": "fail", "drift": "drift", "regression+drift": "fail",
                "error": "error"}
PAIR_WORDS = {"nest-vs-python": "live NEST vs the candidate", "stored-vs-python": "stored NEST vs the candidate",
              "stored-vs-nest": "stored NEST vs live NEST (drift)"}


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


def error_order(x) -> float:
    """Sort key: NaN is the worst (largest) error."""
    return math.inf if x is None or math.isnan(x) else x


def worst_variable(comparison):
    """The variable closest to (or furthest past) its tolerance: smallest headroom, then largest relative and
    absolute error, then recording order. None when nothing differs at all."""
    if not comparison.variables:
        return None
    worst = min(comparison.variables.values(),
                key=lambda v: (v.headroom, -error_order(v.max_rel), -error_order(v.max_abs)))
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
        return f"{self.verdict}: {scenario_count(len(self.scenarios))}: {counts}{extra}"

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


def scenario_count(n: int) -> str:
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


def shown_pairs(sr: ScenarioReport) -> list:
    """The live pair always; the other pairs only when they did not pass (they are then the news)."""
    return [c for c in sr.outcome.comparisons if c.pair == LIVE or c.status != "pass"]


def render_text(report: Report) -> str:
    """The summary table the command prints."""
    rows = [("scenario", "status", "worst", "max|diff|", "headroom", "spikes", "first divergence")]
    for r in report.summary_rows():
        rows.append((r["scenario"], r["status"], r["worst"], r["max_abs"], r["headroom"], r["spikes"],
                     r["first_divergence"]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines += ["", f"report: {report.headline()}; {report.gate.wall_seconds:.1f} s wall"]
    return "\n".join(lines)
