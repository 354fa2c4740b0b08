"""The release report (nest-parity report): its numbers are the comparator's, a broken candidate reads FAIL,
the folder is written atomically and never overwritten by accident, --baseline shows what changed, and the
HTML renders in headless Chromium (summary table present, every figure loaded, no console errors)."""
import base64
import contextlib
import io
import json
import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import REFERENCE_DIR, REPO, SCENARIO_DIR

from harness.backends.nest import run_nest
from harness.backends.python import run_python
from harness.backends.sources import load_stored
from harness.cli import main
from harness.errors import UsageError
from harness.judge.comparator import compare
from harness.judge.selftest import VARIANTS, run_variant
from harness.judge.tolerances import profile_tolerances
from harness.report.baseline import diff_against_baseline
from harness.report.browser import BrowserMissing, find_chromedriver, find_chromium, inspect_page
from harness.report.data import num
from harness.report.figures import render_figure
from harness.report.folder import write_report_folder
from harness.report.summary import comparison_json
from harness.scenario.schema import load_scenario

pytestmark = [pytest.mark.slow, pytest.mark.nest]

FAILING = "gaba_only"  # tau-reciprocal changes s_GABA and I_GABA in the last bits from 38 ms on
PASSING = "rest_no_input"  # no input: s/tau and s*(1/tau) agree when s is 0
VARIANT = "tau-reciprocal"
# The passing scenario first on the command line: the report lists the failing one first all the same.
PASSING_PATH = str(SCENARIO_DIR / f"{PASSING}.yaml")
SCENARIOS = [PASSING_PATH, str(SCENARIO_DIR / f"{FAILING}.yaml")]
SCREENSHOT = REPO / "reports" / "screenshots" / "report.png"


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def passing_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reports") / "good"
    argv = ["report", *SCENARIOS, "--out", str(folder), "--workers", "2"]
    code, out, err = run_cli(argv)
    return folder, code, out, err, argv


@pytest.fixture(scope="module")
def failing_report(passing_report, tmp_path_factory):
    """The reimplementation broken by a selftest variant (its context manager, in the worker), with the
    passing report as the baseline."""
    folder = tmp_path_factory.mktemp("reports") / "broken"
    code, out, err = run_cli(["report", *SCENARIOS, "--variant", VARIANT, "--out", str(folder), "--workers", "2",
                              "--baseline", str(passing_report[0])])
    return folder, code, out, err


@pytest.fixture(scope="module")
def comparator_view():
    """What the comparator itself says, computed here in the test process, independently of the report."""
    scenario = load_scenario(SCENARIO_DIR / f"{FAILING}.yaml")
    nest, stored = run_nest(scenario), load_stored(scenario, REFERENCE_DIR)
    broken = run_variant(VARIANT, scenario)
    exact = profile_tolerances("exact")
    return {"nest-vs-python": compare(nest, broken, exact, reference_name="nest", candidate_name="python"),
            "stored-vs-python": compare(stored, broken, exact, reference_name="stored", candidate_name="python"),
            "stored-vs-nest": compare(stored, nest, exact, reference_name="stored", candidate_name="nest")}


class Tables(HTMLParser):
    """Every <table> as a list of rows of cell texts, with the id of the section it is in."""

    def __init__(self):
        super().__init__()
        self.tables, self.section, self._row, self._cell = [], None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.section = attrs.get("id")
        elif tag == "table":
            self.tables.append({"id": attrs.get("id"), "section": self.section, "rows": []})
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr":
            self.tables[-1]["rows"].append(self._row)
            self._row = None
        elif tag == "section":
            self.section = None


def html_tables(folder: Path) -> list:
    parser = Tables()
    parser.feed((folder / "report.html").read_text())
    return parser.tables


def summary_rows(folder: Path) -> dict:
    (table,) = [t for t in html_tables(folder) if t["id"] == "summary-table"]
    header, *rows = table["rows"]
    return {row[0]: dict(zip(header, row)) for row in rows}


UNITS = {"V_m": "mV", "s_AMPA": "nS", "s_GABA": "nS", "s_NMDA": "nS", "I_AMPA": "pA", "I_GABA": "pA", "I_NMDA": "pA"}
MAX_ABS, MAX_REL, HEADROOM = "max |diff| (unit)", "max rel (÷ |NEST|)", "headroom (tolerance ÷ |diff|)"


def expected_variable_rows(c) -> list:
    return [[name, UNITS[name], num(v.max_abs), num(v.max_rel),
             f"abs {num(v.tolerance.abs)}, rel {num(v.tolerance.rel)}", num(v.headroom), num(v.worst_ms),
             num(v.first_violation_ms), "ok" if v.passed else "FAIL"]
            for name, v in c.variables.items()]


# ------------------------------------------------------------------------------------------ numbers
def test_the_reports_numbers_are_the_comparators(failing_report, comparator_view):
    folder = failing_report[0]
    doc = json.loads((folder / "summary.json").read_text())
    for pair, c in comparator_view.items():
        (entry,) = [e for e in doc["comparisons"] if e["scenario"] == FAILING and e["pair"] == pair]
        assert entry == comparison_json(c), pair  # every number, bit for bit, in the JSON
    live = comparator_view["nest-vs-python"]
    assert any(v.max_abs > 0 for v in live.variables.values())  # the comparison is not trivially all zero
    # The per-variable tables in the HTML and the Markdown show the comparator's numbers.
    section = [t for t in html_tables(folder) if t["section"] == f"s-{FAILING}"]
    assert section[0]["rows"][1:] == expected_variable_rows(live)
    assert section[1]["rows"][1:] == expected_variable_rows(comparator_view["stored-vs-python"])
    markdown = (folder / "report.md").read_text()
    for name, *cells in expected_variable_rows(live):
        cells[-1] = "**FAIL**" if cells[-1] == "FAIL" else cells[-1]
        assert f"| {name} | " + " | ".join(cells) + " |" in markdown
    # The summary row: worst variable (the smallest headroom, then the largest relative error) and its numbers.
    row = summary_rows(folder)[FAILING]
    worst = min(live.variables.values(), key=lambda v: (v.headroom, -v.max_rel, -v.max_abs))
    assert (row["worst variable"], row["unit"], row[MAX_ABS], row[MAX_REL], row[HEADROOM]) == \
        (worst.name, UNITS[worst.name], num(worst.max_abs), num(worst.max_rel), num(worst.headroom))
    what, ms = live.first_divergence()
    assert row["first divergence (variable at ms)"] == f"{what} at {num(ms)} ms"
    assert row["spikes NEST / candidate (count)"] == \
        f"{len(live.spikes.reference_steps)} / {len(live.spikes.candidate_steps)}"


def test_a_broken_candidate_gives_a_report_that_says_fail_and_names_the_variable(failing_report,
                                                                                 comparator_view):
    folder, code, out, err = failing_report
    assert code == 1, out + err
    failing_variables = comparator_view["nest-vs-python"].failures
    assert set(failing_variables) <= VARIANTS[VARIANT].first_diverging | {"I_GABA"}
    rows = summary_rows(folder)
    assert rows[FAILING]["status"] == "FAIL" and rows[FAILING]["worst variable"] in failing_variables
    assert rows[PASSING]["status"] == "PASS" and rows[PASSING]["worst variable"] == "none (identical)"
    page = (folder / "report.html").read_text()
    assert re.search(r'id="headline">FAIL: 2 scenarios', page)
    assert "<title>nest-parity report: FAIL</title>" in page
    markdown = (folder / "report.md").read_text()
    assert "**FAIL**: 2 scenarios: 1 pass, 1 fail, 0 drift, 0 error" in markdown
    for name in failing_variables:
        assert re.search(rf"^\| {name} \|.*\| \*\*FAIL\*\* \|$", markdown, re.M), name
    doc = json.loads((folder / "summary.json").read_text())
    assert doc["status"] == "fail" and doc["report"]["verdict"] == "FAIL"
    assert {s["scenario"]: s["verdict"] for s in doc["scenarios"]} == {FAILING: "regression", PASSING: "pass"}
    assert re.search(rf"^{FAILING}\s+FAIL\s", out, re.M)
    # Where the difference is nonzero the text says in which variables; where it is zero, it says so.
    assert f"|candidate - NEST| is nonzero in {', '.join(failing_variables)}" in markdown
    assert "bit-identical" in markdown.split(f"### {PASSING}")[1]


def test_the_report_lists_failing_scenarios_first_with_units_in_every_header(failing_report, passing_report):
    """The passing scenario comes first on the command line; the report lists the failing one first, in its
    table, its sections (HTML and Markdown) and its printed table; summary.json keeps the command's order."""
    folder, code, out, err = failing_report
    assert list(summary_rows(folder)) == [FAILING, PASSING]
    assert list(summary_rows(passing_report[0])) == [PASSING, FAILING]  # all pass: the command's order
    page, markdown = (folder / "report.html").read_text(), (folder / "report.md").read_text()
    assert page.index(f'<section class="scenario" id="s-{FAILING}">') < page.index(f'id="s-{PASSING}"')
    assert markdown.index(f"### {FAILING}") < markdown.index(f"### {PASSING}")
    printed = [line.split()[0] for line in out.splitlines()[1:3]]
    assert printed == [FAILING, PASSING]
    doc = json.loads((folder / "summary.json").read_text())
    assert [s["scenario"] for s in doc["scenarios"]] == [PASSING, FAILING]
    (table,) = [t for t in html_tables(folder) if t["id"] == "summary-table"]
    assert table["rows"][0] == ["scenario", "status", "worst variable", "unit", MAX_ABS, MAX_REL,
                                "tolerance (abs: unit, rel: ÷ |NEST|)", HEADROOM, "spikes NEST / candidate (count)",
                                "first divergence (variable at ms)"]
    (variables, *_) = [t for t in html_tables(folder) if t["section"] == f"s-{FAILING}"]
    assert variables["rows"][0][:3] == ["variable", "unit", MAX_ABS] and "max |diff| |" not in markdown
    assert variables["rows"][1][:2] == ["V_m", "mV"]


def test_a_passing_report_and_its_provenance(passing_report):
    folder, code, out, err, argv = passing_report
    assert code == 0, out + err
    assert sorted(p.name for p in folder.iterdir()) == ["accuracy", "figures", "report.html", "report.md",
                                                        "summary.json"]
    assert sorted(p.name for p in (folder / "figures").iterdir()) == [f"{FAILING}.png", f"{PASSING}.png"]
    assert sorted(p.name for p in (folder / "accuracy").iterdir()) == ["nest-vs-truth.png"]  # NEST vs the truth
    doc = json.loads((folder / "summary.json").read_text())
    assert doc["command"] == "report" and doc["status"] == "pass" and doc["report"]["verdict"] == "PASS"
    assert doc["report"]["counts"] == {"pass": 2, "fail": 0, "drift": 0, "error": 0}
    assert all(c["status"] == "pass" for c in doc["comparisons"]) and len(doc["comparisons"]) == 6
    recorded = json.loads((REFERENCE_DIR / f"{FAILING}.json").read_text())["provenance"]
    prov = doc["provenance"]
    assert prov["nest_version"] == "3.10.0" and prov["gsl_version"] == recorded["gsl_version"] != "unknown"
    assert prov["stored_references"]["gsl_version"] == recorded["gsl_version"]
    for key in ("harness_version", "harness_commit", "python_version", "numpy_version", "jax_version", "date"):
        assert prov[key] and prov[key] != "not installed", key
    assert prov["command"] == "nest-parity " + " ".join(argv)
    markdown = (folder / "report.md").read_text()
    assert "**PASS**: 2 scenarios: 2 pass, 0 fail, 0 drift, 0 error" in markdown
    assert f"| command | `{prov['command']}` |" in markdown
    assert markdown.count("is exactly 0 for every variable at every sample") == 2
    # The progress bar is drawn on a terminal only: none of it reaches captured (CI) output.
    assert "\r" not in err and "report:" not in err and "%|" not in err


def test_the_html_is_self_contained_and_embeds_the_same_figures(passing_report):
    folder = passing_report[0]
    page = (folder / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page, re.I)
    assert "<script" not in page and "<link" not in page
    assert "default-src 'none'; img-src data:" in page  # the browser itself refuses any fetch
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in sources}
    assert embedded == {p.read_bytes() for name in ("figures", "accuracy") for p in (folder / name).iterdir()}
    markdown = (folder / "report.md").read_text()
    assert f"](figures/{FAILING}.png)" in markdown and f"](figures/{PASSING}.png)" in markdown
    assert "](accuracy/nest-vs-truth.png)" in markdown
    assert (folder / "report.html").stat().st_size < 3_000_000


# ------------------------------------------------------------------------------------------ the folder
def test_an_existing_report_is_not_overwritten_without_force(passing_report):
    folder = passing_report[0]
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    code, out, err = run_cli(["report", PASSING_PATH, "--out", str(folder)])
    assert code == 1 and "a report already exists there; pass --force to replace it" in err  # a refused overwrite
    assert out == "" and {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_force_replaces_a_report_and_leaves_no_temporary_folders(tmp_path):
    folder = tmp_path / "r"
    assert run_cli(["report", PASSING_PATH, "--out", str(folder), "--workers", "1"])[0] == 0
    first = json.loads((folder / "summary.json").read_text())
    assert [s["scenario"] for s in first["scenarios"]] == [PASSING]
    (folder / "figures" / "stale.png").write_bytes(b"old")
    code, out, err = run_cli(["report", PASSING_PATH, "--out", str(folder), "--workers", "1", "--force"])
    assert code == 0, out + err
    assert not (folder / "figures" / "stale.png").exists()  # the folder was replaced, not merged
    assert json.loads((folder / "summary.json").read_text())["created"] >= first["created"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_a_folder_that_is_not_a_report_is_never_replaced(tmp_path):
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    code, out, err = run_cli(["report", PASSING_PATH, "--out", str(tmp_path), "--force"])
    assert code == 2 and "is not a report folder" in err and keep.read_text() == "mine"


def test_a_failed_write_leaves_the_old_report_as_it_was(tmp_path):
    folder = tmp_path / "r"
    write_report_folder(folder, {"summary.json": b"{}", "report.html": b"old"}, force=False)
    with pytest.raises(TypeError):
        write_report_folder(folder, {"summary.json": b"{}", "report.html": None}, force=True)
    assert (folder / "report.html").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    with pytest.raises(UsageError, match="already exists"):
        write_report_folder(folder, {"summary.json": b"{}"}, force=False)


def test_a_scenario_that_cannot_be_judged_is_reported_as_error_exit_2(tmp_path):
    """A missing stored reference: the report is still written, says ERROR and why, and exits 2."""
    folder = tmp_path / "r"
    code, out, err = run_cli(["report", PASSING_PATH, "--references", str(tmp_path), "--out", str(folder),
                              "--workers", "1"])
    assert code == 2, out + err
    row = summary_rows(folder)[PASSING]
    assert row["status"] == "ERROR" and row["first divergence (variable at ms)"].startswith(
        "error in stored-vs-python, stored-vs-nest")
    page = (folder / "report.html").read_text()
    assert 'id="headline">ERROR: 1 scenario ' in page and f"no stored reference {tmp_path}" in page
    assert json.loads((folder / "summary.json").read_text())["report"]["verdict"] == "ERROR"


# ------------------------------------------------------------------------------------------ baseline
def test_baseline_shows_newly_failing_scenarios_and_errors_that_grew(failing_report, comparator_view):
    folder = failing_report[0]
    baseline = json.loads((folder / "summary.json").read_text())["report"]["baseline"]
    assert baseline["newly_failing"] == [{"scenario": FAILING, "before": "pass", "now": "regression"}]
    assert baseline["added"] == baseline["removed"] == baseline["newly_passing"] == []
    grew = {(g["scenario"], g["pair"], g["variable"]): (g["before"], g["now"]) for g in baseline["errors_grew"]}
    live = comparator_view["nest-vs-python"]
    expected = {(FAILING, pair, name): (0.0, comparator_view[pair].variables[name].max_abs)
                for pair in ("nest-vs-python", "stored-vs-python") for name in live.failures}
    assert grew == expected
    page = (folder / "report.html").read_text()
    assert "Changes since the baseline" in page and f"{FAILING} (PASS -&gt; FAIL)" in page
    (table,) = [t for t in html_tables(folder) if t["id"] == "errors-grew"]
    changes = "; ".join(f"{name} 0 -> {num(live.variables[name].max_abs)}" for name in live.failures)
    assert table["rows"][1:] == [[FAILING, "nest-vs-python, stored-vs-python", changes]]
    assert f"* **newly failing**: {FAILING} (PASS -> FAIL)" in (folder / "report.md").read_text()


def test_baseline_diff_added_removed_newly_passing(passing_report, failing_report):
    good = json.loads((passing_report[0] / "summary.json").read_text())
    bad = json.loads((failing_report[0] / "summary.json").read_text())
    diff = diff_against_baseline("bad", bad, good)
    assert diff.newly_passing == [(FAILING, "regression", "pass")] and not diff.newly_failing
    assert diff.grew == [] and diff.shrank == 4  # s_GABA and I_GABA in the two pairs against the candidate
    fewer = dict(good, scenarios=[s for s in good["scenarios"] if s["scenario"] != PASSING])
    diff = diff_against_baseline("fewer", fewer, good)
    assert diff.added == [PASSING] and diff.removed == [] and not diff.unchanged
    assert diff_against_baseline("more", good, fewer).removed == [PASSING]
    assert diff_against_baseline("same", good, good).unchanged


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "nothing-here", "no such report"),
    (lambda tmp: (tmp / "x.json").write_text("{not json") and tmp / "x.json", "not readable JSON"),
    (lambda tmp: (tmp / "c.json").write_text('{"comparisons": []}') and tmp / "c.json", "not a report or gate summary"),
])
def test_a_bad_baseline_exits_2_before_running_anything(make, message, tmp_path):
    code, out, err = run_cli(["report", PASSING_PATH, "--out", str(tmp_path / "r"), "--baseline", str(make(tmp_path))])
    assert code == 2 and message in err and out == "" and not (tmp_path / "r").exists()


def test_report_usage_errors_exit_2(tmp_path):
    code, _, err = run_cli(["report", PASSING_PATH, "--out", str(tmp_path / "r"), "--variant", "tau-reciprocl"])
    assert code == 2 and "did you mean 'tau-reciprocal'" in err
    code, _, err = run_cli(["report", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "r")])
    assert code == 2 and "no such file or folder" in err


# ------------------------------------------------------------------------------------------ figures
def test_the_figure_says_where_the_difference_is_exactly_zero():
    from PIL import Image

    scenario = load_scenario(SCENARIO_DIR / "mixed_inputs.yaml")
    reference = load_stored(scenario, REFERENCE_DIR)
    same = render_figure(reference, run_python(scenario), title="same")
    assert same.all_zero and same.zero_difference == list(reference.variables) and same.nonzero_difference == []
    image = Image.open(io.BytesIO(same.png))
    assert image.format == "PNG" and image.size == (same.width, same.height)
    changed = load_stored(scenario, REFERENCE_DIR)
    changed.variables["V_m"] = np.nextafter(changed.variables["V_m"], np.inf)
    changed.variables["I_NMDA"] = changed.variables["I_NMDA"].copy()
    changed.variables["I_NMDA"][5] = np.nan
    figure = render_figure(reference, changed, title="changed")
    assert not figure.all_zero and figure.nonzero_difference == ["V_m"] and figure.nonfinite == ["I_NMDA"]
    assert "V_m" not in figure.zero_difference and "s_AMPA" in figure.zero_difference


# ------------------------------------------------------------------------------------------ browser
@pytest.fixture(scope="module")
def chromium():
    """Chromium and its driver; `make browser` installs them: a missing browser is a failure, not a skip."""
    try:
        return {"executable": find_chromium(), "driver": find_chromedriver()}
    except BrowserMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.mark.browser
def test_the_html_report_renders_in_headless_chromium(failing_report, chromium):
    folder = failing_report[0]
    page = inspect_page(folder / "report.html", **chromium)
    assert page.errors == [], page.errors
    assert page.external_requests == []
    assert " ".join(page.state["headline"].split()).startswith("FAIL: 2 scenarios 1 pass 1 fail")
    summary = page.state["summaryRows"]
    assert [row[:3] for row in summary] == [[FAILING, "FAIL", summary[0][2]], [PASSING, "PASS", "none (identical)"]]
    assert summary[0][2] in ("s_GABA", "I_GABA")
    images = page.state["images"]
    assert len(images) == 3  # the two scenarios' figures and the one of how far NEST is from the truth
    for image in images:  # every figure decoded and laid out
        assert image["complete"] and image["naturalWidth"] > 0 and image["naturalHeight"] > 0, image
        assert image["renderedWidth"] > 100, image
    assert page.screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.write_bytes(page.screenshot)  # the test artifact (reports/screenshots/, not committed)


@pytest.mark.browser
def test_the_browser_check_sees_broken_images_console_errors_and_fetches(tmp_path, chromium, monkeypatch):
    """The check above can fail: the same inspection on a page with each kind of fault reports each one. And
    Selenium is given both executables, so Selenium Manager (which would download a browser) never runs."""
    from selenium.webdriver.common.selenium_manager import SeleniumManager

    def no_download(*args, **kwargs):
        raise AssertionError("Selenium Manager ran")

    monkeypatch.setattr(SeleniumManager, "binary_paths", no_download)
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title></head><body>'
                   '<img alt="missing" src="missing.png"><img alt="corrupt" src="data:image/png;base64,AAAA">'
                   '<img alt="remote" src="http://127.0.0.1:9/x.png">'
                   '<script>console.error("boom"); notAFunction();</script></body></html>')
    page = inspect_page(bad, screenshot=False, **chromium)
    broken = {i["alt"] for i in page.state["images"] if not (i["complete"] and i["naturalWidth"] > 0)}
    assert broken == {"missing", "corrupt", "remote"}
    assert any(e.startswith("console-api: ") and e.endswith(' "boom"') for e in page.errors), page.errors
    assert any(e.startswith("javascript: ") and "Uncaught ReferenceError: notAFunction" in e for e in page.errors)
    assert any(e.startswith("network: ") and "missing.png" in e for e in page.errors)
    assert "http://127.0.0.1:9/x.png" in page.external_requests
    assert page.state["summaryRows"] == []


def test_a_missing_chromium_fails_loudly_with_the_install_hint(monkeypatch):
    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(BrowserMissing, match=r"apt-get install chromium chromium-driver"):
        find_chromium()
    monkeypatch.delenv("CHROMIUM")
    monkeypatch.setenv("CHROMEDRIVER", "/nonexistent/chromedriver")
    with pytest.raises(BrowserMissing, match=r"CHROMEDRIVER=/nonexistent/chromedriver is not an executable"):
        find_chromedriver()
    monkeypatch.delenv("CHROMEDRIVER")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BrowserMissing, match=r"`make browser`"):
        find_chromium()
    monkeypatch.setattr("harness.report.browser.DRIVER_FALLBACK", "/nonexistent/chromedriver")
    with pytest.raises(BrowserMissing, match=r"no chromedriver found"):
        find_chromedriver()


# ------------------------------------------------------------------------------------------ wiring
def test_make_report_target_and_make_browser_installs_chromium():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^report: \$\(STAMP\)\n\t\$\(PY\) -m harness report", makefile, re.M)
    assert re.search(r"^browser:\n\t@?sh scripts/ensure-chromium\.sh$", makefile, re.M)
    ci = (REPO / ".ci" / "run").read_text()
    assert ci.rstrip().endswith("make test")
    assert os.access(REPO / ".ci" / "run", os.X_OK)


@pytest.mark.parametrize("uid", ["1000", "0"])
def test_ensure_chromium_without_a_browser_says_what_to_install(tmp_path, uid):
    """On a PATH without chromium, scripts/ensure-chromium.sh stops with one line saying what to install: as a
    user, and as root where there is no apt-get (an `id` on that PATH says who we are)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (bin_dir / "id").chmod(0o755)
    done = subprocess.run(["/bin/sh", str(REPO / "scripts" / "ensure-chromium.sh")], env={"PATH": str(bin_dir)},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ("ensure-chromium: the report's browser test needs Debian's chromium and chromium-driver; "
                           "as root run: apt-get install chromium chromium-driver\n")
