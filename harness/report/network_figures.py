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

from harness.report.figures import DIFFERENCE_HEIGHT, classify
from harness.report.panels import (
    DASHED,
    DPI,
    FONT,
    TITLE_FONT,
    VARIABLE_COLORS,
    WIDTH,
    draw_difference,
    draw_traces,
    draw_v_m_marks,
    pixel_size,
    png_bytes,
    style,
    trace_layout,
    unit_of,
)
from harness.traces.traces import Traces

MAP_COLUMNS = 600  # the error map's time buckets (about one per pixel); each shows the bucket's largest error
RATE_BIN_MS = 10.0
IDENTICAL_COLOR = "#e4e4e4"  # |difference| exactly 0: outside every log colour map
NONFINITE_COLOR = "#e00000"
CUTOFF_COLOR = "#b00020"
NEST_COLOR = VARIABLE_COLORS["V_m"]
RASTER_CANDIDATE_COLOR = "#f28e2b"  # orange dots on NEST's blue bars: a dense raster shows both
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
    panels: list = field(default_factory=list)  # the axes' labels, top to bottom

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
                          candidate_label: str = "candidate", scenario=None) -> NetworkFigure:
    """The figure of one network scenario as PNG bytes; ``populations`` are the names in the scenario's order,
    ``comparison`` the live pair's (first divergence, tolerances, cut-off); ``scenario``, when given, the
    V_th and V_reset of the neuron in part (c). Same grid on both sides."""
    fig, facts = build_network_figure(reference, candidate, comparison, title=title, populations=populations,
                                      rates_title=rates_title, reference_label=reference_label,
                                      candidate_label=candidate_label, scenario=scenario)
    facts.png = png_bytes(fig)
    return facts


def build_network_figure(reference: Traces, candidate: Traces, comparison, *, title: str, populations,
                         rates_title: str = "population rates", reference_label: str = "NEST",
                         candidate_label: str = "candidate", scenario=None):
    """(matplotlib Figure, NetworkFigure without its PNG); the axes are labelled "raster", "rates", the trace
    panels' keys, "difference:<variable>" and "error map"."""
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
    zero, nonzero, nonfinite = classify(reference, candidate, names)
    panels, _ = trace_layout(names, ref_one, cand_one)
    zero_one, nonzero_one, nonfinite_one = classify(ref_one, cand_one, names)
    differing = [n for n in names if n in nonzero_one or n in nonfinite_one]
    cutoff = comparison.ms(comparison.judged_until_step)
    n = len(labels)
    # Every neuron named (9 pt) when there are few, so its row needs the room of a line of text.
    tall = float(np.clip(0.4 + 0.17 * n, 1.5, 3.2)) if n <= 16 else float(np.clip(0.9 + 0.03 * n, 1.5, 3.4))
    layout = ([("raster", tall), ("rates", 1.4)] + [(p.key, p.height) for p in panels]
              + [(f"difference:{name}", DIFFERENCE_HEIGHT) for name in differing] + [("error map", tall)])
    heights = [h for _, h in layout]
    fig = MplFigure(figsize=(WIDTH, sum(heights) + 0.9), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(layout), 1, sharex=True, gridspec_kw={"height_ratios": heights})
    for ax, (label, _) in zip(axes, layout):
        ax.set_label(label)
    by_label = dict(zip((label for label, _ in layout), axes))
    fig.suptitle(title, fontsize=TITLE_FONT)

    key = _raster(by_label["raster"], reference, candidate, labels, groups, row, reference_label, candidate_label,
                  cutoff)
    bin_ms = rate_bin_ms(float(times[-1]))
    _rates(by_label["rates"], reference, candidate, labels, groups, times[-1], bin_ms, rates_title, reference_label,
           candidate_label)
    for k, panel in enumerate(panels):
        ax = by_label[panel.key]
        draw_traces(ax, times, ref_one, cand_one, panel, zero_one, nonfinite_one)
        if panel.key == "V_m":
            draw_v_m_marks(ax, ref_one, cand_one, *_thresholds(scenario, neuron))
        if k == 0:
            ax.set_title(f"(c) {neuron}, {why}", fontsize=FONT, loc="left")
    for name in differing:
        draw_difference(by_label[f"difference:{name}"], times, name, ref_one.variables[name],
                        cand_one.variables[name], comparison.variables[f"{neuron}.{name}"].tolerance, cutoff)
    tolerance = comparison.variables[f"{neuron}.{variable}"].tolerance
    map_nonzero, map_nonfinite, map_max, map_key = _error_map(by_label["error map"], fig, reference, candidate,
                                                              variable, labels, groups, row, tolerance,
                                                              comparison.judged_until_step, candidate_label)
    # One key for the whole figure, under it: legends beside the parts would narrow every part.
    fig.legend(handles=key + _line_key(reference_label, candidate_label) + map_key, loc="outside lower center",
               ncols=2, fontsize=FONT, frameon=False)
    if cutoff is not None:
        axes[-1].axvline(cutoff, color="white", lw=2.4)  # under the dotted line: visible on any colour of the map
        for ax in axes:
            ax.axvline(cutoff, color=CUTOFF_COLOR, lw=1.2, ls=":")
    axes[-1].set_xlabel("time (ms)", fontsize=FONT)
    axes[-1].set_xlim(0.0, float(times[-1]))
    width, height = pixel_size(fig)
    facts = NetworkFigure(b"", width, height, zero, nonzero, nonfinite, neuron, why, variable,
                          [labels[i] for i in map_nonzero], [labels[i] for i in map_nonfinite], map_max, rates_title,
                          bin_ms, [(name, len(members)) for name, members in groups],
                          [(name, *(_mean_rate(t, members, float(times[-1])) for t in (reference, candidate)))
                           for name, members in groups], cutoff, panels=[label for label, _ in layout])
    return fig, facts


def _thresholds(scenario, neuron: str) -> tuple:
    """(V_th, V_reset) of one recorded neuron ("E[2]"), or (None, None) without the scenario."""
    if scenario is None or scenario.network is None:
        return None, None
    network = scenario.network
    name, index = population_of(neuron), int(neuron[neuron.rindex("[") + 1:-1])
    (spec,) = [p for p in network.populations if p.name == name]
    return tuple(float(network.params[key][spec.start + index]) for key in ("V_th", "V_reset"))


def _population_axis(ax, labels, groups, row) -> None:
    """Neuron rows top to bottom, a line between populations; every neuron named when few, else each population."""
    n = len(labels)
    ax.set_ylim(n - 0.5, -0.5)
    if n <= 16:
        ax.set_yticks(np.arange(n), [labels[i] for i in np.argsort(row)], fontsize=FONT)
    else:
        centres = [float(np.mean(row[members])) for _, members in groups]
        ax.set_yticks(centres, [f"{name} ({len(members)})" for name, members in groups], fontsize=FONT)
    for _, members in groups[1:]:
        ax.axhline(float(row[members].min()) - 0.5, color="#555555", lw=0.8)


def _raster(ax, reference, candidate, labels, groups, row, reference_label, candidate_label, cutoff) -> None:
    n = len(labels)
    size = float(np.clip(160.0 / max(n, 1), 2.5, 9.0))
    # A spike is (step, neuron); those on one side only are what a dense raster would hide, so they get a
    # marker of their own on top.
    keys = [np.asarray(t.spike_steps, dtype=np.int64) * n + np.asarray(t.spike_neurons, dtype=np.int64)
            for t in (reference, candidate)]
    handles = []
    for traces, own, other, marker, color, ms, label, only in (
            (reference, keys[0], keys[1], "|", NEST_COLOR, size, reference_label, "x"),
            (candidate, keys[1], keys[0], ".", RASTER_CANDIDATE_COLOR, size * 0.5, candidate_label, "+")):
        t = np.asarray(traces.spike_times_ms, dtype=np.float64)
        y = row[np.asarray(traces.spike_neurons, dtype=np.int64)]
        handles += ax.plot(t, y, ls="none", marker=marker, ms=max(ms, 2.0), mew=1.0, color=color,
                           label=f"(a) {label}: {len(t)} spikes")
        alone = ~np.isin(own, other)
        if alone.any():
            handles += ax.plot(t[alone], y[alone], ls="none", marker=only, ms=6, mew=1.4, color=CUTOFF_COLOR,
                               zorder=5, label=f"(a) only in {label}: {int(alone.sum())}")
    if cutoff is not None:  # the line itself is drawn on every part by the caller
        handles += ax.plot([], [], color=CUTOFF_COLOR, lw=1.2, ls=":", label=f"network cut-off {cutoff:g} ms: the "
                           "first spike\ndifference; later samples not judged")
    _population_axis(ax, labels, groups, row)
    ax.set_title("(a) spike raster", fontsize=FONT, loc="left")
    style(ax, grid=False)
    ax.grid(alpha=0.2, axis="x")
    return handles


def _line_key(reference_label: str, candidate_label: str) -> list:
    from matplotlib.lines import Line2D

    return [Line2D([], [], color="#555555", lw=1.4, label=f"(b), (c) {reference_label}: solid"),
            Line2D([], [], color="#111111", lw=1.0, ls=DASHED, label=f"(b), (c) {candidate_label}: dashed")]


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
    ax.set_ylabel("rate (Hz)", fontsize=FONT)
    ax.set_ylim(0.0, max(ax.get_ylim()[1], 1.0) * 1.35)  # room for the populations' key
    ax.set_title(f"(b) {title}, {bin_ms:g} ms bins, per recorded neuron", fontsize=FONT, loc="left")
    ax.legend(fontsize=FONT, loc="upper right", ncols=min(len(groups), 4), framealpha=0.85)
    style(ax)


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
    handles = [Patch(color=IDENTICAL_COLOR, label="(d) identical (0)")]
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
        bar.ax.tick_params(labelsize=FONT)
        bar.set_label(unit_of(variable), fontsize=FONT, labelpad=1)
        if tolerance.abs > 0:
            bar.ax.axhline(tolerance.abs, color=CUTOFF_COLOR, lw=1.5)
        if violated.any() and (tolerance.abs > 0 or tolerance.rel > 0):
            centres = (np.arange(violated.shape[1]) + 0.5) * (t_end / violated.shape[1])
            ax.contour(centres, np.arange(n), violated.astype(float), levels=[0.5], colors=CUTOFF_COLOR,
                       linewidths=0.8)
    elif not nonfinite.any():
        ax.text(0.5, 0.5, f"|{candidate_label} − NEST| of {variable} = 0 exactly in every neuron at every sample",
                transform=ax.transAxes, ha="center", va="center", fontsize=FONT, color="#1b5e20")
    if tolerance.abs > 0 or tolerance.rel > 0:
        tol_text = (f"(d) tolerance abs {tolerance.abs:g} + rel {tolerance.rel:g}·|NEST|"
                    + (" (the red line\non the bar)" if tolerance.abs > 0 else "") + "; cells outside it outlined red")
    else:
        tol_text = "(d) tolerance 0 (exact): every coloured cell\nis outside it"
    handles.append(Line2D([], [], color=CUTOFF_COLOR if tolerance.abs > 0 else "none", lw=1.5, label=tol_text))
    if nonfinite.any():
        overlay = np.zeros(nonfinite.shape + (4,))
        overlay[nonfinite] = (0.88, 0.0, 0.0, 1.0)
        ax.imshow(overlay, aspect="auto", interpolation="nearest", extent=extent)
        handles.append(Patch(color=NONFINITE_COLOR, label="(d) NaN or inf"))
    _population_axis(ax, labels, groups, row)
    ax.set_title(f"(d) error map: |{candidate_label} − NEST| of {variable} ({unit_of(variable)}) per neuron, "
                 f"largest per {size * float(reference.times_ms[-1]) / steps:g} ms", fontsize=FONT, loc="left")
    style(ax, grid=False)
    return (np.flatnonzero((diff > 0).any(axis=0)).tolist(), np.flatnonzero(bad.any(axis=0)).tolist(),
            float(positive.max()) if positive.size else 0.0, handles)
