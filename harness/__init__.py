"""nest-parity: NEST-parity validation harness for iaf_bw_2001_exact.

The data flows through five subpackages, left to right::

    scenario/     ->  backends/        ->  traces/          ->  judge/           ->  report/
    YAML schema,      live NEST, the       Traces (arrays by    tolerance           stdout tables,
    validation,       exact engine, the    step), stored NEST   profiles, the       JSON and JUnit,
    discovery         JAX engine, batches  references and       comparator, the     the release report
                                           their provenance     gate, the selftest  and its browser check

Beside the flow: ``model/`` (the exact engine, and the one home of the model's facts: parameter names,
defaults, initial state, recordables), ``jax_engine/`` (the same model in JAX), ``fuzz/`` (generated
scenarios through the same flow), ``candidates/`` (other people's ports, run out of process), ``cli.py``
(the ``nest-parity`` parser) and ``commands.py`` (its commands), ``errors.py`` (bad input and exit codes),
``arguments.py`` (shared argument types), ``grid.py`` (NEST's time in tics), ``api.py`` (the Python API,
imported as ``nest_parity``: docs/api.md).
"""
__version__ = "0.1.0"
