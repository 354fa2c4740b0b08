"""The nest-parity command line. Bad input exits 2 with a message, never a traceback."""
from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path

from harness import __version__
from harness.arguments import positive_int
from harness.backends.sources import CANDIDATE_SOURCES, REFERENCE_SOURCES, SOURCES, TRUTH_MODES
from harness.commands import COMMANDS
from harness.errors import EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, OverwriteRefused, UsageError
from harness.judge.selftest import VARIANTS
from harness.judge.tolerances import DEFAULT_PROFILE, PROFILE_NAMES, unknown_profile_message
from harness.model.parameters import MODEL
from harness.scenario.discovery import DEFAULT_SCENARIOS
from harness.traces.exports import FORMATS as EXPORT_FORMATS
from harness.traces.references import REFERENCE_DIR

GATE_REPORT_DIR = Path("reports") / "gate"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors already exit 2; keep its wording
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nest-parity", description=f"NEST-parity validation harness for {MODEL}.")
    parser.add_argument("--version", action="version", version=f"nest-parity {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="check scenario files without running anything: every problem of every "
                                        "file, then one summary line (exit 2 if any file has a problem)")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIOS",
                   help="scenario files, folders (searched recursively for *.yaml) or glob patterns, as for gate")

    p = sub.add_parser("run", help="run one scenario on a backend and summarise the traces")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--backend", choices=("nest",), default="nest")
    p.add_argument("--save", metavar="PATH", help="also write the traces to PATH.npz (and a readable PATH.json), in an "
                                                   "existing folder that is not a reference folder")
    _add_threads_option(p)
    _add_timeout_option(p)

    p = sub.add_parser("record", help=f"run scenarios in NEST (or solve their truth) and store them in "
                                      f"{REFERENCE_DIR}/")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    p.add_argument("--force", action="store_true", help="overwrite references that differ")
    p.add_argument("--truth", action="store_true",
                   help=f"store the truth solution (harness.truth, with its convergence check) in "
                        f"{REFERENCE_DIR}/truth/ instead of NEST's output")
    p.add_argument("--dir", default=str(REFERENCE_DIR),
                   help="where references live (default: the reference_traces/ of the scenario's project, the "
                        "first folder above the scenario file that holds one)")
    _add_timeout_option(p)

    p = sub.add_parser("compare", help="compare a candidate's traces with a reference's, variable by variable")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--reference", choices=REFERENCE_SOURCES, default="nest",
                   help="live NEST, the stored NEST output, or the truth solved now or stored "
                        "(default: %(default)s)")
    p.add_argument("--candidate", choices=CANDIDATE_SOURCES, default="python",
                   help="the reimplementation, the stored reference or live NEST (default: %(default)s)")
    _add_judging_options(p, scenario_block=True)
    p.add_argument("--truth", choices=TRUTH_MODES, default="auto",
                   help="the truth the accuracy ladder measures against: the stored truth reference, solved now "
                        "(live), or none; auto: the stored one if recorded (the as-accurate-as-nest profile "
                        "solves it when it is not) (default: %(default)s)")
    p.add_argument("--json", metavar="PATH", help="write the JSON summary to PATH")
    p.add_argument("--junit", metavar="PATH", help="write JUnit XML (one testcase per variable) to PATH")
    _add_threads_option(p)
    _add_timeout_option(p)

    p = sub.add_parser("gate", help="every scenario: live NEST, the reimplementation and the stored "
                                    "references against each other (regressions and drift)")
    p.add_argument("paths", nargs="*", metavar="SCENARIOS", default=[DEFAULT_SCENARIOS],
                   help="scenario files, folders (searched recursively for *.yaml) or glob patterns "
                        "(default: %(default)s)")
    _add_judging_options(p)
    _add_workers_option(p)
    _add_scheduler_option(p)
    _add_timeout_option(p)
    p.add_argument("--json", metavar="PATH", default=str(GATE_REPORT_DIR / "gate.json"),
                   help="JSON summary (default: %(default)s)")
    p.add_argument("--junit", metavar="PATH", default=str(GATE_REPORT_DIR / "junit.xml"),
                   help="JUnit XML (default: %(default)s)")

    p = sub.add_parser("report", help="the release report: every scenario as in the gate, written as one "
                                      "self-contained HTML page, Markdown and JSON with a figure per scenario")
    p.add_argument("paths", nargs="*", metavar="SCENARIOS", default=[DEFAULT_SCENARIOS],
                   help="scenario files, folders or glob patterns, as for gate (default: %(default)s)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="the report folder (default: reports/<date>-<short commit>)")
    p.add_argument("--baseline", metavar="REPORT",
                   help="an earlier report folder (or its summary.json, or a gate.json): show what changed")
    p.add_argument("--force", action="store_true", help="replace an existing report folder")
    p.add_argument("--variant", type=_variant_name, metavar="NAME", default=None,
                   help="judge a deliberately broken reimplementation (a selftest variant) instead, to see "
                        f"what a failing report looks like: {', '.join(VARIANTS)}")
    _add_judging_options(p)
    _add_workers_option(p)
    _add_scheduler_option(p)
    _add_timeout_option(p)

    p = sub.add_parser("export", help="write traces (a scenario run on a backend, or a .npz trace file) or the "
                                      "comparison tables of a compare/gate --json summary as Parquet or NetCDF, "
                                      "with units and provenance (docs/api.md)")
    p.add_argument("source", metavar="SOURCE", help="a scenario file, a trace file (.npz) or a JSON summary (.json)")
    p.add_argument("--backend", default=None, metavar="B",
                   help=f"for a scenario: {', '.join(SOURCES)} or a registered candidate (default: nest)")
    p.add_argument("--format", choices=EXPORT_FORMATS, default=None,
                   help="default: from --out's suffix (.parquet, .nc)")
    p.add_argument("--out", required=True, metavar="PATH", help="the file to write (not in a reference folder)")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    _add_references_option(p)
    _add_threads_option(p)
    _add_timeout_option(p)

    p = sub.add_parser("selftest", help="prove that the gate catches deliberately broken reimplementations")
    p.add_argument("--variant", action="append", type=_variant_name, metavar="NAME",
                   help=f"only this variant (repeatable); default: all of {', '.join(VARIANTS)}")
    p.add_argument("--scenario", action="append", metavar="PATH",
                   help="run the variants on these scenario files instead of their own (repeatable)")
    p.add_argument("--catalogue", default=DEFAULT_SCENARIOS, metavar="DIR",
                   help="where the variants' own scenarios live (default: %(default)s)")
    _add_references_option(p)
    _add_workers_option(p)
    _add_scheduler_option(p)
    p.add_argument("--json", metavar="PATH", help="write what caught each variant to PATH")

    from harness.fuzz.run import add_fuzz_arguments  # light: hypothesis is imported only when fuzzing runs

    p = add_fuzz_arguments(sub.add_parser(
        "fuzz", help="generated scenarios, NEST vs the reimplementation bit for bit; minimal failures become "
                     "scenario files"))
    _add_timeout_option(p, what="batch of generated scenarios")
    _add_scheduler_option(p, what="each batch and network, one at a time,")

    from harness.truth.convergence_cli import add_convergence_arguments

    _add_timeout_option(add_convergence_arguments(sub), what="run (the truth, each NEST run, each candidate run)")

    from harness.candidates.cli import add_candidate_arguments

    add_candidate_arguments(sub)

    from harness.sweep.cli import add_sweep_arguments

    add_sweep_arguments(sub)
    return parser


def _add_judging_options(p, scenario_block: bool = False) -> None:
    # compare gives a port the room its scenario's tolerances: block allows; gate and report judge the
    # reimplementation and NEST, which both claim bit parity, so the block would only give a regression room.
    default = (f"the scenario's tolerances block, else {DEFAULT_PROFILE}" if scenario_block else
               f"{DEFAULT_PROFILE}; a scenario's own tolerances block is not used here")
    p.add_argument("--profile", type=_profile_name, default=None,
                   help=f"tolerance profile: {', '.join(PROFILE_NAMES)} (default: {default})")
    _add_references_option(p)


def _add_threads_option(p) -> None:
    p.add_argument("--nest-threads", type=positive_int, default=None, metavar="T",
                   help="run live NEST with T threads (network scenarios; default: the scenario's nest_threads, "
                        "1 unless it says otherwise; references and the engines follow the scenario)")


def _add_workers_option(p) -> None:
    p.add_argument("--workers", type=positive_int, default=None,
                   help="worker processes (default: the number of CPUs)")


def _add_scheduler_option(p, what: str = "the scenarios") -> None:
    p.add_argument("--scheduler", default=None, metavar="ADDRESS|local",
                   help=f"run {what} on Dask: local (a local cluster of worker processes) or the address of a "
                        "running scheduler, such as tcp://10.0.0.5:8786 (default: the process pool; "
                        "docs/executor.md)")


def _add_timeout_option(p, what: str = "scenario") -> None:
    from harness.judge.pool import DEFAULT_TIMEOUT_S

    p.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                   help=f"time limit per {what}: a NEST or engine run past it is ended and reported as an "
                        "error (default: %(default)g)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}; allowed: a positive number of seconds")
    return value


def _add_references_option(p) -> None:
    p.add_argument("--references", default=str(REFERENCE_DIR), metavar="DIR",
                   help="where stored references live (default: %(default)s)")


def _profile_name(text: str) -> str:
    if text not in PROFILE_NAMES:
        raise argparse.ArgumentTypeError(unknown_profile_message(text))
    return text


def _variant_name(text: str) -> str:
    if text not in VARIANTS:
        close = difflib.get_close_matches(text, list(VARIANTS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise argparse.ArgumentTypeError(f"unknown variant {text!r}{hint}; allowed: {', '.join(VARIANTS)}")
    return text




def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args = build_parser().parse_args(argv)
    args.argv = argv  # the report records the exact command that made it
    try:
        return COMMANDS[args.command](args)
    except OverwriteRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into head or similar: stop quietly
        sys.stdout = open(os.devnull, "w")
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
