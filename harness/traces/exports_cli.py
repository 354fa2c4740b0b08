"""``nest-parity export``: a scenario run on a backend, a stored trace file or a JSON summary of ``compare``
or ``gate``, written as Parquet or NetCDF (``harness.traces.exports``). Everything that can be refused (the
output path, the backend, the input) is refused before anything runs."""
from __future__ import annotations

import json
from pathlib import Path

from harness.errors import EXIT_OK, UsageError


def source_kind(path: Path) -> str:
    """``traces`` (a .npz trace file), ``summary`` (a .json) or ``scenario`` (anything else: YAML)."""
    name = path.name.lower()
    if name.endswith(".npz"):
        return "traces"
    if name.endswith(".json"):
        return "summary"
    return "scenario"


def summary_table(path: Path):
    """The comparison table of every comparison in a JSON summary of ``compare`` or ``gate``."""
    from harness.judge.frames import comparisons_frame

    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a readable JSON summary ({str(exc)[:120]})") from None
    if isinstance(document, dict) and "sha256" in document and isinstance(document.get("variables"), list):
        npz = path.with_name(path.name[:-len(".json")] + ".npz")
        raise UsageError(f"{path}: is the readable provenance of a trace file; export {npz} instead")
    comparisons = document.get("comparisons") if isinstance(document, dict) else None
    if not isinstance(comparisons, list) or not all(isinstance(c, dict) and isinstance(c.get("variables"), dict)
                                                    for c in comparisons):
        raise UsageError(f"{path}: not a JSON summary of `nest-parity compare` or `gate` (no comparisons list); "
                         f"allowed: the file their --json writes")
    try:
        table = comparisons_frame(comparisons)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: a comparison in it lacks {exc} (written by another version of the harness?)") \
            from None
    table.attrs = {key: document.get(key) for key in ("command", "status", "created", "schema_version", "provenance")}
    return table


def run_export_command(args) -> int:
    from harness.api import produce_named, registered_candidate
    from harness.judge.pool import run_bounded
    from harness.scenario.schema import load_scenarios
    from harness.traces.exports import check_export_path, format_for, write_export
    from harness.traces.traces import Traces

    source = Path(args.source)
    kind = source_kind(source)
    fmt = format_for(args.out, args.format)
    out = check_export_path(args.out, args.force)  # before the run: minutes of NEST must not be lost to it
    if kind != "scenario" and args.backend is not None:
        raise UsageError(f"--backend {args.backend}: applies to a scenario file; {source} is a "
                         f"{'trace file' if kind == 'traces' else 'JSON summary'}, exported as it is")
    if kind == "traces":
        obj, what = Traces.load(source), "traces"
    elif kind == "summary":
        obj = summary_table(source)
        what = f"{len(obj)} rows of {len(obj.groupby(['scenario', 'reference', 'candidate']))} comparisons"
    else:
        (scenario,) = load_scenarios([source])
        backend = args.backend or "nest"
        registered_candidate(backend)  # an unknown name is refused before anything runs
        obj = run_bounded(produce_named, backend, scenario, Path(args.references), args.nest_threads,
                          timeout=args.timeout, what=f"{scenario.path}: the {backend} run")
        what = f"{backend} traces"
    written = write_export(obj, out, fmt, force=args.force)
    print(f"wrote {written} ({fmt}, {what}, {written.stat().st_size / 1e3:.1f} kB)")
    return EXIT_OK
