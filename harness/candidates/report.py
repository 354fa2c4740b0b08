"""The parity report of a port: Markdown for people, the comparator's JSON summary for machines.

It judges the port on the catalogue (scenarios/*.yaml) under two profiles from one run per scenario
(``integrator``, what a port with its own ODE solver can promise; ``exact``, whether it reproduces NEST bit
for bit), lists its findings (scenarios/ports/<candidate>/) with expected and observed status, and, when
asked, checks that the compiled loop equals the port's eager per-step API.
"""
from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field

from harness.model.parameters import RECORDABLES
from harness.report.summary import summary_json

from .parity import Outcome, judge
from .registry import Candidate

CATALOGUE_PROFILES = ("integrator", "exact")


@dataclass
class CandidateSection:
    candidate: Candidate
    runs: list  # Run per catalogue scenario
    findings: list  # Outcome per finding scenario (own profile)
    catalogue: dict = field(default_factory=dict)  # profile -> [Outcome]

    def judge_catalogue(self, reference: str) -> None:
        self.catalogue = {p: [judge(self.candidate, r, reference=reference, profile=p) for r in self.runs]
                          for p in CATALOGUE_PROFILES}

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
    for e in equivalences:
        out.extend([e.strict, e.default])
    return out


def summary_document(sections, equivalences=()) -> dict:
    """The comparator's JSON summary (harness.report) of every comparison in the report, plus verdicts."""
    outcomes = all_outcomes(sections, equivalences)
    extra = {"verdicts": [{"candidate": o.candidate, "scenario": o.scenario.name, "profile": o.comparison.profile,
                           "expected": o.expected, "verdict": o.verdict} for o in outcomes]}
    return summary_json("nest-parity candidates report", [o.comparison for o in outcomes], extra)


# ------------------------------------------------------------------------------------------- Markdown
def render_markdown(title: str, sections, equivalences=(), *, reference: str, notes: str = "") -> str:
    lines = [f"# {title}", ""]
    lines += [f"Generated {datetime.date.today().isoformat()} by `python -m harness.candidates report` "
              f"(reference: live {reference.upper() if reference == 'nest' else reference}). "
              "Regenerate with `make report-brainpy`.", ""]
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
        lines += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys),
                  "| " + " | ".join(f"`{info.get(k, '')}`" if info.get(k, "") != "" else "-" for k in keys) + " |", ""]
    lines += [f"### Catalogue ({len(s.runs)} scenarios)", "",
              "Max |candidate − NEST| per variable over the samples judged (all of them unless a spike "
              "differs: then those before the first spike difference, see the comparator). "
              "`integrator` / `exact`: the verdict under each profile.", ""]
    names = ", ".join(f"{n}" for n in RECORDABLES)
    columns = names.replace(", ", " | ")
    lines += [f"| scenario | steps | integrator | exact | {columns} | spikes NEST/cand | match | s |",
              "|" + "---|" * (7 + len(RECORDABLES))]
    by_profile = s.catalogue
    for i, run in enumerate(s.runs):
        ref_o, exact_o = by_profile["integrator"][i], by_profile["exact"][i]
        cmp = ref_o.comparison
        if cmp.status == "error":
            lines.append(f"| {run.scenario.name} | {run.scenario.n_steps} | **error** | **error** | "
                         + " | ".join("-" for _ in RECORDABLES) + f" | - | - | {run.seconds:.0f} |")
            continue
        diffs = [_num(cmp.variables[n].max_abs) if n in cmp.variables else "-" for n in RECORDABLES]
        sp = cmp.spikes
        match = "identical" if sp.first_difference_step is None else (
            "within 1 step" if sp.match else f"differ from {cmp.ms(sp.first_violation_step):g} ms")
        lines.append(f"| {run.scenario.name} | {run.scenario.n_steps} | {_verdict(ref_o)} | {_verdict(exact_o)} | "
                     + " | ".join(diffs) + f" | {len(sp.reference_steps)}/{len(sp.candidate_steps)} | {match} | "
                     f"{run.seconds:.0f} |")
    errors = [r for r in s.runs if r.error]
    for r in errors:
        first = r.error.splitlines()
        lines += ["", f"- `{r.scenario.name}`: {first[0]}" + (f" … {first[-1].strip()}" if len(first) > 1 else "")]
    lines += [""]
    counts = {p: _counts(o) for p, o in by_profile.items()}
    lines += [f"Summary: integrator {counts['integrator']}; exact {counts['exact']}.", ""]
    if s.findings:
        lines += ["### Findings", "",
                  "| scenario | profile | expected | observed | verdict | reason |", "|---|---|---|---|---|---|"]
        for o in s.findings:
            reason = " ".join((o.reason or o.scenario.description or "").split())
            lines.append(f"| `{o.scenario.name}` | {o.comparison.profile} | {o.expected} | {o.comparison.status} | "
                         f"{o.verdict} | {reason} |")
        lines += [""]
    return lines


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

