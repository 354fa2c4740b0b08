"""In-process candidates for tests/test_sweep.py: the in-house engine, except where it kills its own process."""
import os

from harness.candidates import engine_inprocess


def dies_on_heavy_ampa(inputs):
    """The engine's traces; the process exits at once (as a segfault would end it) when an AMPA slot exceeds
    35 nS, i.e. in every variant whose AMPA weight is 40 nS."""
    if inputs.arrays["ampa"].max() > 35.0:
        os._exit(3)
    return engine_inprocess.run(inputs)
