"""Comparison results for people (a table on stdout) and for machines (JSON summary, JUnit XML).

The JSON schema is documented in docs/compare.md (the README's "Comparing and the gate" section). JSON has
no infinity or NaN, so non-finite numbers are written as the strings "inf", "-inf" and "nan"; the file is
strict JSON (``allow_nan=False``) that any parser reads.
"""
from __future__ import annotations

import datetime
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.judge.comparator import Comparison, VariableResult
from harness.report.accuracy import ladder_counts, summary_line
from harness.traces.atomic import atomic_write_text
from harness.traces.provenance import base_provenance

SCHEMA_VERSION = 1


# --------------------------------------------------------------------------------------------- JSON
def json_number(x):
    """A float as JSON can hold it: finite numbers as numbers, the others as "inf", "-inf", "nan"."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def variable_json(v: VariableResult) -> dict:
    network = {} if v.neuron is None else {"variable": v.name, "neuron": v.neuron}  # keyed "E[0].V_m"
    return {**network,
        "max_abs": json_number(v.max_abs), "max_rel": json_number(v.max_rel),
        "tol_abs": json_number(v.tolerance.abs), "tol_rel": json_number(v.tolerance.rel),
        "worst_ms": json_number(v.worst_ms), "first_violation_ms": json_number(v.first_violation_ms),
        "headroom": json_number(v.headroom), "samples_judged": v.samples_judged, "pass": v.passed,
        "samples_left_out": v.samples_left_out, "reason": v.reason,
    }


def comparison_json(c: Comparison) -> dict:
    out = {"scenario": c.scenario, "status": c.status, "reference": c.reference, "candidate": c.candidate,
           "pair": c.pair, "profile": c.profile, "error": c.error,
           "judged_until_ms": json_number(c.ms(c.judged_until_step)),
           "first_divergence": None, "variables": {}, "spikes": None,
           "unjudged": [{"from_ms": json_number(c.ms(u.from_step)), "to_ms": json_number(c.ms(u.to_step)),
                         "samples": u.samples, "variables": list(u.variables), "reason": u.reason}
                        for u in c.unjudged]}
    divergence = c.first_divergence()
    if divergence is not None:
        out["first_divergence"] = {"what": divergence[0], "ms": json_number(divergence[1])}
    out["variables"] = {name: variable_json(v) for name, v in c.variables.items()}
    if c.spikes is not None:
        s = c.spikes
        out["spikes"] = {
            "reference_steps": s.reference_steps.tolist(), "candidate_steps": s.candidate_steps.tolist(),
            "reference_ms": [c.ms(int(k)) for k in s.reference_steps],
            "candidate_ms": [c.ms(int(k)) for k in s.candidate_steps],
            "window_steps": s.window_steps, "match": s.match,
            "first_mismatch_ms": json_number(c.ms(s.first_violation_step)),
        }
    if c.ladder is not None:
        out["ladder"] = c.ladder.to_json()
    return out


def overall_status(comparisons) -> str:
    statuses = {c.status for c in comparisons}
    return "error" if "error" in statuses else "fail" if "fail" in statuses else "pass"


def summary_json(command: str, comparisons, extra: dict | None = None) -> dict:
    return {
        "schema_version": SCHEMA_VERSION, "command": command, "status": overall_status(comparisons),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "provenance": base_provenance(),
        **(extra or {}),
        "comparisons": [comparison_json(c) for c in comparisons],
    }


def write_json(path: Path, document: dict) -> None:
    atomic_write_text(Path(path), json.dumps(document, indent=2, allow_nan=False) + "\n")


# --------------------------------------------------------------------------------------------- JUnit
def junit_xml(suite_name: str, comparisons, seconds: dict | None = None) -> str:
    """One <testsuite> per scenario, one <testcase> per pair x variable plus one per pair for the spikes.

    A comparison that could not be made (status "error") is one testcase "comparison" with an <error>.
    """
    by_scenario: dict[str, list[Comparison]] = {}
    for c in comparisons:
        by_scenario.setdefault(c.scenario, []).append(c)
    root = ET.Element("testsuites", name=suite_name)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for scenario, group in by_scenario.items():
        suite = ET.SubElement(root, "testsuite", name=scenario,
                              time=f"{(seconds or {}).get(scenario, 0.0):.3f}")
        counts = {"tests": 0, "failures": 0, "errors": 0}
        for c in group:
            for case in _testcases(c):
                suite.append(case)
                counts["tests"] += 1
                counts["failures"] += case.find("failure") is not None
                counts["errors"] += case.find("error") is not None
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _testcases(c: Comparison):
    classname = f"{c.scenario}.{c.pair}"
    from harness.judge.gate import THREADS

    if c.pair == THREADS:  # a warning, not a test result: one passing case whose output says what differs
        case = ET.Element("testcase", classname=classname, name="thread-count determinism")
        differing = [name for name, v in c.variables.items() if not v.passed]
        ET.SubElement(case, "system-out").text = (
            f"warning: NEST with another thread count differs in {', '.join(differing[:6])}" if differing
            else f"NEST with another thread count: {c.status}" + (f" ({c.error})" if c.error else ""))
        yield case
        return
    if c.status == "error":
        case = ET.Element("testcase", classname=classname, name="comparison")
        ET.SubElement(case, "error", message=c.error or "error").text = c.error
        yield case
        return
    for name, v in c.variables.items():
        case = ET.Element("testcase", classname=classname, name=name)
        if not v.passed:
            message = (f"{name}: {v.reason}" if v.first_violation_ms is None and v.reason else
                       f"{name} outside tolerance ({v.tolerance.describe()}) from {_ms(v.first_violation_ms)} ms; "
                       f"max |diff| {_g(v.max_abs)}, max rel {_g(v.max_rel)} at {_ms(v.worst_ms)} ms")
            ET.SubElement(case, "failure", message=message).text = "\n".join([message, *_unjudged_notes(c)])
        yield case
    if c.spikes is not None:
        case = ET.Element("testcase", classname=classname, name="spikes")
        if not c.spikes.match:
            message = spike_summary(c)
            ET.SubElement(case, "failure", message=message).text = message
        yield case


def write_junit(path: Path, text: str) -> None:
    atomic_write_text(Path(path), text)


# --------------------------------------------------------------------------------------------- tables
def _g(x) -> str:
    if x is None:
        return "-"
    return f"{x:.3g}" if isinstance(x, float) and math.isfinite(x) and x != 0 else f"{x:g}"


def _ms(x) -> str:
    return "-" if x is None else f"{x:g}"


def spike_summary(c: Comparison) -> str:
    s = c.spikes
    n = len(c.neuron_spikes or ())
    where = f" in {n} neuron{'s' if n != 1 else ''}" if c.neuron_spikes is not None else ""
    head = (f"{len(s.reference_steps)} reference / {len(s.candidate_steps)} candidate spikes{where}, "
            f"window {s.window_steps} step{'s' if s.window_steps != 1 else ''}")
    if s.match:
        return f"{head}: match"
    if c.neuron_spikes is not None:
        first = min((x.first_violation_step, label) for label, x in c.neuron_spikes.items() if not x.match)
        return f"{head}: first mismatch at {_ms(c.ms(first[0]))} ms ({first[1]})"
    return f"{head}: first mismatch at {_ms(c.ms(s.first_violation_step))} ms"


def _unjudged_notes(c: Comparison, stretches=None) -> list[str]:
    """One line per stretch of samples left out of the tolerance (default: all), with the reason; left-out
    samples are still checked to be finite."""
    notes = []
    for u in c.unjudged if stretches is None else stretches:
        span = (f"from {_ms(c.ms(u.from_step))} ms on" if u.to_step is None else
                f"stamped {_ms(c.ms(u.from_step))} to {_ms(c.ms(u.to_step))} ms (exclusive)")
        notes.append(f"{', '.join(u.variables)}: {u.samples} sample{'s' if u.samples != 1 else ''} {span} not "
                     f"held to the tolerance: {u.reason}")
    return notes


def comparison_table(c: Comparison) -> str:
    title = (f"{c.scenario}: {c.reference} (reference) vs {c.candidate} (candidate), profile {c.profile}: "
             f"{c.status.upper()}")
    if c.status == "error":
        return f"{title}\n  error: {c.error}"
    if c.neuron_spikes is not None:  # a network: per variable its worst neuron (every neuron is in the JSON)
        from harness.report.data import network_variable_rows

        rows = [("variable", "unit", "max_abs", "max_rel", "tolerance", "headroom", "worst_ms", "first_viol_ms", ""),
                *network_variable_rows(c)]
    else:
        rows = [("variable", "max_abs", "max_rel", "tol_abs", "tol_rel", "headroom", "worst_ms", "first_viol_ms", "")]
        for name, v in c.variables.items():
            rows.append((name, _g(v.max_abs), _g(v.max_rel), _g(v.tolerance.abs), _g(v.tolerance.rel),
                         _g(v.headroom), _ms(v.worst_ms), _ms(v.first_violation_ms), "ok" if v.passed else "FAIL"))
    header = rows[0]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [title] + ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.append(f"  {'spikes'.ljust(widths[0])}  {spike_summary(c)}")
    if c.judged_until_step is not None:
        lines.append(f"  note: traces judged only before the first spike difference outside the window, at "
                     f"{_ms(c.ms(c.judged_until_step))} ms (later samples differ because of it)")
    notes = _unjudged_notes(c, [u for u in c.unjudged if u.to_step is not None])  # the note covers the rest
    lines += [f"  left out: {n}" for n in notes[:5]]
    if len(notes) > 5:
        lines.append(f"  left out: ... and {len(notes) - 5} more stretches (see the JSON summary's unjudged)")
    for name, v in c.variables.items():
        if v.reason:
            lines.append(f"  {name}: {v.reason}")
    divergence = c.first_divergence()
    if divergence is not None:
        lines.append(f"  first divergence: {divergence[0]} at {_ms(divergence[1])} ms")
    return "\n".join(lines)


def gate_table(result) -> str:
    """One line per scenario with the three pairs and the verdict, then the details of what did not pass."""
    from harness.judge.gate import PAIRS

    pairs = [f"{r}-vs-{c}" for r, c in PAIRS]
    rows = [("scenario", *pairs, "verdict", "threads", "seconds")]
    for o in result.outcomes:
        rows.append((o.scenario, *(o.pair(p).status for p in pairs), o.verdict.upper() if o.verdict != "pass"
                     else "pass", thread_status(o), f"{o.seconds:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    details = [comparison_table(c) for o in result.outcomes for c in o.comparisons
               if c.status != "pass" and c is not o.threads]
    warnings = [thread_warning_text(o) for o in result.outcomes if o.thread_warning]
    if details:
        lines += ["", *details]
    if warnings:
        lines += ["", "NEST with another thread count differs (a warning, not a verdict: the order in which NEST "
                      "adds a slot's events follows its threads; docs/model.md, \"Threads\"):", *warnings]
    counts = ", ".join(f"{n} {v}" for v, n in result.counts.items() if n or v == "pass")
    if result.thread_warnings:
        counts += f"; {result.thread_warnings} thread-count warning{'s' if result.thread_warnings != 1 else ''}"
    lines += ["", f"gate: {len(result.outcomes)} scenarios: {counts}; {result.wall_seconds:.1f} s wall with "
                  f"{result.workers} worker process{'es' if result.workers != 1 else ''}"]
    lines.append(summary_line(result.outcomes))  # the ladders themselves are in the JSON, per scenario
    if result.counts["drift"] or result.counts["regression+drift"]:
        lines.append("drift: live NEST no longer reproduces the stored references (NEST, GSL or the platform "
                     "changed); check the provenance, then re-record with `make references FORCE=1` if intended")
    return "\n".join(lines)


def thread_status(outcome) -> str:
    """The NEST(1)-vs-NEST(2) column: "-" for one neuron, "same" when bit-identical, else "DIFFERS"/"error"."""
    c = outcome.threads
    if c is None:
        return "-"
    return {"pass": "same", "fail": "DIFFERS"}.get(c.status, c.status)


def thread_warning_text(outcome) -> str:
    from harness.judge.gate import threads_text

    c = outcome.threads
    main, other = outcome.thread_counts
    if c.status == "error":
        return f"  {outcome.scenario}: {threads_text(other)} could not run: {c.error}"
    differing = [(v.first_violation_ms, name, v.max_abs) for name, v in c.variables.items() if not v.passed]
    parts = [f"{name} by up to {_g(size)} from {_ms(ms)} ms" for ms, name, size in sorted(differing)[:4]]
    if len(differing) > 4:
        parts.append(f"... {len(differing) - 4} more")
    if c.spikes is not None and c.spikes.first_difference_step is not None:
        parts.insert(0, f"spikes from {_ms(c.ms(c.spikes.first_difference_step))} ms")
    return f"  {outcome.scenario}: {threads_text(other)} vs {main}: " + ", ".join(parts)


def gate_json(result) -> dict:
    extra = {
        "profile": result.profile, "wall_seconds": round(result.wall_seconds, 3), "workers": result.workers,
        "counts": result.counts,
        "thread_warnings": result.thread_warnings,
        "accuracy_ladder": ladder_counts(result.outcomes),
        "scenarios": [{"scenario": o.scenario, "path": o.path, "verdict": o.verdict, "threads": thread_status(o),
                       "seconds": round(o.seconds, 3), "gsl_error_tol": json_number(o.gsl_error_tol),
                       "truth": o.truth, "truth_note": o.truth_note,
                       "ladder": None if o.ladder is None else o.ladder.to_json()} for o in result.outcomes],
    }
    document = summary_json("gate", result.comparisons, extra)
    document["status"] = result.status
    return document
