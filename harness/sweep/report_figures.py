"""The sweep report's figures: max |candidate - reference| against each swept axis.

One figure per axis, one panel per variable that differs somewhere in the sweep (in recording order, then
the rest, such as spikes), one line per pair. At each value of the axis a line shows the worst max |diff|
over every other axis and every base scenario that has it: the envelope a release must stay under. The y
axis is logarithmic; an exact zero has no place there, so it is drawn on a floor line labelled "0
(identical)", and a NaN or inf on the top edge. The x axis is logarithmic where the values are positive
numbers spanning more than a decade, linear for other numbers, categorical for anything else (a list, a
string). The tolerance is marked: the absolute tolerance as a line, or, where it is 0, in words.

Drawn with matplotlib's object API (never pyplot), like the release report's figures (``harness.report.panels``).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import numpy as np

from harness.model.parameters import RECORDABLES, UNITS
from harness.report.folder import figure_name
from harness.report.panels import ALARM, DPI, FONT, TITLE_FONT, WIDTH, png_bytes, style

PANEL_IN = 2.3  # one panel's height; two columns of panels when there are more than two
TOP_IN = 0.9  # the title and the legend
COLORS = ("#1f4e9c", "#d62728", "#2a9d3a", "#8c3fbf", "#e08a00", "#17a2b8", "#555555")
IDENTICAL = "0 (identical)"
# The unit of an axis, by the last part of its key path (a scenario field's unit; params.* from NEST's names).
KEY_UNITS = {"resolution": "ms", "duration": "ms", "delay": "ms", "start": "ms", "stop": "ms", "spike_times": "ms",
             "origin": "ms", "rate": "Hz", "weight": "nS", "amplitude": "pA", "dc": "pA"}


@dataclass
class SweepFigure:
    axis: str
    name: str  # its path in the report folder
    png: bytes
    width: int
    height: int
    alt: str
    caption: str


def axis_unit(axis: str) -> str:
    last = re.split(r"[.\]\[]", axis.rstrip("]"))
    last = [p for p in last if p and not p.isdigit() and p != "*"]
    key = last[-1] if last else axis
    return UNITS.get(key) or KEY_UNITS.get(key, "")


def _numeric(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def x_scale(values: list) -> str:
    """"log", "linear" or "category" for an axis's distinct values."""
    if values and all(_numeric(v) for v in values):
        low, high = min(values), max(values)
        return "log" if low > 0 and high / low > 10 else "linear"
    return "category"


def differing_variables(rows: list) -> list:
    """The variables whose max |diff| is nonzero (or not finite) in some row, recordables first."""
    seen = {r["variable"] for r in rows if r.get("variable") is not None and r.get("max_abs") is not None
            and (math.isnan(r["max_abs"]) or r["max_abs"] != 0)}
    return [v for v in RECORDABLES if v in seen] + sorted(seen - set(RECORDABLES))


def _judged(rows: list) -> list:
    return [r for r in rows if r.get("variable") is not None and r.get("max_abs") is not None
            and r.get("verdict") in ("pass", "fail")]


def series(rows: list, axis: str, variable: str) -> tuple[list, dict]:
    """(the axis's distinct values in drawing order, pair -> {value key: worst max |diff|}); NaN is the worst."""
    values, worst = {}, {}
    for r in rows:
        if r["variable"] != variable:
            continue
        changes = r["_changes"]
        if axis not in changes:
            continue
        v = changes[axis]
        key = json.dumps(v, sort_keys=True)
        values.setdefault(key, v)
        old = worst.setdefault(r["pair"], {}).get(key)
        x = r["max_abs"]
        if old is None or math.isnan(x) or (not math.isnan(old) and x > old):
            worst[r["pair"]][key] = x
    ordered = list(values.items())
    if x_scale([v for _, v in ordered]) != "category":
        ordered.sort(key=lambda kv: kv[1])
    return ordered, worst


def axis_figures(report) -> list:
    """One SweepFigure per swept axis of ``report`` (a ``harness.sweep.report.SweepReport``)."""
    rows = [{**r, "_changes": json.loads(r["changes"]) if r.get("changes") else {}} for r in _judged(report.rows)]
    if not rows:  # no variant has numbers yet: a figure would only show an empty frame
        return []
    variables = differing_variables(rows)
    no_numbers = sum(v in ("error", "invalid") for v in report.variant_verdicts.values())
    figures = []
    for i, axis in enumerate(report.axes(), 1):
        figures.append(render_axis_figure(axis, rows, variables, report.profile, no_numbers,
                                          figure_name(f"error_vs_{i:02d}_{axis}")))
    return figures


def render_axis_figure(axis: str, rows: list, variables: list, profile: str, no_numbers: int,
                       name: str) -> SweepFigure:
    from matplotlib.figure import Figure

    shown = variables or [None]  # nothing differs: one panel that says so
    ncols = 2 if len(shown) > 2 else 1
    nrows = -(-len(shown) // ncols)
    height = PANEL_IN * nrows + TOP_IN
    fig = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    unit = axis_unit(axis)
    pairs = sorted({r["pair"] for r in rows})
    colors = {p: COLORS[k % len(COLORS)] for k, p in enumerate(pairs)}
    words = []
    for ax, variable in zip(axes, shown):
        words.append(_panel(ax, axis, unit, rows, variable, colors))
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    handles = [axes[0].plot([], [], "-o", ms=4, color=colors[p], label=_pair_label(p, pairs))[0] for p in pairs]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=min(4, len(handles)), fontsize=FONT,
                   frameon=False)
    fig.suptitle(f"max |candidate - reference| against {axis}, worst over the other axes", fontsize=TITLE_FONT)
    png = png_bytes(fig)
    alt = (f"max |difference| against {axis}, one panel per variable ({', '.join(variables) or 'none differs'}), "
           f"one line per pair ({', '.join(pairs) or 'none'}), log y axis")
    caption = (f"x: {axis}{f' ({unit})' if unit else ''}, {_scale_words(rows, axis)}; y: max |candidate - "
               f"reference| in the variable's unit, log scale, the worst at each x over every other swept axis "
               f"and base scenario. A point on the dotted floor is exactly 0 (labelled “{IDENTICAL}”), a cross on "
               f"the top edge NaN or inf. Profile {profile}: " + _tolerance_words(words) + "."
               + (f" {no_numbers} variant{'s' if no_numbers != 1 else ''} (error or invalid) ha"
                  f"{'ve' if no_numbers != 1 else 's'} no numbers and no point." if no_numbers else ""))
    return SweepFigure(axis, name, png, int(WIDTH * DPI + 1e-6), int(height * DPI + 1e-6), alt, caption)


def _pair_label(pair: str, pairs: list) -> str:
    """A pair as its candidate when every pair has the same reference, else in full."""
    references = {p.split("-vs-")[0] for p in pairs}
    return pair.split("-vs-", 1)[-1] if len(references) == 1 and "-vs-" in pair else pair


def _scale_words(rows: list, axis: str) -> str:
    values = list({json.dumps(r["_changes"][axis], sort_keys=True): r["_changes"][axis]
                   for r in rows if axis in r["_changes"]}.values())
    return {"log": "log scale", "linear": "linear scale", "category": "one tick per value"}[x_scale(values)]


def _panel(ax, axis: str, unit: str, rows: list, variable, colors: dict) -> tuple:
    """One variable's panel; returns (variable, its tolerance in words) for the caption."""
    from matplotlib.transforms import blended_transform_factory

    if variable is None:
        ax.text(0.5, 0.5, "no variable differs anywhere:\nevery max |diff| is exactly 0", ha="center",
                va="center", fontsize=FONT, transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return None, "nothing differs"
    ordered, worst = series(rows, axis, variable)
    mine = [r for r in rows if r["variable"] == variable]
    var_unit = next((r["unit"] for r in mine if r.get("unit")), "")
    positive = [x for per in worst.values() for x in per.values() if math.isfinite(x) and x > 0]
    tol_abs = sorted({r["abs_tol"] for r in mine if r.get("abs_tol") is not None})
    tol_rel = sorted({r["rel_tol"] for r in mine if r.get("rel_tol") is not None})
    line = tol_abs[0] if tol_abs and tol_abs[0] > 0 else None
    marks = positive + ([line] if line else [])
    # The floor two decades under the smallest mark, and a decade under it for its label.
    low = min(marks) / 1000 if marks else 1e-18
    high = max(marks) * 10 if marks else 1e-14
    floor = low * 10
    scale = x_scale([v for _, v in ordered])
    xs = np.array([v for _, v in ordered], dtype=np.float64) if scale != "category" else np.arange(len(ordered))
    edge = blended_transform_factory(ax.transData, ax.transAxes)
    for pair, per in sorted(worst.items()):
        have = np.array([key in per for key, _ in ordered])
        y = np.array([per.get(key, math.nan) for key, _ in ordered], dtype=np.float64)
        bad = have & ~np.isfinite(y)
        zero = have & (y == 0)
        # A NaN breaks the line (it has no height to join), and is a cross on the top edge instead.
        drawn = np.where(zero, floor, np.where(bad, np.nan, y))
        ax.plot(xs[have], drawn[have], "-o", ms=4, lw=1.3, color=colors[pair])
        if zero.any():
            ax.plot(xs[zero], drawn[zero], "v", ms=6, color=colors[pair], ls="none")
        if bad.any():
            ax.plot(xs[bad], np.full(bad.sum(), 0.95), "x", ms=8, mew=2.0, color=colors[pair], ls="none",
                    transform=edge, clip_on=False)
    ax.set_yscale("log")
    ax.set_ylim(low, high)
    ax.axhline(floor, color="#777777", lw=0.9, ls=":")
    ends = blended_transform_factory(ax.transAxes, ax.transData)
    ax.text(0.005, floor / 1.3, IDENTICAL, transform=ends, ha="left", va="top", fontsize=FONT, color="#444444")
    words = _tolerance_mark(ax, ends, line, tol_abs, tol_rel, var_unit, variable)
    if scale == "log":
        ax.set_xscale("log")
    elif scale == "category":
        ax.set_xticks(xs)
        ax.set_xticklabels([_short(v) for _, v in ordered], rotation=30 if len(ordered) > 4 else 0, ha="right"
                           if len(ordered) > 4 else "center", fontsize=FONT)
        ax.set_xlim(-0.5, len(ordered) - 0.5)
    ax.set_xlabel(f"{axis} ({unit})" if unit else axis, fontsize=FONT)
    ax.set_ylabel(f"max |diff| ({var_unit})" if var_unit else "max |diff|", fontsize=FONT)
    ax.set_title(variable, fontsize=FONT, loc="left", fontweight="bold")
    style(ax)
    return words


def _tolerance_mark(ax, ends, line, tol_abs: list, tol_rel: list, unit: str, variable: str) -> tuple:
    """The tolerance on the panel: the abs tolerance's line, or the words for a zero one."""
    rel = max(tol_rel) if tol_rel else 0.0
    rel_words = f" + {rel:g}·|reference|" if rel > 0 else ""
    if line is not None:
        label = ("smallest " if len(tol_abs) > 1 else "") + f"abs tolerance {line:g} {unit}{rel_words}"
        ax.axhline(line, color=ALARM, lw=1.4)
        ax.text(0.995, line, label, transform=ends, ha="right", va="bottom", fontsize=FONT, color=ALARM)
        return variable, f"abs tolerance {line:g} {unit}{rel_words} (the red line)"
    if rel > 0:
        text = f"tolerance {rel:g}·|reference|, no abs part: no fixed line"
    else:
        text = "tolerance 0: any difference fails"
    ax.set_title(text, fontsize=FONT, loc="right", color=ALARM)
    return variable, text


def _tolerance_words(words: list) -> str:
    """Each tolerance once, with the variables it is theirs: "tolerance 0: any difference fails (V_m, s_AMPA)"."""
    grouped: dict = {}
    for variable, text in words:
        grouped.setdefault(text, []).append(variable)
    return "; ".join(text + (f" ({', '.join(v for v in names if v)})" if any(names) else "")
                     for text, names in grouped.items())


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 18 else text[:17] + "…"
