"""Scenarios: the YAML schema, its validation and the normalised, immutable scenario the backends run.

``schema`` reads and validates files, ``types`` holds the normalised dataclasses, ``discovery`` finds
scenario files under folders and glob patterns.
"""
