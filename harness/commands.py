"""The nest-parity commands, one function each: load and check the input, run the work (in killable
workers, harness.judge.pool), print and write the results. ``harness.cli`` parses the arguments."""
from __future__ import annotations

import functools
import shlex
import sys
from pathlib import Path

from harness.errors import EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError
from harness.judge.selftest import VARIANTS

EXIT_FOR_STATUS = {"pass": EXIT_OK, "fail": EXIT_FAIL, "error": EXIT_USAGE}


def _bounded(args, task, *task_args, what: str):
    """``task(*task_args)`` in a killable worker process, within ``--timeout`` (harness.judge.pool)."""
    from harness.judge.pool import run_bounded

    return run_bounded(task, *task_args, timeout=args.timeout, what=what)


def _load_all(paths) -> list:
    from harness.scenario.schema import load_scenarios

    return load_scenarios(paths)


def cmd_validate(args) -> int:
    """Every file that the arguments name (files, folders, glob patterns, as for gate) is read and checked;
    each is listed, ok on stdout or with all its problems on stderr, and one summary line ends the list."""
    from harness.errors import ScenarioError
    from harness.scenario.discovery import expand_pattern
    from harness.scenario.schema import load_scenario

    paths, unmatched = [], 0
    for pattern in args.scenarios:
        try:
            paths.extend(p for p in expand_pattern(pattern, named_as_given=True) if p not in paths)
        except UsageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            unmatched += 1
    ok, names = 0, {}
    for path in paths:
        try:
            s = load_scenario(path)
        except ScenarioError as exc:
            print("\n".join(f"error: {line}" for line in exc.format().splitlines()), file=sys.stderr)
            continue
        if s.name in names:  # names name the reference files
            print(f"error: {s.path}: name: {s.name!r} is also the name of {names[s.name]}; scenario names must "
                  f"be unique (they name the reference files)", file=sys.stderr)
            continue
        names[s.name] = s.path
        ok += 1
        if s.is_network:
            n = s.network
            print(f"ok  {s.path}: {s.name}, {s.n_steps} steps of {s.resolution} ms, network of {n.n} neurons "
                  f"({', '.join(f'{p.name} {p.n}' for p in n.populations)}), {len(n.connections)} connections, "
                  f"{len(n.inputs)} generators, {len(n.record_neurons)} recorded")
            continue
        print(f"ok  {s.path}: {s.name}, {s.n_steps} steps of {s.resolution} ms, {len(s.inputs)} inputs, "
              f"{len(s.nmda_inputs)} NMDA ports")
    bad = len(paths) - ok
    summary = f"{ok} file{'' if ok == 1 else 's'} ok, {bad} with problems" + (
        f", {unmatched} argument{'' if unmatched == 1 else 's'} naming no scenario file" if unmatched else "")
    print(summary, file=sys.stderr if bad or unmatched else sys.stdout)
    return EXIT_USAGE if bad or unmatched else EXIT_OK


def cmd_run(args) -> int:
    from harness.backends.nest import run_nest

    (scenario,) = _load_all([args.scenario])
    save = _check_save_path(args.save) if args.save else None  # before NEST runs, not after
    traces = _bounded(args, run_nest, scenario, args.nest_threads, what=f"{scenario.path}: the NEST run")
    print(f"{scenario.name}: {len(traces.steps)} samples, {len(traces.spike_steps)} spikes"
          + (f" at {', '.join(f'{t:g}' for t in traces.spike_times_ms[:10])} ms" if len(traces.spike_steps) else "")
          + (" ..." if len(traces.spike_steps) > 10 else ""))
    for name, values in traces.variables.items():
        print(f"  {name:7s} min {values.min(): .6g}  max {values.max(): .6g}  last {values[-1]: .6g}")
    if save:
        from harness.traces.atomic import write_failure

        try:
            written = traces.save(save)
        except OSError as exc:
            raise write_failure("--save", args.save, exc) from None
        for path in written:
            print(f"wrote {path}")
    return EXIT_OK


def _check_save_path(text: str) -> Path:
    """--save PATH writes PATH.npz and PATH.json: into an existing folder that is no reference folder."""
    from harness.traces.atomic import check_output_file
    from harness.traces.references import is_recorded_reference, is_reference_folder
    from harness.traces.traces import data_path, readable_path

    npz = data_path(text)
    if is_reference_folder(npz.parent) or is_recorded_reference(npz):
        raise UsageError(f"--save {text}: {npz.parent} is a reference folder, and only `nest-parity record` "
                         f"writes there (it checks and keeps one reference per scenario); choose another path")
    if not npz.parent.is_dir():
        what = "is not a folder" if npz.parent.exists() else "does not exist"
        raise UsageError(f"--save {text}: the folder {npz.parent} {what}")
    check_output_file(npz, "--save")
    check_output_file(readable_path(npz), "--save")
    return npz


def _check_report_paths(args) -> None:
    """--json and --junit: refuse before the work a path that cannot be written (or is a reference's)."""
    from harness.traces.atomic import check_output_file
    from harness.traces.references import is_reference_folder
    from harness.traces.traces import data_path

    for option in ("json", "junit"):
        text = getattr(args, option, None)
        if text:
            path = check_output_file(text, f"--{option}")
            if is_reference_folder(path.parent):
                raise UsageError(f"--{option} {text}: is inside the reference folder, where only "
                                 f"`nest-parity record` writes; choose another path")
            if path.suffix == ".json" and data_path(path.with_suffix("")).exists():
                raise UsageError(f"--{option} {text}: is the readable provenance of the trace file "
                                 f"{data_path(path.with_suffix(''))}; choose another path")


def cmd_record(args) -> int:
    from tqdm import tqdm

    from harness.backends.nest import run_nest
    from harness.traces.atomic import check_output_folder
    from harness.traces.references import record_reference, reference_folder

    scenarios = _load_all(args.scenarios)
    # Before NEST runs: each scenario's reference folder (its project's, unless --dir names one) must be one
    # that may be written (not an installed package's), with no file on the way and not read-only.
    for folder in dict.fromkeys(reference_folder(s, Path(args.dir), writing=True) for s in scenarios):
        check_output_folder(str(folder), "--dir")
    from harness.judge.pool import RunEnded

    refused, ended = 0, 0
    # tqdm draws only on a terminal (disable=None), so CI logs stay clean.
    kind = "truth" if args.truth else "nest"
    if args.truth:
        from harness.truth import convergence_line as note
        from harness.truth import run_truth as run
    else:
        run, note = run_nest, None
    for scenario in tqdm(scenarios, desc="recording", unit="scenario", disable=None, leave=False):
        try:
            traces = _bounded(args, run, scenario, what=f"{scenario.path}: the {kind} run")
        except RunEnded as exc:  # past --timeout, or NEST died: nothing recorded for it; the others go on
            ended += 1
            tqdm.write(f"error: {exc}", file=sys.stderr)
            continue
        outcome = record_reference(scenario, traces, force=args.force, directory=Path(args.dir), kind=kind)
        refused += outcome.status == "refused"
        tqdm.write(f"{outcome.status:9s} {outcome.path}: {outcome.detail}")
        if note:
            tqdm.write(note(traces))
    if ended:
        return EXIT_USAGE
    if refused:
        print(f"{refused} reference(s) differ or cannot be trusted and were left untouched; re-run with --force "
              "to replace them",
              file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def cmd_compare(args) -> int:
    from harness.judge.compare_sources import compare_sources
    from harness.report.ladder import ladder_table
    from harness.report.summary import comparison_table, junit_xml, summary_json

    (scenario,) = _load_all([args.scenario])
    _check_report_paths(args)
    result = compare_sources(scenario, args.reference, args.candidate, profile=args.profile, truth=args.truth,
                             reference_dir=Path(args.references), nest_threads=args.nest_threads,
                             call=functools.partial(_bounded, args))
    print(comparison_table(result))
    print(ladder_table(result.ladder, args.candidate))
    _write_reports(args, summary_json("compare", [result]), junit_xml("nest-parity compare", [result]))
    if result.status == "error":
        print(f"error: {scenario.path}: {result.error}", file=sys.stderr)
    return EXIT_FOR_STATUS[result.status]


def cmd_gate(args) -> int:
    from harness.judge.gate import run_gate
    from harness.report.summary import gate_json, gate_table, junit_xml
    from harness.scenario.discovery import find_scenarios

    scenarios = _load_all(find_scenarios(args.paths))
    _check_report_paths(args)
    result = run_gate(scenarios, profile=args.profile, reference_dir=Path(args.references), workers=args.workers,
                      timeout=args.timeout, scheduler=args.scheduler)
    print(gate_table(result))
    seconds = {o.scenario: o.seconds for o in result.outcomes}
    _write_reports(args, gate_json(result), junit_xml("nest-parity gate", result.comparisons, seconds))
    return EXIT_FOR_STATUS[result.status]


def cmd_selftest(args) -> int:
    from harness.judge.selftest import run_selftest, selftest_json, selftest_table
    from harness.report.summary import write_json
    from harness.traces.atomic import write_failure

    variants = args.variant or list(VARIANTS)
    if args.scenario:
        catalogue, scenarios = {}, _load_all(args.scenario)
    else:
        needed = sorted({name for v in variants for name in VARIANTS[v].scenarios})
        catalogue = {s.name: s for s in _load_all([Path(args.catalogue) / f"{name}.yaml" for name in needed])}
        scenarios = None
    _check_report_paths(args)  # --json: a folder, under a file, in the reference folder; before the runs
    result = run_selftest(catalogue, variants, scenarios, workers=args.workers, reference_dir=Path(args.references),
                          scheduler=args.scheduler)
    print(selftest_table(result))
    if args.json:
        try:  # checked before the work; a full or read-only disk can still fail here
            write_json(Path(args.json), selftest_json(result))
        except OSError as exc:
            raise write_failure("--json", args.json, exc) from None
        print(f"wrote {args.json}")
    if result.control.status == "error" or any(c.reason.startswith("error") for c in result.catches):
        return EXIT_USAGE
    return EXIT_OK if result.ok else EXIT_FAIL


EXIT_FOR_VERDICT = {"PASS": EXIT_OK, "FAIL": EXIT_FAIL, "DRIFT": EXIT_FAIL, "ERROR": EXIT_USAGE}


def cmd_report(args) -> int:
    from harness.judge.selftest import run_variant
    from harness.report.baseline import load_baseline
    from harness.report.data import render_text
    from harness.report.folder import FIGURE_DIR, check_out_dir, default_out_dir, write_report_folder
    from harness.report.release import build_report, report_files
    from harness.report.run import run_report
    from harness.scenario.discovery import find_scenarios

    out = Path(args.out) if args.out else default_out_dir()
    check_out_dir(out, args.force)  # refuse before minutes of work, and again when writing
    baseline = load_baseline(args.baseline) if args.baseline else None
    scenarios = _load_all(find_scenarios(args.paths))
    if args.variant:
        run_candidate, label = functools.partial(run_variant, args.variant), f"python+{args.variant}"
        description = (f"the reimplementation broken on purpose: {VARIANTS[args.variant].description} "
                       f"(selftest variant {args.variant!r})")
    else:
        run_candidate, label, description = None, "python", "the harness's reimplementation (harness.model)"
    reports, gate = run_report(scenarios, profile=args.profile, reference_dir=Path(args.references),
                               workers=args.workers, run_candidate=run_candidate, candidate_label=label,
                               timeout=args.timeout, scheduler=args.scheduler)
    extra = _stiff_convergence_figure(args, scenarios)
    report = build_report(reports, gate, candidate=label, candidate_description=description, accuracy_figures=extra,
                          command=shlex.join(["nest-parity", *args.argv]), baseline=baseline)
    print(render_text(report))
    files = report_files(report)
    write_report_folder(out, files, force=args.force)
    figures = sum(name.startswith((FIGURE_DIR + "/", "accuracy/")) for name in files)
    size = sum(len(data) for data in files.values())
    print(f"wrote {out}/: report.html, report.md, summary.json and {figures} figure{'s' if figures != 1 else ''} "
          f"({size / 1e6:.1f} MB)")
    return EXIT_FOR_VERDICT[report.verdict]


def _stiff_convergence_figure(args, scenarios) -> list:
    """The release report's convergence study of the catalogue's stiff scenario (each run bounded in time);
    a study that cannot run is a line on stderr and no figure, never a failed report."""
    from harness.judge.pool import RunEnded
    from harness.report.accuracy import figure_from_png
    from harness.truth.convergence import STIFF_SCENARIO, stiff_study_figure

    def execute(task, *task_args, what: str):
        return _bounded(args, task, *task_args, what=what)

    try:
        drawn = stiff_study_figure(scenarios, Path(args.references), execute)
    except (RunEnded, UsageError) as exc:
        print(f"note: no convergence study of {STIFF_SCENARIO} in the report: {exc}", file=sys.stderr)
        return []
    if drawn is None:
        return []
    png, caption = drawn
    return [figure_from_png(png, f"convergence-{STIFF_SCENARIO}", f"convergence study of {STIFF_SCENARIO}",
                            caption)]


def _write_reports(args, document: dict, junit: str) -> None:
    from harness.report.summary import write_json, write_junit
    from harness.traces.atomic import write_failure

    for option, write, content in (("json", write_json, document), ("junit", write_junit, junit)):
        path = getattr(args, option)
        if path:
            try:  # checked before the work; a full or read-only disk can still fail here
                write(Path(path), content)
            except OSError as exc:
                raise write_failure(f"--{option}", path, exc) from None
            print(f"wrote {path}")


def cmd_fuzz(args) -> int:
    from harness.fuzz.run import run_fuzz

    return run_fuzz(args)


def cmd_convergence(args) -> int:
    from harness.truth.convergence_cli import run_convergence_command

    return run_convergence_command(args)


def cmd_export(args) -> int:
    from harness.traces.exports_cli import run_export_command

    return run_export_command(args)


def cmd_candidates(args) -> int:
    from harness.candidates.cli import run_candidates_command

    return run_candidates_command(args)


def cmd_sweep(args) -> int:
    from harness.sweep.cli import run_sweep_command

    return run_sweep_command(args)


COMMANDS = {"validate": cmd_validate, "run": cmd_run, "record": cmd_record, "compare": cmd_compare,
            "gate": cmd_gate, "selftest": cmd_selftest, "report": cmd_report, "fuzz": cmd_fuzz,
            "convergence": cmd_convergence, "candidates": cmd_candidates, "export": cmd_export,
            "sweep": cmd_sweep}
