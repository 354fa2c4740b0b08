"""The release report's figure: NEST and a candidate overlaid, one figure per scenario.

Panels, sharing the time axis: V_m (with spike markers), the gating variables s_*, the currents I_*, and
the absolute difference |candidate - NEST| of every recorded variable on a log scale. Where a variable's
difference is exactly zero at every sample a log plot has nothing to draw, so the figure says so in words
(and the caller gets the list, to say it in the report's text too).

Drawn with matplotlib's object API (``Figure`` + Agg canvas, never pyplot): no global state, no display,
safe in the gate's worker processes. PNGs are kept small (modest DPI, an adaptive palette) because the HTML
report embeds one per scenario.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from harness.traces.traces import Traces

FIG_SIZE = (10.5, 8.2)  # inches
DPI = 80  # 840 x 656 pixels
PALETTE_COLORS = 96  # PNG palette: line plots need few colours, and this cuts the size about threefold
MAX_POINTS = 12000  # longer traces are drawn as a min/max envelope of this many buckets

VARIABLE_COLORS = {"V_m": "#1f4e9c", "s_AMPA": "#d62728", "s_GABA": "#2a9d3a", "s_NMDA": "#8c3fbf",
                   "I_AMPA": "#d62728", "I_GABA": "#2a9d3a", "I_NMDA": "#8c3fbf"}
CANDIDATE_COLOR = "#f28e2b"
DASHED = (0, (3, 3))


@dataclass
class Figure:
    png: bytes
    width: int
    height: int
    zero_difference: list = field(default_factory=list)  # variables whose |difference| is 0 everywhere
    nonzero_difference: list = field(default_factory=list)
    nonfinite: list = field(default_factory=list)  # variables where either side has NaN or inf

    @property
    def all_zero(self) -> bool:
        return not self.nonzero_difference and not self.nonfinite


def differences(reference: Traces, candidate: Traces) -> dict:
    """|candidate - reference| per variable, float64, on the full trace (NaN where either side is NaN)."""
    return {name: np.abs(np.asarray(candidate.variables[name], dtype=np.float64)
                         - np.asarray(values, dtype=np.float64))
            for name, values in reference.variables.items() if name in candidate.variables}


def render_figure(reference: Traces, candidate: Traces, *, title: str, reference_label: str = "NEST",
                  candidate_label: str = "candidate", judged_until_ms: float | None = None) -> Figure:
    """The figure of one scenario as PNG bytes. Both traces must be on the same grid (the caller checks)."""
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.transforms import blended_transform_factory

    times = np.asarray(reference.times_ms, dtype=np.float64)
    names = list(reference.variables)
    groups = [("V_m", [n for n in names if n == "V_m"], "V_m (mV)"),
              ("s", [n for n in names if n.startswith("s_")], "s (nS)"),
              ("I", [n for n in names if n.startswith("I_")], "I (pA)")]
    groups = [g for g in groups if g[1]]
    diffs = differences(reference, candidate)
    nonfinite = [n for n in names if not (np.isfinite(reference.variables[n]).all()
                                          and np.isfinite(candidate.variables[n]).all())]
    zero = [n for n in names if n not in nonfinite and not np.any(diffs[n] != 0)]
    nonzero = [n for n in names if n not in nonfinite and n not in zero]

    fig = MplFigure(figsize=FIG_SIZE, dpi=DPI, layout="constrained")
    axes = fig.subplots(len(groups) + 1, 1, sharex=True,
                        gridspec_kw={"height_ratios": [1.25] + [1.0] * (len(groups) - 1) + [1.0]})
    fig.suptitle(title, fontsize=11)

    for ax, (key, members, ylabel) in zip(axes, groups):
        handles = []
        for name in members:
            color = VARIABLE_COLORS.get(name, "k")
            t, y = _envelope(times, reference.variables[name])
            (line,) = ax.plot(t, y, color=color, lw=1.3, label=name if key != "V_m" else reference_label)
            handles.append(line)
            t, y = _envelope(times, candidate.variables[name])
            ax.plot(t, y, color=CANDIDATE_COLOR if key == "V_m" else "k", lw=0.9, ls=DASHED)
        ax.set_ylabel(ylabel, fontsize=9)
        if key == "V_m":
            handles += ax.plot([], [], color=CANDIDATE_COLOR, lw=0.9, ls=DASHED, label=candidate_label)
            # Room above the traces for two rows of spike markers.
            low, high = ax.get_ylim()
            ax.set_ylim(low, high + 0.3 * (high - low))
            marks = blended_transform_factory(ax.transData, ax.transAxes)
            ref_spikes = np.asarray(reference.spike_times_ms, dtype=np.float64)
            cand_spikes = np.asarray(candidate.spike_times_ms, dtype=np.float64)
            handles += ax.plot(ref_spikes, np.full(ref_spikes.shape, 0.94), ls="none", marker="|", ms=8, mew=1.5,
                               color=VARIABLE_COLORS["V_m"], transform=marks,
                               label=f"{reference_label} spikes: {len(ref_spikes)}")
            handles += ax.plot(cand_spikes, np.full(cand_spikes.shape, 0.85), ls="none", marker="v", ms=4,
                               color=CANDIDATE_COLOR, transform=marks,
                               label=f"{candidate_label} spikes: {len(cand_spikes)}")
        else:
            handles += ax.plot([], [], color="#555555", lw=1.3, label=reference_label)
            handles += ax.plot([], [], color="k", lw=0.9, ls=DASHED, label=candidate_label)
        ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25)

    ax = axes[-1]
    ax.set_ylabel("|candidate - NEST|", fontsize=9)
    ax.tick_params(labelsize=8)
    if nonzero or nonfinite:
        for name in nonzero + nonfinite:
            d = np.where(np.isfinite(diffs[name]), diffs[name], np.nan)
            d = np.where(d > 0, d, np.nan)  # zeros have no place on a log axis; they are listed below
            t, y = _envelope(times, d, reduce_min=False)
            ax.plot(t, y, color=VARIABLE_COLORS.get(name, "k"), lw=1.0,
                    ls="-" if name in ("V_m",) or name.startswith("s_") else (0, (4, 2)), label=name)
        if np.isfinite(ax.dataLim.y0) and ax.dataLim.y0 > 0:
            ax.set_yscale("log")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0)
        ax.grid(alpha=0.25, which="both")
        notes = []
        if zero:
            notes.append(f"exactly 0 everywhere: {', '.join(zero)}")
        if nonfinite:
            notes.append(f"NaN or inf in: {', '.join(nonfinite)}")
        if notes:
            ax.set_title("; ".join(notes), fontsize=8, loc="right")
    else:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "|candidate - NEST| = 0 exactly, for every variable at every sample:\n"
                          "the traces are bit-identical, so there is nothing to draw on a log scale",
                transform=ax.transAxes, ha="center", va="center", fontsize=10, color="#1b5e20")
    if judged_until_ms is not None:
        for a in axes:
            a.axvline(judged_until_ms, color="#b00020", lw=0.9, ls=":")
        axes[0].text(judged_until_ms, 0.02, " first spike difference", color="#b00020", fontsize=7,
                     transform=blended_transform_factory(axes[0].transData, axes[0].transAxes))
    axes[-1].set_xlabel("time (ms)", fontsize=9)
    axes[-1].set_xlim(0.0, float(times[-1]) if len(times) else 1.0)
    png = _png_bytes(fig)
    width, height = int(round(FIG_SIZE[0] * DPI)), int(round(FIG_SIZE[1] * DPI))
    return Figure(png, width, height, zero, nonzero, nonfinite)


def _envelope(times: np.ndarray, values, reduce_min: bool = True):
    """At most 2*MAX_POINTS points: the min and max of each bucket, so spikes and peaks stay visible."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n <= MAX_POINTS:
        return times, values
    size = -(-n // MAX_POINTS)
    pad = (-n) % size
    v = np.concatenate([values, np.full(pad, np.nan)]).reshape(-1, size)
    t = np.concatenate([times, np.full(pad, times[-1])]).reshape(-1, size)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN buckets
            hi = np.nanmax(v, axis=1)
            lo = np.nanmin(v, axis=1) if reduce_min else hi
    return np.repeat(t[:, 0], 2), np.column_stack([lo, hi]).ravel()


def _png_bytes(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    FigureCanvasAgg(fig)
    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=DPI, facecolor="white")
    image = Image.open(io.BytesIO(raw.getvalue())).convert("RGB")
    small = io.BytesIO()
    image.quantize(colors=PALETTE_COLORS, method=Image.Quantize.MEDIANCUT).save(small, format="PNG", optimize=True)
    return small.getvalue()
