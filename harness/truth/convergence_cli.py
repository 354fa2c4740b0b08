"""``nest-parity convergence SCENARIO``: a convergence study written as a folder of three files.

    reports/convergence/<scenario>/convergence.png   the figure (harness.truth.convergence_figure)
    reports/convergence/<scenario>/convergence.md    the table, the fit rule and the figure's link
    reports/convergence/<scenario>/convergence.json  Study.to_json() with the command and provenance

The folder is written whole or not at all (harness.report.folder's temporary folder and rename). An existing
study folder is replaced only with --force; a folder holding anything else is never replaced.
"""
from __future__ import annotations

import argparse
import json
import shlex
import tempfile
from pathlib import Path

from harness.errors import EXIT_OK, OverwriteRefused, UsageError

STUDY_DIR = Path("reports") / "convergence"
PNG, MARKDOWN, JSON = "convergence.png", "convergence.md", "convergence.json"
STUDY_FILES = (PNG, MARKDOWN, JSON)


def add_convergence_arguments(sub) -> argparse.ArgumentParser:
    from harness.candidates.registry import DEFAULT_REGISTRY
    from harness.traces.references import REFERENCE_DIR
    from harness.truth.convergence import DEFAULT_LADDER, IN_HOUSE

    p = sub.add_parser("convergence", help="sweep gsl_error_tol (and the resolution) and plot NEST's distance to "
                                           "the truth, log-log with the fitted slope, as PNG and a table")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--tols", nargs="+", type=_positive, metavar="TOL",
                   help=f"gsl_error_tol values to sweep (default: the decades {DEFAULT_LADDER[0]:g} .. "
                        f"{DEFAULT_LADDER[-1]:g}, plus the scenario's own)")
    p.add_argument("--resolutions", nargs="+", type=_positive, metavar="MS",
                   help="resolutions to sweep, in ms, each a whole number of NEST tics that keeps every time of "
                        "the scenario on its grid (default: the scenario's own)")
    p.add_argument("--candidate", metavar="NAME",
                   help=f"also measure a port on the same variants: a name from {DEFAULT_REGISTRY.name}, or "
                        f"in-house {', '.join(IN_HOUSE)}")
    p.add_argument("--out", metavar="DIR", help=f"the study's folder (default: {STUDY_DIR}/<scenario>)")
    p.add_argument("--force", action="store_true", help="replace an existing study folder")
    p.add_argument("--truth", choices=("auto", "live"), default="auto",
                   help="auto: at the scenario's own resolution, its stored truth reference when there is a valid "
                        "one (else solved); live: always solved now (default: %(default)s)")
    p.add_argument("--references", default=str(REFERENCE_DIR), metavar="DIR",
                   help="where stored truth references live (default: %(default)s)")
    return p


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}; allowed: a positive number")
    return value


def run_convergence_command(args) -> int:
    from tqdm import tqdm

    from harness.judge.pool import run_bounded
    from harness.scenario.schema import load_scenarios
    from harness.truth.convergence import convergence_study, default_tols, runs_in, study_figure

    (scenario,) = load_scenarios([args.scenario])
    out = Path(args.out) if args.out else STUDY_DIR / scenario.name
    check_study_dir(out, args.force)  # before minutes of work, and again when writing
    tols = args.tols or default_tols(scenario)
    # tqdm draws only on a terminal (disable=None), so CI logs stay clean.
    with tqdm(total=runs_in(scenario, tols, args.resolutions, args.candidate), desc="convergence", unit="run",
              disable=None, leave=False) as bar:
        def execute(task, *task_args, what: str):
            result = run_bounded(task, *task_args, timeout=args.timeout, what=what)
            bar.update(1)
            return result

        study = convergence_study(scenario, tols, args.resolutions, candidate=args.candidate, execute=execute,
                                  reference_dir=Path(args.references) if args.truth == "auto" else None)
    command = shlex.join(["nest-parity", *args.argv])
    print(study.table_markdown())
    files = {PNG: study_figure(study), MARKDOWN: study_markdown(study, command).encode(),
             JSON: (json.dumps(study_document(study, command), indent=1, allow_nan=False) + "\n").encode()}
    write_study_folder(out, files, force=args.force)
    print(f"wrote {out}/: {', '.join(STUDY_FILES)} ({study.seconds:.1f} s)")
    return EXIT_OK


def study_document(study, command: str) -> dict:
    from harness.traces.provenance import base_provenance

    return {"command": command, **study.to_json(), "provenance": base_provenance()}


def study_markdown(study, command: str) -> str:
    from harness.truth.convergence import fit_rule

    own = "" if study.own_tol is None else f" Its own gsl_error_tol is {study.own_tol:g}."
    versions = study.versions
    candidate = "" if study.candidate is None else f" The candidate `{study.candidate}` ran on the same variants."
    return "\n".join([
        f"# Convergence study: {study.scenario}", "",
        f"`{command}` ({study.seconds:.1f} s)", "",
        f"NEST {versions.get('nest_version', '')}'s distance to the truth (NEST's time-discrete model with each "
        f"step solved by scipy {versions.get('scipy_version', '')}'s {study.method} at rtol = atol = "
        f"{study.tolerance:g}) on variants of `{study.path}` whose gsl_error_tol (and resolution) is "
        f"replaced.{own}{candidate}",
        "", f"Slopes: {fit_rule()}.", "", f"![convergence]({PNG})", "", study.table_markdown(), ""])


# ---------------------------------------------------------------------------------------------- the folder
def check_study_dir(out: Path, force: bool) -> None:
    """Refuse before anything runs: an existing study needs --force, and a folder holding anything a study
    does not write is never replaced (--force replaces the folder whole)."""
    from harness.report.folder import existing_out_dir

    out = Path(out)
    entries = existing_out_dir(out)
    if entries is None:
        return
    for entry in entries:
        if entry.name not in STUDY_FILES or entry.is_symlink() or not entry.is_file():
            raise UsageError(f"--out {out}: holds {entry.name}, which a convergence study does not write; the "
                             f"folder is never replaced, even with --force; move it away or choose another --out")
    if entries and not force:
        raise OverwriteRefused(f"--out {out}: a convergence study already exists there; pass --force to replace "
                               f"it, or choose another --out")


def write_study_folder(out: Path, files: dict, *, force: bool) -> Path:
    """Write ``files`` into a temporary folder beside ``out`` and rename it there (an old study is kept
    until the new one is in place)."""
    from harness.report.folder import fill_and_rename  # the report folder's atomic write; its check is ours

    out = Path(out)
    check_study_dir(out, force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write the study: {exc.strerror or exc}") from None
    try:
        return fill_and_rename(out, tmp, files)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write the study: {exc.strerror or exc}; an existing study "
                         f"there was left as it was") from None
