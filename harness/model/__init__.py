"""A standalone NumPy reimplementation of NEST 3.10's ``iaf_bw_2001_exact`` that is bit-identical to NEST.

No NEST is needed. Typical use::

    from harness.model import Population
    pop = Population(100, resolution=0.1, params={"g_L": 25.0}, V_m=-65.0)
    pop.add_nmda_port(weight=5.0)                    # port 0 of every neuron
    rec = pop.run(1000, ampa=ampa_slots, nmda=nmda_slots, current=current_slots)
    rec.traces["V_m"]                                # (1000, 100)

Modules, one concept each: ``parameters`` (the one home of the model's facts: its name, parameter names,
units, defaults, NEST's validation, the initial state, the recordables, the receptor numbers), ``libm``
(glibc-exact exp and pow for arrays), ``arraymath`` (the array namespace of the formulas both engines
share), ``rhs`` (the right-hand side), ``rkf45`` (GSL's tableau and one try), ``control`` (GSL's step-size
control), ``evolve`` (GSL's clip/try/accept rule, shared by both engines, and NEST's sub-step loop, per
neuron), ``neuron`` (NEST's per-step update order; its end-of-step rules are shared too), ``population``
(the public API, and the engine seam the JAX engine implements too).
"""
from .parameters import DEFAULTS, INITIAL_STATE, MODEL, PARAMETER_NAMES, RECEPTOR_TYPES, RECORDABLES, UNITS
from .population import HostState, Population, PortsFrozenError, Recording

__all__ = ["DEFAULTS", "HostState", "INITIAL_STATE", "MODEL", "PARAMETER_NAMES", "Population", "PortsFrozenError",
           "RECEPTOR_TYPES", "RECORDABLES", "Recording", "UNITS"]
