"""Command-line wiring for the candidates: ``nest-parity candidates {list,run,report}``, also as
``python -m harness.candidates``. For example ``nest-parity candidates list``,
``nest-parity candidates run brainpy scenarios/`` and
``nest-parity candidates report brainpy brainpy-f32 --out reports/brainpy-state-0.2.0.md``.
Exit codes: 0 every verdict ok (pass or expected-fail), 1 otherwise (fail, fixed, error), 2 bad input.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from harness.arguments import positive_int
from harness.backends.sources import REFERENCE_SOURCES
from harness.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError
from harness.judge.tolerances import ACCURACY_PROFILE, PROFILE_NAMES
from harness.model.parameters import MODEL
from harness.scenario.discovery import DEFAULT_SCENARIOS
from harness.traces.references import REFERENCE_DIR

from .parity import NEST_REFERENCES, TRUTH_MODES
from .registry import DEFAULT_REGISTRY

CATALOGUE = f"{DEFAULT_SCENARIOS}/*.yaml"  # the main catalogue; the findings live below scenarios/ports/


def add_candidate_arguments(sub) -> argparse.ArgumentParser:
    """Add the ``candidates`` subcommand (with list/run/report) to an argparse subparsers object."""
    p = sub.add_parser("candidates", help=f"run ports of {MODEL} out of process ({DEFAULT_REGISTRY.name})")
    p.add_argument("--registry", metavar="PATH", help=f"the candidate registry (default: {DEFAULT_REGISTRY.name})")
    actions = p.add_subparsers(dest="candidates_command", required=True, parser_class=type(p))

    actions.add_parser("list", help="the registered candidates and whether they can run here")

    r = actions.add_parser("run", help="judge one candidate on scenarios against NEST")
    r.add_argument("candidate")
    r.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                   help="files, folders or globs (default: the catalogue plus the candidate's findings)")
    r.add_argument("--profile", choices=PROFILE_NAMES, help="override every scenario's and the candidate's profile")
    r.add_argument("--reference", choices=REFERENCE_SOURCES, default="nest")
    r.add_argument("--catalogue", default=CATALOGUE, metavar="GLOB",
                   help="the catalogue the default scenarios come from, with the candidate's findings "
                        "(default: %(default)s)")
    _truth_argument(r)
    r.add_argument("--ladder", action="store_true",
                   help="print each scenario's whole accuracy ladder (default: its worst recordable in one line)")
    r.add_argument("--json", metavar="PATH", help="write the comparator's JSON summary (with the ladders) here")
    r.add_argument("--junit", metavar="PATH", help="write JUnit XML here (expected failures as skipped)")
    r.add_argument("--report", metavar="PATH.md",
                   help="also write the Markdown parity report (and PATH.json) from these runs, as `report` does")
    r.add_argument("--workers", type=positive_int, default=1, metavar="N",
                   help="scenarios run at a time, each in its own worker process with its own NEST (default 1: "
                        "a port's own run may use every core, and its timeout_s is wall time)")

    rep = actions.add_parser("report", help="the Markdown parity report of candidates over the whole catalogue")
    rep.add_argument("candidates", nargs="+", metavar="CANDIDATE")
    rep.add_argument("--out", required=True, metavar="PATH.md")
    rep.add_argument("--catalogue", default=CATALOGUE, metavar="GLOB")
    rep.add_argument("--reference", choices=REFERENCE_SOURCES, default="nest")
    rep.add_argument("--also-profile", action="append", default=[], choices=PROFILE_NAMES, metavar="PROFILE",
                     help="judge the catalogue and the findings under this profile too, beside integrator and exact "
                          f"(e.g. {ACCURACY_PROFILE}); repeatable")
    _truth_argument(rep)
    rep.add_argument("--equivalence", nargs="*", default=[], metavar="SCENARIO",
                     help="also compare the first candidate's compiled loop with its eager API (brainpy runner)")
    rep.add_argument("--title", default=None)
    rep.add_argument("--notes", metavar="PATH.md", help="Markdown placed after the header (the reviewed reading)")
    rep.add_argument("--workers", type=positive_int, default=1, metavar="N",
                     help="scenarios run at a time, each in its own worker process (default 1)")
    return p


def _truth_argument(parser) -> None:
    parser.add_argument("--references", default=str(REFERENCE_DIR), metavar="DIR",
                        help="where the stored NEST and truth references live (default: %(default)s)")
    parser.add_argument("--truth", choices=TRUTH_MODES, default="auto",
                        help="where each scenario's truth comes from: auto (default: the stored truth reference "
                             "when valid, else solved now), stored, live, none (no distances to the truth)")


def _check_accuracy_arguments(args, profiles) -> None:
    """The accuracy profile judges against the truth with NEST's distance as the scale: refuse before the runs
    what leaves it nothing to judge."""
    if ACCURACY_PROFILE not in profiles:
        return
    if args.reference not in NEST_REFERENCES:
        raise UsageError(f"profile {ACCURACY_PROFILE}: the reference must be NEST (--reference nest or stored), "
                         f"whose distance to the truth sets the bounds; not {args.reference!r}")
    if args.truth == "none":
        raise UsageError(f"profile {ACCURACY_PROFILE} judges against the truth: --truth none leaves nothing to judge")


def run_candidates_command(args) -> int:
    from .registry import load_registry

    registry = load_registry(args.registry)
    command = {"list": _list, "run": _run, "report": _report}[args.candidates_command]
    return command(args, registry)


# ------------------------------------------------------------------------------------------- list
def _list(args, registry) -> int:
    for c in registry.values():
        missing = c.missing_requirements()
        state = "available" if not missing else f"unavailable (run `{c.setup}`)" if c.setup else "unavailable"
        print(f"{c.name:18s} {state:34s} profile {c.profile:10s} {c.description}")
    return EXIT_OK


# ------------------------------------------------------------------------------------------- run
def _run(args, registry) -> int:
    from harness.report.ladder import ladder_table

    from .ladder_view import ladder_line
    from .outputs import check_run_outputs, write_run_outputs
    from .parity import check_candidate
    from .registry import get_candidate

    candidate = get_candidate(args.candidate, registry)
    _check_accuracy_arguments(args, [args.profile or candidate.profile])
    outputs = check_run_outputs(args)  # before minutes of runs
    # The findings folder is relative to the registry's folder, wherever the command runs.
    findings = [str(candidate.findings_dir())] if candidate.findings and candidate.findings_dir().is_dir() else []
    patterns = args.scenarios or [args.catalogue] + findings
    scenarios, left_out = _spoken(candidate, _load(patterns), patterns)
    if not scenarios:
        raise UsageError(f"candidate {candidate.name!r} speaks protocol version "
                         f"{' and '.join(map(str, candidate.protocols))} only, which none of the scenarios is in")
    runs = {}

    def finished(index, outcome, run) -> None:  # each verdict as its scenario ends (in that order with --workers)
        runs[index] = run
        print(f"[{len(runs)}/{len(scenarios)}] {outcome.verdict:13s} {outcome.scenario.name} ({run.seconds:.1f} s)",
              flush=True)

    started = time.perf_counter()
    outcomes = check_candidate(candidate, scenarios, reference=args.reference, profile=args.profile,
                               truth=args.truth, reference_dir=Path(args.references), progress=_progress,
                               workers=args.workers, on_outcome=finished)
    minutes = (time.perf_counter() - started) / 60
    whole = args.ladder or len(outcomes) == 1
    for o in outcomes:
        print(_outcome_line(o))
        if o.ladder is not None:
            print(_indent(ladder_table(o.ladder, candidate.name)) if whole else
                  f"              {ladder_line(o.ladder, candidate.name)}")
    counts = {v: sum(o.verdict == v for o in outcomes) for v in ("pass", "expected-fail", "fixed", "fail", "error")}
    print(", ".join(f"{n} {v}" for v, n in counts.items() if n)
          + f"; {len(outcomes)} scenarios in {minutes:.2f} min ({len(outcomes) / minutes:.1f} per minute, "
            f"workers {args.workers})")
    if left_out:
        print(f"left out: {len(left_out)} scenario{'s' if len(left_out) != 1 else ''} in a protocol version "
              f"{candidate.name} does not speak ({', '.join(left_out)})")
    for o in outcomes:
        if o.verdict == "fixed":
            print(f"FIXED: {o.scenario.path} now passes; set `expect: pass` there (and update the report)")
    write_run_outputs(args, outputs, candidate, outcomes, [runs[i] for i in range(len(outcomes))], left_out)
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAIL


def _spoken(candidate, scenarios, patterns) -> tuple[list, list[str]]:
    """The scenarios to run, and the names of those left out: one in a protocol version the candidate does
    not speak is left out when a folder or a glob found it (the catalogue holds networks), and run (an
    ``error`` that says why) when it was named as a file."""
    from .protocol import version_for

    named = {Path(p).resolve() for p in patterns if Path(p).is_file()}
    runs = [version_for(s) in candidate.protocols or Path(s.path).resolve() in named for s in scenarios]
    return [s for s, r in zip(scenarios, runs) if r], [s.name for s, r in zip(scenarios, runs) if not r]


def _indent(text: str) -> str:
    return "\n".join("              " + line for line in text.splitlines())


def _outcome_line(o) -> str:
    c = o.comparison
    if c.status == "error":
        return f"{o.verdict:13s} {o.scenario.name} ({c.profile}): {c.error}"
    diffs = ", ".join(f"{n} {v.max_abs:.2g}" for n, v in c.variables.items() if v.max_abs != 0) or "identical"
    spikes = "spikes identical" if c.spikes.first_difference_step is None else (
        "spikes within window" if c.spikes.match else "spikes differ")
    why = ""
    if o.expected == "fail":
        why = f" [expected: {o.reason.strip()}]"
        if not o.claim_applies:  # judged under another profile than the finding's: it can inform, not refute
            why = (f" [the finding claims a failure under {o.claimed_profile}; under {c.profile} it "
                   + ("fails too]" if c.status == "fail" else "passes]"))
    return f"{o.verdict:13s} {o.scenario.name} ({c.profile}, vs {c.reference}): {diffs}; {spikes}{why}"


# ------------------------------------------------------------------------------------------- report
def _report(args, registry) -> int:
    from harness.report.summary import write_json
    from harness.traces.atomic import atomic_write_text, write_failure

    from .outputs import check_report_out
    from .parity import collect
    from .registry import get_candidate
    from .report import CandidateSection, catalogue_profiles, render_markdown, summary_document

    out = check_report_out(args.out)  # before minutes of runs: a folder, under a file, a reference folder
    profiles = catalogue_profiles(args.also_profile)
    _check_accuracy_arguments(args, profiles)
    candidates = [get_candidate(name, registry) for name in args.candidates]
    for c in candidates:
        missing = c.missing_requirements()
        if missing:
            raise UsageError(f"candidate {c.name!r} is not available: {', '.join(missing)} does not exist"
                             + (f"; run `{c.setup}` first" if c.setup else ""))
    catalogue = _load([args.catalogue])
    equivalence_scenarios = _load(args.equivalence) if args.equivalence else []
    sections = []
    from .protocol import version_for

    for c in candidates:
        spoken = [s for s in catalogue if version_for(s) in c.protocols]  # a network for a one-neuron port: not run
        where = dict(reference=args.reference, truth=args.truth, reference_dir=Path(args.references),
                     progress=_progress, workers=args.workers)
        runs = collect(c, spoken, **where)
        finding_runs = []
        if c.findings and c.findings_dir().is_dir():
            finding_runs = collect(c, _load([str(c.findings_dir())]), **where)
        section = CandidateSection(c, runs, finding_runs, profiles=profiles, also=tuple(args.also_profile),
                                   left_out=[s.name for s in catalogue if version_for(s) not in c.protocols])
        section.judge(args.reference)
        sections.append(section)
    equivalences = [eager_equivalence(candidates[0], s) for s in equivalence_scenarios]
    title = args.title or f"Parity report: {', '.join(args.candidates)} vs NEST 3.10.0"
    notes = _read_notes(args.notes)
    for path, write in ((out, lambda: atomic_write_text(out, render_markdown(title, sections, equivalences,
                                                                               reference=args.reference, notes=notes))),
                        (out.with_suffix(".json"), lambda: write_json(out.with_suffix(".json"),
                                                                      summary_document(sections, equivalences)))):
        try:  # checked before the work; a full or read-only disk can still fail here
            write()
        except OSError as exc:
            raise write_failure("--out", path, exc) from None
    print(f"wrote {out} and {out.with_suffix('.json')}")
    outcomes = [o for s in sections for o in s.findings]  # under the profiles they claim; the others inform
    return EXIT_OK if all(o.ok for o in outcomes) and all(r.error is None for s in sections for r in s.runs) \
        else EXIT_FAIL


def eager_equivalence(candidate, scenario):
    """Compiled loop vs eager API of a brainpy-runner candidate on one scenario, strict and default XLA."""
    from harness.judge.comparator import compare
    from harness.judge.tolerances import profile_tolerances

    from .execute import CandidateError, run_candidate
    from .parity import Outcome, variant
    from .report import Equivalence

    results = {}
    for label, flags in (("strict", ("--xla-strict",)), ("default", ())):
        eager = variant(candidate, "--mode", "eager", *flags, suffix=f"-eager-{label}")
        compiled = variant(candidate, "--mode", "compiled", *flags, suffix=f"-compiled-{label}")
        try:
            ref, cand = run_candidate(eager, scenario), run_candidate(compiled, scenario)
            comparison = compare(ref, cand, profile_tolerances("exact"), reference_name=eager.name,
                                 candidate_name=compiled.name)
        except CandidateError as exc:
            from harness.judge.comparator import Comparison

            comparison = Comparison(scenario=scenario.name, reference=eager.name, candidate=compiled.name,
                                    profile="exact", tics_per_step=scenario.tics_per_step, status="error",
                                    error=exc.describe())
        results[label] = Outcome(compiled.name, scenario, comparison, "pass", "")
    return Equivalence(scenario.name, results["strict"], results["default"])


# ------------------------------------------------------------------------------------------- helpers
def _load(patterns) -> list:
    from harness.scenario.discovery import find_scenarios
    from harness.scenario.schema import load_scenarios

    return load_scenarios(find_scenarios(patterns))


def _read_notes(path) -> str:
    if path is None:
        return ""
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the notes: {exc.strerror or exc}") from None


def _progress(message: str) -> None:
    print(f"  running {message}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.candidates")
    sub = parser.add_subparsers(dest="command", required=True)
    add_candidate_arguments(sub)
    args = parser.parse_args(["candidates", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run_candidates_command(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
