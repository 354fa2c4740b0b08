"""A corpus of malformed and hostile scenario files, every one of which ``validate`` must refuse cleanly.

Deterministic (one seed): mutations of every catalogue file (wrong types, nulls, missing required keys,
duplicate keys, YAML 1.1 implicit types, numbers beyond the bounds, off-grid times, binary damage, bad
names) and hand-built attacks (alias bombs, deep nesting, oversized files and lists, odd YAML structure).
Each case says which key path the refusal must name: an exact path, ``ANY`` (some key path: where a
budget ran out) or ``FILE`` (a problem of the whole file: not UTF-8, malformed YAML, too large).
``tests/test_hostile_corpus.py`` runs it; ``python tests/hostile_corpus.py FOLDER`` writes it out.
"""
from __future__ import annotations

import copy
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
ANY, FILE = "*", ""
SEED = 15


@dataclass(frozen=True)
class Case:
    name: str  # the file name
    kind: str  # the class of attack
    data: bytes
    key: str  # the key path the message must name, ANY or FILE


def catalogue_files() -> list[Path]:
    return sorted((REPO / "scenarios").glob("*.yaml")) + sorted((REPO / "scenarios" / "ports").glob("*/*.yaml"))


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(raw) -> str:
    return yaml.dump(raw, Dumper=_DUMPER, sort_keys=False, default_flow_style=None, width=10 ** 7,
                     allow_unicode=True)


def _key(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _walk(node, path=()):
    """(path, value) of every node below the root, depth first."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,), v
            yield from _walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield path + (i,), v
            yield from _walk(v, path + (i,))


def _get(raw, path):
    for p in path:
        raw = raw[p]
    return raw


def _set(raw, path, value):
    _get(raw, path[:-1])[path[-1]] = value


def _copy(raw):
    return copy.deepcopy(raw)


def _leaves(raw):
    return [(p, v) for p, v in _walk(raw) if not isinstance(v, (dict, list))]


def _wrong_type(value, rng, network=False):
    if isinstance(value, str):
        return rng.choice([[1], {"x": 1}, True, 2.5])
    # A network's numbers may be lists (one per neuron, connection or target): [1.0] can be right there.
    return rng.choice(["fast", ["fast"] if network else [1.0], {"x": 1.0}, True])


YAML11 = ["1:30", "1:30:00", "0:10.5", "-1:30", "017", "0x1F", "0b101", "yes", "No", "on", "OFF",
          "2001-12-14", "2001-12-14 21:59:43.10 -5"]

# (key of a parameter, values each of which is outside its bounds)
PARAM_EXTREMES = {
    "E_L": [1e300, -1e300, 1e30, 1e4], "E_ex": [1e300, -1e30], "E_in": [-1e300], "V_th": [1e300, 5e3],
    "V_reset": [-1e300, -2e3], "C_m": [1e-300, 1e300, 0.5], "g_L": [1e300, -1e300, 1e6],
    "t_ref": [1e30, 1e300, 2e4], "tau_AMPA": [1e-300, 1e300], "tau_GABA": [1e-4], "tau_rise_NMDA": [1e300],
    "tau_decay_NMDA": [1e-300], "alpha": [1e300, 1e4], "conc_Mg2": [1e300], "gsl_error_tol": [1e-300, 1e-12, 10.0],
}
INPUT_EXTREMES = {
    "weight": [1e30, 1e300, -1e30], "delay": [1e12, 1e16, 1e19, 1e300, 2e5], "rate": [1e9, 1e300],
    "seed": [2 ** 64, 2 ** 63], "amplitude": [1e30], "start": [1e19], "stop": [1e19, 1e16],
}
LIST_EXTREMES = {
    "spike_times": [1e19, 1e16, 1e300, 1e-300], "amplitude_times": [1e19, 1e-300],
    "spike_multiplicities": [2 ** 63 - 1, 2 ** 64, 10 ** 7], "amplitude_values": [1e300],
}
REQUIRED = {"spike_generator": ["receptor", "spike_times"], "poisson_spikes": ["receptor", "rate", "seed"],
            "step_current_generator": ["amplitude_times", "amplitude_values"]}
NAMES = ["../escape", "a/b", "/etc/passwd", "abc\n", "a\\b", "", ".hidden", "-x", "x" * 101, "x" * 300,
         "x" * 100_000, "a b", "caf\u00e9", "a\x00b", "nul\r", "..", "a:b", "*"]


def mutations_of(path: Path, rng: random.Random) -> list[Case]:
    """About 50 refused variants of one catalogue file."""
    text = path.read_text()
    raw = yaml.safe_load(text)
    stem, cases = path.stem, []
    res = raw.get("resolution", 0.1)

    def add(kind, data, key):
        data = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        cases.append(Case(f"{stem}.{kind}.{len(cases)}.yaml", kind, data, key))

    def with_value(kind, where, value):
        r = _copy(raw)
        _set(r, where, value)
        add(kind, _dump(r), _key(where))

    def with_text(kind, where, token):  # a plain token YAML would read its own way
        r = _copy(raw)
        _set(r, where, "__TOKEN__")
        add(kind, _dump(r).replace("__TOKEN__", token, 1), _key(where))

    leaves = _leaves(raw)
    numeric = [(p, v) for p, v in leaves if isinstance(v, (int, float)) and not isinstance(v, bool)]
    mappings = [p for p, v in _walk(raw) if isinstance(p[-1], str)]
    inputs = raw.get("inputs") or []

    for where, value in rng.sample(leaves, min(8, len(leaves))):
        with_value("wrong_type", where, _wrong_type(value, rng, "populations" in raw))
    for where in rng.sample(mappings, min(6, len(mappings))):
        with_value("null", where, None)
    r = _copy(raw)
    del r["duration"]
    add("missing", _dump(r), "duration")
    for i, entry in enumerate(inputs[:3]):
        for field in REQUIRED.get(entry["device"], [])[:1] + ["device"][:1 if i == 0 else 0]:
            r = _copy(raw)
            del r["inputs"][i][field]
            add("missing", _dump(r), f"inputs[{i}].{field}")
    # duplicate keys, at the top and inside a device or a block
    for where in rng.sample(mappings, min(5, len(mappings))):
        parent, key = where[:-1], where[-1]
        r = _copy(raw)
        block = _get(r, parent)
        rebuilt = {}
        for k, v in block.items():
            if k == key:
                rebuilt["__DUPLICATE__"] = v if not isinstance(v, (dict, list)) else 1.0
            rebuilt[k] = v
        if parent:
            _set(r, parent, rebuilt)
        else:
            r = rebuilt
        add("duplicate", _dump(r).replace("__DUPLICATE__", key, 1), _key(where))
    for where, _ in rng.sample(leaves, min(6, len(leaves))):
        with_text("yaml11", where, rng.choice(YAML11))
    # numbers beyond every bound, and numbers too long to be numbers
    for key, values in rng.sample(sorted(PARAM_EXTREMES.items()), 4):
        r = _copy(raw)
        r.setdefault("params", {})[key] = rng.choice(values)
        add("huge_number", _dump(r), f"params.{key}")
    top = [("resolution", rng.choice([1e300, -1e300, 1e-300, 5000.0])),
           ("duration", rng.choice([1e300, 1e16, 1e19, 1e-300])), ("initial", {"V_m": 1e300})]
    for key, value in top:
        r = _copy(raw)
        r[key] = value
        add("huge_number", _dump(r), "initial.V_m" if key == "initial" else key)
    for i, entry in list(enumerate(inputs))[:4]:
        fields = [f for f in INPUT_EXTREMES if f in entry or f in ("weight", "delay")]
        field = rng.choice(fields)
        with_value("huge_number", ("inputs", i, field), rng.choice(INPUT_EXTREMES[field]))
        for field, values in LIST_EXTREMES.items():
            if entry.get(field):
                j = rng.randrange(len(entry[field]))
                with_value("huge_number", ("inputs", i, field, j), rng.choice(values))
                break
    if numeric:
        where, _ = rng.choice(numeric)
        with_text("huge_number", where, rng.choice(["9" * 5000, "1." + "0" * 5000, "-" + "7" * 400]))
    # off-grid and out-of-order times
    for i, entry in list(enumerate(inputs))[:3]:
        times = entry.get("spike_times") or entry.get("amplitude_times")
        field = "spike_times" if entry.get("spike_times") else "amplitude_times"
        if times:
            j = rng.randrange(len(times))
            with_value("off_grid", ("inputs", i, field, j), times[j] + res / 3)
        with_value("off_grid", ("inputs", i, "delay"), rng.choice([res * 1.5, res / 2]))
    r = _copy(raw)
    r["duration"] = raw["duration"] + res / 2
    add("off_grid", _dump(r), "duration")
    r = _copy(raw)
    r.setdefault("params", {})["t_ref"] = 2.0004
    add("off_grid", _dump(r), "params.t_ref")
    # binary damage: every variant is invalid UTF-8 or holds a character YAML refuses
    data = text.encode()
    at = rng.randrange(len(data))
    add("binary", data[:at] + b"\xff" + data[at:], FILE)
    add("binary", data[:at] + b"\x00" + data[at:], FILE)
    add("binary", text.encode("utf-16"), FILE)
    add("binary", bytes(rng.randrange(256) for _ in range(rng.randrange(16, 4096))), FILE)
    for name in rng.sample(NAMES, 3):
        with_value("name", ("name",), name)
    return cases


def _base(duration=10.0) -> str:
    return f"name: hostile\nresolution: 0.1\nduration: {duration}\n"


def attacks(rng: random.Random) -> list[Case]:
    """Hand-built attacks: bombs, nesting, sizes, YAML structure, bad names, semantic rules."""
    cases = []

    def add(kind, text, key):
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        cases.append(Case(f"attack.{kind}.{len(cases)}.yaml", kind, data, key))

    # alias bombs: width ** levels values from a few hundred bytes
    for levels, width in [(9, 9), (10, 10), (5, 20), (20, 3), (12, 5), (3, 70), (6, 8), (15, 4)]:
        rows = [f"  l0: &a0 [{', '.join(['lol'] * width)}]"]
        rows += [f"  l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
        add("bomb", _base() + "description:\n" + "\n".join(rows) + "\n", ANY)
    for levels, width in [(3, 4), (2, 10)]:  # within the budget: then refused as no string
        rows = [f"  l0: &a0 [{', '.join(['lol'] * width)}]"]
        rows += [f"  l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
        add("bomb", _base() + "description:\n" + "\n".join(rows) + "\n", "description")
    add("bomb", _base() + "description: &r [*r]\n", ANY)
    add("bomb", _base() + "params: &r {C_m: *r}\n", ANY)
    poisson = "  - &p {device: poisson_spikes, receptor: AMPA, rate: %s, seed: 1}\n"
    add("bomb", _base(1e6) + "inputs:\n" + poisson % "1000.0" + "  - *p\n" * 199, "inputs")
    add("bomb", _base() + "inputs:\n" + poisson % "1.0e9" + "  - *p\n" * 199, "inputs[0].rate")
    add("bomb", _base() + "inputs:\n" + poisson % "10.0" + "  - *p\n" * 1000, "inputs")
    add("bomb", _base() + "x: &x [" + ", ".join(["1.0"] * 1000) + "]\ninputs:\n" + "".join(
        "  - {device: step_current_generator, amplitude_times: *x, amplitude_values: *x}\n" for _ in range(300)),
        ANY)
    # deep nesting
    for depth in (17, 40, 1000, 5000, 100_000):  # libyaml itself stops at 1000 levels: malformed YAML
        add("deep", _base() + "description: " + "[" * depth + "]" * depth + "\n", ANY if depth < 1000 else FILE)
        add("deep", _base() + "params: " + "{a: " * depth + "1" + "}" * depth + "\n", ANY if depth < 1000 else FILE)
    for depth in (17, 60):
        add("deep", _base() + "".join("  " * i + "a:\n" for i in range(depth)) + "  " * depth + "b: 1\n", ANY)
    # sizes
    add("size", _base() + "description: " + "x" * 1_100_000 + "\n", FILE)
    add("size", _base() + "# " + "y" * 2_000_000 + "\n", FILE)
    add("size", _base() + "inputs:\n  - {device: spike_generator, receptor: AMPA, spike_times: ["
        + ", ".join(["1.0"] * 100_001) + "]}\n", ANY)
    add("size", _base() + "inputs:\n" + "  - {device: dc_generator, amplitude: 1.0}\n" * 1001, "inputs")
    add("size", _base(1001 * 0.1) + "simulate_chunks: [" + ", ".join(["0.1"] * 1001) + "]\n", "simulate_chunks")
    add("size", _base() + "".join(f"k{i}: 1\n" for i in range(5000)), ANY)
    add("size", _base() + "inputs:\n" + ("  - {device: spike_generator, receptor: AMPA, spike_times: ["
        + ", ".join(["1"] * 80_000) + "]}\n") * 3, ANY)  # each list within its limit, the values not
    # YAML structure
    for text, key in [
        ("- just\n- a list\n", FILE), ("42\n", FILE), ("", FILE), ("~\n", FILE),
        ("---\nduration: 1.0\n---\na: 1\n", FILE),
        (_base() + "params: [\n", FILE), ("\tduration: 1.0\n", FILE), ("? [a, b]\n: 1\n", FILE),
        (_base() + "base: &b {C_m: 100.0}\nparams:\n  <<: *b\n", ANY),
        (_base() + "params: !!python/object/apply:os.system ['echo pwned']\n", ANY),
        (_base() + "params: {C_m: !!float '1e2'}\n", "params.C_m"),
        (_base() + "description: !custom x\n", "description"),
        (_base() + "description: !!binary aGVsbG8=\n", "description"),
        (_base() + "inputs: !!set {a, b}\n", "inputs"),
        (_base() + "resoluton: 0.1\n", "resoluton"),
        (_base() + "inputs:\n  - device: spike_gen\n", "inputs[0].device"),
        (_base() + "inputs:\n  - {device: spike_generator, receptor: AMPB, spike_times: [1.0]}\n",
         "inputs[0].receptor"),
        (_base() + "record: [V_m, I_NMDAA]\n", "record[1]"),
        (_base() + "tolerances: {profile: exactly}\n", "tolerances.profile"),
        (_base() + "duration: 20.0\n", "duration"),
        (_base() + "inputs:\n  - device: dc_generator\n  - 5\n", "inputs[1]"),
        ("name: a\nname: b\nduration: 1.0\n", "name"),
        (_base() + "inputs:\n  - {device: dc_generator, amplitude: 1.0, amplitude: 2.0}\n", "inputs[0].amplitude"),
        (_base() + "params:\n  C_m: 100.0\n  C_m: 200.0\n", "params.C_m"),
        (_base() + "\ufeffmodel: x\n", FILE), (_base() + "description: \"\\ud800\"\n", FILE),
    ]:
        add("structure", text, key)
    # semantic rules
    for text, key in [
        (_base() + "params: {V_reset: -50.0}\n", "params.V_reset"),
        (_base() + "simulate_chunks: [5.0, 4.0]\n", "simulate_chunks"),
        (_base() + "inputs:\n  - {device: spike_generator, receptor: AMPA, spike_times: [1.0, 2.0], "
                   "spike_multiplicities: [1]}\n", "inputs[0].spike_multiplicities"),
        (_base() + "inputs:\n  - {device: step_current_generator, amplitude_times: [1.0], "
                   "amplitude_values: [1.0, 2.0]}\n", "inputs[0].amplitude_values"),
        (_base() + "expect: fail\n", "expect_reason"),
        (_base() + "inputs:\n  - {device: dc_generator, amplitude: 1.0, start: 5.0, stop: 2.0}\n", "inputs[0].stop"),
        (_base() + "inputs:\n  - {device: spike_generator, receptor: AMPA, spike_times: [5.0, 4.0]}\n",
         "inputs[0].spike_times[1]"),
        (_base() + "inputs:\n  - {device: spike_generator, receptor: AMPA, spike_times: [1.0], "
                   "spike_multiplicities: [-1]}\n", "inputs[0].spike_multiplicities[0]"),
        (_base(1e6) + "inputs:\n" + "  - {device: poisson_spikes, receptor: AMPA, rate: 1.0e6, seed: 1}\n" * 2,
         "inputs[1]"),  # 2e7 spikes
    ]:
        add("semantic", text, key)
    return cases


def generate(seed: int = SEED) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for path in catalogue_files():
        cases += mutations_of(path, rng)
    return cases + attacks(rng)


def write(cases, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in cases:
        path = folder / case.name
        path.write_bytes(case.data)
        paths.append(path)
    return paths


if __name__ == "__main__":
    written = write(generate(), Path(sys.argv[1]))
    print(f"{len(written)} files in {sys.argv[1]}")
