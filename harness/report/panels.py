"""The panels the release report's figures share (``figures`` for one neuron, part (c) of
``network_figures``): one axis per quantity in its own unit with NEST and the candidate overlaid, and per
variable the difference normalised by its tolerance, so that 1 is the line to stay under.

Legible at print size: a figure is 7.5 in wide (a page's text width; 840 pixels at 112 dpi) and no text in
it is smaller than 9 pt. Drawn with matplotlib's object API (``Figure`` + Agg canvas, never pyplot): no
global state, no display, safe in the gate's worker processes.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np

from harness.judge.tolerances import Tolerance
from harness.model.parameters import RECORDABLE_UNITS

WIDTH = 7.5  # inches
DPI = 112  # 840 pixels wide
FONT = 9  # pt: ticks, legends, labels; nothing smaller
TITLE_FONT = 10
PALETTE_COLORS = 96  # PNG palette: line plots need few colours, and this cuts the size about threefold
MAX_POINTS = 12000  # longer traces are drawn as a min/max envelope of this many buckets

VARIABLE_COLORS = {"V_m": "#1f4e9c", "s_AMPA": "#d62728", "s_GABA": "#2a9d3a", "s_NMDA": "#8c3fbf",
                   "I_AMPA": "#d62728", "I_GABA": "#2a9d3a", "I_NMDA": "#8c3fbf"}
CANDIDATE_COLOR = "#111111"  # dashed black over NEST's solid coloured line: visible on every colour
DASHED = (0, (3, 2.5))
ALARM = "#b00020"  # the tolerance line, the cut-off, non-finite samples
IDENTICAL_COLOR = "#1b5e20"
FLOOR = 1e-6  # a normalised difference below a millionth of the tolerance is drawn at this floor
# A zero tolerance (the exact profile) allows no difference at all: there is no line to stay under on a log
# scale, so the panel measures the difference against the roundoff profile's bound instead, and says so.
ROUNDOFF = Tolerance(0.0, 1e-12)


@dataclass
class Panel:
    """One trace axis: ``members`` drawn on it, in ``unit``."""

    key: str
    members: list
    unit: str
    height: float

    @property
    def ylabel(self) -> str:
        return f"{', '.join(self.members)} ({self.unit})" if self.unit else ", ".join(self.members)


def unit_of(name: str) -> str:
    return RECORDABLE_UNITS.get(name, "")


def trace_layout(names, reference, candidate) -> tuple[list, list]:
    """(panels, flat): V_m; s_AMPA with s_GABA (both nS, of one scale); s_NMDA alone (NEST's weighted sum);
    each current alone. A variable that is exactly 0 at every sample on both sides gets no panel (``flat``)."""
    flat = [n for n in names if not np.any(np.asarray(reference.variables[n]) != 0)
            and not np.any(np.asarray(candidate.variables[n]) != 0)]
    shown = [n for n in names if n not in flat]
    panels = []
    if "V_m" in shown:
        panels.append(Panel("V_m", ["V_m"], "mV", 1.5))
    gates = [n for n in ("s_AMPA", "s_GABA") if n in shown]
    if gates:
        panels.append(Panel("s", gates, "nS", 1.05))
    for name in shown:
        if name not in ("V_m", "s_AMPA", "s_GABA"):
            panels.append(Panel(name, [name], unit_of(name), 1.05 if name.startswith("s_") else 0.95))
    return panels, flat


def style(ax, grid: bool = True) -> None:
    ax.tick_params(labelsize=FONT)
    if grid:
        ax.grid(alpha=0.25)


def draw_traces(ax, times, reference, candidate, panel: Panel, zero: list, nonfinite: list) -> None:
    """NEST solid in the variable's colour, the candidate dashed black on top; the right-hand title says, per
    member, whether the two are identical at every sample."""
    for name in panel.members:
        ax.plot(*envelope(times, reference.variables[name]), color=VARIABLE_COLORS.get(name, "#555555"), lw=1.5,
                label=name)
        ax.plot(*envelope(times, candidate.variables[name]), color=CANDIDATE_COLOR, lw=1.0, ls=DASHED)
    ax.set_ylabel(panel.ylabel if len(panel.members) == 1 else f"{panel.key} ({panel.unit})", fontsize=FONT)
    if len(panel.members) > 1:
        ax.legend(fontsize=FONT, loc="upper right", framealpha=0.85)
    words = []
    for name in panel.members:
        state = "identical" if name in zero else "NaN or inf" if name in nonfinite else "differs"
        if len(panel.members) > 1:
            words.append(f"{name} {state}")
        else:
            words.append({"identical": "identical at every sample", "differs": "differs: see its |Δ| / tolerance"}
                         .get(state, state))
    color = IDENTICAL_COLOR if all(n in zero for n in panel.members) else ALARM
    ax.set_title("; ".join(words), fontsize=FONT, loc="right", color=color)
    style(ax)


def draw_v_m_marks(ax, reference, candidate, v_th: float | None, v_reset: float | None) -> None:
    """V_th and V_reset as lines on the V_m axis, and both spike trains as markers above the trace."""
    from matplotlib.transforms import blended_transform_factory

    low, high = ax.get_ylim()
    for value in (v_th, v_reset):
        if value is not None:
            low, high = min(low, value), max(high, value)
    span = high - low or 1.0
    ax.set_ylim(low - 0.05 * span, high + 0.32 * span)  # room above for two rows of spike markers
    ends = blended_transform_factory(ax.transAxes, ax.transData)
    for value, name, ls in ((v_th, "V_th", "--"), (v_reset, "V_reset", ":")):
        if value is not None:
            ax.axhline(value, color="#555555", lw=1.0, ls=ls)
            ax.text(0.005, value, f"{name} {value:g} mV", transform=ends, ha="left", va="bottom", fontsize=FONT,
                    color="#333333")
    marks = blended_transform_factory(ax.transData, ax.transAxes)
    for traces, y, marker, color, size in ((reference, 0.93, "|", VARIABLE_COLORS["V_m"], 9),
                                           (candidate, 0.83, "v", CANDIDATE_COLOR, 4.5)):
        t = np.asarray(traces.spike_times_ms, dtype=np.float64)
        ax.plot(t, np.full(t.shape, y), ls="none", marker=marker, ms=size, mew=1.5, color=color, transform=marks)


@dataclass
class Difference:
    """What one difference panel shows: the largest |difference| (in the unit) and the largest normalised
    one, and whether the tolerance or the roundoff bound is the scale."""

    name: str
    max_abs: float
    max_ratio: float  # inf where the bound is 0 and the difference is not
    scale: str  # "tolerance" | "roundoff"
    nonfinite: int  # samples where either side is NaN or inf


def normalised(ref, cand, tol: Tolerance) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """(|cand - ref| in the unit, |cand - ref| / (abs + rel*|ref|), non-finite mask, scale). NaN where the two
    are equal (nothing to draw on a log axis), inf where the bound is 0 but the difference is not."""
    ref, cand = np.asarray(ref, dtype=np.float64), np.asarray(cand, dtype=np.float64)
    scale = "tolerance" if tol.abs > 0 or tol.rel > 0 else "roundoff"
    bound_tol = tol if scale == "tolerance" else ROUNDOFF
    bad = ~(np.isfinite(ref) & np.isfinite(cand))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        diff = np.where(bad, np.nan, np.abs(cand - ref))
        bound = bound_tol.abs + bound_tol.rel * np.abs(ref)
        ratio = np.where(diff > 0, diff / bound, np.nan)
    return diff, ratio, bad, scale


def tolerance_words(tol: Tolerance, scale: str) -> str:
    """What the panel divides by, in a few words."""
    if scale == "roundoff":
        return "÷ 1e-12·|NEST|, roundoff's (exact's is 0)"
    parts = [f"{tol.abs:g}" if tol.abs else "", f"{tol.rel:g}·|NEST|" if tol.rel else ""]
    return "÷ " + " + ".join(p for p in parts if p)


def draw_difference(ax, times, name: str, ref, cand, tol: Tolerance, judged_until_ms=None) -> Difference:
    """|candidate - NEST| of one variable over its tolerance on a log axis, the line at 1, clipped at ``FLOOR``
    below; a sample whose bound is 0 (``^``) or that is NaN or inf on either side (``x``) sits at the top."""
    from matplotlib.ticker import LogLocator
    from matplotlib.transforms import blended_transform_factory

    diff, ratio, bad, scale = normalised(ref, cand, tol)
    finite = ratio[np.isfinite(ratio)]
    top = max(10.0, 4.0 * float(finite.max())) if finite.size else 10.0
    bottom = min(0.1, max(FLOOR, 10.0 ** np.floor(np.log10(float(finite.min()))))) if finite.size else 0.1
    color = VARIABLE_COLORS.get(name, "#555555")
    if finite.size:
        ax.plot(*envelope(times, np.where(np.isfinite(ratio), np.maximum(ratio, bottom), np.nan), reduce_min=False),
                color=color, lw=1.1)
    marks = blended_transform_factory(ax.transData, ax.transAxes)
    for where, marker, label in ((np.isinf(ratio), "^", "bound 0"), (bad, "x", "NaN or inf")):
        if where.any():
            t = times[where]
            ax.plot(t, np.full(t.shape, 0.9), ls="none", marker=marker, ms=6, mew=1.4, color=ALARM, transform=marks,
                    label=label)
    ax.set_yscale("log")
    ax.set_ylim(bottom, top)
    ax.axhline(1.0, color=ALARM, lw=1.4)
    ends = blended_transform_factory(ax.transAxes, ax.transData)
    ax.text(0.995, 1.0, "1: the line to stay under" if scale == "tolerance" else "1: roundoff's bound", ha="right",
            va="bottom", fontsize=FONT, color=ALARM, transform=ends)
    ax.set_ylabel("|Δ| / tol", fontsize=FONT)
    ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=5))
    # The largest difference where the comparator judges (before the first spike difference), as its table.
    unit = unit_of(name)
    judged = diff if judged_until_ms is None else np.where(times < judged_until_ms, diff, np.nan)
    max_abs = float(np.nanmax(judged)) if np.isfinite(judged).any() and np.nanmax(judged) > 0 else 0.0
    at = f" at {float(times[int(np.nanargmax(judged))]):g} ms" if max_abs > 0 else ""
    ax.set_title(f"{name}: max |Δ| {max_abs:.3g} {unit}{at}", fontsize=FONT, loc="left")
    ax.set_title(tolerance_words(tol, scale), fontsize=FONT, loc="right", color=ALARM)
    if (np.isinf(ratio) | bad).any():
        ax.legend(fontsize=FONT, loc="lower right", framealpha=0.85)
    style(ax)
    ax.grid(alpha=0.25, which="major")
    return Difference(name, max_abs, float(np.nanmax(np.where(np.isnan(ratio), -np.inf, ratio)))
                      if (~np.isnan(ratio)).any() else 0.0, scale, int(bad.sum()))


def envelope(times: np.ndarray, values, reduce_min: bool = True):
    """At most 2*MAX_POINTS points: the min and max of each bucket, so spikes and peaks stay visible."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n <= MAX_POINTS:
        return times, values
    size = -(-n // MAX_POINTS)
    pad = (-n) % size
    v = np.concatenate([values, np.full(pad, np.nan)]).reshape(-1, size)
    t = np.concatenate([times, np.full(pad, times[-1])]).reshape(-1, size)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN buckets
        hi = np.nanmax(v, axis=1)
        lo = np.nanmin(v, axis=1) if reduce_min else hi
    return np.repeat(t[:, 0], 2), np.column_stack([lo, hi]).ravel()


def cut_off(axes, judged_until_ms: float | None, label_axis) -> None:
    """The dotted line where the traces stop being judged (the first spike difference), on every axis, and
    named once on ``label_axis``."""
    from matplotlib.transforms import blended_transform_factory

    if judged_until_ms is None:
        return
    for ax in axes:
        ax.axvline(judged_until_ms, color=ALARM, lw=1.2, ls=":")
    label_axis.text(judged_until_ms, 0.04, f" {judged_until_ms:g} ms: first spike difference, not judged after ",
                    color=ALARM, fontsize=FONT, ha="left", va="bottom",
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0},
                    transform=blended_transform_factory(label_axis.transData, label_axis.transAxes))


def png_bytes(fig, dpi: int = DPI) -> bytes:
    """PNG bytes with an adaptive palette (the HTML embeds them: a few colours cut the size threefold)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    FigureCanvasAgg(fig)
    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=dpi, facecolor="white")
    image = Image.open(io.BytesIO(raw.getvalue())).convert("RGB")
    small = io.BytesIO()
    image.quantize(colors=PALETTE_COLORS, method=Image.Quantize.MEDIANCUT).save(small, format="PNG", optimize=True)
    return small.getvalue()


def pixel_size(fig) -> tuple[int, int]:
    """The PNG's size in pixels, as Agg makes it (it truncates)."""
    width, height = fig.get_size_inches()
    return int(width * DPI + 1e-6), int(height * DPI + 1e-6)
