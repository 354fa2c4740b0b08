"""How far NEST is from the truth, over all scenarios of a gate or a release report (docs/accuracy.md).

Each scenario's ``ScenarioOutcome`` carries its accuracy ladder, measured in the gate's worker against the
stored truth reference (``harness.judge.gate.stored_truth_ladder``). This module says what the ladders say
together: the gate's counts and its one summary line, and the release report's section "How far NEST is
from the truth": a table (scenarios x recordables of max |NEST - truth|, unit in each header, unconverged
cells marked, scenarios without a stored truth listed) and a figure. ``accuracy_section`` takes further
figures for that section (``extra_figures``: a convergence study, say), shown and written after its own.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np

from harness.model.parameters import DEFAULT_GSL_ERROR_TOL, RECORDABLE_UNITS, RECORDABLES
from harness.report.data import num
from harness.report.panels import png_bytes

NOT_CONVERGED = "†"  # marks a cell whose truth is not converged (short: the table is 9 columns wide)
NOT_CONVERGED_WORDS = (f"{NOT_CONVERGED}: the truth is not converged there (solved ten times tighter it moved by 1 % "
                       f"or more of NEST's distance to it), so the number is not a measurement of NEST's error")
TITLE = "How far NEST is from the truth"


# ------------------------------------------------------------------------------------------- the counts
def measured(outcomes) -> list:
    """The outcomes whose NEST distance to a stored truth was measured."""
    return [o for o in outcomes if o.truth is not None and o.ladder is not None and o.ladder.nest_truth is not None]


def ladder_counts(outcomes) -> dict:
    """The gate JSON's ``accuracy_ladder``: how many scenarios were measured, had no valid stored truth (a
    scenario whose runs ended has no ladder at all, and is neither), and had a truth that is not converged."""
    without = [o.scenario for o in outcomes if o.truth is None and o.ladder is not None]
    unconverged = [o.scenario for o in outcomes if o.ladder is not None and o.ladder.unconverged()]
    return {"measured": len(measured(outcomes)), "without_truth": len(without), "unconverged": len(unconverged),
            "without_truth_scenarios": without, "unconverged_scenarios": unconverged}


def largest(outcomes, names) -> tuple | None:
    """(distance, recordable, scenario) of NEST's largest finite distance to the truth among ``names``."""
    found = [(d, name, o.scenario) for o in measured(outcomes) for name in names
             if (d := o.ladder.nest_truth.get(name)) is not None and math.isfinite(d)]
    return max(found, default=None)


def summary_line(outcomes) -> str:
    """The gate table's one line on the ladder: how many scenarios, NEST's largest distances, what is missing."""
    counts = ladder_counts(outcomes)
    parts = [f"accuracy ladder: {counts['measured']} of {len(outcomes)} scenario{'s' if len(outcomes) != 1 else ''} "
             "measured against the stored truth"]
    worst = [w for w in (largest(outcomes, ["V_m"]), largest(outcomes, [n for n in RECORDABLES if n[0] == "I"]))
             if w is not None]
    if worst:
        parts.append("NEST's largest distance to it: " + ", ".join(
            f"{name} {num(d)} {RECORDABLE_UNITS[name]} ({scenario})" for d, name, scenario in worst))
    if counts["unconverged"]:
        parts.append(f"truth NOT converged in {_names(counts['unconverged_scenarios'])}")
    if counts["without_truth"]:
        parts.append(f"no stored truth for {_names(counts['without_truth_scenarios'])} (`nest-parity record "
                     "--truth`)")
    return "; ".join(parts)


def _names(names: list, limit: int = 4) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


# ------------------------------------------------------------------------------------------- the section
@dataclass
class AccuracyFigure:
    """A figure of the section: ``name`` is its file in the report folder (``folder.accuracy_figure_name``)."""

    name: str
    png: bytes
    width: int
    height: int
    alt: str
    caption: str


def figure_from_png(png: bytes, name: str, alt: str, caption: str) -> AccuracyFigure:
    """An extra figure for ``accuracy_section`` from PNG bytes (a convergence study's, say); ``name`` becomes
    its file ``accuracy/<name>.png`` in the report folder."""
    from PIL import Image

    from harness.report.folder import accuracy_figure_name

    width, height = Image.open(io.BytesIO(png)).size
    return AccuracyFigure(accuracy_figure_name(name), png, width, height, alt, caption)


@dataclass
class AccuracySection:
    """The release report's "How far NEST is from the truth", computed once for the HTML and the Markdown."""

    header: tuple
    rows: list  # one tuple of cells per measured scenario
    unconverged: list  # (scenario, [recordables])
    without_truth: list  # (scenario, why): no valid stored truth, or no runs to measure
    figures: list = field(default_factory=list)  # AccuracyFigure: this section's, then the extra ones
    no_figure: str | None = None
    line: str = ""  # the gate's summary line, for the terminal

    intro = ("NEST's adaptive RKF45 stops where each sub-step's error estimate is below gsl_error_tol, so NEST is "
             "not the exact solution of its own time-discrete model. Per scenario and recordable: max |NEST - truth| "
             "over the trace (live NEST; spikes aligned within one step, nothing measured after a spike mismatch), "
             "against the stored truth reference (reference_traces/truth/: the same model with each step solved by "
             "scipy's solve_ivp, DOP853 at rtol = atol = 1e-12; the report never solves it again). Each scenario's "
             "accuracy ladder below adds the candidate's distances.")

    def to_json(self) -> dict:
        return {"figures": [f.name for f in self.figures], "no_figure": self.no_figure,
                "unconverged": {s: names for s, names in self.unconverged},
                "without_truth": {s: why for s, why in self.without_truth}}


def accuracy_section(outcomes, extra_figures=()) -> AccuracySection:
    """The section of ``outcomes`` (ScenarioOutcome, in report order), with ``extra_figures`` (AccuracyFigure)
    after its own figure."""
    from harness.report.folder import accuracy_figure_name

    header, rows = nest_truth_table(outcomes)
    unconverged = [(o.scenario, o.ladder.unconverged()) for o in outcomes if o.ladder and o.ladder.unconverged()]
    without = [(o.scenario, o.truth_note or "no truth") for o in outcomes if o.truth is None]  # with the reason
    figures, why = [], None
    if not rows:
        why = "no figure: no scenario was measured against a stored truth"
    else:
        try:
            figures.append(render_nest_truth_figure(outcomes, accuracy_figure_name("nest-vs-truth")))
        except Exception as exc:  # a figure must never hide the numbers
            why = f"no figure: drawing it failed: {type(exc).__name__}: {exc}"
    return AccuracySection(header, rows, unconverged, without, figures + list(extra_figures), why,
                           summary_line(outcomes))


def nest_truth_table(outcomes) -> tuple[tuple, list]:
    """Header ("scenario", "gsl_error_tol", "V_m (mV)", ..., "spikes") and one row per measured scenario:
    max |NEST - truth| per recordable ('-': not recorded), NOT_CONVERGED after an unconverged one."""
    rows_of = measured(outcomes)
    names = [n for n in RECORDABLES if any(n in o.ladder.nest_truth.variables for o in rows_of)]
    header = ("scenario", "gsl_error_tol", *(f"{n} ({RECORDABLE_UNITS[n]})" for n in names), "spikes")
    rows = []
    for o in rows_of:
        d, unconverged = o.ladder.nest_truth, set(o.ladder.unconverged())
        cells = [("-" if d.get(n) is None else num(d.get(n)) + (f" {NOT_CONVERGED}" if n in unconverged else ""))
                 for n in names]
        spikes = d.spikes + (f" (measured until {num(d.measured_until_ms)} ms)" if d.measured_until_ms is not None
                             else "")
        rows.append((o.scenario, num(o.gsl_error_tol), *cells, spikes))
    return header, rows


def ladder_view(outcome, candidate: str) -> tuple[str, list | None, list]:
    """One scenario's ladder as the report shows it: (where the truth came from, header and rows of
    ``harness.report.ladder.ladder_rows`` or None, notes)."""
    from harness.report.ladder import ladder_rows

    ladder = outcome.ladder
    if ladder is None:
        return "not measured", None, [outcome.truth_note or "the scenario's runs gave no traces"]
    notes = [n for n in ladder.notes if n != outcome.truth_note]
    if ladder.unconverged():
        notes.append(f"the truth is not converged for {', '.join(ladder.unconverged())}: solved ten times tighter "
                     "it moved by 1 % or more of NEST's distance to it, so NEST's distance is not measured there")
    where = (f"against the stored truth {outcome.truth['path']}" if outcome.truth is not None
             else "no stored truth, so nothing measured against it")
    return where, ladder_rows(ladder, candidate), notes


# ------------------------------------------------------------------------------------------- the figure
# The distances are drawn in each recordable's own unit, not divided by gsl_error_tol: the table beside it
# and the as-accurate-as-nest bound (FACTOR * D_NEST) are in those units, and how NEST's error scales with
# its tolerance is what a convergence study measures, not something a division should assume. Scenarios
# whose tolerance is not the default say it in their label, so a small distance is not mistaken for luck.
GROUPS = (("V_m", "mV"), ("s_", "nS"), ("I_", "pA"))  # one panel per unit; s_NMDA carries nS like s_AMPA
COLORS = {"V_m": "#1f4e9c", "s_AMPA": "#d62728", "s_GABA": "#2a9d3a", "s_NMDA": "#8c3fbf",
          "I_AMPA": "#d62728", "I_GABA": "#2a9d3a", "I_NMDA": "#8c3fbf"}
WIDTH_IN = 7.5  # a printed page's text width: at print size 9 pt stays 9 pt
PANEL_IN, LABELS_IN = 2.1, 2.6  # panel height; room for the rotated scenario names and the title
DPI = 100
FONT = 9  # the smallest text in the figure (ticks, legends); labels 10, title 11


def render_nest_truth_figure(outcomes, file_name: str) -> AccuracyFigure:
    """One dot per scenario and recordable at max |NEST - truth|, log axis, one panel per unit; an open dot
    where the truth is not converged, a triangle on the floor where the distance is exactly 0, a cross on
    top where it is NaN. A recordable the scenario does not record has no mark."""
    from matplotlib.figure import Figure as MplFigure

    rows = measured(outcomes)
    present = [n for n in RECORDABLES if any(n in o.ladder.nest_truth.variables for o in rows)]
    groups = [([n for n in present if n.startswith(prefix)], unit) for prefix, unit in GROUPS]
    groups = [g for g in groups if g[0]]
    height = PANEL_IN * len(groups) + LABELS_IN
    fig = MplFigure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0]
    fig.suptitle("max |NEST - truth| per scenario and recordable (stored truth, DOP853 rtol 1e-12)", fontsize=11)
    special: set = set()
    for ax, (names, unit) in zip(axes, groups):
        special |= _panel(ax, rows, names, unit)
    x = np.arange(len(rows))
    axes[-1].set_xlim(-0.6, len(rows) - 0.4)
    axes[-1].set_xticks(x)
    axes[-1].set_xticklabels([_label(o) for o in rows], rotation=90, fontsize=FONT)
    keys = [_proxy(axes[0], marker, face, label) for key, marker, face, label in (
        ("open", "o", "none", "truth not converged"), ("zero", "v", "#555555", "exactly 0 (on the floor)"),
        ("nan", "x", "#555555", "NaN (on top)")) if key in special]
    if keys:
        fig.legend(handles=keys, loc="outside lower center", ncol=len(keys), fontsize=FONT, frameon=False)
    png = png_bytes(fig, DPI)
    alt = (f"max |NEST - truth| of {len(rows)} scenarios, one dot per recordable, on a log axis per unit "
           f"({', '.join(unit for _, unit in groups)})")
    caption = (f"One dot per scenario and recordable at NEST's max |difference| from the stored truth, on a log "
               f"axis in the recordable's unit, one panel per unit. An open dot: the truth is not converged there; "
               f"a triangle on the floor: exactly 0 (nothing to draw on a log axis); a cross on top: NaN; no mark: "
               f"not recorded. A scenario whose gsl_error_tol is not NEST's default {DEFAULT_GSL_ERROR_TOL:g} gives "
               f"it in its label.")
    return AccuracyFigure(file_name, png, int(round(WIDTH_IN * DPI)), int(round(height * DPI)), alt, caption)


def _panel(ax, rows, names, unit) -> set:
    """One unit's panel; returns which special marks it drew ("open", "zero", "nan")."""
    from matplotlib.transforms import blended_transform_factory

    edge = blended_transform_factory(ax.transData, ax.transAxes)  # x in data, y in axes: the floor and top
    x = np.arange(len(rows))
    offsets = np.linspace(-0.25, 0.25, len(names)) if len(names) > 1 else np.zeros(1)
    special, handles, positive = set(), [], []
    for name, dx in zip(names, offsets):
        color = COLORS.get(name, "k")
        raw = [o.ladder.nest_truth.get(name) for o in rows]
        recorded = np.array([v is not None for v in raw])
        values = np.array([math.nan if v is None else v for v in raw], dtype=np.float64)
        open_ = np.array([name in o.ladder.unconverged() for o in rows])
        good = recorded & np.isfinite(values) & (values > 0)
        positive += list(values[good])
        handles += ax.plot(x[good & ~open_] + dx, values[good & ~open_], "o", ms=5, color=color, ls="none",
                           label=name)
        marks = {"open": good & open_, "zero": recorded & (values == 0), "nan": recorded & np.isnan(values)}
        if marks["open"].any():
            ax.plot(x[marks["open"]] + dx, values[marks["open"]], "o", ms=6, mfc="none", mec=color, mew=1.4,
                    ls="none")
        for key, marker, y in (("zero", "v", 0.03), ("nan", "x", 0.97)):
            if marks[key].any():
                ax.plot(x[marks[key]] + dx, np.full(marks[key].sum(), y), marker, ms=5, color=color, ls="none",
                        transform=edge, clip_on=False)
        special |= {key for key, where in marks.items() if where.any()}
    if positive:
        ax.set_yscale("log")
        # Two decades of room below the smallest dot for the zeros' triangles, one above for the NaNs' crosses.
        ax.set_ylim(min(positive) / 100, max(positive) * 10)
        ax.grid(axis="y", which="major", alpha=0.3)
    else:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no distance above 0 in any scenario", transform=ax.transAxes, ha="center",
                fontsize=FONT)
    ax.legend(handles=handles, fontsize=FONT, ncol=len(handles), loc="lower left", bbox_to_anchor=(0.0, 1.0),
              borderaxespad=0.1, frameon=False, handletextpad=0.2, columnspacing=1.0)
    ax.set_ylabel(f"|NEST - truth| ({unit})", fontsize=10)
    ax.tick_params(labelsize=FONT)
    for k in x[1::2]:  # every other scenario shaded, so a dot is read against its own name
        ax.axvspan(k - 0.5, k + 0.5, color="#f0f2f5", zorder=0, lw=0)
    return special


def _label(outcome) -> str:
    tol = outcome.gsl_error_tol
    return outcome.scenario + (f" (tol {tol:g})" if tol is not None and tol != DEFAULT_GSL_ERROR_TOL else "")


def _proxy(ax, marker, face, label):
    return ax.plot([], [], marker, ms=6 if face == "none" else 5, mfc=face, mec="#555555", color="#555555",
                   ls="none", label=label)[0]


