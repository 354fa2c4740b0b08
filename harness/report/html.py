"""The release report as one self-contained HTML page: CSS inline, figures as base64 PNG, no script, and a
Content-Security-Policy that forbids every fetch (``harness.report.browser`` checks it renders)."""
from __future__ import annotations

import base64
import html
import re

from harness.judge.gate import THREADS
from harness.report.accuracy import NOT_CONVERGED, NOT_CONVERGED_WORDS, TITLE, ladder_view
from harness.report.baseline import GREW_HEADER, BaselineDiff, baseline_items, grew_rows
from harness.report.captions import figure_parts, figure_words
from harness.report.data import (
    PAIR_WORDS,
    RESULT_COLUMN,
    STATUS_CLASS,
    STATUS_LABEL,
    SUMMARY_HEADER,
    SUMMARY_KEYS,
    VARIABLE_HEADER,
    Report,
    ScenarioReport,
    judged_note,
    pair_status,
    scenario_count,
    shown_pairs,
    spike_text,
    thread_words,
    variable_rows,
)

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
.badge.drift, .badge.warn { background: #ffe8a8; color: #6b4a00; }
p.threads.warn { background: #fff4d6; border-left: 3px solid #e0b84a; padding: .2em .6em; }
figcaption ul { margin: .2em 0; padding-left: 1.3em; }
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
            classes = ((["num"] if i >= num_from and _looks_numeric(cell) else [])
                       + (["bad"] if bad and bad(i, cell) else []))
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{cell if html_cells and i in (0, 1) else _e(cell)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _looks_numeric(cell) -> bool:
    return bool(re.fullmatch(r"-?(inf|NaN|[0-9.e+-]+)", str(cell)))


def _badge(verdict: str) -> str:
    return f'<span class="badge {STATUS_CLASS[verdict]}">{_e(STATUS_LABEL[verdict])}</span>'


def _pair_badge(c) -> str:
    label = pair_status(c)
    cls = {"PASS": "pass", "FAIL": "fail", "ERROR": "error", "same": "pass"}.get(label, "warn")
    return f'<span class="badge {cls}">{_e(label)}</span>'


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
        f"<h1>nest-parity report: {_e(report.candidate)} vs NEST "
        f"{_e(report.document['provenance']['nest_version'])}</h1>",
        f'<div class="headline {verdict_class}" id="headline">{_e(report.verdict)}: '
        f'{scenario_count(len(report.scenarios))} <div class="counts">'
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
    if report.thread_note():
        parts.append(f'<p class="note" id="thread-note">{_e(report.thread_note())}</p>')
    parts.append("<h2>Scenarios</h2>")
    rows = []
    for r in report.summary_rows():
        rows.append((f'<a href="#s-{_e(r["scenario"])}">{_e(r["scenario"])}</a>', _badge(r["verdict"]),
                     *(r[k] for k in SUMMARY_KEYS[2:])))
    parts.append(_table(SUMMARY_HEADER, rows, html_cells=True, num_from=4, table_id="summary-table"))
    if report.baseline is not None:
        parts.append(_baseline_html(report.baseline))
    parts.append(_accuracy_html(report))
    if report.sweep is not None:
        from harness.report.sweep_section import sweep_html

        parts.append(sweep_html(report.sweep))
    parts.append("<h2>Provenance</h2>")
    parts.append(_table(("", ""), [(k, v) for k, v in report.provenance_rows()], cls="prov", num_from=99,
                        table_id="provenance").replace("<thead><tr><th></th><th></th></tr></thead>", ""))
    parts.append("<h2>Per scenario</h2>")
    for sr in report.ordered():
        parts.append(_scenario_html(sr, report.candidate))
    parts.append(f'<p class="note">Generated by <code>{_e(report.command)}</code>, '
                 f'{_e(report.document["created"])}.</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _baseline_html(b: BaselineDiff) -> str:
    out = ["<h2>Changes since the baseline</h2>",
           f'<p class="note">Baseline: <code>{_e(b.source)}</code>, created {_e(b.created)}, harness commit '
           f'{_e(b.commit)}, NEST {_e(b.nest_version)}.</p>', '<ul id="baseline-changes">']
    for label, items in baseline_items(b):
        out.append(f"<li><b>{_e(label)}</b>: {_e(items)}</li>")
    out.append("</ul>")
    if b.grew:
        out.append("<h4>Errors that grew</h4>")
        out.append(_table(GREW_HEADER, grew_rows(b), num_from=99, table_id="errors-grew"))
    return "\n".join(out)


def _figure_html(png: bytes, width: int, height: int, alt: str, caption: str, figure_id: str = "") -> str:
    data = base64.b64encode(png).decode("ascii")
    attr = f' id="{_e(figure_id)}"' if figure_id else ""
    return (f'<figure{attr}><img src="data:image/png;base64,{data}" width="{width}" height="{height}" '
            f'alt="{_e(alt)}"><figcaption>{caption}</figcaption></figure>')


def _accuracy_html(report: Report) -> str:
    """The section "How far NEST is from the truth": the table, the unconverged and missing, the figures."""
    a = report.accuracy
    if a is None:
        return ""
    out = [f'<h2 id="accuracy">{_e(TITLE)}</h2>', f'<p class="note">{_e(a.intro)}</p>']
    if a.rows:
        out.append(_table(a.header, a.rows, num_from=1, table_id="nest-truth-table",
                          bad=lambda i, cell: str(cell).endswith(NOT_CONVERGED)))
    if a.unconverged:
        out.append(f'<p class="note">{_e(NOT_CONVERGED_WORDS)}: '
                   + _e("; ".join(f"{s} ({', '.join(n)})" for s, n in a.unconverged)) + ".</p>")
    if a.without_truth:
        out.append('<p class="note">Not measured against a stored truth:</p><ul id="without-truth">'
                   + "".join(f"<li><b>{_e(s)}</b>: {_e(why)}</li>" for s, why in a.without_truth) + "</ul>")
    for f in a.figures:
        out.append(_figure_html(f.png, f.width, f.height, f.alt, _e(f.caption), f"figure-{f.name}"))
    if a.no_figure:
        out.append(f'<p class="error-text">{_e(a.no_figure)}</p>')
    return "\n".join(out)


def _ladder_html(sr: ScenarioReport, candidate: str) -> str:
    where, rows, notes = ladder_view(sr.outcome, candidate)
    out = [f"<h4>accuracy ladder: max |difference| per recordable, {_e(candidate)} as the candidate; "
           f"{_e(where)}</h4>"]
    if rows:
        out.append(_table(rows[0], rows[1:], table_id=f"ladder-{sr.scenario}",
                          bad=lambda i, cell: "NOT converged" in str(cell)))
    out += [f'<p class="note">note: {_e(n)}</p>' for n in notes]
    return "\n".join(out)


def _scenario_html(sr: ScenarioReport, candidate: str = "candidate") -> str:
    out = [f'<section class="scenario" id="s-{_e(sr.scenario)}">',
           f"<h3>{_e(sr.scenario)} {_badge(sr.verdict)}</h3>",
           f'<p class="note"><code>{_e(sr.path)}</code>{": " + _e(sr.description) if sr.description else ""}</p>',
           '<p class="note">' + " &middot; ".join(f"{_e(c.pair)} {_pair_badge(c)}"
                                                  for c in sr.outcome.comparisons) + "</p>"]
    for c in shown_pairs(sr):
        out.append(f"<h4>{_e(c.pair)}: {_e(PAIR_WORDS.get(c.pair, c.pair))}, profile {_e(c.profile)}</h4>")
        if c.status == "error":
            out.append(f'<p class="error-text">error: {_e(c.error)}</p>')
            continue
        out.append(_table(VARIABLE_HEADER, variable_rows(c), num_from=2,
                          bad=lambda i, cell: i == RESULT_COLUMN and cell == "FAIL"))
        out.append(f'<p class="note">spikes: {_e(spike_text(c))}</p>')
        note = judged_note(c)
        if note:
            out.append(f'<p class="note">note: {_e(note)}</p>')
    threads = thread_words(sr)
    if threads is not None:
        kind, words = threads
        out.append(f'<p class="note threads{" warn" if kind != "same" else ""}" id="threads-{_e(sr.scenario)}">'
                   f'<b>{_e(THREADS)}</b>: {_e(words)}</p>')
    out.append(_ladder_html(sr, candidate))
    if sr.figure is not None:
        parts = figure_parts(sr)
        caption = ("<ul>" + "".join(f"<li><b>{_e(title)}</b>: {_e(words)}</li>" for title, words in parts) + "</ul>"
                   if parts else _e(figure_words(sr)))
        alt = (f"{sr.scenario}: spike raster, {sr.figure.rates_title}, traces of {sr.figure.neuron} and error map, "
               f"NEST and the candidate" if parts else f"{sr.scenario}: NEST and candidate traces and their difference")
        out.append(_figure_html(sr.figure.png, sr.figure.width, sr.figure.height, alt, caption))
    else:
        out.append(f'<p class="error-text">{_e(figure_words(sr))}</p>')
    out.append("</section>")
    return "\n".join(out)
