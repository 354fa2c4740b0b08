"""Judging: tolerance profiles, the comparator, the gate over the catalogue, the selftest (broken variants
the gate must catch) and the worker pool they run on."""
