"""What ``candidates run`` writes besides its lines: ``--json`` (the comparator's summary with the verdicts and
seconds), ``--junit`` (``junit.candidate_junit``) and ``--report`` (the parity report of ``report``, from the
same runs: one pass gives the verdicts, the JUnit and the Markdown, as the GitHub Action needs). Every path
is checked before the runs."""
from __future__ import annotations

from pathlib import Path

from harness.errors import UsageError


def check_run_outputs(args) -> dict:
    """option -> path of each output asked for, each checked writable (exit 2 before any run)."""
    from harness.traces.atomic import check_output_file

    outputs = {}
    for option, text in (("--json", args.json), ("--junit", args.junit)):
        if text is not None:
            check_output_file(Path(text), option)
            outputs[option] = Path(text)
    if args.report is not None:
        outputs["--report"] = check_report_out(args.report, "--report")
    return outputs


def write_run_outputs(args, outputs: dict, candidate, outcomes, runs, left_out: list) -> None:
    """--json, --junit and --report of `candidates run`; ``runs`` in the order of ``outcomes``."""
    from harness.report.summary import summary_json, write_json
    from harness.traces.atomic import atomic_write_text, write_failure

    from .junit import candidate_junit

    seconds = {r.scenario.name: r.seconds for r in runs}
    writes = []
    if "--json" in outputs:
        verdicts = [{"scenario": o.scenario.name, "profile": o.comparison.profile, "expected": o.expected,
                     "claimed_profile": o.claimed_profile, "verdict": o.verdict,
                     "seconds": round(seconds.get(o.scenario.name, 0.0), 3)} for o in outcomes]
        document = summary_json(f"candidates run {candidate.name}", [o.comparison for o in outcomes],
                                {"verdicts": verdicts, "left_out": left_out})
        writes.append(("--json", outputs["--json"], lambda p: write_json(p, document)))
    if "--junit" in outputs:
        text = candidate_junit(f"nest-parity candidates run {candidate.name}", outcomes, seconds)
        writes.append(("--junit", outputs["--junit"], lambda p: atomic_write_text(p, text)))
    if "--report" in outputs:
        writes.extend(run_report(args, outputs["--report"], candidate, outcomes, runs, left_out))
    for option, path, write in writes:
        try:  # checked before the work; a full or read-only disk can still fail here
            write(path)
        except OSError as exc:
            raise write_failure(option, path, exc) from None
        print(f"wrote {path}")


def run_report(args, out: Path, candidate, outcomes, runs, left_out) -> list:
    """The parity report (as `report` writes it) from the runs just made: the catalogue's scenarios under
    integrator, exact and the run's own profile, the candidate's findings under the profiles they claim."""
    from harness.report.summary import write_json
    from harness.traces.atomic import atomic_write_text

    from .parity import own_finding
    from .report import BASE_PROFILES, CandidateSection, catalogue_profiles, render_markdown, summary_document

    chosen = args.profile or candidate.profile
    also = () if chosen in BASE_PROFILES else (chosen,)
    section = CandidateSection(candidate, [r for r in runs if not own_finding(candidate, r.scenario)],
                               [r for r in runs if own_finding(candidate, r.scenario)],
                               profiles=catalogue_profiles(also), also=also, left_out=left_out)
    section.judge(args.reference)
    text = render_markdown(f"Parity report: {candidate.name} vs NEST 3.10.0", [section], reference=args.reference)
    document = summary_document([section])
    return [("--report", out, lambda p: atomic_write_text(p, text)),
            ("--report", out.with_suffix(".json"), lambda p: write_json(p, document))]


def check_report_out(text: str, option: str = "--out") -> Path:
    """--out PATH.md also writes PATH.json beside it: both must be writable files outside the reference folder."""
    from harness.traces.atomic import check_output_file
    from harness.traces.references import is_reference_folder

    out = Path(text)
    if out.suffix == ".json":
        raise UsageError(f"{option} {text}: the JSON summary is written beside the Markdown as "
                         f"{out.with_suffix('.json').name}, over this file; give a .md name")
    for path in (out, out.with_suffix(".json")):
        check_output_file(path, option)
        if is_reference_folder(path.parent):
            raise UsageError(f"{option} {text}: is inside the reference folder, where only `nest-parity record` "
                             f"writes; choose another path")
    return out
