"""The report's figures, as figure objects before they become PNGs: one panel per quantity in its own unit,
V_th drawn, the input raster and stimulus current, a difference panel per differing variable normalised by
its tolerance with the line at 1 (none for an identical one), text no smaller than 9 pt at 7.5 in wide; and
the first divergence named by its cause when several variables break at the same sample. No NEST: the
reference is the exact engine (bit-identical to NEST), the candidate a selftest variant."""
import io

import numpy as np
import pytest
from conftest import SCENARIO_DIR
from matplotlib.text import Text
from PIL import Image

from harness.backends.python import run_python
from harness.judge.comparator import DERIVATION, Comparison, VariableResult, compare
from harness.judge.selftest import run_variant
from harness.judge.tolerances import Tolerance, profile_tolerances
from harness.report.figures import build_figure, input_rows, render_figure, stimulus_current
from harness.report.network_figures import build_network_figure
from harness.report.panels import FLOOR, FONT, WIDTH, normalised
from harness.scenario.schema import load_scenario
from harness.traces.traces import Traces

TRACE_PANELS = ["V_m", "s", "s_NMDA", "I_AMPA", "I_GABA", "I_NMDA"]


@pytest.fixture(scope="module")
def mixed():
    """mixed_inputs: the exact engine, and the variant that sums the NMDA gates without their weights."""
    scenario = load_scenario(SCENARIO_DIR / "mixed_inputs.yaml")
    return scenario, run_python(scenario), run_variant("nmda-unweighted", scenario)


def judged(reference, candidate, profile="exact", gsl_error_tol=1e-3):
    return compare(reference, candidate, profile_tolerances(profile, gsl_error_tol), reference_name="nest",
                   candidate_name="python")


def labels(fig) -> list:
    return [ax.get_label() for ax in fig.axes]


def small_text(fig) -> list:
    """Every visible piece of text under 9 pt (tick labels, titles, legends, annotations)."""
    return [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and t.get_fontsize() < FONT]


def drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # lays out the ticks, so that their labels exist to be measured
    return fig


def horizontal_lines(ax) -> list:
    return [line.get_ydata()[0] for line in ax.get_lines()
            if len(line.get_ydata()) == 2 and line.get_ydata()[0] == line.get_ydata()[1]
            and tuple(line.get_xdata()) == (0, 1)]


# ------------------------------------------------------------------------------------------- one neuron
def test_a_broken_nmda_rule_gets_a_panel_per_quantity_and_a_normalised_difference_per_differing_variable(mixed):
    scenario, reference, broken = mixed
    c = judged(reference, broken)
    fig, facts = build_figure(reference, broken, title="mixed", scenario=scenario, comparison=c,
                              judged_until_ms=c.ms(c.judged_until_step))
    differing = [n for n, v in c.variables.items() if v.max_abs > 0]
    assert differing == ["V_m", "s_NMDA", "I_AMPA", "I_GABA", "I_NMDA"]  # s_AMPA, s_GABA follow their inputs only
    assert labels(fig) == ["inputs", "stimulus", *TRACE_PANELS, *(f"difference:{n}" for n in differing)]
    assert facts.panels == labels(fig) and facts.zero_difference == ["s_AMPA", "s_GABA"]
    axes = {ax.get_label(): ax for ax in fig.axes}
    # Units on every trace axis; s_NMDA and I_NMDA alone on theirs.
    assert [axes[k].get_ylabel() for k in TRACE_PANELS] == ["V_m (mV)", "s (nS)", "s_NMDA (nS)", "I_AMPA (pA)",
                                                            "I_GABA (pA)", "I_NMDA (pA)"]
    for key in ("s_NMDA", "I_NMDA"):  # NEST and the candidate, and nothing else but the cut-off
        assert len([line for line in axes[key].get_lines() if len(line.get_xdata()) > 2]) == 2
    assert axes["s"].get_title(loc="right") == "s_AMPA identical; s_GABA identical"
    # V_th and V_reset are lines on the V_m axis.
    assert {-55.0, -60.0} <= set(horizontal_lines(axes["V_m"]))
    # Every difference panel: log scale, the line at 1, nothing below the floor; exact's 0 scaled by roundoff.
    for name in differing:
        ax = axes[f"difference:{name}"]
        assert ax.get_yscale() == "log" and 1.0 in horizontal_lines(ax), name
        assert ax.get_ylim()[0] >= FLOOR and ax.get_ylim()[1] > 1.0
        assert ax.get_ylabel() == "|Δ| / tol" and facts.scales[name] == "roundoff"
    # I_NMDA's 3.39 pA error is plain on its own axis, and measured against roundoff's bound it is huge.
    assert c.variables["I_NMDA"].max_abs == pytest.approx(3.39, abs=0.01)
    assert axes["difference:I_NMDA"].get_title(loc="left") == "I_NMDA: max |Δ| 3.39 pA at 52.8 ms"
    curve = max(np.nanmax(line.get_ydata()) for line in axes["difference:I_NMDA"].get_lines()[:1])
    assert curve > 1e9
    assert fig.get_size_inches()[0] == WIDTH and small_text(drawn(fig)) == []


def test_the_input_raster_and_the_stimulus_current_come_from_the_scenarios_inputs(mixed):
    scenario = mixed[0]
    rows = input_rows(scenario)
    assert [r.label for r in rows] == ["AMPA 40 nS", "GABA 20 nS", "NMDA 1: 0.5 nS", "NMDA 2: 2 nS", "NMDA 3: 1 nS"]
    ampa = rows[0]
    # Spikes at 10, 10.5 (x2), 50, 50 with delay 1: the jumps first show at the samples 11, 11.5 and 51 ms.
    assert ampa.times_ms.tolist() == pytest.approx([11.0, 11.5, 51.0]) and ampa.spikes.tolist() == [1, 2, 2]
    assert rows[3].times_ms.tolist() == pytest.approx([32.5, 33.5, 34.5])  # delay 2.5
    edges, amplitude = stimulus_current(scenario)
    at = {t: amplitude[np.searchsorted(edges, t) - 1] for t in (10.0, 60.0, 150.0, 240.0, 260.0)}
    assert at == {10.0: 0.0, 60.0: 300.0, 150.0: 450.0, 240.0: 300.0, 260.0: 0.0}
    quiet = load_scenario(SCENARIO_DIR / "rest_no_input.yaml")
    assert input_rows(quiet) == [] and stimulus_current(quiet) is None
    fig, _ = build_figure(run_python(quiet), run_python(quiet), title="rest", scenario=quiet)
    assert "inputs" not in labels(fig) and "stimulus" not in labels(fig)


def test_an_identical_candidate_has_no_difference_panel_and_says_identical(mixed):
    scenario, reference, _ = mixed
    fig, facts = build_figure(reference, run_python(scenario), title="same", scenario=scenario)
    assert not [label for label in labels(fig) if label.startswith("difference:")]
    assert facts.all_zero and facts.scales == {}
    axes = {ax.get_label(): ax for ax in fig.axes}
    assert axes["V_m"].get_title(loc="right") == "identical at every sample"
    assert "bit-identical" in fig.get_suptitle()


@pytest.mark.slow
def test_a_variable_that_is_zero_on_both_sides_has_no_panel():
    scenario = load_scenario(SCENARIO_DIR / "gaba_only.yaml")
    reference, broken = run_python(scenario), run_variant("tau-reciprocal", scenario)
    c = judged(reference, broken)
    fig, facts = build_figure(reference, broken, title="gaba", scenario=scenario, comparison=c)
    assert facts.flat == ["s_AMPA", "s_NMDA", "I_AMPA", "I_NMDA"]
    assert labels(fig) == ["inputs", "V_m", "s", "I_GABA", "difference:s_GABA", "difference:I_GABA"]
    # A last-bit error stays under roundoff's line: the panel shows it as such.
    ax = {a.get_label(): a for a in fig.axes}["difference:s_GABA"]
    assert 0 < np.nanmax(ax.get_lines()[0].get_ydata()) < 1.0
    png = render_figure(reference, broken, title="gaba", scenario=scenario, comparison=c)
    image = Image.open(io.BytesIO(png.png))
    assert image.format == "PNG" and image.size == (png.width, png.height) == (840, png.height)


def test_a_nonzero_tolerance_is_the_scale_and_a_zero_one_is_measured_against_roundoff():
    ref = np.array([0.0, 2.0, -4.0, 1.0, np.nan])
    cand = np.array([0.0, 2.5, -4.0, 1.0 + 1e-13, 1.0])
    diff, ratio, bad, scale = normalised(ref, cand, Tolerance(0.1, 0.2))
    assert scale == "tolerance" and bad.tolist() == [False, False, False, False, True]
    assert ratio[1] == pytest.approx(0.5 / (0.1 + 0.2 * 2.0)) and np.isnan(ratio[0]) and np.isnan(ratio[2])
    _, ratio, _, scale = normalised(ref, cand, Tolerance(0.0, 0.0))
    assert scale == "roundoff" and ratio[1] == pytest.approx(0.5 / 2e-12) and ratio[3] == pytest.approx(0.1, rel=1e-3)
    _, ratio, _, _ = normalised(np.array([0.0]), np.array([1e-20]), Tolerance(0.0, 1e-12))
    assert ratio[0] == np.inf  # nothing is allowed where NEST is 0: drawn at the top, never dropped


def test_with_the_integrator_profile_the_difference_is_divided_by_its_tolerance(mixed):
    scenario, reference, broken = mixed
    c = judged(reference, broken, "integrator", scenario.params["gsl_error_tol"])
    fig, facts = build_figure(reference, broken, title="integrator", scenario=scenario, comparison=c)
    assert set(facts.scales.values()) == {"tolerance"}
    ax = {a.get_label(): a for a in fig.axes}["difference:I_NMDA"]
    tol = c.variables["I_NMDA"].tolerance
    assert ax.get_title(loc="right") == f"÷ {tol.abs:g} + {tol.rel:g}·|NEST|"
    expected = np.abs(broken.variables["I_NMDA"] - reference.variables["I_NMDA"]) / (
        tol.abs + tol.rel * np.abs(reference.variables["I_NMDA"]))
    assert np.nanmax(ax.get_lines()[0].get_ydata()) == pytest.approx(expected.max())


# ------------------------------------------------------------------------------------------- a network
def network_traces(steps=400):
    rng = np.random.default_rng(3)
    names = ("V_m", "s_AMPA", "s_NMDA", "I_NMDA")
    variables = {n: -60 + rng.normal(size=(steps, 3)).cumsum(axis=0) * 0.01 for n in names}
    spikes = np.sort(rng.integers(1, steps + 1, 30))
    return Traces("net", 1000, np.arange(1, steps + 1), variables, spikes, neurons=("E[0]", "E[1]", "I[0]"),
                  spike_neurons=rng.integers(0, 3, spikes.size))


def test_a_network_figure_follows_the_same_rules():
    reference = network_traces()
    candidate = network_traces()
    candidate.variables["s_NMDA"] = candidate.variables["s_NMDA"].copy()
    candidate.variables["s_NMDA"][200:, 1] += 1e-9
    c = judged(reference, candidate)
    fig, facts = build_network_figure(reference, candidate, c, title="net", populations=["E", "I"])
    assert facts.neuron == "E[1]" and labels(fig) == ["raster", "rates", "V_m", "s", "s_NMDA", "I_NMDA",
                                                      "difference:s_NMDA", "error map"]
    axes = {ax.get_label(): ax for ax in fig.axes}
    assert axes["s_NMDA"].get_ylabel() == "s_NMDA (nS)" and 1.0 in horizontal_lines(axes["difference:s_NMDA"])
    assert "(nS)" in axes["error map"].get_title(loc="left")
    assert fig.get_size_inches()[0] == WIDTH and small_text(drawn(fig)) == []


# ------------------------------------------------------------------------------------------- first divergence
def result(name, first_ms, neuron=None):
    return VariableResult(name, Tolerance(0.0, 0.0), 10, 1.0, 1.0, first_ms, first_ms, 0.0, first_ms is None,
                          neuron=neuron)


def comparison(**firsts):
    c = Comparison("x", "nest", "python", "exact", 1000, "fail")
    c.variables = {name: result(name, ms) for name, ms in firsts.items()}
    return c


def test_a_tie_names_the_variable_the_others_derive_from():
    # The recording order, with the NMDA rule broken: all four at 20.2 ms; s_NMDA is the cause.
    assert comparison(V_m=20.2, s_AMPA=None, s_NMDA=20.2, I_AMPA=20.2, I_NMDA=20.2).first_divergence() == \
        ("s_NMDA", 20.2)
    assert comparison(V_m=5.0, I_AMPA=5.0, I_GABA=5.0).first_divergence() == ("V_m", 5.0)  # currents follow V_m
    assert comparison(I_GABA=3.0, I_AMPA=3.0).first_divergence() == ("I_AMPA", 3.0)  # no root among them: in order
    assert comparison(s_GABA=4.0, s_AMPA=4.0).first_divergence() == ("s_AMPA", 4.0)
    assert comparison(V_m=2.0, s_NMDA=2.1).first_divergence() == ("V_m", 2.0)  # earlier beats any rank
    assert DERIVATION.index("s_NMDA") < DERIVATION.index("V_m") < DERIVATION.index("I_AMPA")


def test_a_network_tie_and_spikes():
    c = Comparison("x", "nest", "python", "exact", 1000, "fail")
    c.variables = {"E[0].I_NMDA": result("I_NMDA", 3.0, "E[0]"), "E[1].V_m": result("V_m", 3.0, "E[1]"),
                   "E[2].s_NMDA": result("s_NMDA", 3.0, "E[2]")}
    assert c.first_divergence() == ("E[2].s_NMDA", 3.0)


@pytest.mark.slow
@pytest.mark.parametrize("name, first_ms", [("mixed_inputs", 20.2), ("nmda_one_port", 10.6)])
def test_the_nmda_unweighted_variant_is_named_by_its_nmda_rule(name, first_ms, mixed):
    """Today's catalogue: a four-variable tie at 20.2 ms in mixed_inputs (V_m, s_NMDA, I_AMPA, I_NMDA) that
    the alphabet would have named I_AMPA."""
    if name == "mixed_inputs":
        _, reference, broken = mixed
    else:
        scenario = load_scenario(SCENARIO_DIR / f"{name}.yaml")
        reference, broken = run_python(scenario), run_variant("nmda-unweighted", scenario)
    c = judged(reference, broken)
    tied = sorted(n for n, v in c.variables.items() if v.first_violation_ms == first_ms)
    assert len(tied) >= 3 and "s_NMDA" in tied
    assert c.first_divergence() == ("s_NMDA", pytest.approx(first_ms))
