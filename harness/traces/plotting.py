"""Quick figures for notebooks: ``Traces.plot()`` and ``Comparison.plot()`` (the release report draws its
own, ``harness.report``).

One axis per recorded variable with its own unit (s_NMDA never shares an axis with s_AMPA, nor I_NMDA
with I_AMPA), spikes marked on V_m. A comparison adds, per variable, |candidate - reference| in the
variable's unit on a log axis with the tolerance's bound ``abs + rel*|reference|`` dashed; a variable that
is identical at every sample says so instead of drawing nothing. Drawn with matplotlib's object API (no
pyplot, no global state): the function returns the ``Figure``, which a notebook shows.
"""
from __future__ import annotations

import numpy as np

from harness.model.parameters import RECORDABLE_UNITS
from harness.traces.traces import Traces

MAX_NEURONS = 4  # a network's neurons drawn by default (the first recorded ones)
STYLES = ("-", (0, (4, 2)), (0, (1, 1.5)), "-.")
COLORS = ("#1f4e9c", "#f28e2b", "#2a9d3a", "#8c3fbf", "#d62728", "#555555")


def _label(name: str) -> str:
    unit = RECORDABLE_UNITS.get(name, "")
    return f"{name} ({unit})" if unit else name


def _new_figure(rows: int, columns: int = 1, width: float = 9.0):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, 1.0 + 1.7 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, sharex=True, squeeze=False)
    return figure, axes


def _neurons(traces: Traces, neurons) -> list:
    if not traces.is_network:
        return [None]
    if neurons is None:
        return list(traces.neurons[:MAX_NEURONS])
    chosen = [neurons] if isinstance(neurons, str) else list(neurons)
    unknown = [n for n in chosen if n not in traces.neurons]
    if unknown:
        raise KeyError(f"not recorded: {', '.join(unknown)}; recorded: {', '.join(traces.neurons)}")
    return chosen


def _variables(traces: Traces, variables) -> list:
    if variables is None:
        return list(traces.variables)
    chosen = [variables] if isinstance(variables, str) else list(variables)
    unknown = [v for v in chosen if v not in traces.variables]
    if unknown:
        raise KeyError(f"not recorded: {', '.join(unknown)}; recorded: {', '.join(traces.variables)}")
    return chosen


def plot_traces(runs: dict, variables=None, neurons=None, title: str | None = None):
    """The traces of ``runs`` (label -> Traces of one scenario) overlaid, one axis per variable."""
    first = next(iter(runs.values()))
    names, chosen = _variables(first, variables), _neurons(first, neurons)
    figure, axes = _new_figure(len(names))
    for row, name in enumerate(names):
        ax = axes[row, 0]
        for i, (label, traces) in enumerate(runs.items()):
            for j, neuron in enumerate(chosen):
                one = traces if neuron is None else traces.neuron(neuron)
                shown = label if neuron is None else f"{label} {neuron}"
                ax.plot(one.times_ms, one.variables[name], lw=1.2 if i == 0 else 0.9, ls=STYLES[i % len(STYLES)],
                        color=COLORS[(j if neuron is not None else i) % len(COLORS)], label=shown)
                if name == "V_m" and len(one.spike_steps):
                    ax.plot(one.spike_times_ms, np.full(len(one.spike_steps), 0.97 - 0.05 * i), ls="none",
                            marker="|", ms=7, color=COLORS[(j if neuron is not None else i) % len(COLORS)],
                            transform=ax.get_xaxis_transform())
        ax.set_ylabel(_label(name))
        ax.grid(alpha=0.25)
    axes[0, 0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0)
    axes[-1, 0].set_xlabel("time (ms)")
    figure.suptitle(title or first.scenario)
    return figure


def plot_comparison(comparison, variables=None, neuron: str | None = None):
    """Reference and candidate overlaid (left) and |candidate - reference| against the bound (right)."""
    if not comparison.traces:
        raise ValueError("this comparison holds no traces to draw (it was not made by nest_parity.compare); "
                         "draw the traces themselves with Traces.plot()")
    reference, candidate = comparison.traces["reference"], comparison.traces["candidate"]
    if reference.is_network:
        neuron = neuron or _focus(comparison, reference)
        reference, candidate = reference.neuron(neuron), candidate.neuron(neuron)
    names = _variables(reference, variables)
    figure, axes = _new_figure(len(names), 2, width=12.0)
    times = reference.times_ms
    for row, name in enumerate(names):
        left, right = axes[row, 0], axes[row, 1]
        left.plot(times, reference.variables[name], color=COLORS[0], lw=1.2, label=comparison.reference)
        left.plot(times, candidate.variables[name], color=COLORS[1], lw=0.9, ls=STYLES[1], label=comparison.candidate)
        left.set_ylabel(_label(name))
        left.grid(alpha=0.25)
        key = name if neuron is None else f"{neuron}.{name}"
        result = comparison.variables.get(key)
        ref = np.asarray(reference.variables[name], dtype=np.float64)
        with np.errstate(invalid="ignore"):
            diff = np.abs(np.asarray(candidate.variables[name], dtype=np.float64) - ref)
        unit = RECORDABLE_UNITS.get(name, "")
        right.set_ylabel(f"|difference| ({unit})" if unit else "|difference|")
        if not np.any(diff != 0):  # NaN counts as differing: drawn where finite, said in the title
            right.text(0.5, 0.5, "identical at every sample", transform=right.transAxes, ha="center", va="center")
            right.set_yticks([])
            continue
        right.plot(times, np.where(diff > 0, diff, np.nan), color=COLORS[4], lw=0.9, label="|difference|")
        if result is not None:
            bound = result.tolerance.abs + result.tolerance.rel * np.abs(ref)
            if np.any(bound > 0):
                right.plot(times, np.where(bound > 0, bound, np.nan), color="k", lw=0.8, ls=STYLES[1],
                           label="tolerance")
            right.set_title("passes" if result.passed else f"FAILS from {result.first_violation_ms:g} ms"
                            if result.first_violation_ms is not None else "FAILS", fontsize=9, loc="right")
        if np.any(np.isfinite(diff) & (diff > 0)):
            right.set_yscale("log")
        right.grid(alpha=0.25, which="both")
    axes[0, 0].legend(fontsize=8, loc="best")
    for ax in axes[-1]:
        ax.set_xlabel("time (ms)")
    where = f", {neuron}" if neuron else ""
    figure.suptitle(f"{comparison.scenario}{where}: {comparison.reference} vs {comparison.candidate}, "
                    f"profile {comparison.profile}: {comparison.status.upper()}")
    return figure


def _focus(comparison, reference: Traces) -> str:
    """The neuron a network comparison's figure shows: that of the first divergence, else the first."""
    divergence = comparison.first_divergence()
    if divergence is not None:
        label = divergence[0].split(" ")[0].rsplit(".", 1)[0]
        if label in reference.neurons:
            return label
    return reference.neurons[0]
