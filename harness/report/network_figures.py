"""The release report's figure of a network scenario: NEST and a candidate, neuron by neuron.

One PNG per scenario (the report folder's layout is one figure per scenario), four parts sharing the time
axis:

(a) a spike raster of every recorded neuron, NEST as '|' and the candidate as '.' on top, the populations
    separated and labelled;
(b) the population rates (Hz, per population, in bins of ``bin_ms``; NEST solid, the candidate dashed),
    titled "pool rates" where the scenario speaks of pools (the Wang 2002 decision network);
(c) the traces of one neuron, NEST and the candidate overlaid as ``harness.report.figures`` draws a single
    neuron: the first-diverging neuron, else the one with the largest difference, else the first recorded;
(d) an error map, neuron x time, of |candidate - NEST| of one variable (the first-diverging variable, else
    V_m) on a log colour scale; samples that are exactly equal have a colour of their own ("identical"),
    NaN or inf another; the tolerance is written on the colour bar (a line where it is nonzero, and the
    cells outside it outlined).

Wherever the network's traces stop being judged (the first spike difference anywhere: the comparator's
``judged_until_step``) a dotted vertical line marks it in every part. The drawing uses matplotlib's object
API, as ``figures`` does; the words for the report are computed in ``harness.report.data``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.report.figures import CANDIDATE_COLOR, DASHED, DPI, VARIABLE_COLORS, _envelope, _png_bytes, differences
from harness.traces.traces import Traces

WIDTH = 10.5  # inches, as the single-neuron figure (840 pixels at DPI 80)
MAP_COLUMNS = 600  # the error map's time buckets (about one per pixel); each shows the bucket's largest error
RATE_BIN_MS = 10.0
IDENTICAL_COLOR = "#e4e4e4"  # |difference| exactly 0: outside every log colour map
NONFINITE_COLOR = "#e00000"
CUTOFF_COLOR = "#b00020"
NEST_COLOR = VARIABLE_COLORS["V_m"]
POPULATION_COLORS = ("#1f4e9c", "#d62728", "#2a9d3a", "#8c3fbf", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22")
DEFAULT_MAP_VARIABLE = "V_m"


@dataclass
class NetworkFigure:
    png: bytes
    width: int
    height: int
    zero_difference: list = field(default_factory=list)  # recordables with |diff| 0 in every neuron, every sample
    nonzero_difference: list = field(default_factory=list)
    nonfinite: list = field(default_factory=list)
    neuron: str = ""  # whose traces part (c) shows
    neuron_why: str = ""  # "the first-diverging neuron", ...
    map_variable: str = ""  # what part (d) shows
    map_nonzero: list = field(default_factory=list)  # neurons whose map variable differs somewhere (finite)
    map_nonfinite: list = field(default_factory=list)  # neurons where it is NaN or inf on either side
    map_max: float = 0.0  # the largest finite |difference| of the map variable
    rates_title: str = "population rates"
    bin_ms: float = RATE_BIN_MS
    populations: list = field(default_factory=list)  # (name, recorded neurons), in the scenario's order
    mean_rates: list = field(default_factory=list)  # (name, NEST Hz, candidate Hz) over the whole run
    judged_until_ms: float | None = None
    is_network: bool = True

    @property
    def all_zero(self) -> bool:
        return not self.nonzero_difference and not self.nonfinite


def rates_title(scenario) -> str:
    """"pool rates" for a network described as pools (the decision network's selective and non-selective
    pools), "population rates" otherwise: the same panel, in the scenario's own words."""
    words = " ".join([scenario.name, scenario.description or "",
                      *(p.name for p in scenario.network.populations)]).lower()
    return "pool rates" if "pool" in words else "population rates"


def population_of(label: str) -> str:
    return label[:label.rindex("[")]


def focus(comparison, reference: Traces) -> tuple[str, str, str]:
    """(neuron, why, variable) the figure looks at: the first divergence's neuron and variable; else the
    neuron with the smallest headroom (a nonzero difference within the tolerance); else the first recorded
    neuron. The variable defaults to V_m (or the first recorded one) when no variable diverges first."""
    names = list(reference.variables)
    variable = DEFAULT_MAP_VARIABLE if DEFAULT_MAP_VARIABLE in names else names[0]
    divergence = comparison.first_divergence()
    if divergence is not None:
        what = divergence[0]
        if what in comparison.variables:
            v = comparison.variables[what]
            return v.neuron, "the first-diverging neuron", v.name
        return what.removesuffix(" spikes"), "the first-diverging neuron (its spikes)", variable
    differing = [v for v in comparison.variables.values() if v.headroom != np.inf]
    if differing:
        v = min(differing, key=lambda v: (v.headroom, -np.nan_to_num(v.max_rel, nan=np.inf)))
        return v.neuron, "the neuron with the smallest headroom", v.name
    return reference.neurons[0], "the first recorded neuron (no neuron diverges)", variable


def render_network_figure(reference: Traces, candidate: Traces, comparison, *, title: str, populations,
                          rates_title: str = "population rates", reference_label: str = "NEST",
                          candidate_label: str = "candidate") -> NetworkFigure:
    """The figure of one network scenario as PNG bytes; ``populations`` are the names in the scenario's order,
    ``comparison`` the live pair's (first divergence, tolerances, cut-off). Same grid on both sides."""
    from matplotlib.figure import Figure as MplFigure

    times = np.asarray(reference.times_ms, dtype=np.float64)
    labels = list(reference.neurons)
    groups = [(name, [i for i, label in enumerate(labels) if population_of(label) == name]) for name in populations]
    groups = [(name, members) for name, members in groups if members]
    # A column's population order is the recording order; rows follow it (the scenario's order, usually).
    order = [i for _, members in groups for i in members] + [i for i in range(len(labels))
                                                           if all(i not in m for _, m in groups)]
    row = np.empty(len(labels), dtype=np.int64)
    row[order] = np.arange(len(labels))
    neuron, why, variable = focus(comparison, reference)
    ref_one, cand_one = reference.neuron(neuron), candidate.neuron(neuron)
    names = list(reference.variables)
    trace_groups = [(key, members, unit) for key, members, unit in (
        ("V_m", [n for n in names if n == "V_m"], "V_m (mV)"),
        ("s", [n for n in names if n.startswith("s_")], "s (nS)"),
        ("I", [n for n in names if n.startswith("I_")], "I (pA)")) if members]
    diffs = {name: np.abs(np.asarray(candidate.variables[name], dtype=np.float64)
                          - np.asarray(reference.variables[name], dtype=np.float64)) for name in names}
    nonfinite = [n for n in names if not (np.isfinite(reference.variables[n]).all()
                                          and np.isfinite(candidate.variables[n]).all())]
    zero = [n for n in names if n not in nonfinite and not np.any(diffs[n] != 0)]
    nonzero = [n for n in names if n not in nonfinite and n not in zero]
    cutoff = comparison.ms(comparison.judged_until_step)
    n = len(labels)
    tall = float(np.clip(0.9 + 0.03 * n, 1.5, 3.4))
    heights = [tall, 1.5] + [1.5 if key == "V_m" else 1.15 for key, _, _ in trace_groups] + [1.15, tall]
    fig = MplFigure(figsize=(WIDTH, sum(heights) + 0.9), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(heights), 1, sharex=True, gridspec_kw={"height_ratios": heights})
    fig.suptitle(title, fontsize=11)

    _raster(axes[0], reference, candidate, labels, groups, row, reference_label, candidate_label, cutoff)
    bin_ms = rate_bin_ms(float(times[-1]))
    _rates(axes[1], reference, candidate, labels, groups, times[-1], bin_ms, rates_title, reference_label,
           candidate_label)
    trace_axes = axes[2:2 + len(trace_groups) + 1]
    divergence = comparison.first_divergence()
    first = f" (first divergence {divergence[0]} at {divergence[1]:g} ms)" if divergence else ""
    _neuron_traces(trace_axes, ref_one, cand_one, trace_groups, f"(c) {neuron}, {why}{first}", reference_label,
                   candidate_label)
    tolerance = comparison.variables[f"{neuron}.{variable}"].tolerance
    map_nonzero, map_nonfinite, map_max = _error_map(axes[-1], fig, reference, candidate, variable, labels, groups, row,
                                      tolerance, comparison.judged_until_step, candidate_label)
    if cutoff is not None:
        axes[-1].axvline(cutoff, color="white", lw=2.4)  # under the dotted line: visible on any colour of the map
        for ax in axes:
            ax.axvline(cutoff, color=CUTOFF_COLOR, lw=1.2, ls=":")
    axes[-1].set_xlabel("time (ms)", fontsize=9)
    axes[-1].set_xlim(0.0, float(times[-1]))
    png = _png_bytes(fig)
    return NetworkFigure(png, int(round(WIDTH * DPI)), int(round((sum(heights) + 0.9) * DPI)), zero, nonzero,
                         nonfinite, neuron, why, variable, [labels[i] for i in map_nonzero],
                         [labels[i] for i in map_nonfinite], map_max, rates_title,
                         bin_ms, [(name, len(members)) for name, members in groups],
                         [(name, *(_mean_rate(t, members, float(times[-1])) for t in (reference, candidate)))
                          for name, members in groups], cutoff)


def _population_axis(ax, labels, groups, row) -> None:
    """Neuron rows top to bottom, a line between populations; every neuron named when few, else each population."""
    n = len(labels)
    ax.set_ylim(n - 0.5, -0.5)
    if n <= 16:
        ax.set_yticks(np.arange(n), [labels[i] for i in np.argsort(row)], fontsize=7)
    else:
        centres = [float(np.mean(row[members])) for _, members in groups]
        ax.set_yticks(centres, [f"{name} ({len(members)})" for name, members in groups], fontsize=8)
    for _, members in groups[1:]:
        ax.axhline(float(row[members].min()) - 0.5, color="#555555", lw=0.8)


def _raster(ax, reference, candidate, labels, groups, row, reference_label, candidate_label, cutoff) -> None:
    n = len(labels)
    size = float(np.clip(160.0 / max(n, 1), 2.5, 9.0))
    # A spike is (step, neuron); those on one side only are what a dense raster would hide, so they get a
    # marker of their own on top.
    keys = [np.asarray(t.spike_steps, dtype=np.int64) * n + np.asarray(t.spike_neurons, dtype=np.int64)
            for t in (reference, candidate)]
    for traces, own, other, marker, color, ms, label, only in (
            (reference, keys[0], keys[1], "|", NEST_COLOR, size, reference_label, "x"),
            (candidate, keys[1], keys[0], ".", CANDIDATE_COLOR, size * 0.5, candidate_label, "+")):
        t = np.asarray(traces.spike_times_ms, dtype=np.float64)
        y = row[np.asarray(traces.spike_neurons, dtype=np.int64)]
        ax.plot(t, y, ls="none", marker=marker, ms=max(ms, 2.0), mew=1.0, color=color,
                label=f"{label}: {len(t)} spikes")
        alone = ~np.isin(own, other)
        if alone.any():
            ax.plot(t[alone], y[alone], ls="none", marker=only, ms=6, mew=1.4, color=CUTOFF_COLOR, zorder=5,
                    label=f"only in {label}: {int(alone.sum())}")
    if cutoff is not None:  # the line itself is drawn on every part by the caller
        ax.plot([], [], color=CUTOFF_COLOR, lw=1.2, ls=":", label=f"network cut-off {cutoff:g} ms:\nfirst spike "
                "difference;\nlater samples not judged")
    _population_axis(ax, labels, groups, row)
    ax.set_title("(a) spike raster", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.2, axis="x")


def rate_bin_ms(t_end: float) -> float:
    """10 ms bins; a run shorter than 5 bins gets 5 bins, one longer than 2 s 200 bins."""
    return RATE_BIN_MS if 5 * RATE_BIN_MS <= t_end <= 200 * RATE_BIN_MS else t_end / (5 if t_end < 50 else 200)


def population_rates(traces: Traces, columns, t_end: float, bin_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """(bin edges in ms, Hz): the spikes of the recorded ``columns`` per bin, per neuron, per second."""
    edges = np.append(np.arange(0.0, t_end, bin_ms), t_end)  # the last bin may be shorter
    t = np.asarray(traces.spike_times_ms, dtype=np.float64)[np.isin(traces.spike_neurons, columns)]
    counts, _ = np.histogram(t, bins=edges)
    return edges, counts / (len(columns) * np.diff(edges) * 1e-3)


def _mean_rate(traces: Traces, columns, t_end: float) -> float:
    return float(np.isin(traces.spike_neurons, columns).sum()) / (len(columns) * t_end * 1e-3)


def _rates(ax, reference, candidate, labels, groups, t_end, bin_ms, title, reference_label, candidate_label):
    for k, (name, members) in enumerate(groups):
        color = POPULATION_COLORS[k % len(POPULATION_COLORS)]
        edges, ref_rate = population_rates(reference, members, float(t_end), bin_ms)
        _, cand_rate = population_rates(candidate, members, float(t_end), bin_ms)
        ax.stairs(ref_rate, edges, baseline=None, color=color, lw=1.4, label=f"{name} ({len(members)})")
        ax.stairs(cand_rate, edges, baseline=None, color=color, lw=1.0, ls=DASHED)
    ax.plot([], [], color="#555555", lw=1.4, label=reference_label)
    ax.plot([], [], color="#555555", lw=1.0, ls=DASHED, label=candidate_label)
    ax.set_ylabel("rate (Hz)", fontsize=9)
    ax.set_title(f"(b) {title}, {bin_ms:g} ms bins, per recorded neuron", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25)


def _neuron_traces(axes, reference, candidate, groups, title, reference_label, candidate_label) -> None:
    """One neuron as the single-neuron figure draws it: V_m with both spike trains, s_*, I_*, then |difference|."""
    from matplotlib.transforms import blended_transform_factory

    times = np.asarray(reference.times_ms, dtype=np.float64)
    for ax, (key, members, unit) in zip(axes, groups):
        for name in members:
            color = VARIABLE_COLORS.get(name, "k")
            ax.plot(*_envelope(times, reference.variables[name]), color=color, lw=1.2,
                    label=name if key != "V_m" else reference_label)
            ax.plot(*_envelope(times, candidate.variables[name]), color=CANDIDATE_COLOR if key == "V_m" else "k",
                    lw=0.9, ls=DASHED, label=candidate_label if key == "V_m" else None)
        if key == "V_m":
            low, high = ax.get_ylim()
            ax.set_ylim(low, high + 0.3 * (high - low))  # room for the two rows of spike markers
            marks = blended_transform_factory(ax.transData, ax.transAxes)
            for traces, y, marker, color, ms in ((reference, 0.93, "|", NEST_COLOR, 7), (candidate, 0.84, "v",
                                                                                         CANDIDATE_COLOR, 3.5)):
                t = np.asarray(traces.spike_times_ms, dtype=np.float64)
                ax.plot(t, np.full(t.shape, y), ls="none", marker=marker, ms=ms, mew=1.3, color=color,
                        transform=marks)
            ax.set_title(title, fontsize=9, loc="left")
        ax.set_ylabel(unit, fontsize=9)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25)
    ax = axes[len(groups)]
    ax.set_ylabel("|diff|", fontsize=9)
    ax.tick_params(labelsize=8)
    drawn = False
    for name, d in differences(reference, candidate).items():
        d = np.where(np.isfinite(d) & (d > 0), d, np.nan)  # zeros have no place on a log axis
        if np.isfinite(d).any():
            ax.plot(*_envelope(times, d, reduce_min=False), color=VARIABLE_COLORS.get(name, "k"), lw=1.0, label=name)
            drawn = True
    if drawn:
        ax.set_yscale("log")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0)
        ax.grid(alpha=0.25, which="both")
    else:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "|candidate - NEST| = 0 exactly for every variable of this neuron (or NaN/inf only)",
                transform=ax.transAxes, ha="center", va="center", fontsize=9, color="#1b5e20")


def _buckets(values: np.ndarray, size: int, reduce) -> np.ndarray:
    """(samples, neurons) -> (buckets, neurons), ``reduce`` over each run of ``size`` samples."""
    pad = (-len(values)) % size
    if pad:
        values = np.concatenate([values, np.repeat(values[-1:], pad, axis=0)])
    return reduce(values.reshape(-1, size, values.shape[1]), axis=1)


def _error_map(ax, fig, reference, candidate, variable, labels, groups, row, tolerance, judged_until_step,
               candidate_label):
    """|candidate - NEST| of ``variable``, neurons x time buckets (each the bucket's largest); returns the
    columns whose finite difference is nonzero somewhere, those with a NaN or inf, and the largest finite
    difference."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ref = np.asarray(reference.variables[variable], dtype=np.float64)
    cand = np.asarray(candidate.variables[variable], dtype=np.float64)
    bad = ~(np.isfinite(ref) & np.isfinite(cand))
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(bad, 0.0, np.abs(cand - ref))
        outside = diff > tolerance.abs + tolerance.rel * np.abs(np.where(bad, 0.0, ref))
    if judged_until_step is not None:  # after the cut-off nothing is held to the tolerance
        outside &= (np.asarray(reference.steps) < judged_until_step)[:, None]
    steps, n = ref.shape[0], ref.shape[1]
    size = max(1, -(-steps // MAP_COLUMNS))
    t_end = float(reference.times_ms[-1]) * (-(-steps // size) * size) / steps
    grid = [a[:, row.argsort()].T for a in (_buckets(diff, size, np.max), _buckets(bad, size, np.any),
                                           _buckets(outside, size, np.any))]
    cells, nonfinite, violated = grid
    extent = (0.0, t_end, n - 0.5, -0.5)
    positive = cells[cells > 0]
    ax.set_facecolor(IDENTICAL_COLOR)
    handles = [Patch(color=IDENTICAL_COLOR, label="identical (0)")]
    if positive.size:
        low, high = float(positive.min()), float(positive.max())
        if tolerance.abs > 0:
            low, high = min(low, tolerance.abs), max(high, tolerance.abs)
        # Whole decades, one colour each: a palette PNG keeps every one of them, and a decade is what one
        # reads off an error (1e-15: the last bits; 1e-3: a wrong model).
        low, high = 10.0 ** np.floor(np.log10(low)), 10.0 ** np.ceil(np.log10(high))
        high = max(high, low * 10)
        decades = int(round(np.log10(high / low)))
        cmap = colormaps["viridis"].resampled(decades).with_extremes(bad=IDENTICAL_COLOR)
        norm = LogNorm(vmin=low, vmax=high)
        image = ax.imshow(np.ma.masked_where(cells <= 0, cells), cmap=cmap, norm=norm, aspect="auto",
                          interpolation="nearest", extent=extent)
        bar = fig.colorbar(image, cax=ax.inset_axes([1.012, 0.0, 0.018, 1.0]))
        bar.ax.tick_params(labelsize=7)
        if tolerance.abs > 0:
            bar.ax.axhline(tolerance.abs, color=CUTOFF_COLOR, lw=1.5)
        if violated.any() and (tolerance.abs > 0 or tolerance.rel > 0):
            centres = (np.arange(violated.shape[1]) + 0.5) * (t_end / violated.shape[1])
            ax.contour(centres, np.arange(n), violated.astype(float), levels=[0.5], colors=CUTOFF_COLOR,
                       linewidths=0.8)
    elif not nonfinite.any():
        ax.text(0.5, 0.5, f"|{candidate_label} - NEST| of {variable} = 0 exactly in every neuron at every sample",
                transform=ax.transAxes, ha="center", va="center", fontsize=9, color="#1b5e20")
    if tolerance.abs > 0 or tolerance.rel > 0:
        tol_text = (f"tolerance: abs {tolerance.abs:g}\n+ rel {tolerance.rel:g}·|NEST|"
                    + ("\n(the red line on the bar)" if tolerance.abs > 0 else "")
                    + ";\ncells outside it\noutlined red")
    else:
        tol_text = "tolerance 0 (exact):\nevery coloured cell\nis outside it"
    handles.append(Line2D([], [], color=CUTOFF_COLOR if tolerance.abs > 0 else "none", lw=1.5, label=tol_text))
    if nonfinite.any():
        overlay = np.zeros(nonfinite.shape + (4,))
        overlay[nonfinite] = (0.88, 0.0, 0.0, 1.0)
        ax.imshow(overlay, aspect="auto", interpolation="nearest", extent=extent)
        handles.append(Patch(color=NONFINITE_COLOR, label="NaN or inf"))
    _population_axis(ax, labels, groups, row)
    ax.set_title(f"(d) error map: |{candidate_label} - NEST| of {variable} per neuron (largest per "
                 f"{size * float(reference.times_ms[-1]) / steps:g} ms), log colour scale", fontsize=9, loc="left")
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.1 if positive.size else 1.005, 1.0),
              borderaxespad=0.0)
    ax.tick_params(labelsize=8)
    return (np.flatnonzero((diff > 0).any(axis=0)).tolist(), np.flatnonzero(bad.any(axis=0)).tolist(),
            float(positive.max()) if positive.size else 0.0)
