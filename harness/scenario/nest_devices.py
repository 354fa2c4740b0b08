"""NEST's device names, each with the way a scenario file says the same thing.

A NEST user writes NEST's names. The schema has four devices of its own (``harness.scenario.inputs``); the
names below are NEST 3.10's stimulators and recorders (``nest.node_models`` whose ``element_type`` is
``stimulator`` or ``recorder``), its ``spike_train_injector`` (a stimulating neuron) and NEST 2's
``spike_detector``. A name found here is answered with what to write instead; any other unknown name keeps
the did-you-mean, which would otherwise offer dc_generator for poisson_generator.
"""
from __future__ import annotations

_RECORDING = ("not an input: the harness records with a multimeter and a spike_recorder of its own; choose the "
              "variables under `record:` (every spike is recorded)")
_RECORDER = "is a NEST recorder, " + _RECORDING
_DRAWS = ("is NEST's, with no counterpart here (NEST would draw its spikes from its own generator); give the "
          "spike train as `device: spike_generator` with explicit spike_times")
_WRITE = "is NEST's name; in a scenario file write "

# NEST's name -> the rest of the sentence that starts with the name.
ALIASES = {
    "poisson_generator": _WRITE + "`device: poisson_spikes` (with a `seed`: the harness expands it once into "
                                  "explicit spike times that every backend gets, so NEST never draws)",
    "poisson_generator_ps": _WRITE + "`device: poisson_spikes` (seeded and expanded into spike times on the "
                                     "grid; the harness runs on the grid only)",
    "inhomogeneous_poisson_generator": _WRITE + "one `device: poisson_spikes` per stretch of constant rate, "
                                                "each with its own start, stop and seed",
    "spike_train_injector": _WRITE + "`device: spike_generator` (spike_times, spike_multiplicities)",
    "sinusoidal_poisson_generator": _DRAWS,
    "sinusoidal_gamma_generator": _DRAWS,
    "gamma_sup_generator": _DRAWS,
    "ppd_sup_generator": _DRAWS,
    "mip_generator": _DRAWS,
    "pulsepacket_generator": _DRAWS,
    "spike_dilutor": _DRAWS,
    "ac_generator": "is NEST's, with no counterpart here; give the waveform sampled on the grid as "
                    "`device: step_current_generator` (amplitude_times, amplitude_values)",
    "noise_generator": "is NEST's, with no counterpart here (NEST would draw the noise); give a fixed "
                       "waveform as `device: step_current_generator` (amplitude_times, amplitude_values)",
    "step_rate_generator": "is NEST's device for rate neurons, not for a spiking model; a current that steps "
                           "is `device: step_current_generator`",
    "multimeter": _RECORDER,
    "voltmeter": _RECORDER,
    "spike_recorder": _RECORDER,
    "spike_detector": "is NEST 2's name of the spike_recorder, a recorder, " + _RECORDING,
    "weight_recorder": _RECORDER,
    "correlation_detector": _RECORDER,
    "correlomatrix_detector": _RECORDER,
    "correlospinmatrix_detector": _RECORDER,
    "spin_detector": _RECORDER,
}
# Every device name a connection's source or target may mistakenly hold (with the schema's own).
NEST_DEVICES = frozenset(ALIASES) | {"spike_generator", "dc_generator", "step_current_generator", "poisson_spikes"}


def nest_name_advice(name: str) -> str | None:
    """What to write instead of NEST's device ``name`` (case ignored), or None for a name NEST does not have."""
    advice = ALIASES.get(name.lower())
    return None if advice is None else f"{name!r} {advice}"
