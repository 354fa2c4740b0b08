"""The release report of a network scenario: one figure with a raster, the population (pool) rates, the traces
of the first-diverging neuron and an error map; words that say what it shows; the per-variable table one row
per recorded variable with its worst neuron; and the NEST(1)-vs-NEST(2) pair as a line of its own (a warning
when it differs, never the candidate's fault)."""
import base64
import contextlib
import io
import json
import re
import textwrap

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from harness.judge.comparator import Comparison, compare
from harness.judge.gate import THREAD_SOURCE, THREADS, ScenarioOutcome
from harness.judge.selftest import VARIANTS
from harness.judge.tolerances import profile_tolerances
from harness.report.captions import figure_parts
from harness.report.data import ScenarioReport, network_variable_rows, num, thread_words
from harness.report.html import _scenario_html
from harness.report.network_figures import focus, population_rates, render_network_figure
from harness.traces.traces import Traces

NAME = "net_report_pool"
VARIANT = "network-spike-late"
# The example pool, 100 ms: three E neurons coupled through NMDA, AMPA and GABA, and one I neuron.
SCENARIO = f"""\
name: {NAME}
description: Three E neurons in an NMDA pool with one I neuron, shortened for the report's test.
model: iaf_bw_2001_exact
resolution: 0.1
duration: 100.0
simulate_chunks: [40.0, 60.0]
populations:
  E:
    n: 3
    params: {{gsl_error_tol: 1.0e-4}}
    initial: {{V_m: [-70.0, -66.0, -62.0]}}
  I:
    n: 1
    params: {{g_L: 20.0, C_m: 200.0, tau_GABA: 8.0}}
connections:
  - {{source: E, target: E, rule: all_to_all, allow_autapses: false, receptor: NMDA, weight: 0.6, delay: 1.0}}
  - {{source: E, target: I, rule: all_to_all, receptor: AMPA, weight: 3.5, delay: 0.5}}
  - {{source: I, target: E, rule: all_to_all, receptor: GABA, weight: [6.0, 5.5, 5.25], delay: 0.7}}
inputs:
  - {{device: poisson_spikes, target: E, receptor: AMPA, weight: 12.0, rate: [2400.0, 2000.0, 1600.0], seed: 11}}
  - {{device: dc_generator, target: I, amplitude: 100.0, start: 20.0, stop: 80.0}}
record:
  variables: [V_m, s_AMPA, s_NMDA, s_GABA, I_NMDA]
"""
NEURONS = 4


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The scenario recorded into its own reference folder, then two reports: the reimplementation, and the
    selftest variant that delivers every spike one step late."""
    root = tmp_path_factory.mktemp("network-report")
    scenario, refs = root / f"{NAME}.yaml", root / "refs"
    scenario.write_text(SCENARIO)
    code, out, err = run_cli(["record", str(scenario), "--dir", str(refs)])
    assert code == 0, out + err
    done = {}
    for key, extra in (("good", []), ("broken", ["--variant", VARIANT])):
        folder = root / key
        code, out, err = run_cli(["report", str(scenario), "--references", str(refs), "--out", str(folder),
                                  "--workers", "1", *extra])
        done[key] = (folder, code, out + err)
    return done


def read(folder):
    doc = json.loads((folder / "summary.json").read_text())
    return (folder / "report.html").read_text(), (folder / "report.md").read_text(), doc


@pytest.mark.nest
@pytest.mark.slow  # the fixture: record, then two reports (each a worker that runs NEST twice)
def test_a_network_report_holds_the_network_figure_and_says_what_it_shows(reports):
    folder, code, out = reports["good"]
    assert code == 0, out
    page, markdown, doc = read(folder)
    assert doc["report"]["figures"] == {NAME: f"figures/{NAME}.png"}
    png = (folder / "figures" / f"{NAME}.png").read_bytes()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size[0] == 840 and 900 < image.size[1] < 1500
    embedded = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert [base64.b64decode(e) for e in embedded] == [png]
    for part in ("(a) spike raster", "(b) pool rates", "(c) traces of E[0]", "(d) error map"):
        assert f"<b>{part}</b>" in page and f"* *{part}*" in markdown, part
    assert f"identical spikes in all {NEURONS} neurons" in markdown
    assert "exactly 0 for every variable of every neuron at every sample: bit-identical" in markdown
    assert "E[0], the first recorded neuron (no neuron diverges)" in markdown
    # The gate's thread pair is a line of its own, here: NEST with two threads is bit-identical.
    line = re.search(rf'<p class="note threads" id="threads-{NAME}">(.*?)</p>', page).group(1)
    assert "NEST with 2 threads is bit-identical to NEST with 1 thread" in line
    assert f"**{THREADS}**: NEST with 2 threads is bit-identical" in markdown
    assert f"{THREADS} same" in markdown and f"{THREADS} FAIL" not in markdown
    # One row per recorded variable, not per (neuron, variable); every pair's numbers stay in the JSON.
    assert "| V_m (identical in all 4 neurons) | mV | 0 | 0 | abs 0, rel 0 | inf | - | - | ok |" in markdown
    assert "E[0].V_m" not in markdown and "E[0].V_m" in json.dumps(doc["comparisons"])
    spikes = len(doc["comparisons"][0]["spikes"]["reference_steps"])
    assert spikes > 20 and f"| {spikes} / {spikes} in {NEURONS} neurons |" in markdown


@pytest.mark.nest
@pytest.mark.slow
def test_a_broken_network_report_names_the_first_diverging_neuron_and_variable(reports):
    folder, code, out = reports["broken"]
    assert code == 1, out
    page, markdown, doc = read(folder)
    (live,) = [c for c in doc["comparisons"] if c["pair"] == "nest-vs-python"]
    what, ms = live["first_divergence"]["what"], live["first_divergence"]["ms"]
    neuron, variable = what.split(".")
    assert variable in VARIANTS[VARIANT].first_diverging  # the comparator's reason is the variant's
    assert f"| [{NAME}](#{NAME}) | **FAIL** |" in markdown and f"| {what} at {num(ms)} ms |" in markdown
    assert f"* *(c) traces of {neuron}*: {neuron}, the first-diverging neuron" in markdown
    assert f"first divergence {what} at {num(ms)} ms." in markdown
    assert f"* *(d) error map*: |candidate - NEST| of {variable} per neuron" in markdown
    assert re.search(rf"^\| {variable} \(worst: [EI]\[\d\]; fails in \d of {NEURONS} neurons.*\*\*FAIL\*\* \|$",
                     markdown, re.M)
    assert "traces judged only before the first spike difference in the network, at" in markdown
    assert re.search(r"spikes FAIL in \d of 4 neurons \(.*\), first mismatch at [0-9.]+ ms \([EI]\[\d\]\)", markdown)
    assert "the dotted line at" in markdown and "marks the network cut-off" in markdown
    assert f"{THREADS} same" in markdown  # NEST is NEST: the candidate's mistake is not a thread warning
    good = (reports["good"][0] / "figures" / f"{NAME}.png").read_bytes()
    assert (folder / "figures" / f"{NAME}.png").read_bytes() != good


# ---------------------------------------------------------------------------------- without NEST
def network_traces(n_neurons=100, steps=2000, seed=0):
    rng = np.random.default_rng(seed)
    labels = tuple([f"A[{i}]" for i in range(30)] + [f"B[{i}]" for i in range(50)] + [f"I[{i}]" for i in range(20)])
    assert len(labels) == n_neurons
    variables = {name: -60 + rng.normal(size=(steps, n_neurons)).cumsum(axis=0) * 0.01
                 for name in ("V_m", "s_AMPA", "s_GABA", "s_NMDA", "I_AMPA", "I_GABA", "I_NMDA")}
    spikes = np.sort(rng.integers(1, steps + 1, 600))
    return Traces("net", 1000, np.arange(1, steps + 1), variables, spikes, neurons=labels,
                  spike_neurons=rng.integers(0, n_neurons, spikes.size))


def changed(traces, edit):
    other = Traces(traces.scenario, traces.tics_per_step, traces.steps, {k: v.copy() for k, v in
                   traces.variables.items()}, traces.spike_steps.copy(), neurons=traces.neurons,
                   spike_neurons=traces.spike_neurons.copy())
    edit(other.variables)
    return other


def judged(reference, candidate, ref="nest", cand="python"):
    return compare(reference, candidate, profile_tolerances("exact"), reference_name=ref, candidate_name=cand)


def test_a_large_network_gets_one_row_per_variable_naming_its_worst_neuron():
    reference = network_traces()

    def edit(v):
        v["s_NMDA"][1000:, 40] = np.nextafter(v["s_NMDA"][1000:, 40], np.inf)  # B[10], the last bit
        v["V_m"][1500:, 33] += 1e-6  # B[3] from 1.5 s on ...
        v["V_m"][1200:, 35] += 1e-9  # ... B[5] earlier, by less
        v["I_NMDA"][1800, 2] = np.nan  # A[2]

    c = judged(reference, changed(reference, edit))
    rows = {row[0].split(" ")[0]: row for row in network_variable_rows(c)}
    assert list(rows) == list(reference.variables) and len(c.variables) == 700
    assert rows["V_m"][0] == "V_m (worst: B[3]; fails in 2 of 100 neurons, first B[5])"
    assert rows["V_m"][1:3] == ("mV", num(c.variables["B[3].V_m"].max_abs)) and rows["V_m"][7] == num(1201.0)
    assert rows["s_NMDA"][0] == "s_NMDA (worst: B[10]; fails in 1 of 100 neurons)" and rows["s_NMDA"][-1] == "FAIL"
    assert rows["I_NMDA"][2] == "NaN" and rows["s_AMPA"] == ("s_AMPA (identical in all 100 neurons)", "nS", "0", "0",
                                                             "abs 0, rel 0", "inf", "-", "-", "ok")
    assert focus(c, reference) == ("B[10]", "the first-diverging neuron", "s_NMDA")
    figure = render_network_figure(reference, changed(reference, edit), c, title="large", populations=["A", "B", "I"])
    assert figure.map_variable == "s_NMDA" and figure.map_nonzero == ["B[10]"] and figure.nonfinite == ["I_NMDA"]
    assert figure.populations == [("A", 30), ("B", 50), ("I", 20)]
    assert Image.open(io.BytesIO(figure.png)).size == (figure.width, figure.height) and len(figure.png) < 150_000


def test_population_rates_are_spikes_per_neuron_per_second():
    t = network_traces()
    t.spike_steps, t.spike_neurons = np.array([5, 15, 15, 1999]), np.array([0, 1, 80, 1])
    edges, rate = population_rates(t, list(range(30)), 2000.0, 10.0)  # A: neurons 0..29, 1 ms steps
    assert edges[0] == 0 and edges[-1] == 2000 and len(rate) == 200
    assert rate[0] == rate[1] == rate[199] == pytest.approx(1 / 30 / 0.01) and rate.sum() == pytest.approx(3 / 0.3)


def outcome_with_threads(threads: Comparison, live: Comparison) -> ScenarioReport:
    outcome = ScenarioOutcome(NAME, "x.yaml", [live, threads], 0.0, thread_counts=(1, 2))
    return ScenarioReport(NAME, "x.yaml", "", outcome, None, "no figure")


def test_nest_with_two_threads_that_differs_is_a_warning_not_the_candidates_fault():
    reference = network_traces()
    two = changed(reference, lambda v: v["s_AMPA"].__setitem__((slice(700, 702), 50), v["s_AMPA"][700:702, 50]
                                                                + 7.1e-15))
    sr = outcome_with_threads(judged(reference, two, "nest", THREAD_SOURCE), judged(reference, reference))
    assert sr.verdict == "pass" and sr.outcome.thread_warning
    kind, words = thread_words(sr)
    assert kind == "warning" and "not the candidate's fault" in words
    size = num(two.variables["s_AMPA"][700, 50] - reference.variables["s_AMPA"][700, 50])
    assert f"B[20].s_AMPA by up to {size} from 701 ms" in words
    page = _scenario_html(sr)
    assert f'<p class="note threads warn" id="threads-{NAME}">' in page and "DIFFERS (warning)" in page
    assert "B[20].s_AMPA" not in page.split(f'id="threads-{NAME}"')[0]  # no table of the thread pair, one line
    same = outcome_with_threads(judged(reference, reference, "nest", THREAD_SOURCE), judged(reference, reference))
    assert thread_words(same) == ("same", "NEST with 2 threads is bit-identical to NEST with 1 thread: every spike "
                                          "and every recorded sample of all 100 neurons.")
    assert figure_parts(same) == []  # no figure: nothing to describe


def test_the_rates_panel_is_called_pool_rates_where_the_scenario_speaks_of_pools(write_scenario):
    from harness.report.network_figures import rates_title
    from harness.scenario.schema import load_scenario

    text = textwrap.dedent(SCENARIO)
    pools = load_scenario(write_scenario(text, "a.yaml"))
    plain = load_scenario(write_scenario(text.replace("NMDA pool", "NMDA network").replace(NAME, "net_plain"),
                                         "b.yaml"))
    assert rates_title(pools) == "pool rates" and rates_title(plain) == "population rates"
