"""Traces: recorded runs as arrays, stored NEST references, their provenance and atomic file writes."""
