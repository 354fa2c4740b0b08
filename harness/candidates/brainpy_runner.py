"""The brainpy.state port of iaf_bw_2001_exact (PyPI: brainspikes 0.2.0) as a protocol candidate.

Runs under its own Python 3.12 environment (.venv-brainpy, `make candidate-brainpy`) and imports nothing
from the harness: it reads the protocol's input folder and writes its output folder (formats:
harness/candidates/protocol.py, docs/candidates.md)::

    .venv-brainpy/bin/python harness/candidates/brainpy_runner.py INPUT_DIR OUTPUT_DIR
        [--dtype float64|float32] [--mode compiled|eager] [--population N] [--xla-strict]

How the compiled inputs map onto the port's API (``iaf_bw_2001_exact.update(x, spike_events)``, one call
per simulation step, which integrates, applies the events of that call, tests the threshold, and stores
``x`` as I_stim for the *next* call):

* call k gets ``x = current[k]``: the port's own one-step lag then makes it I_stim of step k+1, as in NEST;
* call k gets the AMPA/GABA slot of step k as one event ``(receptor, ampa[k] nS, multiplicity 1)``: the
  port adds weight·1.0 to a zero, so s_AMPA receives the same double as NEST's pre-summed slot;
* NMDA port j is the port key ``j``, registered with weight w_j in call 0 (the port refuses new ports
  after its first call), and gets ``(3, w_j nS, j, nmda[k, j])`` in call k.

A scenario's spike at time ts with delay d is therefore applied in the port's call round((ts+d)/dt) - 1,
and a dc_generator's current is seen by the integration over [start+d, stop+d) (start = 0 counts as
start = dt), exactly the slots the harness compiled.

Modes. ``eager`` is the port's documented per-step API: a Python call per step with the events as
Python objects (about 0.3-0.7 s per step, far too slow for the catalogue). ``compiled`` (default) runs the
same ``update`` method inside ``brainstate.transform.for_loop`` (one XLA program for the whole run); only
the port's event *parsing* (a Python loop over event objects, which cannot run on traced values) is
replaced by handing ``update`` the per-step arrays that parsing would have produced. With --xla-strict
(XLA without FMA contraction and without its algebraic simplifier, so a fused program rounds like the
op-by-op eager one) the two modes give bit-identical traces; tests/test_candidates_brainpy.py checks it.

``--population N`` runs N neurons in one port instance: neuron 0 gets the inputs, neurons 1..N-1 the same
parameters and NMDA ports but no input (quiet neighbours), and neuron 0 is reported. A correct population
keeps neurons independent, so neuron 0 must not change; how the port mixes them up is one of the findings.

A network scenario (protocol version 2) runs all n neurons in one instance, each with its own parameters,
initial state and NMDA ports: port key j is every neuron's j-th port (NEST's order: its NMDA connections,
then its NMDA generators), registered in call 0 with the per-neuron weights ``nmda_weights[:, j]`` (0 where a
neuron has fewer ports). The runner delivers, not the port: ``network_loop.py`` (plain NumPy, beside this
file) fills the slots between update calls from the connection list and the generator events in NEST's
order, and the port integrates each call's steps with them (``--mode compiled``: one compiled loop per call
length, reused; the first step is an eager call that registers the ports). ``--population`` does not apply.
Written without a brainpy installation at hand: the per-neuron weight vectors and array initial values are
assumptions about the port's API that the first run will confirm or refute (an error then, never a pass).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

RECORDED = {  # protocol name -> (port attribute, unit name)
    "V_m": ("V", "mV"), "s_AMPA": ("s_AMPA", "nS"), "s_GABA": ("s_GABA", "nS"), "s_NMDA": ("s_NMDA", "nS"),
    "I_AMPA": ("I_AMPA", "pA"), "I_GABA": ("I_GABA", "pA"), "I_NMDA": ("I_NMDA", "pA"),
}
# XLA rewrites x/c into x*(1/c) and contracts a*b+c into an FMA inside fused programs; the port's eager
# API evaluates its post-integration arithmetic op by op, where neither happens.
XLA_STRICT_FLAGS = "--xla_cpu_max_isa=AVX --xla_disable_hlo_passes=algsimp"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", type=Path)
    p.add_argument("outputs", type=Path)
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="the port's floating-point precision (the package's own default is float32)")
    p.add_argument("--mode", choices=("compiled", "eager"), default="compiled")
    p.add_argument("--population", type=int, default=1, metavar="N")
    p.add_argument("--xla-strict", action="store_true", help=f"XLA_FLAGS={XLA_STRICT_FLAGS}")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.population < 1:
        print("--population must be >= 1", file=sys.stderr)
        return 2
    if args.xla_strict:  # must precede the first import of jax
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + XLA_STRICT_FLAGS).strip()
    meta = json.loads((args.inputs / "inputs.json").read_text())
    if meta.get("format") != "nest-parity-candidate-inputs" or meta.get("format_version") not in (1, 2):
        print(f"{args.inputs / 'inputs.json'}: not nest-parity-candidate-inputs version 1 or 2", file=sys.stderr)
        return 2
    if meta["format_version"] == 2:
        return main_network(args)
    port = Port(meta, args.dtype, args.population)
    arrays = load_inputs(args.inputs, port.np_dtype)
    started = time.perf_counter()
    traces, spikes = port.run(arrays, args.mode)
    write_outputs(args.outputs, meta, traces, spikes, port.info(args, time.perf_counter() - started))
    return 0


def main_network(args) -> int:
    if args.population != 1:
        print("--population applies to single-neuron scenarios; a network runs its own neurons in one instance",
              file=sys.stderr)
        return 2
    loop_module = network_loop_module()
    meta, arrays = loop_module.load_inputs(args.inputs)
    port = NetworkPort(meta, arrays, args.dtype)
    started = time.perf_counter()
    traces, stamps, neurons = port.run_network(loop_module.NetworkLoop(meta, arrays), args.mode)
    write_outputs(args.outputs, meta, traces, stamps, port.info(args, time.perf_counter() - started),
                  spike_neurons=neurons)
    return 0


def network_loop_module():
    """network_loop.py from beside this file, by path: this runner is a script under another interpreter."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("network_loop", Path(__file__).with_name("network_loop.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_inputs(folder: Path, dtype):
    import numpy as np

    with np.load(folder / "inputs.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    # Multiplicities and float64 slot values are handed over in the port's own precision, as a user of a
    # float32 port would hand them.
    return {k: (v.astype(dtype) if k != "nmda_weights" else v) for k, v in arrays.items()}


class Port:
    """One brainspike.iaf_bw_2001_exact instance set up from inputs.json."""

    def __init__(self, meta: dict, dtype: str, population: int, params: dict | None = None,
                 initial: dict | None = None):
        """``params``/``initial``: per-neuron arrays (a network); by default inputs.json's scalars."""
        import jax

        jax.config.update("jax_enable_x64", dtype == "float64")
        import brainspike
        import brainstate
        import braintools
        import brainunit as u
        import numpy as np

        self.meta, self.population, self.dtype = meta, population, dtype
        self.np_dtype = np.float64 if dtype == "float64" else np.float32
        self.n_ports = int(meta.get("n_nmda_ports", 0))
        self.columns = 0  # the neurons sampled: neuron 0 (a network: the recorded neurons)
        # Inputs reach neuron 0 only: multiplying by this keeps the other neurons quiet.
        self.to_first = np.zeros(population, dtype=self.np_dtype)
        self.to_first[0] = 1
        self.step_ms = float(meta["step_ms"])
        brainstate.environ.set(precision=64 if dtype == "float64" else 32, dt=self.step_ms * u.ms)
        p = meta["params"] if params is None else params
        init = meta["initial"] if initial is None else initial
        # One value for all: a constant initializer; per-neuron arrays are handed over as the arrays themselves.
        start = braintools.init.Constant if params is None else (lambda value: value)
        units = {"E_L": u.mV, "E_ex": u.mV, "E_in": u.mV, "V_th": u.mV, "V_reset": u.mV, "C_m": u.pF,
                 "g_L": u.nS, "t_ref": u.ms, "tau_AMPA": u.ms, "tau_GABA": u.ms, "tau_rise_NMDA": u.ms,
                 "tau_decay_NMDA": u.ms, "alpha": 1 / u.ms, "conc_Mg2": u.mM}
        kwargs = {name: p[name] * unit for name, unit in units.items()}
        self.net = brainspike.iaf_bw_2001_exact(
            population, **kwargs, gsl_error_tol=p["gsl_error_tol"],
            V_initializer=start(init["V_m"] * u.mV),
            s_AMPA_initializer=start(init["s_AMPA"] * u.nS),
            s_GABA_initializer=start(init["s_GABA"] * u.nS))
        self.net.init_all_states()

    def info(self, args, seconds: float) -> dict:
        import importlib.metadata as md

        import jax

        cls = type(self.net)
        return {"name": "brainpy.state iaf_bw_2001_exact", "class": f"{cls.__module__}.{cls.__qualname__}",
                "package": "brainspikes", "version": md.version("brainspikes"),
                "brainstate": md.version("brainstate"), "jax": jax.__version__, "dtype": args.dtype,
                "mode": args.mode, "population": self.population, "xla_flags": os.environ.get("XLA_FLAGS", ""),
                "seconds": round(seconds, 3)}

    # ------------------------------------------------------------------------------------ one step
    def events(self, arrays, k: int, all_ports: bool) -> list:
        """Call k's events in the port's tuple format; call 0 names every NMDA port to register it."""
        import brainunit as u

        out = []
        for receptor, name in ((1, "ampa"), (2, "gaba")):
            if arrays[name][k] != 0:
                out.append((receptor, self.to_first * arrays[name][k] * u.nS, 1.0))
        for j in range(self.n_ports):
            mult = arrays["nmda"][k, j]
            if all_ports or mult != 0:
                # A port's weight is the same for every neuron (the port insists); only neuron 0 gets spikes.
                out.append((3, float(arrays["nmda_weights"][j]) * u.nS, j, self.to_first * mult))
        return out

    def step_eager(self, arrays, k: int):
        import brainstate
        import brainunit as u

        with brainstate.environ.context(t=k * self.step_ms * u.ms):
            spiked = self.net.update(x=self.to_first * arrays["current"][k] * u.pA,
                                     spike_events=self.events(arrays, k, k == 0))
        return spiked, self.sample()

    def sample(self) -> dict:
        import brainunit as u

        out = {}
        for name, (attr, unit) in RECORDED.items():
            value = getattr(self.net, attr).value
            out[name] = u.get_mantissa(value.in_unit(getattr(u, unit)))[self.columns]
        return out

    # ------------------------------------------------------------------------------------ the run
    def run(self, arrays, mode: str):
        import numpy as np

        n = int(self.meta["n_steps"])
        spiked0, first = self.step_eager(arrays, 0)  # registers the NMDA ports, as the port requires
        if mode == "eager":
            rows = [(spiked0, first)] + [self.step_eager(arrays, k) for k in range(1, n)]
            spikes = np.asarray([np.asarray(s).ravel()[0] for s, _ in rows])
            traces = {name: np.asarray([np.asarray(r[name]) for _, r in rows]) for name in RECORDED}
        else:
            spikes_rest, rest = self.run_compiled(arrays, n)
            spikes = np.concatenate([[np.asarray(spiked0).ravel()[0]], np.asarray(spikes_rest)])
            traces = {name: np.concatenate([[np.asarray(first[name])], np.asarray(rest[name])])
                      for name in RECORDED}
        spike_steps = np.flatnonzero(spikes > 0).astype(np.int64) + 1
        return traces, spike_steps

    def run_compiled(self, arrays, n: int):
        """Calls 1..n-1 of ``update`` in one compiled loop; the events arrive as arrays, not Python objects."""
        import brainstate
        import brainunit as u
        import jax.numpy as jnp
        import numpy as np

        if n <= 1:
            return np.zeros(0), {name: np.zeros(0) for name in RECORDED}
        to_first = jnp.asarray(self.to_first)
        current_step = {}
        # What _parse_spike_events returns for call k: AMPA/GABA deltas (nS) and NMDA multiplicities.
        self.net._parse_spike_events = lambda _events, _shape: (
            current_step["ampa"], current_step["gaba"], current_step["nmda"])

        def body(k, ampa, gaba, nmda, current):
            current_step["ampa"] = to_first * ampa
            current_step["gaba"] = to_first * gaba
            current_step["nmda"] = to_first[:, None] * nmda[None, :]
            with brainstate.environ.context(t=k * self.step_ms * u.ms):
                spiked = self.net.update(x=to_first * current * u.pA, spike_events=None)
            return spiked[0], self.sample()

        ks = np.arange(1, n)
        return brainstate.transform.for_loop(body, ks, arrays["ampa"][1:], arrays["gaba"][1:],
                                             arrays["nmda"][1:], arrays["current"][1:])


class NetworkPort(Port):
    """All neurons of a version 2 input folder in one port instance; the runner delivers between calls."""

    def __init__(self, meta: dict, arrays: dict, dtype: str):
        import numpy as np

        params = {name: np.asarray(arrays[f"param_{name}"], dtype=np.float64) for name in meta["param_names"]}
        initial = {name: np.asarray(arrays[f"initial_{name}"], dtype=np.float64) for name in meta["initial_names"]}
        super().__init__(meta, dtype, int(meta["n_neurons"]), params, initial)
        self.n_ports = int(meta["max_nmda_ports"])
        self.weights = np.asarray(arrays["nmda_weights"], dtype=np.float64)  # (n, P): neuron i's port j
        self.columns = np.asarray(meta["record_neurons"], dtype=np.int64)
        self._slice_fn = None

    def network_events(self, slots, i: int, register: bool) -> list:
        """Step i of a call's slots in the port's tuple format; ``register`` names every NMDA port."""
        import brainunit as u
        import numpy as np

        out = []
        for receptor, name in ((1, "ampa"), (2, "gaba")):
            if np.any(slots[name][i] != 0):  # a pre-summed slot: weight·1.0 added to a zero, as NEST's slot
                out.append((receptor, slots[name][i] * u.nS, 1.0))
        for j in range(self.n_ports):
            mult = slots["nmda"][i, :, j]
            if register or np.any(mult != 0):
                out.append((3, self.weights[:, j] * u.nS, j, mult))
        return out

    def network_step(self, slots, i: int, k: int):
        """Step k of the run (row i of the call's slots) through the eager per-step API."""
        import brainstate
        import brainunit as u
        import numpy as np

        with brainstate.environ.context(t=k * self.step_ms * u.ms):
            spiked = self.net.update(x=slots["current"][i] * u.pA, spike_events=self.network_events(slots, i, k == 0))
        return np.asarray(spiked).reshape(1, -1), {name: np.asarray(v)[None] for name, v in self.sample().items()}

    def compiled_steps(self, slots, first: int, k0: int, k1: int):
        """Steps k0..k1-1 (rows from ``first``) in one compiled loop, built once and reused per length."""
        import brainstate
        import brainunit as u
        import numpy as np

        if self._slice_fn is None:
            given = {}
            # What _parse_spike_events returns for the step: AMPA/GABA deltas (nS) and NMDA multiplicities.
            self.net._parse_spike_events = lambda _events, _shape: (given["ampa"], given["gaba"], given["nmda"])

            def body(k, ampa, gaba, nmda, current):
                given.update(ampa=ampa, gaba=gaba, nmda=nmda)
                with brainstate.environ.context(t=k * self.step_ms * u.ms):
                    spiked = self.net.update(x=current * u.pA, spike_events=None)
                return spiked, self.sample()

            self._slice_fn = brainstate.transform.jit(lambda ks, *xs: brainstate.transform.for_loop(body, ks, *xs))
        rows = slice(first, first + k1 - k0)
        spiked, samples = self._slice_fn(np.arange(k0, k1), slots["ampa"][rows], slots["gaba"][rows],
                                         slots["nmda"][rows], slots["current"][rows])
        return np.asarray(spiked), {name: np.asarray(v) for name, v in samples.items()}

    def run_network(self, loop, mode: str):
        import numpy as np

        record = list(self.meta["record"])
        traces = {name: np.empty((int(self.meta["n_steps"]), len(self.columns))) for name in record}

        def advance(a: int, b: int, slots: dict):
            slots = {k: v.astype(self.np_dtype) for k, v in slots.items()}  # in the port's own precision
            parts = []
            if mode == "eager":
                parts = [self.network_step(slots, i, a + i) for i in range(b - a)]
            else:
                if a == 0:  # the eager first call registers the NMDA ports, as the port requires
                    parts.append(self.network_step(slots, 0, 0))
                if a + len(parts) < b:
                    parts.append(self.compiled_steps(slots, len(parts), a + len(parts), b))
            spiked = np.concatenate([s for s, _ in parts])
            for name in record:
                traces[name][a:b] = np.concatenate([r[name] for _, r in parts]).reshape(b - a, -1)
            steps, neurons = np.nonzero(spiked > 0)
            return a + steps + 1, neurons

        stamps, neurons = loop.run(advance)
        return traces, stamps, neurons


def write_outputs(folder: Path, meta: dict, traces: dict, spike_steps, info: dict, spike_neurons=None) -> None:
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    n = int(meta["n_steps"])
    arrays = {"steps": np.arange(1, n + 1, dtype=np.int64), "spike_steps": spike_steps}
    if spike_neurons is not None:
        arrays["spike_neurons"] = np.asarray(spike_neurons, dtype=np.int64)
    arrays.update({name: np.asarray(traces[name]) for name in meta["record"]})
    np.savez(folder / "traces.npz", **arrays)
    (folder / "candidate.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.exit(main())
