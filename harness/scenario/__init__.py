"""Scenarios: the YAML schema, its validation and the normalised, immutable scenario the backends run.

``loader`` reads a file strictly and within size limits (no duplicate keys, no YAML 1.1 surprises, no
alias bombs); ``schema`` validates it (the top-level keys); ``bounds`` holds every number's range;
``params`` reads the neuron's parameters and initial state, ``inputs`` the devices (and the Poisson
expansion), ``fields`` single values, each problem with its key path. ``types`` holds the normalised
dataclasses, ``discovery`` finds scenario files under folders and glob patterns.
"""
