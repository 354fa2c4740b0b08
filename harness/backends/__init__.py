"""Backends: what turns a scenario into traces.

``nest`` runs live NEST, ``python`` the exact engine (``harness.model``), ``jax`` the JAX engine
(``harness.jax_engine``); ``batch`` runs many scenarios in one NEST kernel and one population; ``sources``
names every place traces come from (live runs and stored references) for the judging commands.
"""
