"""The range of every number a scenario may hold: physically generous, and safe for NEST and both engines.

NEST's own rules (C_m > 0, V_reset < V_th, ...) say what is legal, not what runs: NEST keeps times in
64-bit integer tics (1e16 ms overflows them), allocates one ring buffer slot per delay step and receptor
port (a delay of 1e12 ms is bad_alloc), and its GSL step control shrinks the step forever once a value
overflows to inf (E_L 1e300, weights 1e30) or a tolerance cannot be met (gsl_error_tol 1e-300): it hangs.
The bounds below keep every intermediate value finite (the largest currents stay below 1e50 pA, far from
1e308), so that anything ``validate`` accepts runs to the end; a stiff extreme inside them still takes many
RKF45 sub-steps, which the run time limit bounds. Each bound is stated with its reason where it is used.
"""
from __future__ import annotations

MAX_TIME_MS = 1e7  # every time (duration, spike times, start, stop): 2.8 h; NEST's tics stay below 1e10
# The engines model NEST's 1 ms recorder delay as a whole number of steps (0 beyond 2 ms); the catalogue's
# coarsest grid is 1.0 ms.
MAX_RESOLUTION_MS = 1.0
MAX_DELAY_STEPS = 100_000  # NEST's ring buffers hold one slot per delay step, for each receptor port
MAX_INPUTS = 1_000  # devices; each NMDA one is a receptor port with its own ring buffer
MAX_SPIKES = 10_000_000  # spike entries of all inputs together, Poisson expansions included
MAX_POISSON_DRAWS = 100_000_000  # one uniform draw per step and Poisson input: about a second, 800 MB at most
MAX_CHUNKS = 1_000  # Simulate calls
MAX_RATE_HZ = 1e6  # above one spike per 1 µs (one tic) nothing changes
MAX_WEIGHT = 1e9  # nS, a synapse's (the catalogue shunts with 5e7)
MAX_MULTIPLICITY = 1_000_000
# 1/ms: the fastest rate one spike may give the equations, |weight| x multiplicity / C_m for AMPA and GABA (s
# jumps by both), |weight| / C_m and alpha x multiplicity for NMDA. RKF45's stability limit makes the
# sub-steps per step grow with it: measured (`compare`, NEST 3.10 and the exact engine, 20 steps of 0.1 ms)
# 1e6 /ms took 101 s, 3e9 /ms did not end within 150 s. 1e5 /ms is the catalogue's stiffest scenario
# (port_brainpy_substep_limit: 5e7 nS on 500 pF).
MAX_SPIKE_RATE_PER_MS = 1e5
MAX_CURRENT_WEIGHT = 1e3  # the factor of a current generator's amplitude
MAX_AMPLITUDE_PA = 1e6
MAX_SEED = 2 ** 63 - 1  # an int64, which every tool holds
MAX_POTENTIAL_MV = 1e3  # ten times any physiological potential; exp(0.062 * V) of the Mg block stays finite
MAX_GATING = 1e6  # initial s_AMPA, s_GABA (nS): like a weight

# Neuron parameters: (lowest, highest, reason). NEST's rules (> 0, V_reset < V_th) are checked first.
PARAMETER_BOUNDS: dict[str, tuple[float, float, str]] = {
    **{v: (-MAX_POTENTIAL_MV, MAX_POTENTIAL_MV, "ten times any physiological potential")
       for v in ("E_L", "E_ex", "E_in", "V_th", "V_reset")},
    "C_m": (1.0, 1e6, "below 1 pF the membrane is so fast that RKF45 needs millions of sub-steps"),
    "g_L": (-1e5, 1e5, "a leak beyond 1e5 nS makes the step control crawl"),
    "t_ref": (0.0, 1e4, "10 s; NEST counts it in steps"),
    **{t: (1e-3, 1e6, "from one tic (0.001 ms) to 1000 s") for t in
       ("tau_AMPA", "tau_GABA", "tau_rise_NMDA", "tau_decay_NMDA")},
    "alpha": (0.0, 1e3, "a faster NMDA rise only adds stiffness"),
    "conc_Mg2": (0.0, 1e3, "a thousand times the physiological 1 mM"),
    "gsl_error_tol": (1e-10, 1.0, "a tighter tolerance is below the double rounding of the state and "
                                  "NEST's step control then shrinks the step without end"),
}
INITIAL_BOUNDS: dict[str, tuple[float, float, str]] = {
    "V_m": (-MAX_POTENTIAL_MV, MAX_POTENTIAL_MV, "ten times any physiological potential"),
    "s_AMPA": (-MAX_GATING, MAX_GATING, "like a weight"),
    "s_GABA": (-MAX_GATING, MAX_GATING, "like a weight"),
}


def out_of_range(value: float, lo: float, hi: float, unit: str = "", reason: str = "") -> str | None:
    """The problem with ``value`` outside [lo, hi], or None."""
    if lo <= value <= hi:
        return None
    u = f" {unit}" if unit else ""
    why = f" ({reason})" if reason else ""
    return f"{value}{u} is outside the range the harness runs; allowed: {lo:g} to {hi:g}{u}{why}"
