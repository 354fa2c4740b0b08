"""The release report in Markdown: the HTML page's content, with the figures as relative links to figures/."""
from __future__ import annotations

import re

from harness.judge.gate import THREADS
from harness.report.accuracy import NOT_CONVERGED_WORDS, TITLE, ladder_view
from harness.report.baseline import GREW_HEADER, baseline_items, grew_rows
from harness.report.captions import figure_parts, figure_words
from harness.report.data import (
    PAIR_WORDS,
    STATUS_LABEL,
    SUMMARY_HEADER,
    SUMMARY_KEYS,
    VARIABLE_HEADER,
    Report,
    judged_note,
    pair_status,
    scenario_count,
    shown_pairs,
    spike_text,
    thread_words,
    variable_rows,
)
from harness.report.folder import figure_name


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
           f"**{report.verdict}**: {scenario_count(len(report.scenarios))}: "
           + ", ".join(f"{n} {k}" for k, n in counts.items())
           + (f" ({report.gate.counts['regression+drift']} of the failures also drifted)"
              if report.gate.counts["regression+drift"] else ""), "",
           *([report.thread_note(), ""] if report.thread_note() else []),
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
        out += [f"* **{label}**: {items}" for label, items in baseline_items(b)]
        if b.grew:
            out += ["", "Errors that grew:", "", _md_table(GREW_HEADER, grew_rows(b))]
        out.append("")
    out += _accuracy_markdown(report)
    if report.sweep is not None:
        from harness.report.sweep_section import sweep_markdown

        out += sweep_markdown(report.sweep)
    out += ["## Provenance", "",
            _md_table(("", ""), [(k, f"`{v}`" if k == "command" else v) for k, v in report.provenance_rows()]), "",
            "## Per scenario", ""]
    for sr in report.ordered():
        out += [f"### {sr.scenario}", "", f"{_md_status(sr.verdict)} · `{sr.path}`"
                + (f": {sr.description}" if sr.description else ""), "",
                "Pairs: " + ", ".join(f"{c.pair} {pair_status(c)}" for c in sr.outcome.comparisons), ""]
        for c in shown_pairs(sr):
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
        threads = thread_words(sr)
        if threads is not None:
            out += [f"**{THREADS}**: {'' if threads[0] == 'same' else '⚠ '}{threads[1]}", ""]
        out += _ladder_markdown(sr, report.candidate)
        parts = figure_parts(sr)
        if parts:
            out += [f"![{sr.scenario}: spike raster, {sr.figure.rates_title}, traces of {sr.figure.neuron} and error "
                    f"map]({figure_name(sr.scenario)})", ""]
            out += [f"* *{title}*: {words}" for title, words in parts] + [""]
        elif sr.figure is not None:
            out += [f"![{sr.scenario}: NEST and candidate traces and their difference]({figure_name(sr.scenario)})",
                    "", f"*{figure_words(sr)}*", ""]
        else:
            out += [f"*{figure_words(sr)}*", ""]
    out += [f"Generated by `{report.command}`, {report.document['created']}.", ""]
    return "\n".join(out)


def _accuracy_markdown(report: Report) -> list:
    """The section "How far NEST is from the truth": the table, the unconverged and missing, the figures."""
    a = report.accuracy
    if a is None:
        return []
    out = [f"## {TITLE}", "", a.intro, ""]
    if a.rows:
        out += [_md_table(a.header, a.rows), ""]
    if a.unconverged:
        out += [NOT_CONVERGED_WORDS + ": " + "; ".join(f"{s} ({', '.join(n)})" for s, n in a.unconverged) + ".", ""]
    if a.without_truth:
        out += ["Not measured against a stored truth:", ""]
        out += [f"* {s}: {why}" for s, why in a.without_truth] + [""]
    for f in a.figures:
        out += [f"![{f.alt}]({f.name})", "", f"*{f.caption}*", ""]
    if a.no_figure:
        out += [f"*{a.no_figure}*", ""]
    return out


def _ladder_markdown(sr, candidate: str) -> list:
    where, rows, notes = ladder_view(sr.outcome, candidate)
    out = [f"**accuracy ladder** (max |difference| per recordable, {candidate} as the candidate; {where})", ""]
    if rows:
        out += [_md_table(rows[0], rows[1:]), ""]
    return out + [f"note: {n}" for n in notes] + ([""] if notes else [])


def _md_anchor(name: str) -> str:
    """The anchor GitHub gives a "### name" heading."""
    return re.sub(r"[^a-z0-9_ -]", "", name.lower()).replace(" ", "-")
