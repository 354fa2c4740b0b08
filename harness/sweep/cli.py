"""``nest-parity sweep SWEEP.yaml``: run a sweep (or resume it), then write its report.

    nest-parity sweep sweeps/release.yaml                      a local Dask cluster, one worker per CPU
    nest-parity sweep sweeps/release.yaml --workers 2 --out reports/sweeps/mine
    nest-parity sweep sweeps/release.yaml --scheduler tcp://10.0.0.5:8786     an existing cluster
    nest-parity sweep sweeps/release.yaml --list               every variant's id and what it changes
    nest-parity sweep sweeps/release.yaml --show 3fa2c9e01b7d > v.yaml && nest-parity compare v.yaml
    nest-parity sweep sweeps/release.yaml --report-only        the report again, from the results on disk

Exit status: 0 every valid variant passed, 1 a variant failed or is an error, 2 bad input, 130 interrupted
(what finished is kept: run the same command again to resume). Invalid variants (ones the schema refuses)
are listed and counted, never run, and do not change the exit status on their own (docs/sweeps.md).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import EXIT_FAIL, EXIT_OK, UsageError

SWEEP_DIR = Path("reports") / "sweeps"
REPORT_SUBDIR = "report"
SUMMARY = "summary.md"  # the summary alone, beside the results: committed for the release sweep
SUMMARY_JSON = "summary.json"  # the report's numbers, beside it (harness.report.sweep_section reads them)
SHOWN_INVALID = 20  # invalid variants named one by one on the terminal; the report lists all


def add_sweep_arguments(sub) -> argparse.ArgumentParser:
    from harness.arguments import positive_int
    from harness.judge.pool import default_workers

    p = sub.add_parser("sweep", help="run a sweep file's variants (grid, zip, random) on Dask: results as a "
                                     "Parquet dataset, resumable, and a report (docs/sweeps.md)")
    p.add_argument("sweep", metavar="SWEEP.yaml")
    p.add_argument("--out", metavar="DIR", help=f"the results folder (default: {SWEEP_DIR}/<sweep name>); a rerun "
                                                f"with the same folder skips the variants done")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask scheduler (tcp://host:8786); default: a local cluster of --workers processes")
    p.add_argument("--workers", type=positive_int, default=default_workers(),
                   help="worker processes of the local cluster (default: the number of CPUs, %(default)s here)")
    p.add_argument("--candidate", action="append", metavar="NAME",
                   help="run this candidate instead of the file's candidates (repeatable): python, python-jax or a "
                        "name in the registry; another sweep, with a results folder of its own")
    p.add_argument("--profile", metavar="NAME", help="judge under this tolerance profile instead of the file's")
    p.add_argument("--truth", metavar="MODE", help="none, live or stored instead of the file's truth: (live solves "
                                                   "each variant's truth; as-accurate-as-nest needs it)")
    p.add_argument("--force", action="store_true",
                   help="delete the results already in --out and start over (also those of another sweep)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--show", metavar="ID", help="write the variant's scenario file to stdout and stop (an id "
                                                   "or a unique prefix of one)")
    what.add_argument("--list", action="store_true", help="list every variant (id, base, changes) and stop")
    what.add_argument("--report-only", action="store_true", help="write the report from the results in --out")
    return p


def run_sweep_command(args) -> int:
    from harness.sweep.expand import expand, variant_yaml
    from harness.sweep.overrides import overridden
    from harness.sweep.spec import load_sweep

    file_sweep = load_sweep(Path(args.sweep))
    variants = expand(file_sweep)
    sweep = overridden(file_sweep, candidates=args.candidate, profile=args.profile, truth=args.truth)
    if args.show:
        sys.stdout.write(variant_yaml(_find(variants, args.show, args.sweep)))
        return EXIT_OK
    if args.list:
        for v in variants:
            state = "" if v.valid else "  (invalid: " + "; ".join(f"{k}: {m}" for k, m in v.problems) + ")"
            print(f"{v.id}  {v.base}  {v.label or '(the base itself)'}{state}")
        print(f"{len(variants)} variants")
        return EXIT_OK
    out = Path(args.out) if args.out else SWEEP_DIR / sweep.name
    if args.report_only:
        _report(out, sweep)
        from harness.sweep.run import verdict_counts

        counts = verdict_counts(out, {v.id for v in variants})
        return EXIT_FAIL if counts.get("fail") or counts.get("error") else EXIT_OK
    _say_invalid(variants)
    from harness.sweep.run import run_sweep

    outcome = run_sweep(sweep, variants, out, scheduler=args.scheduler, workers=args.workers, force=args.force)
    if outcome.retried_alone:
        print(f"note: {len(outcome.retried_alone)} variant(s) ran alone after their task's worker died twice",
              file=sys.stderr)
    _report(out, sweep)  # the outcome already holds the counts: the report is all that is left to write
    print(outcome.summary(sweep.name))
    return EXIT_OK if outcome.status == "pass" else EXIT_FAIL


def _find(variants: list, wanted: str, sweep_path: str):
    from harness.sweep.expand import find

    matches = find(variants, wanted)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"--show {wanted}: no variant of {sweep_path} has that id; `nest-parity sweep {sweep_path} "
                         f"--list` lists the {len(variants)} ids")
    raise UsageError(f"--show {wanted}: {len(matches)} variants start with it ({', '.join(v.id for v in matches[:5])}"
                     f"{', ...' if len(matches) > 5 else ''}); give more digits")


def _say_invalid(variants: list) -> None:
    invalid = [v for v in variants if not v.valid]
    for v in invalid[:SHOWN_INVALID]:
        for key, message in v.problems:
            print(f"invalid variant {v.id} ({v.base}: {v.label}): {key}: {message}", file=sys.stderr)
    if len(invalid) > SHOWN_INVALID:
        print(f"... and {len(invalid) - SHOWN_INVALID} more invalid variants (the report lists them)", file=sys.stderr)
    if invalid:
        print(f"{len(invalid)} of {len(variants)} variants are invalid and will not run", file=sys.stderr)


def _report(out: Path, sweep) -> None:
    """The sweep report in ``out/report/``, and the summary alone beside the results."""
    from harness.sweep import store
    from harness.sweep.report import summary_markdown, write_sweep_report
    from harness.traces.atomic import atomic_write_text

    if not store.parts(out):
        raise UsageError(f"--out {out}: holds no results of {sweep.path} yet; run the sweep first")
    paths = write_sweep_report(out, out / REPORT_SUBDIR, force=True)
    atomic_write_text(out / SUMMARY, summary_markdown(out))
    atomic_write_text(out / SUMMARY_JSON, Path(paths["summary"]).read_text())  # what the release report reads
    print(f"wrote the sweep report {paths['html']} and its summary {out / SUMMARY}")
