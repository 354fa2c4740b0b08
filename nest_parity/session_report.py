"""The pytest plugin's report of a session (``--nest-parity-report DIR``): what its checks judged.

    DIR/report.md      a verdict line, one row per comparison (failing first, then errors, then passes), and
                       for each that did not pass the comparator's table and the accuracy ladder
    DIR/summary.json   the comparisons as ``nest-parity compare --json`` writes them (docs/compare.md), with
                       the test that made each, the errors and the references regenerated

The folder is written as the release report's is (``harness.report.folder``): whole or not at all, and only
over an earlier report, never over another folder.
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path

ORDER = {"fail": 0, "error": 1, "pass": 2}


def status_of(state) -> str:
    statuses = {r["comparison"]["status"] for r in state.records}
    if state.errors or "error" in statuses:
        return "error"
    return "fail" if "fail" in statuses or any(r["status"] == "refused" for r in state.regenerated) else "pass"


def counts_line(state) -> str:
    statuses = [r["comparison"]["status"] for r in state.records]
    parts = [f"{statuses.count(s)} {s}" for s in ("pass", "fail", "error") if statuses.count(s)]
    line = f"{len(statuses)} comparison{'s' if len(statuses) != 1 else ''}" + (f": {', '.join(parts)}" if parts else "")
    if state.errors:
        line += f"; {len(state.errors)} check{'s' if len(state.errors) != 1 else ''} could not be judged"
    return line


def summary_lines(state) -> list[str]:
    """What the terminal summary shows: the counts, each reference regen, and where the report went."""
    lines = [counts_line(state)]
    lines += [f"regen {r['status']:9s} {r['path']}: {r['detail']}" for r in state.regenerated]
    if state.report_error:
        lines.append(f"error: the report was not written: {state.report_error}")
    elif state.report:
        lines.append(f"report: {Path(state.report) / 'report.md'}")
    return lines


def summary_document(state) -> dict:
    from harness.report.summary import SCHEMA_VERSION
    from harness.traces.provenance import base_provenance

    return {"schema_version": SCHEMA_VERSION, "command": "pytest", "status": status_of(state),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "provenance": base_provenance(),
            "tests": [{"test": r["test"], "scenario": r["comparison"]["scenario"],
                       "status": r["comparison"]["status"]} for r in state.records],
            "errors": state.errors, "regenerated": state.regenerated,
            "comparisons": [r["comparison"] for r in state.records]}


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(state, document: dict) -> str:
    from harness import __version__

    prov = document["provenance"]
    lines = ["# nest-parity: pytest session report", "",
             f"**{document['status'].upper()}**: {counts_line(state)}. nest-parity {__version__}, commit "
             f"{prov.get('harness_commit')}, {document['created']}.", ""]
    records = sorted(state.records, key=lambda r: ORDER.get(r["comparison"]["status"], 1))
    if records:
        lines += ["| status | scenario | candidate | reference | profile | first divergence (ms) | test |",
                  "|---|---|---|---|---|---|---|"]
        for r in records:
            c = r["comparison"]
            first = c.get("first_divergence")
            where = f"{first['what']} at {first['ms']}" if first else "-"
            lines.append(f"| {c['status'].upper()} | {_cell(c['scenario'])} | {_cell(c['candidate'])} | "
                         f"{_cell(c['reference'])} | {c['profile']} | {_cell(where)} | `{_cell(r['test'])}` |")
        lines.append("")
    failing = [r for r in records if r["comparison"]["status"] != "pass"]
    if failing:
        lines += ["## What did not pass", ""]
        for r in failing:
            lines += [f"### {r['comparison']['scenario']}: {r['comparison']['candidate']}", "",
                      f"`{r['test']}`", "", "```", r["text"], "```", ""]
    if state.errors:
        lines += ["## Checks that could not be judged", ""]
        lines += [f"* `{e['test']}` ({e['scenario']}): {e['error']}" for e in state.errors]
        lines.append("")
    if state.regenerated:
        lines += ["## References recorded (--nest-parity-regen)", "", "| status | reference | detail |",
                  "|---|---|---|"]
        lines += [f"| {r['status']} | {_cell(r['path'])} | {_cell(r['detail'])} |" for r in state.regenerated]
        lines.append("")
    return "\n".join(lines)


def write_session_report(out: Path, state) -> Path:
    from harness.report.folder import MARKDOWN_FILE, SUMMARY_FILE, write_report_folder

    document = summary_document(state)
    files = {MARKDOWN_FILE: markdown(state, document).encode(),
             SUMMARY_FILE: (json.dumps(document, indent=2, allow_nan=False) + "\n").encode()}
    return write_report_folder(out, files, force=True)
