"""The nest-parity command line. Bad input exits 2 with a message, never a traceback."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import UsageError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors already exit 2; keep its wording
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nest-parity", description="NEST-parity validation harness for iaf_bw_2001_exact.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="check scenario files without running anything")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO")

    p = sub.add_parser("run", help="run one scenario on a backend and summarise the traces")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--backend", choices=("nest",), default="nest")
    p.add_argument("--save", metavar="PATH", help="also write the traces to PATH.npz / PATH.json")

    p = sub.add_parser("record", help="run scenarios in NEST and store them in reference_traces/")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    p.add_argument("--force", action="store_true", help="overwrite references that differ")
    p.add_argument("--dir", default="reference_traces", help="where references live (default: %(default)s)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into head or similar: stop quietly
        sys.stdout = open(os.devnull, "w")
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _load_all(paths) -> list:
    """Validate every file before anything runs, and report the problems of all of them together."""
    from .errors import ScenarioError
    from .scenario import load_scenario

    scenarios, messages = [], []
    for path in paths:
        try:
            scenarios.append(load_scenario(path))
        except ScenarioError as exc:
            messages.append(exc.format())
    if messages:
        raise UsageError("\n".join(messages))
    names = {}
    for s in scenarios:
        if s.name in names:
            raise UsageError(f"{s.path}: name: {s.name!r} is also the name of {names[s.name]}; "
                             f"scenario names must be unique (they name the reference files)")
        names[s.name] = s.path
    return scenarios


def cmd_validate(args) -> int:
    for s in _load_all(args.scenarios):
        print(f"ok  {s.path}: {s.name}, {s.n_steps} steps of {s.resolution} ms, {len(s.inputs)} inputs, "
              f"{len(s.nmda_inputs)} NMDA ports")
    return EXIT_OK


def cmd_run(args) -> int:
    from .nest_backend import run_nest

    (scenario,) = _load_all([args.scenario])
    traces = run_nest(scenario)
    print(f"{scenario.name}: {len(traces.steps)} samples, {len(traces.spike_steps)} spikes"
          + (f" at {', '.join(f'{t:g}' for t in traces.spike_times_ms[:10])} ms" if len(traces.spike_steps) else "")
          + (" ..." if len(traces.spike_steps) > 10 else ""))
    for name, values in traces.variables.items():
        print(f"  {name:7s} min {values.min(): .6g}  max {values.max(): .6g}  last {values[-1]: .6g}")
    if args.save:
        for path in traces.save(args.save):
            print(f"wrote {path}")
    return EXIT_OK


def cmd_record(args) -> int:
    from tqdm import tqdm

    from .nest_backend import run_nest
    from .references import record_reference

    scenarios = _load_all(args.scenarios)
    refused = 0
    # tqdm draws only on a terminal (disable=None), so CI logs stay clean.
    for scenario in tqdm(scenarios, desc="recording", unit="scenario", disable=None, leave=False):
        outcome = record_reference(scenario, run_nest(scenario), force=args.force, directory=Path(args.dir))
        refused += outcome.status == "refused"
        tqdm.write(f"{outcome.status:9s} {outcome.path}: {outcome.detail}")
    if refused:
        print(f"{refused} reference(s) differ and were left untouched; re-run with --force to replace them",
              file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


COMMANDS = {"validate": cmd_validate, "run": cmd_run, "record": cmd_record}
