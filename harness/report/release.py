"""The release report (``nest-parity report``, docs/report.md): one folder with a self-contained HTML page,
the same content in Markdown, the JSON summary, one figure per scenario and the figures of "How far NEST is
from the truth" (``harness.report.accuracy``).

The jobs, one module each, in the order the command uses them::

    harness.report.run       the gate with pictures: every scenario judged in the gate's workers, with its figure
    harness.report.data      what the report says (Report), in words and numbers shared by every format
    harness.report.accuracy  how far NEST is from the stored truth, over all scenarios: a table and a figure
    harness.report.baseline  what changed since an earlier report (--baseline)
    harness.report.release   this module: the JSON document, and every file of the folder as bytes
    harness.report.html      the HTML page;  harness.report.markdown  the Markdown
    harness.report.folder    the folder's layout, and writing it atomically
    harness.report.browser   the check that the HTML renders in headless Chromium
"""
from __future__ import annotations

import json

from harness.judge.gate import GateResult
from harness.report.accuracy import accuracy_section
from harness.report.baseline import diff_against_baseline
from harness.report.data import Report
from harness.report.folder import HTML_FILE, MARKDOWN_FILE, SUMMARY_FILE, figure_name
from harness.report.html import render_html
from harness.report.markdown import render_markdown
from harness.report.run import report_provenance
from harness.report.summary import gate_json
from harness.report.sweep_section import release_sweep_section


def build_report(reports: list, gate: GateResult, *, candidate: str, command: str, candidate_description: str = "",
                 baseline: tuple[str, dict] | None = None, accuracy_figures=()) -> Report:
    """The report of ``run_report``'s results; its ``document`` is summary.json (the gate's, with each
    scenario's accuracy ladder, plus a "report" block). ``baseline`` is what ``load_baseline`` returned;
    ``accuracy_figures`` (``harness.report.accuracy.AccuracyFigure``) join the section "How far NEST is from
    the truth" after its own figure."""
    document = gate_json(gate)
    document["command"] = "report"
    document["provenance"] = report_provenance(command, reports)
    report = Report(reports, gate, document, candidate, command, candidate_description)
    report.accuracy = accuracy_section([sr.outcome for sr in reports], accuracy_figures)
    report.sweep = release_sweep_section()
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
        "accuracy": report.accuracy.to_json(),
        "release_sweep": report.sweep.to_json(),
    }
    return report


def report_files(report: Report) -> dict:
    """Relative path -> bytes of everything in the report folder."""
    files = {HTML_FILE: render_html(report).encode(), MARKDOWN_FILE: render_markdown(report).encode(),
             SUMMARY_FILE: (json.dumps(report.document, indent=2, allow_nan=False) + "\n").encode()}
    for sr in report.scenarios:
        if sr.figure is not None:
            files[figure_name(sr.scenario)] = sr.figure.png
    for figure in report.accuracy.figures if report.accuracy is not None else ():
        files[figure.name] = figure.png
    return files
