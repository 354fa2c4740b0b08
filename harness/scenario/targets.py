"""The `inputs:` and `record:` of a network scenario: devices with a ``target``, and the recorded neurons.

An input names a population or one neuron as its ``target``; it becomes one generator per target neuron,
in target order, each with one connection, so that everything ``harness.scenario.inputs`` and the slot
filling know about one generator and one neuron holds unchanged. ``weight``, ``rate`` and ``amplitude`` are
one number, or a list of one value per target. A seeded poisson_spikes input to k targets draws
``default_rng(seed).random((k, n_steps))`` and target i gets row i, so one target gives the single-neuron
rule.

An input whose target is refused (or whose lists do not fit it) is still checked on its own, value by value,
as a device without a neuron: its fields' problems are reported with the target's, in the same run.
"""
from __future__ import annotations

import numpy as np

from harness.model.parameters import RECORDABLES
from harness.scenario import bounds
from harness.scenario.fields import Problems, check_keys, shown, suggest, type_name
from harness.scenario.inputs import _DEVICE_PARSERS, DEVICE_KEYS, _InputContext, read_device
from harness.scenario.populations import resolve_target

PER_TARGET = ("weight", "rate", "amplitude")
RECORD_KEYS = ("neurons", "variables")
# n_steps x recorded neurons x variables: NEST's multimeter keeps every value (with its time and sender)
# in memory, and so do the traces: 1e8 values are 0.8 GB of float64 on each side.
MAX_RECORDED_VALUES = 100_000_000


def parse_network_inputs(raw, network_parts, tps, res, n_steps, problems) -> list:
    """[(target neuron, device)] in creation order; entries with problems are left out. ``network_parts``:
    (populations, params, refused names); ``tps`` or ``n_steps`` None: refused, and nothing is built."""
    populations, params, refused = network_parts
    entries = raw.get("inputs", [])
    if not isinstance(entries, list):
        problems.add("inputs", f"expected a list of devices, got {type_name(entries)}")
        return []
    inputs, draws, spikes, build = [], 0, 0, True
    for i, entry in enumerate(entries):
        where = f"inputs[{i}]"
        if not isinstance(entry, dict):
            problems.add(where, f"expected a mapping with 'device' and 'target' keys, got {type_name(entry)}")
            continue
        device = read_device(entry, where, problems)
        if device is None:
            continue
        check_keys(entry, DEVICE_KEYS[device] + ("target",), where, problems, what=f"field of {device}")
        targets = None
        if "target" not in entry:
            example = f"{populations[0].name}[0]" if populations else "E[0]"
            problems.add(f"{where}.target", f"missing; allowed: a population or one neuron such as {example}")
        else:
            targets = resolve_target(entry["target"], populations, f"{where}.target", problems, refused=refused)
        if targets is None or not _lists_fit(entry, len(targets), where, problems):
            _per_target(entry, device, None, where, tps, res, n_steps, problems, params)  # checked, not built
            continue
        if device == "poisson_spikes" and n_steps is not None and build:
            draws += len(targets) * n_steps
            if draws > bounds.MAX_POISSON_DRAWS:
                problems.add(where, f"the poisson_spikes inputs up to here need {draws} random draws (targets x "
                                    f"steps); allowed: at most {bounds.MAX_POISSON_DRAWS}")
                build = False  # the inputs after it are checked, not built
        parsed = _per_target(entry, device, targets if build else None, where, tps, res, n_steps, problems, params)
        for target, item in parsed:
            inputs.append((target, item))
            spikes += len(getattr(item, "spike_steps", ()))
        if spikes > bounds.MAX_SPIKES and build:
            problems.add(where, f"the inputs up to here hold {spikes} spikes; allowed: at most {bounds.MAX_SPIKES}")
            build = False
    return inputs


def _lists_fit(entry, k, where, problems) -> bool:
    ok = True
    for key in PER_TARGET:
        value = entry.get(key)
        if isinstance(value, list) and len(value) != k:
            problems.add(f"{where}.{key}", f"has {len(value)} value{'' if len(value) == 1 else 's'} for {k} "
                                           f"target{'' if k == 1 else 's'}; allowed: one number, or a list of "
                                           f"exactly {k} (one per target neuron, in target order)")
            ok = False
    return ok


def _per_target(entry, device, targets, where, tps, res, n_steps, problems, params) -> list:
    """One parsed device per target neuron; a problem is reported once, with the target's index where it
    comes from a per-target list. ``targets`` None: the device is checked without a neuron (one row per
    entry of its longest list, a shorter list's first value in the rows it lacks) and nothing is built."""
    lists = {k for k in PER_TARGET if isinstance(entry.get(k), list)}
    rows = range(len(targets)) if targets is not None else range(max([len(entry[k]) for k in lists] + [1]))
    cache = {}

    def uniforms_for(row):
        def uniforms(seed):
            if seed not in cache:
                cache[seed] = np.random.default_rng(seed).random((len(targets), n_steps))
            return cache[seed][row]
        return uniforms

    empty = {k for k in lists if not entry[k]}  # reported as not fitting the targets; nothing in it to check

    def pick(key, value, row):  # (the value of this row, its list index)
        if key not in lists:
            return value, None
        index = row if row < len(value) else 0
        return value[index], index

    out, seen, broken = [], set(), False
    unknown = {name: np.nan for name in params}  # no neuron: its C_m is not known, nor judged
    for row in rows:
        picked = {k: pick(k, v, row) for k, v in entry.items() if k != "target" and k not in empty}
        one = {k: v for k, (v, _) in picked.items()}
        scratch = Problems(problems.path)
        neuron_params = unknown if targets is None else {name: float(v[targets[row]]) for name, v in params.items()}
        ctx = _InputContext(one, where, tps, res, n_steps, scratch, neuron_params, uniforms=uniforms_for(row),
                            build=targets is not None)
        parsed = _DEVICE_PARSERS[device](ctx)
        for key, message in scratch.items:
            field = key[len(where) + 1:].split(".")[0].split("[")[0]
            if field in empty:  # "missing": it is there, as an empty list
                continue
            full = f"{where}.{field}[{picked[field][1]}]" if field in lists else key
            if (full, message) not in seen:
                seen.add((full, message))
                problems.add(full, message)
        if parsed is None or scratch.items:
            broken = True
        elif not broken:
            out.append((int(targets[row]), parsed))
    return [] if broken or targets is None else out


def parse_network_record(raw, network, n_neurons, n_steps, problems):
    """(neuron indices ascending, variables in the model's order): ``record`` is a list of variables (every
    neuron) or a mapping {neurons: [...], variables: [...]}; refused when it would not fit in memory (judged
    only with the duration known: ``n_steps`` None is a refused one). ``network``: (populations, refused)."""
    populations, refused = network
    value = raw.get("record")
    neurons, variables = np.arange(n_neurons, dtype=np.int64), list(RECORDABLES)
    if isinstance(value, dict):
        check_keys(value, RECORD_KEYS, "record", problems)
        if "neurons" in value:
            neurons = _record_neurons(value["neurons"], populations, refused, problems)
        if "variables" in value:
            variables = _record_variables(value["variables"], "record.variables", problems)
    elif value is not None:
        variables = _record_variables(value, "record", problems)
    if neurons is None or variables is None or n_steps is None:
        return np.zeros(0, np.int64), []
    values = n_steps * len(neurons) * len(variables)
    if values > MAX_RECORDED_VALUES:
        problems.add("record", f"{len(variables)} variables of {len(neurons)} neurons over {n_steps} steps are "
                               f"{values:.3g} values ({values * 8 / 1e9:.1f} GB of float64, on NEST's side and "
                               f"the harness's); allowed: at most {MAX_RECORDED_VALUES:.0e}: record fewer neurons "
                               f"(record.neurons), fewer variables (record.variables) or a shorter duration")
    return neurons, variables


def _record_neurons(values, populations, refused, problems):
    if not isinstance(values, list) or not values:
        problems.add("record.neurons", f"expected a non-empty list of populations or neurons, got {type_name(values)}")
        return None
    chosen, ok = [], True
    for i, v in enumerate(values):
        index = resolve_target(v, populations, f"record.neurons[{i}]", problems, what="recorded neuron",
                               refused=refused)
        ok &= index is not None
        if index is not None:
            chosen.append(index)
    return np.unique(np.concatenate(chosen)) if ok else None


def _record_variables(values, where, problems):
    if not isinstance(values, list) or not values:
        problems.add(where, f"expected a non-empty list of recordables, got {type_name(values)}; "
                            f"allowed: {', '.join(RECORDABLES)}")
        return None
    ok = True
    for i, v in enumerate(values):
        if v not in RECORDABLES:
            problems.add(f"{where}[{i}]", f"unknown recordable {shown(v)}{suggest(str(v), RECORDABLES)}; "
                                          f"allowed: {', '.join(RECORDABLES)}")
            ok = False
    if len(set(map(str, values))) != len(values):
        problems.add(where, "a recordable is listed twice")
        ok = False
    return [r for r in RECORDABLES if r in values] if ok else None
