"""The sweep report as one self-contained HTML page, with the release report's style and rules
(``harness.report.html``): CSS inline, figures as base64 PNG, no script, and a Content-Security-Policy that
forbids every fetch."""
from __future__ import annotations

from harness.report.html import CSS, _e, _figure_html, _table
from harness.sweep.report import (
    COUNT_KEYS,
    INTRO,
    PAIR_HEADER,
    WORST_HEADER,
    SweepReport,
    more_words,
    worst_rows,
)

VERDICT_CLASS = {"PASS": "pass", "FAIL": "fail", "ERROR": "error", "INVALID": "error", "NO RESULTS": "drift"}
BADGE = {"pass": "pass", "fail": "fail", "error": "error", "invalid": "error"}
EXTRA_CSS = """
table.worst td { font-size: 12px; } td.nowrap, td.id { white-space: nowrap; } td.id { font-family: monospace; }
tr.cmd td { border-top: none; padding-top: 0; color: #444; font-size: 12px; } tr.cmd code { overflow-wrap: anywhere; }
"""


def render_html(report: SweepReport, *, summary_only: bool = False) -> str:
    c = report.counts()
    verdict = report.verdict()
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        # The page fetches nothing: no scripts, no remote anything; images only from data: URLs.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        'style-src \'unsafe-inline\'">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>sweep report {_e(report.name)}: {_e(verdict)}</title>", f"<style>{CSS}{EXTRA_CSS}</style>",
        "</head><body>",
        f"<h1>Sweep report: {_e(report.name)}</h1>",
        f'<div class="headline {VERDICT_CLASS.get(verdict, "error")}" id="headline">{_e(verdict)}: '
        f'{c["total"]} variant{"s" if c["total"] != 1 else ""} <div class="counts">'
        + " ".join(f'<span id="count-{k}">{c[k]} {k}</span>' for k in COUNT_KEYS)
        + (f' <span id="count-not-run">{report.not_run()} not run yet</span>' if report.not_run() else "")
        + "</div></div>",
        f'<p class="note">{_e(INTRO)}</p>', f'<p id="worst-line">{_e(report.worst_line())}</p>',
        _table(("", ""), report.about_rows(), cls="prov", num_from=99, table_id="about")
        .replace("<thead><tr><th></th><th></th></tr></thead>", ""),
        "<h2>Verdicts per pair</h2>", _pairs_html(report),
    ]
    if summary_only:
        parts.append(f'<p class="note">The full report (every variant pair worst first, figures of the error against '
                     f'each swept axis): <code>nest-parity sweep {_e(report.sweep_path)} --report-only</code>.</p>')
    else:
        parts += _worst_html(report) + _figures_html(report)
    parts.append(f'<p class="note">Generated {_e(report.created)}.</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _worst_html(report: SweepReport) -> list:
    """The worst-first table; each variant pair's reproduce line on a row of its own under it (a column would
    make the table wider than the page)."""
    out = ["<h2>Worst variants first</h2>"]
    rows = worst_rows(report)
    if not rows:
        return out + ['<p class="note">No variant has results yet.</p>']
    body = []
    for r in rows:
        verdict = r[5]
        cells = [_cell(r[0], "num"), _cell(r[1], "id"), _cell(r[2]), _cell(r[3]), _cell(r[4], "nowrap"),
                 f'<td><span class="badge {BADGE.get(verdict, "error")}">{_e(verdict)}</span></td>', _cell(r[6]),
                 _cell(r[7], "num"), _cell(r[8], "num"),
                 _cell(r[9], "error-text" if verdict in ("error", "invalid") else "")]
        body.append(f'<tr id="v-{_e(r[1])}-{_e(r[4])}">' + "".join(cells) + "</tr>")
        body.append(f'<tr class="cmd"><td></td><td colspan="{len(cells) - 1}">reproduce: <code>{_e(r[10])}</code>'
                    f"</td></tr>")
    header = WORST_HEADER[:-1]
    out.append('<table class="worst" id="worst-table"><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in header)
               + "</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table>")
    if more_words(report):
        out.append(f'<p class="note" id="more">{_e(more_words(report))}</p>')
    return out


def _pairs_html(report: SweepReport) -> str:
    """The verdicts per pair; counts right-aligned, the variant id not (hex digits can look like a number)."""
    body = ["<tr>" + "".join(_cell(x, "num" if 2 <= i <= 7 else "id" if i == 8 else "nowrap" if i == 0 else "")
                             for i, x in enumerate(row)) + "</tr>" for row in report.pair_rows()]
    return ('<table id="pairs"><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in PAIR_HEADER)
            + "</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table>")


def _cell(value, cls: str = "") -> str:
    return f'<td class="{cls}">{_e(value)}</td>' if cls else f"<td>{_e(value)}</td>"


def _figures_html(report: SweepReport) -> list:
    out = ["<h2>Error against each swept parameter</h2>"]
    for f in report.figures:
        out.append(_figure_html(f.png, f.width, f.height, f.alt, _e(f.caption), f"figure-{f.axis}"))
    if not report.figures:
        out.append('<p class="note">No figure: nothing was swept, or no variant has numbers.</p>')
    return out
