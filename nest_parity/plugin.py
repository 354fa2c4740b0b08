"""The pytest plugin: a port's own repository gates on the catalogue with a few lines (docs/plugin.md).

Installing nest-parity registers it (entry point ``pytest11``, named ``nest_parity.plugin`` as the module
is); where it is not installed, load it with ``-p nest_parity.plugin``. ::

    import pytest
    from my_port import run   # Scenario -> Traces

    @pytest.mark.nest_parity_scenarios("nmda_one_port", "mixed_inputs")
    def test_my_port(nest_parity, scenario):
        nest_parity.check(run, scenario, profile="exact")

* the ``nest_parity_scenarios`` marker parametrizes ``scenario`` over catalogue scenarios (by name, or
  files, folders and globs; default: the whole catalogue), test ids being the scenarios' names;
  ``scenario_params`` gives the same list for a ``pytest.mark.parametrize`` of one's own;
* the ``nest_parity`` fixture's ``check(candidate, scenario, ...)`` judges a candidate (a registered name, a
  built-in backend, a Python callable taking the Scenario, or with ``inputs=True`` one taking the compiled
  protocol inputs) against a reference (default: the stored NEST reference) as ``nest_parity.compare``
  does, and fails the test with the comparator's table and the accuracy ladder;
* ``--nest-parity-regen`` records the stored references the checks read before judging (missing ones are
  written, identical ones kept, a differing one is refused and fails the test); ``=force`` replaces it;
* ``--nest-parity-report DIR`` writes the session's comparisons as report.md and summary.json.
"""
from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

import pytest

MARKER = "nest_parity_scenarios"
REGEN_MODES = ("missing", "force")
STORED_KINDS = {"stored": "nest", "stored-truth": "truth"}  # reference source -> the kind regen records
_SESSION = pytest.StashKey()
_WORKER_KEY = "nest_parity_records"


# ------------------------------------------------------------------------------------------- options
def pytest_addoption(parser):
    group = parser.getgroup("nest-parity", "nest-parity: judging ports of iaf_bw_2001_exact (docs/plugin.md)")
    group.addoption("--nest-parity-regen", nargs="?", const="missing", default=None, choices=REGEN_MODES,
                    metavar="force",
                    help="record the stored references that nest_parity.check reads before judging: missing "
                         "ones are written, a differing one is refused (the test fails); =force replaces it")
    group.addoption("--nest-parity-report", metavar="DIR", default=None,
                    help="write the session's comparisons to DIR (report.md, summary.json); an earlier report "
                         "there is replaced, any other folder is refused")


def pytest_configure(config):
    config.addinivalue_line("markers", f"{MARKER}(*scenarios, folder=None, networks=True): parametrize the "
                            "test's `scenario` argument over nest-parity scenarios: names in `folder` (default: "
                            "the catalogue), or files, folders and globs; none: all of them (docs/plugin.md)")
    report = config.getoption("--nest-parity-report")
    if report and not hasattr(config, "workerinput"):  # refused before any test runs, not after them all
        from harness.errors import UsageError
        from harness.report.folder import check_out_dir

        try:
            check_out_dir(Path(report), force=True)
        except UsageError as exc:
            raise pytest.UsageError(str(exc).replace("--out", "--nest-parity-report", 1)) from None
    config.stash[_SESSION] = Session(config.getoption("--nest-parity-regen"), report)


def pytest_report_header(config):
    from harness import __version__, catalogue

    where = "installed" if catalogue.INSTALLED else "checkout"
    return f"nest-parity {__version__}: catalogue {catalogue.ROOT} ({where})"


# ------------------------------------------------------------------------------------------- scenarios
def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        return
    if "scenario" not in metafunc.fixturenames:
        pytest.fail(f"{metafunc.definition.nodeid}: @pytest.mark.{MARKER} parametrizes the argument `scenario`, "
                    f"which the test does not take", pytrace=False)
    base = Path(metafunc.definition.path).parent  # relative folders are the test file's, as __file__ is
    try:
        params, problem = scenario_params(*marker.args, **marker.kwargs, base=base), None
    except Exception as exc:  # noqa: BLE001 - any problem of the selection is one collection error, in words
        params, problem = None, f"{type(exc).__name__}: {exc}" if isinstance(exc, TypeError) else str(exc)
    if problem:
        pytest.fail(f"{metafunc.definition.nodeid}: @pytest.mark.{MARKER}: {problem}", pytrace=False)
    metafunc.parametrize("scenario", params)


def scenario_params(*selectors, folder=None, networks: bool = True, base=None) -> list:
    """Scenarios as ``pytest.param``s with their names as ids, for ``pytest.mark.parametrize("scenario", ...)``.

    ``selectors``: scenario names, or files, folders (searched recursively for ``*.yaml``) and glob patterns,
    all within ``folder`` unless absolute; none: every scenario in ``folder``. ``folder``: default the
    catalogue (``harness.catalogue.SCENARIOS``: the installed package's, or the checkout's ``scenarios/``); a
    relative one is taken from ``base`` (the marker passes the test file's folder; default: the current
    directory). ``networks=False`` leaves network scenarios out (for a port that speaks protocol 1 only).
    """
    from harness import catalogue

    root = catalogue.SCENARIOS if folder is None else Path.cwd() / Path(base or ".") / folder
    chosen, unknown = [], []
    for selector in map(str, selectors):
        if selector in _by_name(str(root)):
            chosen.append(_by_name(str(root))[selector])
        elif selector.endswith(".yaml") or "/" in selector or any(c in selector for c in "*?["):
            chosen.extend(_loaded(tuple(_expand(str(root / selector)))))  # root / an absolute path is that path
        else:
            unknown.append(selector)
    if unknown:
        import difflib

        hints = [repr(u) + "".join(f" (did you mean {c!r}?)" for c in difflib.get_close_matches(
            u, _by_name(str(root)), n=1)) for u in unknown]
        raise LookupError(f"no scenario {', '.join(hints)} in {root}")
    if not selectors:
        chosen = list(_by_name(str(root)).values())
    chosen = [s for s in {(s.path, s.name): s for s in chosen}.values() if networks or not s.is_network]
    return [pytest.param(s, id=s.name) for s in chosen]


def _expand(pattern: str) -> list[Path]:
    from harness.scenario.discovery import expand_pattern

    return expand_pattern(pattern)


@functools.lru_cache(maxsize=None)
def _by_name(root: str) -> dict:
    """name -> Scenario of every scenario file under ``root`` (read once per process)."""
    return {s.name: s for s in _loaded(tuple(_expand(root)))}


@functools.lru_cache(maxsize=None)
def _loaded(paths: tuple) -> list:
    from harness.scenario.schema import load_scenarios

    return load_scenarios(list(paths))


# ------------------------------------------------------------------------------------------- the fixture
@pytest.fixture
def nest_parity(request) -> Parity:
    """Judges candidates on scenarios and fails the test with the comparator's table (``Parity.check``)."""
    return Parity(request.config.stash[_SESSION], request.node.nodeid)


class Parity:
    def __init__(self, session: Session, test: str):
        self.session, self.test = session, test

    def check(self, candidate, scenario, *, reference: str = "stored", profile: str | None = None,
              truth: str = "auto", references=None, inputs: bool = False):
        """``candidate`` judged against ``reference`` on ``scenario`` (anything ``nest_parity.load_scenario``
        takes); returns the ``Comparison`` when it passes, else fails the test with the comparator's table.

        ``candidate``: a registered candidate's name, a built-in backend (``python``, ``python-jax``, ...), a
        callable ``Scenario -> Traces``, or with ``inputs=True`` a callable taking the compiled protocol inputs
        (``harness.candidates.protocol.CompiledInputs``) and returning a mapping of arrays, one per recordable
        asked for plus ``spike_steps`` (and ``spike_neurons`` for a network), as a protocol runner writes them.
        ``reference``: default the stored NEST reference (no NEST run); ``nest`` runs NEST now. ``profile``:
        default the scenario's ``tolerances:`` block, else a registered candidate's own, else ``exact``.
        ``references``: the folder of stored references (default: the scenario's project's, or the
        catalogue's for its scenarios: docs/plugin.md).
        """
        import nest_parity
        from harness.candidates.execute import CandidateError
        from harness.errors import UsageError

        try:
            scenario = nest_parity.load_scenario(scenario)
            if self.session.regen and reference in STORED_KINDS:
                self.session.regenerate(scenario, STORED_KINDS[reference], references, self.test)
            run = protocol_candidate(candidate) if inputs else candidate
            result = nest_parity.compare(scenario, reference, run, profile=profile, truth=truth,
                                         references=references)
        except (UsageError, CandidateError) as exc:  # said in words, as the command line says it
            result, problem = None, str(exc)
        if result is None:
            self.session.errors.append({"test": self.test, "scenario": getattr(scenario, "name", str(scenario)),
                                        "error": problem})
            pytest.fail(f"nest-parity: {problem}", pytrace=False)
        self.session.add(self.test, result)
        if result.status != "pass":
            pytest.fail(failure_text(result), pytrace=False)
        return result


def failure_text(comparison) -> str:
    """The comparator's table, then the accuracy ladder: what ``nest-parity compare`` prints."""
    from harness.report.ladder import ladder_table
    from harness.report.summary import comparison_table

    text = comparison_table(comparison)
    if comparison.ladder is not None:
        text += "\n" + ladder_table(comparison.ladder, comparison.candidate)
    return text


def protocol_candidate(function):
    """A ``Scenario -> Traces`` callable from a function of the compiled inputs (docs/candidates.md), its
    output checked by the protocol's rules, named as the function is."""
    from harness.api import callable_name

    def run(scenario):
        from harness.candidates import protocol

        compiled = protocol.compile_inputs(scenario)
        arrays = dict(function(compiled))
        spikes, neurons = arrays.pop("spike_steps", ()), arrays.pop("spike_neurons", None)
        arrays.pop("steps", None)
        with tempfile.TemporaryDirectory(prefix="nest-parity-inputs-") as out:
            # The protocol's reader holds every check a port's output must pass; it reads files.
            protocol.write_traces(Path(out), arrays, spikes, spike_neurons=neurons)
            traces = protocol.read_traces(Path(out), compiled.meta)
        traces.provenance.update(backend=f"callable:{run.__name__}", scenario_path=scenario.path,
                                 scenario_hash=scenario.content_hash)
        return traces

    run.__name__ = callable_name(function)
    return run


# ------------------------------------------------------------------------------------------- the session
class Session:
    """What the session's checks did: each comparison (as JSON, so that xdist workers can hand it over),
    each error and each reference regen recorded."""

    def __init__(self, regen: str | None, report: str | None):
        self.regen, self.report, self.report_error = regen, report, None
        self.records, self.errors, self.regenerated = [], [], []

    def add(self, test: str, comparison) -> None:
        from harness.report.summary import comparison_json

        self.records.append({"test": test, "comparison": comparison_json(comparison),
                             "text": failure_text(comparison)})

    def regenerate(self, scenario, kind: str, references, test: str) -> None:
        """Record ``scenario``'s stored reference of ``kind`` now, by the rules of ``nest-parity record``."""
        from harness import catalogue
        from harness.traces.references import (
            REFERENCE_DIR,
            project_references,
            record_reference,
            reference_file,
        )

        directory = Path(references) if references is not None else REFERENCE_DIR
        found = project_references(scenario.path)
        if references is None and found is not None and catalogue.is_packaged(found):
            self.regenerated.append({"test": test, "scenario": scenario.name, "status": "kept",
                                     "path": str(reference_file(scenario, directory, kind)),
                                     "detail": "a scenario of the installed package: its references are fixed"})
            return
        reference_file(scenario, directory, kind, writing=True)  # refused before NEST runs, not after
        if kind == "truth":
            from harness.truth import run_truth as produce
        else:
            from harness.backends.nest import run_nest as produce
        outcome = record_reference(scenario, produce(scenario), force=self.regen == "force", directory=directory,
                                   kind=kind)
        self.regenerated.append({"test": test, "scenario": scenario.name, "status": outcome.status,
                                 "path": str(outcome.path), "detail": outcome.detail})
        if outcome.status == "refused":
            pytest.fail(f"nest-parity: --nest-parity-regen left {outcome.path} as it was: {outcome.detail} "
                        f"(here: --nest-parity-regen=force)", pytrace=False)

    def state(self) -> dict:
        return {"records": self.records, "errors": self.errors, "regenerated": self.regenerated}

    def merge(self, state: dict) -> None:
        self.records += state["records"]
        self.errors += state["errors"]
        self.regenerated += state["regenerated"]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist: a worker's checks, handed to the controller that writes the report."""
    state = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if state:
        node.config.stash[_SESSION].merge(json.loads(state))


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    state = config.stash.get(_SESSION, None)
    if state is None:
        return
    if hasattr(config, "workerinput"):
        config.workeroutput[_WORKER_KEY] = json.dumps(state.state(), allow_nan=False)
    elif state.report:
        from harness.errors import UsageError
        from nest_parity.session_report import write_session_report

        try:
            write_session_report(Path(state.report), state)
        except UsageError as exc:  # a requested report that is missing fails the run, in one line
            state.report_error = str(exc).replace("--out", "--nest-parity-report", 1)
            session.exitstatus = max(int(session.exitstatus), int(pytest.ExitCode.TESTS_FAILED))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(_SESSION, None)
    if state is None or hasattr(config, "workerinput") or not (state.records or state.errors or state.regenerated):
        return
    from nest_parity.session_report import summary_lines

    terminalreporter.section("nest-parity")
    for line in summary_lines(state):
        terminalreporter.write_line(line)
