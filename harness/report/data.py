"""What a release report says, computed once so that the HTML, the Markdown and the terminal say the same:
the per-scenario outcome (``ScenarioReport``), the whole report (``Report``), and how numbers, tolerances,
spikes and figures are put into words."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.judge.gate import LIVE, THREADS, GateResult, ScenarioOutcome

if TYPE_CHECKING:
    from harness.report.accuracy import AccuracySection
    from harness.report.baseline import BaselineDiff


# Gate verdicts in the words of a release report. "FAIL" is the gate's "regression": the candidate disagrees
# with NEST. "DRIFT": live NEST no longer reproduces the stored references (NEST, GSL or the platform changed).
STATUS_LABEL = {"pass": "PASS", "regression": "FAIL", "drift": "DRIFT", "regression+drift": "FAIL+DRIFT",
                "error": "ERROR"}
STATUS_CLASS = {"pass": "pass", "regression": "fail", "drift": "drift", "regression+drift": "fail",
                "error": "error"}
# The order of the report's scenarios: what needs a reader first. Within a status, the order of the command.
STATUS_ORDER = {"regression": 0, "regression+drift": 0, "drift": 1, "error": 2, "pass": 3}
PAIR_WORDS = {"nest-vs-python": "live NEST vs the candidate", "stored-vs-python": "stored NEST vs the candidate",
              "stored-vs-nest": "stored NEST vs live NEST (drift)"}


@dataclass
class ScenarioReport:
    """One scenario: the gate's outcome and, when the traces allowed it, the figure."""

    scenario: str
    path: str
    description: str
    outcome: ScenarioOutcome
    figure: object | None  # harness.report.figures.Figure, or a network's network_figures.NetworkFigure
    no_figure: str | None = None  # why there is no figure
    live_nest: dict = field(default_factory=dict)  # nest_version, gsl_version of the live NEST run
    stored_nest: dict = field(default_factory=dict)  # the same for the stored reference, plus its date/platform

    @property
    def live(self):
        return self.outcome.pair(LIVE)

    @property
    def verdict(self) -> str:
        return self.outcome.verdict

    @property
    def is_network(self) -> bool:
        return self.outcome.threads is not None  # the gate runs the thread pair for network scenarios only


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
    worst = min(comparison.variables.values(), key=_badness)
    return None if worst.headroom == math.inf else worst


def _badness(v) -> tuple:
    return v.headroom, -error_order(v.max_rel), -error_order(v.max_abs)


def variable_label(v) -> str:
    """A variable as the tables name it: ``V_m``, or a network's ``E[0].V_m``."""
    return f"{v.neuron}.{v.name}" if v.neuron else v.name


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
    accuracy: AccuracySection | None = None  # "How far NEST is from the truth" (harness.report.accuracy)
    sweep: object = None  # harness.report.sweep_section.SweepSection: the committed release sweep's summary

    def ordered(self) -> list:
        """The scenarios as the report lists them: failing first, then drift, error, pass."""
        return sorted(self.scenarios, key=lambda sr: STATUS_ORDER.get(sr.verdict, len(STATUS_ORDER)))

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

    def thread_note(self) -> str | None:
        """One line on the network scenarios' NEST(1)-vs-NEST(2) pairs; None without networks."""
        networks = [sr for sr in self.scenarios if sr.is_network]
        if not networks:
            return None
        differ = [sr.scenario for sr in networks if sr.outcome.thread_warning]
        if not differ:
            where = f"all {len(networks)} network scenarios" if len(networks) != 1 else "the network scenario"
            return f"NEST with another thread count (2, or 1 where a scenario asks for more): the same in {where}."
        return (f"warning: NEST with another thread count differs (or could not run) in {len(differ)} of "
                f"{len(networks)} network scenarios ({names_text(differ)}): not the candidate's fault, and not "
                f"part of the verdict (see each scenario).")

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
        for sr in self.ordered():
            live = sr.live
            worst = worst_variable(live) if live.status != "error" else None
            spikes = live.spikes
            rows.append({
                "scenario": sr.scenario, "verdict": sr.verdict, "status": STATUS_LABEL[sr.verdict],
                "worst": variable_label(worst) if worst else ("-" if live.status == "error" else "none (identical)"),
                "unit": unit_of(worst.name) if worst else "-",
                "max_abs": num(worst.max_abs) if worst else ("-" if live.status == "error" else "0"),
                "max_rel": num(worst.max_rel) if worst else ("-" if live.status == "error" else "0"),
                "tolerance": tolerance_text(worst.tolerance) if worst else _common_tolerance(live),
                "headroom": num(worst.headroom) if worst else ("-" if live.status == "error" else "inf"),
                "spikes": (f"{len(spikes.reference_steps)} / {len(spikes.candidate_steps)}"
                           + (f" in {len(live.neuron_spikes)} neurons" if live.neuron_spikes is not None else "")
                           if spikes is not None else "-"),
                "first_divergence": first_divergence_text(sr),
            })
        return rows


# Every column says its unit: a difference and an absolute tolerance are in the variable's unit (its own
# column), a relative error and a relative tolerance are fractions of |NEST|, the headroom is how many times
# the difference fits into the tolerance (>= 1 passes). A first divergence is named by its cause when several
# variables break at once (harness.judge.comparator.DERIVATION).
MAX_ABS = "max |diff| (unit)"
MAX_REL = "max rel (÷ |NEST|)"
TOLERANCE = "tolerance (abs: unit, rel: ÷ |NEST|)"
HEADROOM = "headroom (tolerance ÷ |diff|)"
SUMMARY_HEADER = ("scenario", "status", "worst variable", "unit", MAX_ABS, MAX_REL, TOLERANCE, HEADROOM,
                  "spikes NEST / candidate (count)", "first divergence (variable at ms)")
SUMMARY_KEYS = ("scenario", "status", "worst", "unit", "max_abs", "max_rel", "tolerance", "headroom", "spikes",
                "first_divergence")
VARIABLE_HEADER = ("variable", "unit", MAX_ABS, MAX_REL, TOLERANCE, HEADROOM, "worst at (ms)",
                   "first violation (ms)", "result")
RESULT_COLUMN = VARIABLE_HEADER.index("result")


def unit_of(name: str) -> str:
    """A recordable's unit ("mV", "nS", "pA"); "1" for one without (NEST's s are weighted, so in nS)."""
    from harness.model.parameters import RECORDABLE_UNITS

    return RECORDABLE_UNITS.get(name) or "1"


def scenario_count(n: int) -> str:
    return f"{n} scenario{'s' if n != 1 else ''}"


def _common_tolerance(c) -> str:
    tolerances = {v.tolerance for v in c.variables.values()}
    if len(tolerances) == 1:
        return tolerance_text(tolerances.pop())
    return "per variable" if tolerances else "-"


def tolerance_text(tol) -> str:
    return f"abs {num(tol.abs)}, rel {num(tol.rel)}"


def variable_rows(c) -> list[tuple]:
    """One row per variable; a network's per recorded variable, not per (neuron, variable): see
    ``network_variable_rows``."""
    if c.neuron_spikes is not None:
        return network_variable_rows(c)
    return [(name, unit_of(v.name), num(v.max_abs), num(v.max_rel), tolerance_text(v.tolerance), num(v.headroom),
             num(v.worst_ms), num(v.first_violation_ms), "ok" if v.passed else "FAIL")
            for name, v in c.variables.items()]


def network_variable_rows(c) -> list[tuple]:
    """Per recorded variable the worst neuron (smallest headroom, then largest relative and absolute error,
    as for the worst variable): its numbers, named in the first cell ("V_m (worst: B[3]; ...)"); the first
    violation is the earliest of any neuron (named when it is another one). 100 neurons x 7 variables are
    then 7 rows; every (neuron, variable) is in summary.json."""
    grouped: dict = {}
    for v in c.variables.values():
        grouped.setdefault(v.name, []).append(v)
    rows = []
    for name, results in grouped.items():
        n, worst = len(results), min(results, key=_badness)
        failing = [v for v in results if not v.passed]
        differing = [v for v in results if v.headroom != math.inf]
        first = min((v for v in results if v.first_violation_ms is not None), key=lambda v: v.first_violation_ms,
                    default=None)
        if not differing and not failing:
            where = "" if not any(v.samples_left_out for v in results) else ", where judged"
            label = f"{name} (identical in {neurons_text(n)}{where})"
        elif failing:
            other = f", first {first.neuron}" if first is not None and first.neuron != worst.neuron else ""
            label = f"{name} (worst: {worst.neuron}; fails in {len(failing)} of {n} neurons{other})"
        else:
            label = f"{name} (worst: {worst.neuron}; differs in {len(differing)} of {n} neurons)"
        rows.append((label, unit_of(name), num(worst.max_abs), num(worst.max_rel), tolerance_text(worst.tolerance),
                     num(worst.headroom), num(worst.worst_ms), num(first.first_violation_ms if first else None),
                     "FAIL" if failing else "ok"))
    return rows


def neurons_text(n: int) -> str:
    """ "all 4 neurons", or "the one neuron" """
    return f"all {n} neurons" if n != 1 else "the one neuron"


def names_text(names: list, limit: int = 6) -> str:
    names = list(names)
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _first_neuron(c, key: str) -> str | None:
    """The neuron whose spikes differ first (``key``: first_difference_step or first_violation_step)."""
    steps = [(getattr(s, key), label) for label, s in c.neuron_spikes.items() if getattr(s, key) is not None]
    return min(steps)[1] if steps else None


def network_spike_words(c) -> str:
    """"identical spikes in all 4 neurons", or in how many neurons the spikes differ, and where first."""
    n = len(c.neuron_spikes)
    moved = [label for label, s in c.neuron_spikes.items() if s.first_difference_step is not None]
    failed = [label for label, s in c.neuron_spikes.items() if not s.match]
    if not moved:
        return f"identical spikes in {neurons_text(n)}"
    if not failed:
        first = c.spikes.first_difference_step
        return (f"spikes match within the window; moved in {len(moved)} of {n} neurons ({names_text(moved)}), "
                f"first at {num(c.ms(first))} ms ({_first_neuron(c, 'first_difference_step')})")
    first = c.spikes.first_violation_step
    return (f"spikes FAIL in {len(failed)} of {n} neurons ({names_text(failed)}), first mismatch at "
            f"{num(c.ms(first))} ms ({_first_neuron(c, 'first_violation_step')})")


def spike_text(c) -> str:
    s = c.spikes
    if s is None:
        return "-"
    if c.neuron_spikes is not None:
        return (f"{len(s.reference_steps)} {c.reference} / {len(s.candidate_steps)} {c.candidate} spikes in "
                f"{len(c.neuron_spikes)} neurons, window {s.window_steps} step{'s' if s.window_steps != 1 else ''}: "
                f"{network_spike_words(c)}")
    head = (f"{len(s.reference_steps)} {c.reference} / {len(s.candidate_steps)} {c.candidate} spikes, window "
            f"{s.window_steps} step{'s' if s.window_steps != 1 else ''}")
    return f"{head}: match" if s.match else f"{head}: FAIL, first mismatch at {num(c.ms(s.first_violation_step))} ms"


def judged_note(c) -> str | None:
    if c.judged_until_step is None:
        return None
    if c.neuron_spikes is not None:
        return (f"traces judged only before the first spike difference in the network, at "
                f"{num(c.ms(c.judged_until_step))} ms ({_first_neuron(c, 'first_difference_step')}): from then on "
                f"its targets receive it at another time, so no neuron's later samples are held to the tolerance "
                f"(the spikes are judged on)")
    return (f"traces judged only before the first spike difference at {num(c.ms(c.judged_until_step))} ms "
            f"(later samples differ because of it)")


def shown_pairs(sr: ScenarioReport) -> list:
    """The live pair always; the other pairs only when they did not pass (they are then the news). The thread
    pair of a network is shown as its own line (``thread_words``), never as a failure."""
    return [c for c in sr.outcome.comparisons if c.pair != THREADS and (c.pair == LIVE or c.status != "pass")]


def pair_status(c) -> str:
    """A pair's status as the report shows it; the thread pair's is a warning's, never a failure's."""
    if c.pair == THREADS:
        return "same" if c.status == "pass" else f"{'DIFFERS' if c.status == 'fail' else 'ERROR'} (warning)"
    return c.status.upper()


def thread_words(sr: ScenarioReport) -> tuple[str, str] | None:
    """(kind, words) of a network's NEST(1)-vs-NEST(2) pair: kind "same", "warning" or "error"; None for one
    neuron. A difference is a warning of its own, never the candidate's fault (the gate's words)."""
    from harness.judge.gate import threads_text
    from harness.report.summary import thread_warning_text

    c = sr.outcome.threads
    if c is None:
        return None
    main, other = (threads_text(t) for t in sr.outcome.thread_counts)
    if c.status == "pass":
        identical = (all(v.headroom == math.inf for v in c.variables.values())
                     and (c.spikes is None or c.spikes.first_difference_step is None))
        same = "bit-identical to" if identical else "within the tolerance of"
        return "same", (f"{other} is {same} {main}: every spike and every "
                        f"recorded sample of all {len(c.neuron_spikes or {})} neurons.")
    detail = thread_warning_text(sr.outcome).strip().removeprefix(f"{sr.scenario}: ").split(": ", 1)[-1]
    if c.status == "error":
        return "error", f"warning, not a verdict: {detail}."
    return "warning", (f"warning, not the candidate's fault: {other} differs from {main}: {detail}. NEST adds "
                       f"the events of one ring-buffer slot in an order that follows its threads (docs/model.md, "
                       f"\"Threads\"); the candidate is judged against {main}.")


def render_text(report: Report) -> str:
    """The summary table the command prints."""
    rows = [("scenario", "status", "worst", "unit", "max |diff|", "headroom", "spikes", "first divergence")]
    for r in report.summary_rows():
        rows.append((r["scenario"], r["status"], r["worst"], r["unit"], r["max_abs"], r["headroom"], r["spikes"],
                     r["first_divergence"]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    note = report.thread_note()
    lines += ["", f"report: {report.headline()}; {report.gate.wall_seconds:.1f} s wall"] + ([note] if note else [])
    lines += [report.accuracy.line] if report.accuracy is not None else []
    return "\n".join(lines)
