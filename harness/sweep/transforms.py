"""What a sweep does to a base scenario's document: the derived axes (``weight_scale``, ``nmda_ports``) and
the key paths, wildcards included.

Everything here works on the raw document (the YAML as loaded), before the schema: a variant is then parsed
like any scenario file. A change that cannot be made to a document (a list too short, an NMDA port count for
a base without NMDA inputs) raises ``NotApplicable`` with the axis and the reason; the caller decides whether
that is a problem of the sweep file or of one variant (``harness.sweep.expand``).
"""
from __future__ import annotations

from harness.model.parameters import RECEPTOR_TYPES
from harness.scenario.fields import _EXPONENT_ONLY
from harness.scenario.variants import EVERY_ENTRY, EVERY_KEY

TRANSFORMS = ("weight_scale", "nmda_ports")
SPIKE_DEVICES = ("spike_generator", "poisson_spikes")
# Mappings a key path may create when a base leaves them out: a file without params: keeps NEST's defaults,
# one without tolerances: the profile's. Any other missing key on the way is a typo or a missing population.
CREATABLE = ("params", "initial", "tolerances")
DEFAULT_WEIGHT = 1.0  # a spike input's or connection's weight when the file gives none (the schema's default)


class NotApplicable(Exception):
    """A change a document cannot take: ``axis`` and ``message`` (what is wrong and what is allowed)."""

    def __init__(self, axis: str, message: str):
        super().__init__(f"{axis}: {message}")
        self.axis, self.message = axis, message


def apply_transforms(document: dict, changes: dict) -> None:
    """The derived axes of ``changes``, in place: the NMDA port count first, so that copies are scaled too."""
    if "nmda_ports" in changes:
        set_nmda_ports(document, changes["nmda_ports"])
    if "weight_scale" in changes:
        scale_weights(document, changes["weight_scale"])


def scale_weights(document: dict, factor: float) -> None:
    """Every synaptic weight times ``factor``: the spike inputs' (spike_generator, poisson_spikes) and, in a
    network, every connection's; one number or a list of them (one per target or per connection). A weight
    left out is the default 1.0 and is written out scaled. A current generator's weight multiplies its
    amplitude, not a synapse's jump: it is left alone (``inputs[*].amplitude`` sweeps the drive)."""
    for entry in _entries(document, "inputs"):
        if entry.get("device") in SPIKE_DEVICES:
            entry["weight"] = _scaled(entry.get("weight", DEFAULT_WEIGHT), factor)
    for entry in _entries(document, "connections"):
        entry["weight"] = _scaled(entry.get("weight", DEFAULT_WEIGHT), factor)


def set_nmda_ports(document: dict, k: int) -> None:
    """The NMDA spike inputs made ``k`` in number: the base's in file order, cycled. Below the base's count
    the last ones are dropped; above it, copies are appended after every input of the base (so the base's
    entries keep their indexes and the ports their numbers), and a copy of a Poisson input gets its seed plus
    its copy number (1 for the first round of copies), so that it is another train of the same rate."""
    if "populations" in document:
        raise NotApplicable("nmda_ports", "the base is a network, whose NMDA ports are its connections' and "
                                          "generators' per neuron; allowed: a single-neuron base")
    entries = document.get("inputs")
    nmda = [i for i, e in enumerate(entries) if _is_nmda(e)] if isinstance(entries, list) else []
    if not nmda:
        raise NotApplicable("nmda_ports", "the base has no NMDA spike input to repeat; allowed: a base with at "
                                          "least one spike_generator or poisson_spikes input on receptor NMDA")
    if k < len(nmda):
        dropped = set(nmda[k:])
        entries[:] = [e for i, e in enumerate(entries) if i not in dropped]
        return
    originals = [entries[i] for i in nmda]
    for j in range(len(nmda), k):
        copy = _copied(originals[j % len(nmda)])
        if "seed" in copy and isinstance(copy["seed"], int) and not isinstance(copy["seed"], bool):
            copy["seed"] += j // len(nmda)
        entries.append(copy)


def plain(value):
    """A value as the schema reads it: YAML 1.1's string ``1e-3`` becomes the number it means (the schema
    accepts both), so that a variant's document and id do not depend on how a number was spelled. A name
    or description stays text."""
    if isinstance(value, dict):
        return {k: (v if k in ("name", "description", "expect_reason") else plain(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str) and _EXPONENT_ONLY.match(value.strip()):
        return float(value)
    return value


def set_path(document, axis: str, steps: list, value) -> None:
    """``value`` at every place the key path names, in place. ``[*]`` is every entry of a list that holds the
    key after it (every entry when nothing follows); ``*`` every key of a mapping. A missing mapping on the way
    is created only for CREATABLE; NotApplicable for any other missing key, an index past a list's end, or a
    wildcard that matches nothing."""
    places = _places(document, axis, steps, [])
    if not places:
        raise NotApplicable(axis, "the wildcard matches no entry of the base; allowed: a list entry holding the "
                                  "key after [*], a mapping with at least one key for *")
    for node, key in places:
        node[key] = _copied(value)  # a list value must not be one object shared by several places


def _places(node, axis, steps, done) -> list:
    """(container, key) pairs the path ends at, creating CREATABLE mappings on the way."""
    step, rest = steps[0], steps[1:]
    where = _shown(done) or "the document"
    if step == EVERY_ENTRY:
        if not isinstance(node, list):
            raise NotApplicable(axis, f"{where} is not a list, so [*] matches nothing")
        named = rest and isinstance(rest[0], str) and rest[0] not in (EVERY_ENTRY, EVERY_KEY)
        indexes = [i for i, e in enumerate(node) if not named or (isinstance(e, dict) and rest[0] in e)]
        return [p for i in indexes for p in _places_at(node, i, axis, rest, done)]
    if step == EVERY_KEY:
        if not isinstance(node, dict):
            raise NotApplicable(axis, f"{where} is not a mapping, so * matches nothing")
        return [p for key in node for p in _places_at(node, key, axis, rest, done)]
    if isinstance(step, int):
        if not isinstance(node, list):
            raise NotApplicable(axis, f"{where} is not a list, so it has no entry [{step}]")
        if step >= len(node):
            raise NotApplicable(axis, f"{where} has {len(node)} entries, so it has no entry [{step}]; allowed: "
                                      f"[0] to [{len(node) - 1}]" if node else f"{where} is an empty list")
        return _places_at(node, step, axis, rest, done)
    if not isinstance(node, dict):
        raise NotApplicable(axis, f"{where} is not a mapping, so it has no key {step!r}")
    if rest and step not in node:
        creatable = step in CREATABLE or "tolerances" in done
        if not creatable:
            have = ", ".join(map(str, node)) or "none"
            raise NotApplicable(axis, f"{_shown(done + [step])} is not in the base; its keys there: {have}")
        node[step] = {}
    return _places_at(node, step, axis, rest, done)


def _places_at(node, key, axis, rest, done) -> list:
    if not rest:
        return [(node, key)]
    return _places(node[key], axis, rest, done + [key])


def _entries(document, key) -> list:
    entries = document.get(key)
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _is_nmda(entry) -> bool:
    return (isinstance(entry, dict) and entry.get("device") in SPIKE_DEVICES
            and entry.get("receptor") in ("NMDA", RECEPTOR_TYPES["NMDA"]))


def _scaled(weight, factor):
    """A number or list times ``factor``; anything else is left for the schema to refuse."""
    if isinstance(weight, bool):
        return weight
    if isinstance(weight, (int, float)):
        return weight * factor
    if isinstance(weight, list):
        return [_scaled(w, factor) for w in weight]
    return weight


def _copied(value):
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value


def _shown(steps) -> str:
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text
