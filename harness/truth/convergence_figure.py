"""A convergence study as a PNG: NEST's distance to the truth against gsl_error_tol, log-log.

One panel per recordable that is not exactly zero throughout. NEST's line carries its fitted slope in the
legend, the candidate's (dashed) is on the same axes, and the truth's convergence figure (how far it moved
when solved ten times tighter) is drawn as a dotted floor: a distance down there is the truth's error, not
NEST's. Hollow markers are the points left out of the fit (round-off level, or spikes that differ). When more
than one resolution is swept, each resolution has its own colour, and a second block of panels shows the
distance against the resolution, one line per gsl_error_tol.

Sized for print (7.5 inches wide, no font below 9 pt), drawn with matplotlib's object API and the Agg canvas
(no pyplot, no global state: safe in worker processes).
"""
from __future__ import annotations

import io
import math

from harness.model.parameters import RECORDABLE_UNITS

WIDTH = 7.5  # inches: a printed page's text width
PANEL_HEIGHT = 2.3
COLUMNS = 3
DPI = 120
FONT = 9  # the smallest font anywhere
NEST_COLORS = ("#1f4e9c", "#2a9d3a", "#8c3fbf", "#8c564b", "#17becf")
CANDIDATE_COLOR = "#f28e2b"
FLOOR_COLOR = "#7f7f7f"


def study_figure(study) -> bytes:
    """The study's figure as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    names = study.recordables or list(study.recorded[:1])
    columns = min(COLUMNS, len(names))
    block = math.ceil(len(names) / columns)
    sweeps_resolution = len(study.resolutions) > 1
    rows = block * (2 if sweeps_resolution else 1)
    full = len(names) % columns == 0  # no empty panel for the keys: they go below the panels
    fig = Figure(figsize=(WIDTH, rows * PANEL_HEIGHT + 0.4 + (0.3 * (3 + sweeps_resolution * len(study.tols) / 3)
                                                              if full else 0.0)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, columns, squeeze=False)
    fig.suptitle(f"{study.scenario}: distance to the truth against gsl_error_tol", fontsize=FONT + 2)
    for i, name in enumerate(names):
        _tol_panel(axes[i // columns][i % columns], study, name)
        if sweeps_resolution:
            _resolution_panel(axes[block + i // columns][i % columns], study, name)
    spare = {0: [], block: []}  # the empty panels of each block's last row hold the keys
    for i in range(len(names), block * columns):
        for top in ([0, block] if sweeps_resolution else [0]):
            ax = axes[top + i // columns][i % columns]
            ax.set_axis_off()
            spare[top].append(ax)
    keys = [Line2D([], [], color=FLOOR_COLOR, linestyle=":", label="the truth's own error\n(moved at rtol / 10)"),
            Line2D([], [], color="k", marker="o", markerfacecolor="white", linestyle="none",
                   label="not fitted (round-off\nlevel, or spikes differ)")]
    if study.own_tol is not None:
        keys.append(Line2D([], [], color="#bbbbbb", linewidth=3, label="the scenario's own\ngsl_error_tol"))
    tols = [Line2D([], [], color=_tol_color(study, t), marker="o", label=f"tol {t:g}") for t in study.tols]
    outside = []
    for top, handles in ((0, keys), (block, tols if sweeps_resolution else [])):
        if handles and spare[top]:
            key = spare[top][0].legend(handles=handles, loc="center left", fontsize=FONT, frameon=False,
                                 ncols=1 if len(handles) <= 5 else 2, borderaxespad=0.0,
                                 title=None if top == 0 else "NEST at", title_fontsize=FONT)
            key.set_in_layout(False)  # it may reach into the next empty panel; the layout must not make room
        else:
            outside += handles
    if outside:
        fig.legend(handles=outside, loc="outside lower center", ncols=3, fontsize=FONT, frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def _tol_panel(ax, study, name) -> None:
    several = len(study.resolutions) > 1
    for k, res in enumerate(study.resolutions):
        color = NEST_COLORS[k % len(NEST_COLORS)]
        points = study.at(res)
        # Short labels: a legend wider than its panel would make the layout shrink every panel.
        at = f" {res:g} ms:" if several else ", slope"
        _line(ax, study, points, "nest", name, color, "-", "o", f"NEST{at} {study.fit('nest', res)[name].shown()}")
        if study.candidate is not None:
            _line(ax, study, points, "candidate", name, CANDIDATE_COLOR if not several else color, "--", "s",
                  f"{study.candidate}{at} {study.fit('candidate', res)[name].shown()}")
        truth = study.truth(res)
        moved = None if truth.convergence is None else truth.convergence.get(name)
        if moved is not None and moved > 0 and math.isfinite(moved):
            ax.axhline(moved, color=FLOOR_COLOR if not several else color, linestyle=":", linewidth=1.2)
    if study.own_tol is not None:
        ax.axvline(study.own_tol, color="#bbbbbb", linewidth=3, zorder=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _style(ax, name, "gsl_error_tol")
    legend = ax.legend(fontsize=FONT, loc="best", frameon=False, handlelength=1.2, handletextpad=0.4,
                       borderaxespad=0.2, title="fitted slope" if several else None, title_fontsize=FONT)
    legend.set_in_layout(False)  # the layout would shrink every panel for a legend that pokes out


def _resolution_panel(ax, study, name) -> None:
    from matplotlib.ticker import NullLocator

    for tol in study.tols:
        points = [p for p in study.points if p.gsl_error_tol == tol]
        _line(ax, study, points, "nest", name, _tol_color(study, tol), "-", "o", None, x="resolution")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(study.resolutions, [f"{r:g}" for r in study.resolutions])
    ax.xaxis.set_minor_locator(NullLocator())  # less than a decade: minor labels would overprint
    _style(ax, name, "resolution (ms)")


def _line(ax, study, points, who, name, color, style, marker, label, x="gsl_error_tol") -> None:
    xs, ys, fitted = [], [], []
    for p in points:
        d = p.nest if who == "nest" else p.candidate
        value = None if d is None else d.get(name)
        if value is not None and math.isfinite(value) and value > 0:  # a log axis cannot show 0
            xs.append(getattr(p, x))
            ys.append(value)
            fitted.append(study.fitted(p, who, name))
    if not xs:
        return
    # NEST's line is drawn wider: a candidate equal to it (the in-house engines) must not hide it.
    ax.plot(xs, ys, color=color, linestyle=style, linewidth=2.6 if who == "nest" else 1.4, label=label)
    for filled in (True, False):
        chosen = [(a, b) for a, b, f in zip(xs, ys, fitted) if f == filled]
        if chosen:
            ax.plot(*zip(*chosen), linestyle="none", marker=marker, markersize=4.5, color=color,
                    markerfacecolor=color if filled else "white")


def _style(ax, name, xlabel) -> None:
    ax.set_title(f"{name} ({RECORDABLE_UNITS[name]})", fontsize=FONT + 1)
    ax.set_xlabel(xlabel, fontsize=FONT)
    ax.set_ylabel("max |x - truth|", fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    ax.grid(True, which="major", color="#e6e6e6", linewidth=0.6)



def _tol_color(study, tol) -> str:
    from matplotlib import colormaps

    order = sorted(study.tols)
    return colormaps["viridis"](0.85 * order.index(tol) / max(1, len(order) - 1))
