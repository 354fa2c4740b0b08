"""The sweep report in Markdown: the HTML page's content (``report_html``), with the figures as relative links
to figures/, in the release report's Markdown style (``harness.report.markdown``)."""
from __future__ import annotations

from harness.report.markdown import _md, _md_table
from harness.sweep.report import (
    COUNT_KEYS,
    INTRO,
    PAIR_HEADER,
    WORST_HEADER,
    SweepReport,
    more_words,
    worst_rows,
)


def render_markdown(report: SweepReport, *, summary_only: bool = False, level: int = 1) -> str:
    h = "#" * level
    c = report.counts()
    out = [f"{h} Sweep report: {report.name}", "",
           f"**{report.verdict()}**: {c['total']} variant{'s' if c['total'] != 1 else ''}: "
           + ", ".join(f"{c[k]} {k}" for k in COUNT_KEYS) + (f" ({report.not_run()} not run yet)"
                                                             if report.not_run() else ""), "",
           INTRO, "", report.worst_line(), "",
           _md_table(("", ""), [(k, f"`{v}`" if k in ("file", "content hash") else v)
                                for k, v in report.about_rows()]), "",
           f"{h}# Verdicts per pair", "", _md_table(PAIR_HEADER, report.pair_rows()), ""]
    if summary_only:
        out += [f"The full report (every variant pair worst first, figures of the error against each swept axis): "
                f"`nest-parity sweep {report.sweep_path} --report-only`.", ""]
        return "\n".join(out)
    out += [f"{h}# Worst variants first", ""]
    rows = [(*r[:-1], f"`{r[-1]}`") for r in worst_rows(report)]
    out += [_md_table(WORST_HEADER, rows), ""] if rows else ["No variant has results yet.", ""]
    if more_words(report):
        out += [more_words(report), ""]
    out += [f"{h}# Error against each swept parameter", ""]
    for f in report.figures:
        out += [f"![{_md(f.alt)}]({f.name})", "", f"*{f.caption}*", ""]
    if not report.figures:
        out += ["No figure: nothing was swept, or no variant has numbers.", ""]
    out += [f"Generated {report.created}.", ""]
    return "\n".join(out)
