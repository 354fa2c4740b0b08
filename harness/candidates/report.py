"""The parity report of a port: Markdown for people, the comparator's JSON summary for machines.

It judges the port on the catalogue (scenarios/*.yaml) under several profiles from one run per scenario
(``integrator``, what a port with its own ODE solver can promise; ``exact``, whether it reproduces NEST bit
for bit; and any asked for besides, e.g. ``as-accurate-as-nest``, whether it is as close to the true
solution as NEST is), shows each scenario's accuracy ladder (the worst recordable's distances to NEST and to
the truth, NEST's own distance to the truth; the whole ladder is in the JSON), lists its findings
(scenarios/ports/<candidate>/) with expected and observed status under the profile each claims and their
status under the extra profiles, and, when asked, checks that the compiled loop equals the port's eager
per-step API.
"""
from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass, field

from harness.judge.accuracy import FACTOR
from harness.judge.tolerances import ACCURACY_PROFILE
from harness.model.parameters import RECORDABLE_UNITS, RECORDABLES
from harness.report.summary import summary_json
from harness.traces.references import RECORDED_BY

from .ladder_view import number, worst
from .parity import Outcome, Run, judge
from .registry import Candidate

BASE_PROFILES = ("integrator", "exact")
REFERENCE_WORDS = {"nest": "live NEST", "stored": "NEST's stored references", "truth": "the truth, solved now",
                   "stored-truth": "the stored truth references"}


def catalogue_profiles(also=()) -> tuple[str, ...]:
    """integrator, the extra profiles asked for, exact: the catalogue's verdict columns, in this order."""
    return tuple(dict.fromkeys((BASE_PROFILES[0], *also, BASE_PROFILES[1])))


@dataclass
class CandidateSection:
    candidate: Candidate
    runs: list  # Run per catalogue scenario
    finding_runs: list = field(default_factory=list)  # Run per finding scenario
    profiles: tuple = BASE_PROFILES  # the catalogue's verdict columns
    also: tuple = ()  # the findings' extra profiles, beside the one each claims
    catalogue: dict = field(default_factory=dict)  # profile -> [Outcome]
    findings: list = field(default_factory=list)  # Outcome per finding, under the profile it claims
    findings_also: dict = field(default_factory=dict)  # profile -> [Outcome]
    left_out: list = field(default_factory=list)  # catalogue scenarios in a protocol the candidate does not speak

    def judge(self, reference: str) -> None:
        c = self.candidate
        self.catalogue = {p: [judge(c, r, reference=reference, profile=p) for r in self.runs] for p in self.profiles}
        self.findings = [judge(c, r, reference=reference) for r in self.finding_runs]
        self.findings_also = {p: [judge(c, r, reference=reference, profile=p) for r in self.finding_runs]
                              for p in self.also}

    @property
    def info(self) -> dict:
        for run in self.runs:
            if run.candidate is not None:
                return run.candidate.provenance.get("candidate_info") or {}
        return {}


@dataclass
class Equivalence:
    """Compiled loop vs the eager per-step API on one scenario, with and without --xla-strict."""

    scenario: str
    strict: Outcome
    default: Outcome


def all_outcomes(sections, equivalences=()) -> list[Outcome]:
    out = []
    for s in sections:
        for outcomes in s.catalogue.values():
            out.extend(outcomes)
        out.extend(s.findings)
        for outcomes in s.findings_also.values():
            out.extend(outcomes)
    for e in equivalences:
        out.extend([e.strict, e.default])
    return out


def summary_document(sections, equivalences=()) -> dict:
    """The comparator's JSON summary (harness.report) of every comparison in the report, each with its
    accuracy ladder (``comparisons[].ladder``), plus the verdicts with each scenario's worst recordable."""
    outcomes = all_outcomes(sections, equivalences)
    verdicts = []
    for o in outcomes:
        w = worst(o.ladder)
        verdicts.append({"candidate": o.candidate, "scenario": o.scenario.name, "profile": o.comparison.profile,
                         "claimed_profile": o.claimed_profile, "expected": o.expected, "verdict": o.verdict,
                         "ladder_worst": None if w is None else w.to_json()})
    return summary_json("nest-parity candidates report", [o.comparison for o in outcomes], {"verdicts": verdicts})


# ------------------------------------------------------------------------------------------- Markdown
def render_markdown(title: str, sections, equivalences=(), *, reference: str, notes: str = "") -> str:
    lines = [f"# {title}", ""]
    lines += [f"Generated {datetime.date.today().isoformat()} by `python -m harness.candidates report` "
              f"(reference: {REFERENCE_WORDS.get(reference, reference)}; truth: "
              "`reference_traces/truth/`, solved now where none is stored). Regenerate with its Makefile "
              "target (`make report-brainpy`, `make report-brian2`).",
              ""]
    if notes:
        lines += [notes.strip(), ""]
    for s in sections:
        lines += _section(s)
    if equivalences:
        lines += _equivalence_table(equivalences)
    return "\n".join(lines).rstrip() + "\n"


def _section(s: CandidateSection) -> list[str]:
    c, info = s.candidate, s.info
    lines = [f"## Candidate `{c.name}`", "", c.description, ""]
    if info:
        keys = ("class", "package", "version", "brainstate", "jax", "dtype", "mode", "population", "xla_flags")
        if not any(k in info for k in keys):  # another runner's description (the in-house ones, an in-process one)
            keys = tuple(k for k in info if k != "protocol_version")
        lines += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys),
                  "| " + " | ".join(f"`{info.get(k, '')}`" if info.get(k, "") != "" else "-" for k in keys) + " |", ""]
    lines += _catalogue_table(s)
    if s.left_out:
        lines += [f"Not run: {len(s.left_out)} catalogue scenarios in a protocol version the candidate does not "
                  f"speak (it speaks {', '.join(map(str, c.protocols))}): {', '.join(s.left_out)}.", ""]
    lines += _ladder_table(s)
    if s.findings:
        lines += _findings_table(s)
    return lines


def _catalogue_table(s: CandidateSection) -> list[str]:
    profiles = s.profiles
    shown = " / ".join(f"`{p}`" for p in profiles)
    lines = [f"### Catalogue ({len(s.runs)} scenarios)", "",
             "Max |candidate − NEST| per variable over the samples judged (all of them unless a spike "
             "differs: then those before the first spike difference, see the comparator; a network's is the "
             f"largest over its recorded neurons). {shown}: the verdict under each profile"
             + (f" (`{ACCURACY_PROFILE}` judges the candidate against the truth, docs/accuracy.md)"
                if ACCURACY_PROFILE in profiles else "") + ".", ""]
    columns = " | ".join(f"{n} ({RECORDABLE_UNITS[n]})" for n in RECORDABLES)
    lines += [f"| scenario | steps | {' | '.join(profiles)} | {columns} | spikes NEST/cand | match | s |",
              "|" + "---|" * (5 + len(profiles) + len(RECORDABLES))]
    for i, run in enumerate(s.runs):
        by_profile = [s.catalogue[p][i] for p in profiles]
        verdicts = " | ".join(_verdict(o) for o in by_profile)
        # The differences to NEST, from a profile that judges against NEST (the accuracy one judges the truth).
        cmp = next((o.comparison for o in by_profile if o.comparison.status != "error"
                    and o.comparison.profile != ACCURACY_PROFILE), None)
        if cmp is None:
            lines.append(f"| {run.scenario.name} | {run.scenario.n_steps} | {verdicts} | "
                         + " | ".join("-" for _ in RECORDABLES) + f" | - | - | {run.seconds:.0f} |")
            continue
        diffs = [_num(_largest(cmp, n)) for n in RECORDABLES]
        sp = cmp.spikes
        match = "identical" if sp.first_difference_step is None else (
            "within 1 step" if sp.match else f"differ from {cmp.ms(sp.first_violation_step):g} ms")
        lines.append(f"| {run.scenario.name} | {run.scenario.n_steps} | {verdicts} | " + " | ".join(diffs)
                     + f" | {len(sp.reference_steps)}/{len(sp.candidate_steps)} | {match} | {run.seconds:.0f} |")
    for r in (r for r in s.runs if r.error):
        lines += ["", f"- `{r.scenario.name}`: {error_summary(r.error)}"]
    counts = "; ".join(f"{p} {_counts(s.catalogue[p])}" for p in profiles)
    return lines + ["", f"Summary: {counts}.", ""]


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*:")


def error_summary(text: str) -> str:
    """The first line of an error and, from a traceback in it, the exception's line (the last one; JAX
    appends a note after it that says nothing about the cause)."""
    lines = text.splitlines()
    raised = [line.strip() for line in lines[1:] if _EXCEPTION_LINE.match(line.strip())]
    last = raised[-1] if raised else (lines[-1].strip() if len(lines) > 1 else "")
    return lines[0] + (f" … {last}" if last else "")


def _largest(cmp, name: str):
    """The largest max |difference| of a recordable (over a network's neurons, keyed "E[0].V_m")."""
    values = [v.max_abs for key, v in cmp.variables.items() if key.rsplit(".", 1)[-1] == name]
    if not values:
        return None
    return math.nan if any(math.isnan(v) for v in values) else max(values)


def _ladder_table(s: CandidateSection) -> list[str]:
    lines = [f"### Accuracy ladder ({len(s.runs)} scenarios)", "",
             "Per scenario its worst recordable: the one closest to the `as-accurate-as-nest` bound "
             f"(candidate↔truth ≤ {FACTOR:g} · NEST↔truth + round-off), with its three distances (max |difference| "
             "over the trace). ×NEST: candidate↔truth over NEST↔truth (below 1: closer to the truth than "
             "NEST). Every recordable's distances, and the truth's convergence figure, are in the JSON "
             "(`comparisons[].ladder`).", "",
             "| scenario | worst | candidate↔NEST | NEST↔truth | candidate↔truth | ×NEST | spikes vs truth | truth |",
             "|---|---|---|---|---|---|---|---|"]
    for run, o in zip(s.runs, s.catalogue[s.profiles[0]]):
        lines.append(f"| {run.scenario.name} | " + _ladder_cells(o, run) + " |")
    return lines + [""]


def _ladder_cells(o: Outcome, run: Run) -> str:
    ladder, w = o.ladder, worst(o.ladder)
    origin = _truth_origin(run)
    unconverged = ladder.unconverged() if ladder is not None else []
    if unconverged:
        origin += f" (**NOT converged**: {', '.join(unconverged)})"
    if w is None:
        return " | ".join(["-"] * 6 + [origin])
    spikes = "-" if ladder.candidate_truth is None else ladder.candidate_truth.spikes
    return " | ".join([f"{w.name} ({w.unit})", number(w.candidate_nest), number(w.nest_truth),
                       number(w.candidate_truth), number(w.ratio), spikes, origin])


def _truth_origin(run: Run) -> str:
    if run.truth is None:
        return "none"
    return "stored" if run.truth.provenance.get("recorded_by") == RECORDED_BY else "solved now"


def _findings_table(s: CandidateSection) -> list[str]:
    also = list(s.also)
    header = ["scenario", "claimed profile", "expected", "observed", "verdict", *also,
              "worst: candidate↔truth vs NEST↔truth", "reason"]
    lines = ["### Findings", "",
             "Each finding is judged under the profile it claims (its `tolerances.profile`): expected, observed "
             "and verdict." + (f" Beside it, its status under {', '.join(f'`{p}`' for p in also)}, which "
                               "states no expectation of its own"
                               + (f"; under `{ACCURACY_PROFILE}` a failure is *less accurate than NEST* (a real "
                                  "error), a pass *only different*" if ACCURACY_PROFILE in also else "") + "."
                               if also else ""), "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for i, o in enumerate(s.findings):
        reason = " ".join((o.reason or o.scenario.description or "").split())
        extra = [_reading(s.findings_also[p][i]) for p in also]
        lines.append("| " + " | ".join([f"`{o.scenario.name}`", o.comparison.profile, o.expected,
                                        o.comparison.status, o.verdict, *extra, _distances(o), reason]) + " |")
    return lines + [""]


def _reading(o: Outcome) -> str:
    status = o.comparison.status
    if o.comparison.profile != ACCURACY_PROFILE or status == "error":
        return _verdict(o)
    return "**fail**: less accurate than NEST" if status == "fail" else "pass: only different"


def _distances(o: Outcome) -> str:
    w = worst(o.ladder)
    if w is None or w.candidate_truth is None:
        return "-"
    text = f"{w.name} {number(w.candidate_truth, w.unit)} vs {number(w.nest_truth, w.unit)}"
    spikes = o.ladder.candidate_truth.spikes
    if spikes == "differ":
        text += f"; spikes differ (measured until {o.ladder.candidate_truth.measured_until_ms:g} ms)"
    elif spikes != "identical":
        text += f"; spikes {spikes}"
    return text


def _equivalence_table(equivalences) -> list[str]:
    lines = ["## Compiled loop vs the eager per-step API", "",
             "The same port, the same inputs: `--mode eager` (one Python call of `update` per step, the "
             "documented API) as reference, `--mode compiled` as candidate, judged `exact`.", "",
             "| scenario | XLA flags | verdict | max abs diff per variable |", "|---|---|---|---|"]
    for e in equivalences:
        for label, o in (("--xla-strict", e.strict), ("default", e.default)):
            cmp = o.comparison
            diffs = ", ".join(f"{n} {_num(v.max_abs)}" for n, v in cmp.variables.items() if v.max_abs != 0) or "none"
            shown = diffs if cmp.status != "error" else cmp.error.splitlines()[0]
            lines.append(f"| {e.scenario} | {label} | {cmp.status} | {shown} |")
    return lines + [""]


def _verdict(o: Outcome) -> str:
    return {"pass": "pass", "fail": "**fail**", "error": "**error**"}.get(o.comparison.status, o.comparison.status)


def _counts(outcomes) -> str:
    statuses = [o.comparison.status for o in outcomes]
    return ", ".join(f"{statuses.count(k)} {k}" for k in ("pass", "fail", "error") if statuses.count(k))


def _num(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    return "0" if x == 0 else f"{x:.2g}"
