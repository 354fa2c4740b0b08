"""The pytest plugin (nest_parity/plugin.py, docs/plugin.md) as another repository uses it: each test writes a
project in a temporary folder that is not this repository (pytester, which also makes it the current
directory) and runs pytest there, with the plugin loaded by ``-p`` as the ``pytest11`` entry point loads it
once the package is installed (tests/test_packaging.py checks the entry point). The stored references are
found from the scenarios' places, never from the current directory; only the regen test runs NEST."""
import json
import re
import shutil
import textwrap

import pytest
from conftest import REFERENCE_DIR, REPO, SCENARIO_DIR

from harness import catalogue
from harness.scenario.discovery import find_scenarios
from harness.scenario.schema import load_scenario
from harness.traces.references import record_reference
from harness.traces.traces import Traces

pytest_plugins = ["pytester"]

PLUGIN = ("-p", "nest_parity.plugin", "-p", "no:cacheprovider")

# The Bar, as docs/plugin.md shows it: the in-process exact engine and a broken copy of it on two
# catalogue scenarios.
BAR = re.search(r"^```python\n(.*?)^```$", (REPO / "docs" / "plugin.md").read_text(), re.S | re.M).group(1)
BROKEN_TITLE = "nmda_one_port: stored (reference) vs run_variant('nmda-unweighted') (candidate), profile exact: FAIL"

OWN = """
name: own_short
description: a port's own scenario, short enough for a few NEST runs
duration: 20.0
inputs:
  - {device: dc_generator, amplitude: 600.0}
  - {device: spike_generator, receptor: NMDA, weight: 2.0, spike_times: [3.0, 4.0]}
"""


def _bar_project(pytester):
    assert REPO != pytester.path and REPO not in pytester.path.parents  # another project, elsewhere
    pytester.makepyfile(test_bar=BAR)
    assert len([line for line in BAR.strip().splitlines() if line.strip()]) <= 10


def _own_project(pytester, test_body: str):
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "own_short.yaml").write_text(OWN)
    (pytester.path / "reference_traces").mkdir()
    pytester.makepyfile(test_own=textwrap.dedent(test_body))
    return pytester.path / "reference_traces" / "own_short.npz"


# ------------------------------------------------------------------------------------------- the Bar
def test_the_exact_engine_passes_and_the_broken_copy_fails_with_the_comparators_table(pytester):
    _bar_project(pytester)
    result = pytester.runpytest(*PLUGIN, "-v")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([f"*::test_engine?{scenario}-{engine}? {verdict}*" for scenario in ("nmda_one_port",
                                 "mixed_inputs") for engine, verdict in (("exact", "PASSED"), ("broken", "FAILED"))])
    out = result.stdout.str()
    # The failure is the comparator's table, then the ladder, and no traceback of the plugin's machinery.
    assert BROKEN_TITLE in out
    result.stdout.re_match_lines([r"  variable\s+max_abs\s+max_rel\s+tol_abs\s+tol_rel\s+headroom",
                                  r"  I_NMDA\s+7\.43\s+0\.67\s+0\s+0\s+0\s+207\s+10\.6\s+FAIL",
                                  r"  first divergence: s_NMDA at 10\.6 ms", r"accuracy ladder \(max \|difference\|.*",
                                  r"  note: stored truth reference .*reference_traces/truth/nmda_one_port\.npz"])
    assert "run_python (candidate)" not in out and "Traceback" not in out and "plugin.py" not in out
    result.stdout.fnmatch_lines(["*= nest-parity =*", "4 comparisons: 2 pass, 2 fail"])


@pytest.mark.slow
def test_the_session_report_lists_failures_first_and_replaces_only_an_earlier_report(pytester):
    _bar_project(pytester)
    pytester.runpytest(*PLUGIN, "--nest-parity-report", "rep").assert_outcomes(passed=2, failed=2)
    markdown = (pytester.path / "rep" / "report.md").read_text()
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and not line.startswith("| status")]
    assert [row.split(" | ")[0] for row in rows] == ["| FAIL", "| FAIL", "| PASS", "| PASS"]
    assert "| FAIL | nmda_one_port | run_variant('nmda-unweighted') | stored | exact | s_NMDA at 10.6 |" in markdown
    assert f"```\n{BROKEN_TITLE}\n" in markdown and "accuracy ladder" in markdown
    assert markdown.splitlines()[2].startswith("**FAIL**: 4 comparisons: 2 pass, 2 fail.")
    doc = json.loads((pytester.path / "rep" / "summary.json").read_text())
    assert (doc["command"], doc["status"], len(doc["comparisons"])) == ("pytest", "fail", 4)
    assert {(t["test"].split("::")[1], t["status"]) for t in doc["tests"]} == {
        ("test_engine[nmda_one_port-exact]", "pass"), ("test_engine[mixed_inputs-exact]", "pass"),
        ("test_engine[nmda_one_port-broken]", "fail"), ("test_engine[mixed_inputs-broken]", "fail")}
    assert all(c["ladder"]["nest_truth"] is not None for c in doc["comparisons"])

    pytester.runpytest(*PLUGIN, "--nest-parity-report", "rep", "-k", "exact").assert_outcomes(passed=2)
    doc = json.loads((pytester.path / "rep" / "summary.json").read_text())
    assert (doc["status"], len(doc["comparisons"])) == ("pass", 2)

    notes = pytester.path / "notes"
    notes.mkdir()
    (notes / "mine.txt").write_text("keep me")
    result = pytester.runpytest(*PLUGIN, "--nest-parity-report", "notes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--nest-parity-report notes: exists and is not a report folder" in result.stderr.str()
    assert (notes / "mine.txt").read_text() == "keep me" and sorted(p.name for p in notes.iterdir()) == ["mine.txt"]


# ------------------------------------------------------------------------------------------- the marker
def test_the_marker_selects_by_name_folder_and_glob_with_the_scenario_names_as_ids(pytester):
    _own_project(pytester, """
        import pytest
        mark = pytest.mark.nest_parity_scenarios

        @mark("ampa_only", "ports/brainpy")
        def test_named(scenario): pass

        @mark(folder="scenarios")
        def test_own(scenario): pass

        @mark("net_*.yaml")
        def test_networks(scenario): pass

        @mark(networks=False)
        def test_single(scenario): pass

        @mark()
        def test_all(scenario): pass
    """)
    result = pytester.runpytest(*PLUGIN, "--collect-only", "-q")
    ids = {}
    for line in result.stdout.lines:
        if "::" in line:
            test, _, param = line.split("::")[1].partition("[")
            ids.setdefault(test, []).append(param.rstrip("]"))
    catalogue_scenarios = [load_scenario(p) for p in find_scenarios([str(SCENARIO_DIR)])]
    ports = sorted(load_scenario(p).name for p in (SCENARIO_DIR / "ports" / "brainpy").glob("*.yaml"))
    assert ids["test_named"] == ["ampa_only", *ports]
    assert ids["test_own"] == ["own_short"]
    assert ids["test_networks"] == sorted(p.stem for p in SCENARIO_DIR.glob("net_*.yaml")) and ids["test_networks"]
    assert ids["test_single"] == [s.name for s in catalogue_scenarios if not s.is_network]
    assert ids["test_all"] == [s.name for s in catalogue_scenarios]


def test_a_selection_that_names_nothing_is_a_collection_error_in_words(pytester):
    pytester.makepyfile(test_typo="""
        import pytest

        @pytest.mark.nest_parity_scenarios("nmda_one_prot")
        def test_typo(scenario): pass
    """, test_no_argument="""
        import pytest

        @pytest.mark.nest_parity_scenarios("ampa_only")
        def test_no_argument(): pass
    """)
    result = pytester.runpytest(*PLUGIN, "--collect-only")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*test_no_argument: @pytest.mark.nest_parity_scenarios parametrizes the argument "
                                 "`scenario`, which the test does not take",
                                 "*no scenario 'nmda_one_prot' (did you mean 'nmda_one_port'?) in "
                                 f"{catalogue.SCENARIOS}"])
    assert "Traceback" not in result.stdout.str()


# ------------------------------------------------------------------------------------------- candidates
@pytest.mark.slow
def test_a_function_of_the_compiled_inputs_and_a_registered_candidate_are_judged_alike(pytester):
    pytester.makepyfile(test_ports="""
        import pytest
        from harness.candidates.engine_runner import simulate

        def port(inputs):
            variables, spikes = simulate(inputs)
            return {**variables, "spike_steps": spikes}

        def off(inputs):
            variables, spikes = simulate(inputs)
            variables["V_m"] = variables["V_m"] + 1e-9
            return {**variables, "spike_steps": spikes}

        @pytest.mark.nest_parity_scenarios("mixed_inputs")
        def test_port(nest_parity, scenario):
            result = nest_parity.check(port, scenario, inputs=True)
            assert (result.candidate, result.profile, result.status) == ("port", "exact", "pass")

        @pytest.mark.nest_parity_scenarios("mixed_inputs")
        def test_off(nest_parity, scenario):
            nest_parity.check(off, scenario, inputs=True)

        @pytest.mark.nest_parity_scenarios("mixed_inputs")
        def test_registered(nest_parity, scenario):
            assert nest_parity.check("engine", scenario).profile == "exact"  # the registry's profile

        def test_no_reference(nest_parity):
            nest_parity.check("python", {"name": "nowhere", "duration": 5.0})
    """)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=2, failed=2)
    out = result.stdout.str()
    assert "mixed_inputs: stored (reference) vs off (candidate), profile exact: FAIL" in out
    result.stdout.re_match_lines([r"  V_m\s+1e-09\s+.*FAIL"])
    # A scenario that is no file has no project: its reference is looked for in the catalogue's folder.
    assert f"nest-parity: <mapping>: no stored reference {catalogue.REFERENCES / 'nowhere.npz'}" in out


# ------------------------------------------------------------------------------------------- regen
@pytest.mark.nest
@pytest.mark.slow
def test_regen_writes_missing_references_keeps_identical_ones_and_replaces_a_differing_one_only_when_forced(pytester):
    from harness.backends.nest import nest_module

    # Imported here, before the runs: pytester forgets the modules each in-process run imports, and NEST's
    # kernel cannot be started a second time in one process.
    nest_module()
    npz = _own_project(pytester, """
        import pytest

        @pytest.mark.nest_parity_scenarios(folder="scenarios")
        def test_own(nest_parity, scenario):
            nest_parity.check("python", scenario, profile="exact")
    """)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(failed=1)
    assert f"no stored reference {npz.relative_to(pytester.path)}" in result.stdout.str()  # the project's folder

    result = pytester.runpytest(*PLUGIN, "--nest-parity-regen")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["regen written   reference_traces/own_short.npz: new reference"])
    pytester.runpytest(*PLUGIN, "--nest-parity-regen").stdout.fnmatch_lines(
        ["regen unchanged reference_traces/own_short.npz: identical to the stored reference"])

    scenario = load_scenario(pytester.path / "scenarios" / "own_short.yaml")
    changed = Traces.load(npz)
    changed.variables["V_m"][5] += 1e-6
    assert record_reference(scenario, changed, force=True, directory=npz.parent).status == "written"
    tampered = npz.read_bytes()
    result = pytester.runpytest(*PLUGIN, "--nest-parity-regen")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*--nest-parity-regen left reference_traces/own_short.npz as it was: V_m differs*"
                                 "use --force to overwrite (here: --nest-parity-regen=force)"])
    assert npz.read_bytes() == tampered

    result = pytester.runpytest(*PLUGIN, "--nest-parity-regen=force")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["regen written   reference_traces/own_short.npz: overwritten (--force): V_m differs*"])


@pytest.mark.slow
def test_regen_keeps_the_installed_packages_references_and_refuses_a_project_without_a_folder(pytester, monkeypatch):
    """The packaged catalogue is the one the release was checked against: regen leaves it alone (and runs
    no NEST for it); a scenario whose project has no reference_traces/ has nowhere to be recorded."""
    site = pytester.path / "site" / "nest_parity" / "catalogue"
    (site / "scenarios").mkdir(parents=True)
    shutil.copy(SCENARIO_DIR / "ampa_only.yaml", site / "scenarios")
    shutil.copytree(REFERENCE_DIR, site / "reference_traces", ignore=lambda d, names: [
        n for n in names if not n.startswith("ampa_only.") and n != "truth"])
    for name, value in (("ROOT", site), ("INSTALLED", True), ("SCENARIOS", site / "scenarios"),
                        ("REFERENCES", site / "reference_traces")):
        monkeypatch.setattr(catalogue, name, value)
    (pytester.path / "elsewhere").mkdir()
    (pytester.path / "elsewhere" / "own_short.yaml").write_text(OWN)
    pytester.makepyfile(test_regen="""
        import pytest

        @pytest.mark.nest_parity_scenarios("ampa_only")
        def test_packaged(nest_parity, scenario):
            nest_parity.check("python", scenario)

        @pytest.mark.nest_parity_scenarios(folder="elsewhere")
        def test_nowhere(nest_parity, scenario):
            nest_parity.check("python", scenario)
    """)
    result = pytester.runpytest(*PLUGIN, "--nest-parity-regen")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["nest-parity: */elsewhere/own_short.yaml: no folder above it holds reference_traces/*",
                                 "regen kept      site/nest_parity/catalogue/reference_traces/ampa_only.npz: a "
                                 "scenario of the installed package: its references are fixed"])
    assert "During handling" not in result.stdout.str()


# ------------------------------------------------------------------------------------------- xdist
@pytest.mark.slow
def test_the_report_gathers_the_comparisons_of_every_xdist_worker(pytester):
    pytest.importorskip("xdist")
    _bar_project(pytester)
    result = pytester.runpytest(*PLUGIN, "-n", "2", "--nest-parity-report", "rep")
    result.assert_outcomes(passed=2, failed=2)
    doc = json.loads((pytester.path / "rep" / "summary.json").read_text())
    assert sorted(c["status"] for c in doc["comparisons"]) == ["fail", "fail", "pass", "pass"]
    result.stdout.fnmatch_lines(["4 comparisons: 2 pass, 2 fail"])
