"""The `params:` and `initial:` blocks of a scenario file: the neuron's parameters and its initial state.

What is left out takes NEST's default (``harness.model.parameters``). The values are checked by NEST's own
rules before anything runs, and a little more strictly: NEST accepts NaN silently and rounds an off-tic
t_ref, both of which are refused here.
"""
from __future__ import annotations

import math

from harness import grid
from harness.model.parameters import DEFAULTS, INITIAL_STATE, MODEL, PARAMETER_NAMES, POSITIVE, UNITS
from harness.scenario.bounds import INITIAL_BOUNDS, PARAMETER_BOUNDS, out_of_range
from harness.scenario.fields import check_keys, read_mapping, read_number


def parse_params(raw, problems) -> dict:
    """Every parameter of the model: the file's value where given, else NEST's default."""
    params = _numbers_with_defaults(raw, "params", DEFAULTS, "parameter of " + MODEL, problems)
    check_param_rules(params, problems)
    return params


def check_param_rules(p, problems) -> None:
    """Every broken rule, in parameter order: NEST's (V_reset < V_th, t_ref >= 0, POSITIVE > 0), whole tics,
    then the harness's bounds (``harness.scenario.bounds``), which keep every run finite. A NaN is a value
    refused already (reported): it is not judged again, nor is V_reset against it."""
    for key in PARAMETER_NAMES:
        if not math.isfinite(p[key]):
            continue
        value = _with_unit(key, p[key])
        lo, hi, reason = PARAMETER_BOUNDS[key]
        nest_rule_first = key == "t_ref" or key in POSITIVE  # their NEST messages say "> 0" or ">= 0"
        if not nest_rule_first and out_of_range(p[key], lo, hi):
            problems.add(f"params.{key}", out_of_range(p[key], lo, hi, UNITS[key], reason))
        elif key == "V_reset" and math.isfinite(p["V_th"]) and not p["V_reset"] < p["V_th"]:
            problems.add("params.V_reset", f"V_reset = {value} must be below V_th = {_with_unit('V_th', p['V_th'])}")
        elif key == "t_ref" and not p["t_ref"] >= 0:
            problems.add("params.t_ref", f"{value}; allowed: t_ref >= 0")
        elif key == "t_ref" and not grid.is_whole_tics(p["t_ref"]):
            problems.add("params.t_ref", f"{value} is not a whole number of tics (0.001 ms), which "
                                         f"NEST would round silently; allowed: a multiple of 0.001 ms")
        elif key in POSITIVE and not p[key] > 0:
            allowed = "every time constant > 0" if key.startswith("tau_") else f"{key} > 0"
            problems.add(f"params.{key}", f"{value}; allowed: {allowed}")
        elif out_of_range(p[key], lo, hi):
            problems.add(f"params.{key}", out_of_range(p[key], lo, hi, UNITS[key], reason))


def parse_initial(raw, problems) -> dict:
    """The settable state variables: the file's value where given, else the value NEST creates them with."""
    initial = _numbers_with_defaults(raw, "initial", INITIAL_STATE, "initial state variable", problems)
    for key, value in initial.items():
        lo, hi, reason = INITIAL_BOUNDS[key]
        if math.isfinite(value) and out_of_range(value, lo, hi):
            problems.add(f"initial.{key}", out_of_range(value, lo, hi, "mV" if key == "V_m" else "nS", reason))
    return initial


def refused_as_nan(values: dict, problems, mark: int, block: str) -> dict:
    """``values`` with NaN for every value of ``block`` that a problem since ``problems.items[mark]`` (or a
    null) refuses, all of them when the block itself is refused: a check that reads them (an input's
    stiffness reads C_m) then stays silent instead of judging a default the file did not ask for."""
    keys = [key for key, _ in problems.items[mark:]] + sorted(problems.null_keys)
    if block in keys:
        return dict.fromkeys(values, math.nan)
    refused = {key[len(block) + 1:].split("[")[0].split(".")[0] for key in keys if key.startswith(block + ".")}
    return {k: math.nan if k in refused else v for k, v in values.items()}


def _numbers_with_defaults(raw, block: str, defaults: dict, what: str, problems) -> dict:
    """The block's numbers over the defaults; an unknown key or a value that is no finite number is a problem.

    A value given but refused (or null, which is reported as such) is NaN: no rule then judges the default in
    its place (V_reset against a default V_th when the file's V_th is refused)."""
    given = read_mapping(raw, block, "", problems)
    check_keys(given, tuple(defaults), block, problems, what=what)
    values = dict(defaults)
    for key in defaults:
        if key in given:
            value = read_number(given, key, block, problems)
            values[key] = math.nan if value is None else value
    return values


def _with_unit(key: str, value: float) -> str:
    return f"{value} {UNITS[key]}" if UNITS[key] else f"{value}"
