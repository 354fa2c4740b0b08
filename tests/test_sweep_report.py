"""The sweep report on a results dataset written by hand (store.write_part), so that every count, every
position in the worst-first table and every figure is known in advance."""
from __future__ import annotations

import base64
import io
import json
import math
import re

import pytest
from PIL import Image

from harness.errors import OverwriteRefused, UsageError
from harness.sweep import store
from harness.sweep.report import MAX_ROWS, summary_markdown, write_sweep_report

SWEEP = "sweeps/demo.yaml"
PY, JAX = "nest-vs-python", "nest-vs-python-jax"
# variant -> (changes); ids are 12 hex digits like the real ones.
A, B, C, D, E = "aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd", "eeeeeeeeeeee"
CHANGES = {A: {"resolution": 0.1, "params.gsl_error_tol": 1e-6}, B: {"resolution": 0.05, "params.gsl_error_tol": 1e-3},
           C: {"resolution": 0.01, "params.gsl_error_tol": 1e-3}, D: {"resolution": -1.0, "params.gsl_error_tol": 1e-3},
           E: {"resolution": 0.1, "params.gsl_error_tol": 1e-3}}


def _row(variant, pair, verdict, variable=None, max_abs=None, headroom=None, **extra):
    changes = CHANGES[variant]
    return {"sweep": "demo", "variant_id": variant, "base": "ampa_only",
            "variant": ",".join(f"{k}={v}" for k, v in changes.items()), "changes": json.dumps(changes),
            "pair": pair, "reference": "nest", "candidate": pair.split("-vs-")[1], "profile": "integrator",
            "variable": variable, "unit": {"V_m": "mV", "s_AMPA": "nS"}.get(variable), "max_abs": max_abs,
            "max_rel": None if max_abs is None else max_abs / 70, "headroom": headroom,
            "abs_tol": None if variable is None else 1e-6, "rel_tol": None if variable is None else 0.0,
            "passed": None if variable is None else verdict == "pass", "verdict": verdict, "seconds": 0.5,
            "worker": "node1:4242" if pair == PY else "node1:4243", "task": "t0", **extra}


def _judged(variant, pair, verdict, v_m, headroom, **extra):
    return [_row(variant, pair, verdict, "V_m", v_m, headroom, **extra),
            _row(variant, pair, verdict, "s_AMPA", 0.0, math.inf)]


def _manifest(out, **extra):
    (out / store.MANIFEST).write_text(json.dumps({
        "name": "demo", "path": SWEEP, "content_hash": "0123456789abcdef", "axes": ["resolution",
        "params.gsl_error_tol"], "candidates": ["python", "python-jax"], "profile": "integrator", "truth": "none",
        "variants": 6, "started": "2026-09-01T10:00:00+00:00", "cluster_note": "two workers", **extra}))


@pytest.fixture
def results(tmp_path):
    out = tmp_path / "sweep-out"
    out.mkdir()
    _manifest(out)
    store.write_part(out, "ampa_only", "t0", [
        *_judged(A, PY, "pass", 0.0, math.inf), *_judged(A, JAX, "pass", 1e-9, 1000.0),
        *_judged(B, PY, "fail", 3e-5, 1 / 30, first_divergence="V_m", first_divergence_ms=12.5),
        *_judged(B, JAX, "pass", 2e-7, 5.0)])
    store.write_part(out, "ampa_only", "t1", [
        _row(C, PY, "error", error="NEST died: killed"), _row(C, JAX, "error", error="NEST died: killed"),
        _row(D, PY, "invalid", error="resolution: must be > 0"),
        _row(D, JAX, "invalid", error="resolution: must be > 0"),
        *_judged(E, PY, "pass", 2e-8, 50.0),
        *_judged(E, JAX, "fail", math.nan, 0.0, first_divergence="V_m", first_divergence_ms=3.0)])
    return out


def _worst_table(markdown: str) -> list:
    """(variant id, pair, verdict) of each row of the Markdown's worst-first table."""
    section = markdown.split("## Worst variants first", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in section.splitlines() if re.match(r"\| \d+ \|", line)]
    return [(r[1], r[4], r[5]) for r in rows]


def _images(html: str) -> list:
    return [Image.open(io.BytesIO(base64.b64decode(data))) for data in
            re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]


def test_worst_first_counts_and_reproduce_lines(results, tmp_path):
    paths = write_sweep_report(results, tmp_path / "rep")
    md = paths["markdown"].read_text()
    assert _worst_table(md) == [(C, PY, "error"), (C, JAX, "error"), (D, PY, "invalid"), (D, JAX, "invalid"),
                                (E, JAX, "fail"), (B, PY, "fail"), (B, JAX, "pass"), (E, PY, "pass"),
                                (A, JAX, "pass"), (A, PY, "pass")]
    assert "**ERROR**: 5 variants: 1 pass, 2 fail, 1 error, 1 invalid (1 not run yet)" in md
    doc = json.loads(paths["summary"].read_text())
    assert doc["counts"] == {"total": 5, "pass": 1, "fail": 2, "error": 1, "invalid": 1}
    assert doc["not_run"] == 1 and doc["verdict"] == "ERROR"
    assert {p["pair"]: (p["pass"], p["fail"], p["error"], p["invalid"]) for p in doc["pairs"]} == {
        PY: (2, 1, 1, 1), JAX: (2, 1, 1, 1)}
    by = {(w["variant_id"], w["pair"]): w for w in doc["worst"]}
    assert by[(B, PY)]["worst_variable"] == "V_m" and by[(B, PY)]["max_abs"] == 3e-5
    assert by[(E, JAX)]["max_abs"] == "nan" and by[(A, PY)]["headroom"] == "inf"
    assert by[(A, PY)]["worst_variable"] is None  # nothing differs
    assert by[(C, PY)]["error"] == "NEST died: killed"
    assert by[(B, PY)]["reproduce"] == (f"nest-parity sweep {SWEEP} --show {B} > {B}.yaml && "
                                        f"nest-parity compare {B}.yaml --profile integrator")
    assert by[(B, JAX)]["reproduce"].endswith(f"nest-parity compare {B}.yaml --candidate python-jax "
                                              f"--profile integrator")
    assert f"`nest-parity sweep {SWEEP} --show {E} > {E}.yaml && nest-parity compare {E}.yaml " in md
    html = paths["html"].read_text()
    assert html.count("reproduce: <code>nest-parity sweep") == 10
    assert f"nest-parity compare {E}.yaml --candidate python-jax --profile integrator</code>" in html
    assert "| 6 | bbbbbbbbbbbb | ampa_only | resolution=0.05,params.gsl_error_tol=0.001 |" in md
    assert "3e-05 mV" in md and "V_m at 12.5 ms" in md and "invalid: resolution: must be > 0" in md
    # The header: what ran where, the manifest's unknown keys included.
    for words in ("`0123456789abcdef`", "node1 (2 worker processes)", "two workers", "2026-09-01T10:00:00",
                  "python, python-jax", "| profile | integrator |"):
        assert words in md


def test_figures_one_per_axis_embedded_and_linked(results, tmp_path):
    paths = write_sweep_report(results, tmp_path / "rep")
    html = paths["html"].read_text()
    images = _images(html)
    assert len(images) == 2 == len(paths["figures"])
    assert all(i.size[0] > 0 and i.size[1] > 0 for i in images)
    assert [p.name for p in paths["figures"]] == ["error_vs_01_resolution.png", "error_vs_02_params.gsl_error_tol.png"]
    md = paths["markdown"].read_text()
    for p in paths["figures"]:
        assert Image.open(p).size[0] > 0 and f"(figures/{p.name})" in md
    doc = json.loads(paths["summary"].read_text())
    assert doc["figures"] == {"resolution": "figures/error_vs_01_resolution.png",
                              "params.gsl_error_tol": "figures/error_vs_02_params.gsl_error_tol.png"}
    # the captions: log x for gsl_error_tol (3 decades), linear for resolution (0.01 .. 0.1 is one decade);
    # the abs tolerance marked; the variants without numbers counted.
    assert "x: resolution (ms), linear scale" in html and "x: params.gsl_error_tol, log scale" in html
    assert "abs tolerance 1e-06 mV (the red line) (V_m)" in html
    assert "2 variants (error or invalid) have no numbers" in html


def test_html_is_self_contained(results, tmp_path):
    html = write_sweep_report(results, tmp_path / "rep")["html"].read_text()
    assert "default-src 'none'" in html
    assert not re.search(r"<(script|link|iframe|object)\b", html, re.I)
    assert re.findall(r'\bsrc="([^"]*)"', html) and all(s.startswith("data:image/png;base64,")
                                                         for s in re.findall(r'\bsrc="([^"]*)"', html))
    assert not re.search(r"\bhref=|url\(", html)


def test_refuses_to_overwrite_without_force(results, tmp_path):
    out = tmp_path / "rep"
    write_sweep_report(results, out)
    before = (out / "report.md").read_text()
    with pytest.raises(OverwriteRefused, match="--force"):
        write_sweep_report(results, out)
    assert (out / "report.md").read_text() == before
    assert write_sweep_report(results, out, force=True)["folder"] == out
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="not a report folder"):
        write_sweep_report(results, foreign, force=True)
    assert (foreign / "keep.txt").read_text() == "mine"


def test_never_writes_into_reference_traces(results):
    from harness.traces.references import REPO_REFERENCE_DIR

    target = REPO_REFERENCE_DIR / "sweep-report-test"
    with pytest.raises(UsageError, match="reference folder"):
        write_sweep_report(results, target)
    assert not target.exists()


def test_default_folder_is_beside_the_results(results):
    paths = write_sweep_report(results)
    assert paths["folder"] == results / "report" and paths["html"].is_file()
    assert store.done_variants(results) == {A, B, C, D, E}  # the dataset reads as before


def test_summary_only_omits_the_tables_and_figures(results, tmp_path):
    paths = write_sweep_report(results, tmp_path / "rep", summary_only=True)
    md = paths["markdown"].read_text()
    assert "Worst variants first" not in md and "figures/" not in md and "--show" not in md
    assert "## Verdicts per pair" in md and "1 pass, 2 fail, 1 error, 1 invalid" in md
    assert "The smallest headroom: 0, V_m of variant eeeeeeeeeeee" in md
    assert paths["figures"] == [] and not (tmp_path / "rep" / "figures").exists()
    html = paths["html"].read_text()
    assert "<img" not in html and "worst-table" not in html
    assert json.loads(paths["summary"].read_text())["worst"] == []
    assert summary_markdown(results) == md  # no timestamp in it: committing it again changes nothing
    embedded = summary_markdown(results, level=3)
    assert embedded.startswith("### Sweep report: demo") and "\n#### Verdicts per pair" in embedded


def test_table_is_capped_and_exact_profile_says_tolerance_zero(tmp_path):
    out = tmp_path / "big"
    out.mkdir()
    _manifest(out, axes=["inputs[0].weight"], profile="exact", variants=MAX_ROWS + 10, candidates=["python"])
    rows = []
    for i in range(MAX_ROWS + 10):
        variant = f"{i:012x}"
        CHANGES[variant] = {"inputs[0].weight": float(1 + i)}
        rows += [{**r, "profile": "exact", "abs_tol": 0.0, "rel_tol": 0.0}
                 for r in _judged(variant, PY, "pass", 0.0, math.inf)]
    rows[0].update(max_abs=1e-15, headroom=0.0, verdict="fail", passed=False)  # the one that differs
    rows[1].update(verdict="fail")
    store.write_part(out, "ampa_only", "t0", rows)
    paths = write_sweep_report(out, tmp_path / "rep")
    md = paths["markdown"].read_text()
    table = _worst_table(md)
    assert len(table) == MAX_ROWS and table[0] == ("000000000000", PY, "fail")
    assert "10 more variant pairs, all better than these, are not shown" in md
    assert "**FAIL**: 60 variants: 59 pass, 1 fail, 0 error, 0 invalid" in md
    assert "tolerance 0: any difference fails (V_m)" in md
    assert "x: inputs[0].weight (nS), log scale" in md  # 1 .. 60: more than a decade
    assert len(_images(paths["html"].read_text())) == 1


def test_not_a_results_folder(tmp_path):
    with pytest.raises(UsageError, match="no sweep.json"):
        write_sweep_report(tmp_path, tmp_path / "rep")


def test_no_results_yet_and_a_registered_candidate(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    _manifest(out)
    paths = write_sweep_report(out, tmp_path / "rep")
    md = paths["markdown"].read_text()
    assert "**NO RESULTS**: 0 variants" in md and "(6 not run yet)" in md and "No variant has results yet." in md
    assert paths["figures"] == [] and "No figure" in md
    # a registered out-of-process candidate is reproduced by `candidates run`, the reference named when not nest
    brainpy = "stored-vs-brainpy"
    store.write_part(out, "ampa_only", "t0", [{**r, "reference": "stored", "candidate": "brainpy"}
                                             for r in _judged(B, brainpy, "pass", 2e-7, 5.0)])
    doc = json.loads(write_sweep_report(out, tmp_path / "rep", force=True)["summary"].read_text())
    assert doc["worst"][0]["reproduce"] == (f"nest-parity sweep {SWEEP} --show {B} > {B}.yaml && nest-parity "
                                            f"candidates run brainpy {B}.yaml --reference stored --profile integrator")
    assert doc["pairs"] == [{"pair": brainpy, "candidate": "brainpy", "variants": 1, "pass": 1, "fail": 0,
                             "error": 0, "invalid": 0, "smallest_headroom": 5.0, "at_variant": B}]


@pytest.mark.browser
def test_the_html_renders_in_headless_chromium(results, tmp_path):
    """As the release report's (tests/test_report.py): a missing browser is a failure, not a skip."""
    from harness.report.browser import BrowserMissing, find_chromedriver, find_chromium, inspect_page

    try:
        chromium = {"executable": find_chromium(), "driver": find_chromedriver()}
    except BrowserMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    page = inspect_page(write_sweep_report(results, tmp_path / "rep")["html"], screenshot=False, **chromium)
    assert page.errors == [] and page.external_requests == []
    assert " ".join(page.state["headline"].split()).startswith("ERROR: 5 variants 1 pass 2 fail 1 error 1 invalid")
    images = page.state["images"]
    assert len(images) == 2 and all(i["complete"] and i["naturalWidth"] > 0 for i in images), images
