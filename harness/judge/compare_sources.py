"""One scenario from two trace sources, judged, with its accuracy ladder: what ``nest-parity compare`` does,
as a function that the command and the Python API (``harness.api.compare``) both call.

How each source is run is the caller's: ``call(function, *args, what=...)`` runs it (the command passes a
killable worker with its ``--timeout``; the API calls it in-process), and ``produce(source, scenario,
reference_dir, nest_threads)`` makes the traces (the API's also knows the registered candidates).
"""
from __future__ import annotations

from pathlib import Path

from harness.backends.sources import obtain_truth
from harness.backends.sources import produce as produce_source
from harness.errors import UsageError
from harness.judge.comparator import Comparison
from harness.judge.tolerances import ACCURACY_PROFILE
from harness.scenario.types import Scenario
from harness.traces.references import REFERENCE_DIR

NEST_SOURCES = ("nest", "stored")
TRUTH_SOURCES = ("truth", "stored-truth")


def direct(function, *args, what: str = ""):
    """``call`` without a worker: the function runs here (``what`` names the run for a caller that needs it)."""
    return function(*args)


def compare_sources(scenario: Scenario, reference: str = "nest", candidate: str = "python", *,
                    profile: str | None = None, truth: str = "auto", reference_dir: Path = REFERENCE_DIR,
                    nest_threads: int | None = None, produce=produce_source, call=direct,
                    keep_traces: bool = False) -> Comparison:
    """The candidate's traces judged against the reference's, with the ladder attached (``.ladder``).

    ``profile`` None: the scenario's ``tolerances:`` block, else exact. ``truth``: where the ladder's truth
    comes from (``auto``, ``stored``, ``live``, ``none``; ``harness.backends.sources.obtain_truth``); a side
    that is itself a truth is used instead. ``keep_traces``: keep both sides' traces on the result
    (``Comparison.traces``, keyed by source) for tables and figures.
    """
    from harness.judge.accuracy import build_ladder, judge_accuracy
    from harness.judge.comparator import compare
    from harness.judge.tolerances import chosen_profile, resolve_tolerances

    accuracy = chosen_profile(scenario, profile) == ACCURACY_PROFILE
    if accuracy and reference not in NEST_SOURCES:
        raise UsageError(f"--profile {ACCURACY_PROFILE}: the reference must be NEST (--reference nest or stored), "
                         f"whose distance to the truth sets the bounds; not {reference!r}")
    tolerances = None if accuracy else resolve_tolerances(scenario, profile)
    runs = {}
    for source in dict.fromkeys((reference, candidate)):
        runs[source] = call(produce, source, scenario, Path(reference_dir), nest_threads,
                            what=f"{scenario.path}: the {source} run")
    ref, cand = runs[reference], runs[candidate]
    truth_traces, note = _truth(scenario, runs, truth, accuracy, Path(reference_dir), call)
    nest = next((runs[s] for s in (reference, candidate) if s in NEST_SOURCES), None)
    if accuracy:
        result, ladder = judge_accuracy(nest, truth_traces, cand, candidate_name=candidate)
    else:
        result = compare(ref, cand, tolerances, reference_name=reference, candidate_name=candidate)
        ladder = build_ladder(nest, truth_traces, None if candidate in NEST_SOURCES else cand)
    ladder.notes.insert(0, note)
    result.ladder = ladder
    if keep_traces:
        result.traces = {"reference": ref, "candidate": cand}
    return result


def _truth(scenario: Scenario, runs: dict, mode: str, accuracy: bool, reference_dir: Path, call):
    """The truth for the ladder: one of the two sides when it is a truth, else ``mode`` (auto: the stored
    truth when there is one; the accuracy profile solves it when there is none)."""
    for source in TRUTH_SOURCES:
        if source in runs:
            return runs[source], f"truth: the {source} run compared above"
    if accuracy and mode == "none":
        raise UsageError(f"--profile {ACCURACY_PROFILE} judges against the truth: --truth none leaves nothing to judge")
    if accuracy and mode == "auto":
        from harness.traces.references import reference_file

        mode = "stored" if reference_file(scenario, reference_dir, "truth").exists() else "live"
    return call(obtain_truth, scenario, mode, reference_dir, what=f"{scenario.path}: the truth")
