"""A Brian2 port of iaf_bw_2001_exact (PyPI: Brian2 2.9.0) as a protocol candidate, version 1 (one neuron).

Runs under its own Python 3.11 environment (.venv-brian2, `make candidate-brian2`) and imports nothing
from the harness: it reads the protocol's input folder and writes its output folder (formats:
harness/candidates/protocol.py, docs/candidates.md)::

    .venv-brian2/bin/python harness/candidates/brian2_runner.py INPUT_DIR OUTPUT_DIR
        [--method rk4] [--substeps N] [--target numpy|cython]

It is a port written from the model's equations, not a mirror of NEST's GSL RKF45: the equations are a
Brian2 ``NeuronGroup`` in Brian2's units, and Brian2's own state updater (``--method``, default ``rk4``)
integrates them with a fixed step. Only *how* each simulation step's ODE is integrated differs from NEST;
the time-discrete rules around it are NEST's, placed with Brian2's schedule. One simulation step is
``--substeps`` Brian2 time steps (Brian2 dt = step / N, default N = 1); every operation below runs on every
Brian2 time step, and the per-step inputs are per-tick TimedArrays that hold the step's value on its last
tick and a no-op elsewhere (``tick_inputs``), so inputs, clamp and threshold act at step ends only:

* ``groups`` (Brian2's state updater): integrate (t, t + dt] with the I_stim set before;
* ``after_groups`` order 0: copy I_AMPA, I_GABA, I_NMDA and s_NMDA (the weighted sum of the NMDA ports)
  into the recorded ``*_rec`` variables: NEST records them on the integrated state, before the jumps;
* ``after_groups`` order 1: s_AMPA += ampa[k], s_GABA += gaba[k] (nS), x_j += nmda[k, j] (multiplicity);
  port j's weight w_j multiplies s_j inside the right-hand side;
* ``after_groups`` order 2, NEST's clamp: a refractory neuron (r > 0) gets r -= 1 and V_m = V_reset, so it
  cannot reach the threshold (NEST requires V_reset < V_th);
* ``thresholds``/``resets``: V_m >= V_th at a step end spikes; the reset sets V_m = V_reset and
  r = RefractoryCounts, NEST's rounding of t_ref (whole tics, then whole steps up; ``refractory_counts``);
* ``after_resets``: I_stim = current[k], so the integration of step k + 1 uses it (NEST's one-step lag);
* ``end``: the StateMonitor samples; the sample of step k's last tick is the protocol's sample k + 1.

Brian2's own ``refractory=`` is not used: it freezes V_m (``unless refractory``) instead of integrating
and clamping it, which would change the recorded currents during refractoriness, and it rounds t_ref by
its own rule. V_m is integrated during refractoriness, as in NEST.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

# Protocol name -> (the group's variable, its unit's name in brian2). The currents and s_NMDA are the
# copies taken before the jumps.
RECORDED = {
    "V_m": ("V_m", "mV"), "s_AMPA": ("s_AMPA", "nS"), "s_GABA": ("s_GABA", "nS"), "s_NMDA": ("s_NMDA_rec", "nS"),
    "I_AMPA": ("I_AMPA_rec", "pA"), "I_GABA": ("I_GABA_rec", "pA"), "I_NMDA": ("I_NMDA_rec", "pA"),
}
# NEST's units for each parameter, as brian2 names them (alpha is 1/ms, gsl_error_tol has no use here).
UNITS = {"E_L": "mV", "E_ex": "mV", "E_in": "mV", "V_th": "mV", "V_reset": "mV", "C_m": "pF", "g_L": "nS",
         "tau_AMPA": "ms", "tau_GABA": "ms", "tau_rise_NMDA": "ms", "tau_decay_NMDA": "ms", "conc_Mg2": "mM"}
MS_PER_TIC = 0.001  # NEST's default tic


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", type=Path)
    p.add_argument("outputs", type=Path)
    p.add_argument("--method", default="rk4", help="Brian2's state updater (rk4, rk2, heun, euler, ...)")
    p.add_argument("--substeps", type=int, default=1, metavar="N",
                   help="Brian2 time steps per simulation step (Brian2 dt = step / N)")
    p.add_argument("--target", choices=("numpy", "cython"), default="numpy", help="Brian2's code generation target")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.substeps < 1:
        print("--substeps must be >= 1", file=sys.stderr)
        return 2
    meta = json.loads((args.inputs / "inputs.json").read_text())
    if meta.get("format") != "nest-parity-candidate-inputs" or meta.get("format_version") != 1:
        print(f"{args.inputs / 'inputs.json'}: not nest-parity-candidate-inputs version 1 (this port runs "
              "single neurons only)", file=sys.stderr)
        return 2
    import numpy as np

    with np.load(args.inputs / "inputs.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    started = time.perf_counter()
    traces, spike_steps, counts = simulate(meta, arrays, args.method, args.substeps, args.target)
    seconds = time.perf_counter() - started
    write_outputs(args.outputs, meta, traces, spike_steps, info(args, counts, seconds))
    return 0


# ----------------------------------------------------------------------------------------- pure logic
def refractory_counts(t_ref: float, tics_per_step: int) -> int:
    """NEST's RefractoryCounts: t_ref rounded to whole tics, then rounded up to whole steps (Time::get_steps)."""
    tics = math.trunc(t_ref / MS_PER_TIC + 0.5)
    return math.trunc((tics + tics_per_step - 1) * (1.0 / tics_per_step))


def tick_inputs(arrays: dict, substeps: int) -> dict:
    """The per-step inputs as per-tick arrays (a simulation step = ``substeps`` Brian2 ticks).

    ``ampa``, ``gaba``, ``nmda_j``: step k's jump on the step's last tick, 0.0 (adding it changes nothing)
    elsewhere; ``end``: 1.0 on every step's last tick; ``stim``: the I_stim set at the end of each tick,
    current[k] at step k's last tick and the value the step started with (current[k-1], 0 for step 0) on
    its other ticks, so I_stim changes at step ends only.
    """
    import numpy as np

    n = len(arrays["current"])
    ticks = n * substeps
    last = np.arange(n) * substeps + substeps - 1

    def at_step_ends(values):
        out = np.zeros(ticks)
        out[last] = values
        return out

    out = {"ampa": at_step_ends(arrays["ampa"]), "gaba": at_step_ends(arrays["gaba"]),
           "end": at_step_ends(np.ones(n))}
    nmda = np.asarray(arrays["nmda"]).reshape(n, -1)
    for j in range(nmda.shape[1]):
        out[f"nmda_{j}"] = at_step_ends(nmda[:, j])
    read = (np.arange(ticks) + 1) // substeps - 1  # the step whose current I_stim holds after each tick
    out["stim"] = np.where(read >= 0, np.asarray(arrays["current"])[np.maximum(read, 0)], 0.0)
    return out


def equations(n_ports: int) -> str:
    """iaf_bw_2001_exact in Brian2's notation (docs/model.md#equations), NMDA port j as (x_j, s_j)."""
    S = " + ".join(f"w_{j}*s_{j}" for j in range(n_ports)) or "0*nS"
    lines = [
        "dV_m/dt = (-g_L*(V_m - E_L) - I_syn + I_stim)/C_m : volt",
        "ds_AMPA/dt = -s_AMPA/tau_AMPA : siemens",
        "ds_GABA/dt = -s_GABA/tau_GABA : siemens",
        *(f"dx_{j}/dt = -x_{j}/tau_rise_NMDA : 1\n"
          f"ds_{j}/dt = -s_{j}/tau_decay_NMDA + alpha*x_{j}*(1 - s_{j}) : 1" for j in range(n_ports)),
        f"s_NMDA = {S} : siemens",
        "I_AMPA = (V_m - E_ex)*s_AMPA : amp",
        "I_GABA = (V_m - E_in)*s_GABA : amp",
        "I_NMDA = (V_m - E_ex)/(1 + conc_Mg2*exp(-0.062*V_m/mV)/(3.57*mM))*s_NMDA : amp",
        "I_syn = I_AMPA + I_GABA + I_NMDA : amp",
        "I_stim : amp",
        "r : integer",
        "I_AMPA_rec : amp", "I_GABA_rec : amp", "I_NMDA_rec : amp", "s_NMDA_rec : siemens",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------- Brian2
def simulate(meta: dict, arrays: dict, method: str, substeps: int, target: str):
    """(recordable -> trace in NEST's units, spike stamps, RefractoryCounts) of the scenario."""
    import brian2 as b2
    import numpy as np

    b2.prefs.codegen.target = target
    b2.prefs.logging.file_log = False
    b2.prefs.logging.std_redirection = False
    b2.prefs.logging.save_script = False
    p, n_steps, n_ports = meta["params"], int(meta["n_steps"]), int(meta["n_nmda_ports"])
    dt = float(meta["step_ms"]) / substeps * b2.ms
    counts = refractory_counts(float(p["t_ref"]), int(meta["tics_per_step"]))
    namespace = {name: p[name] * getattr(b2, unit) for name, unit in UNITS.items()}
    namespace.update(alpha=p["alpha"] / b2.ms, R_counts=counts)
    weights = np.asarray(arrays["nmda_weights"], dtype=np.float64)
    namespace.update({f"w_{j}": float(weights[j]) * b2.nS for j in range(n_ports)})
    ticks = tick_inputs(arrays, substeps)
    units = {"ampa": b2.nS, "gaba": b2.nS, "stim": b2.pA, "end": 1}
    for name, values in ticks.items():
        namespace[f"{name}_in"] = b2.TimedArray(values * units.get(name, 1), dt=dt)

    group = b2.NeuronGroup(1, equations(n_ports), threshold="V_m >= V_th and end_in(t) > 0.5",
                           reset="V_m = V_reset\nr = R_counts", method=method, namespace=namespace, dt=dt,
                           name="iaf_bw_2001_exact")
    group.V_m = meta["initial"]["V_m"] * b2.mV
    group.s_AMPA = meta["initial"]["s_AMPA"] * b2.nS
    group.s_GABA = meta["initial"]["s_GABA"] * b2.nS
    snapshot = group.run_regularly("I_AMPA_rec = I_AMPA\nI_GABA_rec = I_GABA\nI_NMDA_rec = I_NMDA\n"
                                   "s_NMDA_rec = s_NMDA", when="after_groups", order=0, name="record_currents")
    jumps = group.run_regularly("\n".join(["s_AMPA += ampa_in(t)", "s_GABA += gaba_in(t)",
                                           *(f"x_{j} += nmda_{j}_in(t)" for j in range(n_ports))]),
                                when="after_groups", order=1, name="jumps")
    # V_reset*c + V_m*(1 - c) is exactly V_reset (c = 1) or V_m (c = 0); abstract code has no `if`.
    clamp = group.run_regularly("c = int(r > 0)*int(end_in(t) > 0.5)\nV_m = V_reset*c + V_m*(1 - c)\nr = r - c",
                                when="after_groups", order=2, name="refractory_clamp")
    stim = group.run_regularly("I_stim = stim_in(t)", when="after_resets", order=0, name="stimulus_lag")
    states = b2.StateMonitor(group, [var for var, _ in RECORDED.values()], record=[0], when="end", name="states")
    spikes = b2.SpikeMonitor(group, name="spikes")
    net = b2.Network(group, snapshot, jumps, clamp, stim, states, spikes)
    net.run(n_steps * substeps * dt, namespace={})

    n_ticks = n_steps * substeps
    ran = len(np.asarray(states.t_))
    if ran != n_ticks:
        raise RuntimeError(f"Brian2 ran {ran} time steps, expected {n_ticks}")
    traces = {}
    for name in meta["record"]:
        var, unit = RECORDED[name]
        values = getattr(states, var)[0]
        traces[name] = np.asarray(values / getattr(b2, unit), dtype=np.float64)[substeps - 1::substeps]
    tick = np.rint(np.asarray(spikes.t_) / float(dt / b2.second)).astype(np.int64)
    return traces, tick // substeps + 1, counts


def info(args, counts: int, seconds: float) -> dict:
    import importlib.metadata as md

    return {"name": "Brian2 iaf_bw_2001_exact", "class": "brian2.NeuronGroup", "package": "Brian2",
            "version": md.version("Brian2"), "dtype": "float64",
            "numpy": md.version("numpy"), "sympy": md.version("sympy"), "method": args.method,
            "substeps": args.substeps, "target": args.target, "refractory_steps": counts,
            "protocol_version": 1, "seconds": round(seconds, 3)}


def write_outputs(folder: Path, meta: dict, traces: dict, spike_steps, info: dict) -> None:
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    n = int(meta["n_steps"])
    arrays = {"steps": np.arange(1, n + 1, dtype=np.int64), "spike_steps": np.asarray(spike_steps, np.int64)}
    arrays.update({name: traces[name] for name in meta["record"]})
    np.savez(folder / "traces.npz", **arrays)
    (folder / "candidate.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.exit(main())
