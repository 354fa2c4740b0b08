"""Judging a network's traces: neuron by neuron, with one cut-off for the whole network.

Each recorded neuron is judged like a single neuron (``comparator.compare``): its variables against the
tolerances, its spikes by the window. A network adds one rule: a spike that differs anywhere (even within
the window) reaches its targets at another time, so from the first spike difference in the network on,
no neuron's samples are held to the tolerance (they are reported as unjudged, with the reason); the
spikes of every neuron are still judged over the whole run. Before it, all spikes are identical, so every
sample judged is judged stamp by stamp. Results are keyed ``<neuron>.<variable>`` (``E[0].V_m``), and the
first divergence names the neuron.
"""
from __future__ import annotations

import numpy as np

from harness.judge.comparator import Comparison, SpikeResult, check_same_grid, compare, compare_spikes
from harness.judge.tolerances import Tolerances
from harness.traces.traces import Traces


def compare_network(reference: Traces, candidate: Traces, tolerances: Tolerances, *, reference_name: str,
                    candidate_name: str) -> Comparison:
    result = Comparison(scenario=reference.scenario, reference=reference_name, candidate=candidate_name,
                        profile=tolerances.profile, tics_per_step=reference.tics_per_step, status="pass")
    problem = _layout_problem(reference, candidate)
    if problem is None:
        try:
            check_same_grid(reference, candidate)
        except Exception as exc:  # GridMismatch; a shape mismatch of a column too
            problem = str(exc)
    if problem is None and (len(reference.steps) == 0 or not reference.variables):
        problem = "nothing to judge: the traces hold no samples or record no variables"
    if problem is not None:
        result.status, result.error = "error", problem
        return result
    window = tolerances.spike_window_steps
    spikes = {label: compare_spikes(reference.neuron(label).spike_steps, candidate.neuron(label).spike_steps,
                                    window) for label in reference.neurons}
    first = [(s.first_difference_step, label) for label, s in spikes.items() if s.first_difference_step is not None]
    stop = None
    if first:
        step, label = min(first)
        stop = (step, f"from the first spike difference in the network ({label} at {result.ms(step):g} ms) on, "
                      f"its targets receive it at another time: no neuron's samples are held to the tolerance "
                      f"(the spikes are judged on)")
    for label in reference.neurons:
        own = compare(reference.neuron(label), candidate.neuron(label), tolerances, reference_name=reference_name,
                      candidate_name=candidate_name, stop=stop)
        for name, v in own.variables.items():
            v.neuron = label
            result.variables[f"{label}.{name}"] = v
        for u in own.unjudged:
            u.reason = f"{label}: {u.reason}"
        result.unjudged += own.unjudged
    result.neuron_spikes = spikes
    result.spikes = _all_spikes(reference, candidate, spikes, window)
    result.judged_until_step = None if stop is None else stop[0]
    result.unjudged = _merged(result.unjudged)
    result.status = "fail" if result.failures else "pass"
    return result


def _layout_problem(reference: Traces, candidate: Traces) -> str | None:
    if not (reference.is_network and candidate.is_network):
        which = "reference" if not reference.is_network else "candidate"
        return f"the {which} holds one neuron's traces, the other a network's: they cannot be compared"
    if reference.neurons != candidate.neurons:
        missing = [n for n in reference.neurons if n not in candidate.neurons]
        return (f"the recorded neurons differ: the reference records {len(reference.neurons)}, the candidate "
                f"{len(candidate.neurons)}" + (f"; the candidate lacks {', '.join(missing[:5])}" if missing else
                                               " (in another order)"))
    for name, values in candidate.variables.items():
        if np.ndim(values) != 2 or np.shape(values)[1] != len(candidate.neurons):
            return f"the candidate's {name} has shape {np.shape(values)}, expected (samples, {len(candidate.neurons)})"
    return None


def _all_spikes(reference, candidate, spikes: dict, window: int) -> SpikeResult:
    """Every neuron's spikes in one SpikeResult: the first difference and violation are the network's."""
    earliest = lambda key: min((getattr(s, key) for s in spikes.values() if getattr(s, key) is not None),  # noqa: E731
                               default=None)
    return SpikeResult(np.sort(reference.spike_steps), np.sort(candidate.spike_steps), window,
                       first_difference_step=earliest("first_difference_step"),
                       first_violation_step=earliest("first_violation_step"))


def _merged(stretches: list) -> list:
    """The network cut-off is reported once for all neurons (its samples summed), the neurons' own
    stretches as they are."""
    cut, out = None, []
    for u in sorted(stretches, key=lambda u: (u.from_step, u.to_step is None)):
        if u.to_step is not None:
            out.append(u)
        elif cut is None:
            cut = u
            cut.reason = u.reason.split(": ", 1)[1]
            out.append(cut)
        else:
            cut.samples += u.samples
    return out
