"""Scenarios: the YAML schema, its validation and the normalised, immutable scenario the backends run.

``schema`` reads and validates files (the top-level keys); ``params`` the neuron's parameters and initial
state, ``inputs`` the devices (and the Poisson expansion), ``fields`` single values, each problem with its
key path. ``types`` holds the normalised dataclasses, ``discovery`` finds scenario files under folders and
glob patterns.
"""
