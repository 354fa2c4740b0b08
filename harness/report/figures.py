"""The release report's figure of one scenario: its inputs, NEST and a candidate overlaid, and how far apart
they are against the tolerance.

Panels, top to bottom, sharing the time axis (``harness.report.panels`` draws the shared ones):

* the input raster: the spike inputs' arrivals per receptor (AMPA, GABA, each NMDA port), at the sample that
  first shows their jump, and the stimulus current I_stim (pA) each step integrates with;
* V_m (mV) with V_th and V_reset drawn as lines and both spike trains as markers; s_AMPA and s_GABA (nS);
  s_NMDA (nS, NEST's weighted sum over the ports) on its own axis; each current (pA) on its own axis. A
  variable that is 0 at every sample on both sides gets no panel (the title says which);
* per variable whose difference is not identically 0, |candidate - NEST| / (abs + rel*|NEST|) on a log
  axis with the line at 1 to stay under (a zero tolerance measured against the roundoff bound instead).
  A variable that is identical at every sample gets no difference panel: its trace panel says so in words.

``build_figure`` returns the matplotlib figure before it is encoded (the tests count its panels by their
labels); ``render_figure`` returns the PNG with what the report's words need.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.judge.tolerances import Tolerance
from harness.report.panels import (
    CANDIDATE_COLOR,
    DASHED,
    DPI,
    FONT,
    TITLE_FONT,
    VARIABLE_COLORS,
    WIDTH,
    cut_off,
    draw_difference,
    draw_traces,
    draw_v_m_marks,
    pixel_size,
    png_bytes,
    style,
    trace_layout,
)
from harness.traces.traces import Traces

RECEPTOR_COLORS = {"AMPA": VARIABLE_COLORS["s_AMPA"], "GABA": VARIABLE_COLORS["s_GABA"],
                   "NMDA": VARIABLE_COLORS["s_NMDA"]}
MAX_PORT_ROWS = 6  # more NMDA ports than this share one raster row
MAX_MULTIPLICITY_LABELS = 40  # "x2" next to an arrival of several spikes, where a row has this few arrivals
DIFFERENCE_HEIGHT = 0.95  # inches per difference panel
SUBTITLE_CHARACTERS = 90  # a line of the title at 10 pt across 7.5 in


@dataclass
class Figure:
    png: bytes
    width: int
    height: int
    zero_difference: list = field(default_factory=list)  # variables whose |difference| is 0 everywhere
    nonzero_difference: list = field(default_factory=list)
    nonfinite: list = field(default_factory=list)  # variables where either side has NaN or inf
    flat: list = field(default_factory=list)  # variables 0 at every sample on both sides: no trace panel
    panels: list = field(default_factory=list)  # the axes' labels, top to bottom ("inputs", "V_m", "difference:V_m")
    scales: dict = field(default_factory=dict)  # variable -> "tolerance" | "roundoff" of its difference panel

    @property
    def all_zero(self) -> bool:
        return not self.nonzero_difference and not self.nonfinite

    @property
    def roundoff_scaled(self) -> list:
        return [name for name, scale in self.scales.items() if scale == "roundoff"]


def differences(reference: Traces, candidate: Traces) -> dict:
    """|candidate - reference| per variable, float64, on the full trace (NaN where either side is NaN)."""
    return {name: np.abs(np.asarray(candidate.variables[name], dtype=np.float64)
                         - np.asarray(values, dtype=np.float64))
            for name, values in reference.variables.items() if name in candidate.variables}


def classify(reference: Traces, candidate: Traces, names) -> tuple[list, list, list]:
    """(zero, nonzero, nonfinite): identical at every sample; differing; NaN or inf on either side somewhere."""
    diffs = differences(reference, candidate)
    nonfinite = [n for n in names if not (np.isfinite(reference.variables[n]).all()
                                          and np.isfinite(candidate.variables[n]).all())]
    zero = [n for n in names if n not in nonfinite and not np.any(diffs[n] != 0)]
    return zero, [n for n in names if n not in nonfinite and n not in zero], nonfinite


def render_figure(reference: Traces, candidate: Traces, *, title: str, reference_label: str = "NEST",
                  candidate_label: str = "candidate", judged_until_ms: float | None = None, scenario=None,
                  comparison=None) -> Figure:
    """The figure of one scenario as PNG bytes. Both traces must be on the same grid (the caller checks)."""
    fig, facts = build_figure(reference, candidate, title=title, reference_label=reference_label,
                              candidate_label=candidate_label, judged_until_ms=judged_until_ms, scenario=scenario,
                              comparison=comparison)
    facts.png = png_bytes(fig)
    return facts


def build_figure(reference: Traces, candidate: Traces, *, title: str, reference_label: str = "NEST",
                 candidate_label: str = "candidate", judged_until_ms: float | None = None, scenario=None,
                 comparison=None):
    """(matplotlib Figure, Figure without its PNG). ``scenario`` gives the input raster and V_th/V_reset;
    ``comparison`` (the live pair's) the tolerance of each variable: without it the tolerance is exact's, 0."""
    from matplotlib.figure import Figure as MplFigure

    times = np.asarray(reference.times_ms, dtype=np.float64)
    names = list(reference.variables)
    zero, nonzero, nonfinite = classify(reference, candidate, names)
    panels, flat = trace_layout(names, reference, candidate)
    rows = input_rows(scenario) if scenario is not None else []
    stimulus = stimulus_current(scenario) if scenario is not None else None
    differing = [n for n in names if n in nonzero or n in nonfinite]
    layout = ([("inputs", 0.45 + 0.24 * len(rows))] if rows else []) + ([("stimulus", 0.85)] if stimulus is not None
                                                                        else [])
    layout += [(p.key, p.height) for p in panels] + [(f"difference:{n}", DIFFERENCE_HEIGHT) for n in differing]
    if not layout:
        layout = [("note", 0.6)]
    heights = [h for _, h in layout]
    words = subtitle(zero, nonzero, nonfinite, flat)
    fig = MplFigure(figsize=(WIDTH, sum(heights) + 0.95 + 0.17 * words.count("\n")), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(layout), 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, (label, _) in zip(axes, layout):
        ax.set_label(label)
    by_label = dict(zip((label for label, _ in layout), axes))
    fig.suptitle(f"{title}\n{words}", fontsize=TITLE_FONT)

    if rows:
        draw_input_raster(by_label["inputs"], rows)
    if stimulus is not None:
        ax = by_label["stimulus"]
        ax.stairs(stimulus[1], stimulus[0], baseline=None, color="#7f4f00", lw=1.3)
        ax.set_ylabel("I_stim (pA)", fontsize=FONT)
        ax.set_title("stimulus current each step integrates with", fontsize=FONT, loc="left")
        style(ax)
    for panel in panels:
        ax = by_label[panel.key]
        draw_traces(ax, times, reference, candidate, panel, zero, nonfinite)
        if panel.key == "V_m":
            params = scenario.params if scenario is not None else {}
            draw_v_m_marks(ax, reference, candidate, params.get("V_th"), params.get("V_reset"))
    scales = {}
    for name in differing:
        tol = tolerance_of(comparison, name)
        done = draw_difference(by_label[f"difference:{name}"], times, name, reference.variables[name],
                               candidate.variables[name], tol, judged_until_ms)
        scales[name] = done.scale
    if "note" in by_label:
        by_label["note"].set_axis_off()
        by_label["note"].text(0.5, 0.5, "nothing recorded", ha="center", va="center", fontsize=FONT)
    cut_off(axes, judged_until_ms, by_label.get("V_m", axes[0]))
    fig.legend(handles=legend_handles(reference_label, candidate_label), loc="outside lower center", ncols=2,
               fontsize=FONT, frameon=False)
    axes[-1].set_xlabel("time (ms)", fontsize=FONT)
    axes[-1].set_xlim(0.0, float(times[-1]) if len(times) else 1.0)
    width, height = pixel_size(fig)
    return fig, Figure(b"", width, height, zero, nonzero, nonfinite, flat, [label for label, _ in layout], scales)


def tolerance_of(comparison, name: str) -> Tolerance:
    if comparison is not None and name in comparison.variables:
        return comparison.variables[name].tolerance
    return Tolerance(0.0, 0.0)


def subtitle(zero: list, nonzero: list, nonfinite: list, flat: list) -> str:
    """What differs and what is identical, in lines that fit the figure's width."""
    import textwrap

    if not nonzero and not nonfinite:
        parts = ["bit-identical: |candidate − NEST| = 0 for every variable at every sample"]
    else:
        parts = [p for p in (f"differs: {', '.join(nonzero)}" if nonzero else "",
                             f"NaN or inf: {', '.join(nonfinite)}" if nonfinite else "",
                             f"identical: {', '.join(n for n in zero if n not in flat)}"
                             if set(zero) - set(flat) else "") if p]
    if flat:
        parts.append(f"0 throughout on both sides (identical), so no panel: {', '.join(flat)}")
    return "\n".join(textwrap.fill(p, SUBTITLE_CHARACTERS) for p in parts)


def legend_handles(reference_label: str, candidate_label: str) -> list:
    from matplotlib.lines import Line2D

    return [Line2D([], [], color="#555555", lw=1.5, label=f"{reference_label} (solid)"),
            Line2D([], [], color=CANDIDATE_COLOR, lw=1.0, ls=DASHED, label=f"{candidate_label} (dashed)"),
            Line2D([], [], color=VARIABLE_COLORS["V_m"], ls="none", marker="|", ms=9, mew=1.5,
                   label=f"{reference_label} spikes"),
            Line2D([], [], color=CANDIDATE_COLOR, ls="none", marker="v", ms=4.5, label=f"{candidate_label} spikes")]


@dataclass
class InputRow:
    label: str
    receptor: str
    times_ms: np.ndarray  # the sample that first shows the jump: the end of the step whose slot holds it
    spikes: np.ndarray  # spikes arriving there (multiplicities summed)


def input_rows(scenario) -> list:
    """The spike inputs per receptor: AMPA, GABA, then each NMDA port (its own row, with its weight; one row
    for all when there are more than ``MAX_PORT_ROWS``), from the generators' arrival slots."""
    from harness.backends.python import generator_events
    from harness.grid import steps_to_ms
    from harness.scenario.types import SpikeInput

    spike_inputs = [inp for inp in scenario.inputs if isinstance(inp, SpikeInput)]
    nmda = [inp for inp in spike_inputs if inp.receptor == "NMDA"]
    groups = [(r, [i for i in spike_inputs if i.receptor == r]) for r in ("AMPA", "GABA")]
    if len(nmda) <= MAX_PORT_ROWS:
        groups += [("NMDA", [inp]) for inp in nmda]
    elif nmda:
        groups.append(("NMDA", nmda))
    rows = []
    for receptor, inputs in groups:
        if not inputs:
            continue
        slots, counts = [], []
        for inp in inputs:
            slot, _, _ = generator_events(inp, scenario.n_steps)
            slots.append(slot)
            counts.append(np.asarray(inp.multiplicities, dtype=np.int64))
        slot, count = np.concatenate(slots), np.concatenate(counts)
        keep = slot < scenario.n_steps  # a later arrival never shows in the run
        unique, where = np.unique(slot[keep], return_inverse=True)
        spikes = np.bincount(where, weights=count[keep], minlength=unique.size).astype(np.int64)
        weights = sorted({float(i.weight) for i in inputs})
        if receptor == "NMDA" and len(inputs) == 1:
            label = f"NMDA {nmda.index(inputs[0]) + 1}: {weights[0]:g} nS"
        elif receptor == "NMDA":
            label = f"NMDA, {len(inputs)} ports"
        else:
            label = f"{receptor} {weights[0]:g} nS" if len(weights) == 1 else receptor
        rows.append(InputRow(label, receptor, steps_to_ms(unique + 1, scenario.tics_per_step), spikes))
    return rows


def stimulus_current(scenario):
    """(edges in ms, pA) of the stimulus current each step integrates with, or None without current inputs.
    The current sent in step k is felt from step k+1 on (NEST's CurrentEvent timing, harness.model.neuron)."""
    from harness.backends.python import input_slots
    from harness.grid import steps_to_ms
    from harness.scenario.types import CurrentInput

    if not any(isinstance(inp, CurrentInput) for inp in scenario.inputs):
        return None
    current = np.asarray(input_slots(scenario)["current"], dtype=np.float64)
    edges = steps_to_ms(np.arange(scenario.n_steps + 1), scenario.tics_per_step)
    return np.asarray(edges, dtype=np.float64), np.concatenate([[0.0], current[:-1]])


def draw_input_raster(ax, rows: list) -> None:
    for y, row in enumerate(rows):
        ax.plot(row.times_ms, np.full(row.times_ms.shape, y), ls="none", marker="|", ms=10, mew=1.6,
                color=RECEPTOR_COLORS[row.receptor])
        several = row.spikes > 1
        if several.any() and row.times_ms.size <= MAX_MULTIPLICITY_LABELS:
            for t, m in zip(row.times_ms[several], row.spikes[several]):
                ax.annotate(f"×{m}", (t, y), xytext=(4, 0), textcoords="offset points", fontsize=FONT, ha="left",
                            va="center", color="#333333")
    ax.set_yticks(np.arange(len(rows)), [row.label for row in rows], fontsize=FONT)
    ax.set_ylim(len(rows) - 0.5, -0.6)
    ax.set_title("spike inputs per receptor (at the sample that first shows the jump)", fontsize=FONT, loc="left")
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.2, axis="x")
