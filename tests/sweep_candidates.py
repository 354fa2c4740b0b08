"""In-process candidates for tests/test_sweep.py: the in-house engine, except where it kills its own process."""
import os

from harness.candidates import engine_inprocess


def dies_on_heavy_ampa(inputs):
    """The engine's traces; the process exits at once (as a segfault would end it) when an AMPA slot exceeds
    35 nS, i.e. in every variant whose AMPA weight is 40 nS."""
    if inputs.arrays["ampa"].max() > 35.0:
        os._exit(3)
    return engine_inprocess.run(inputs)


def hangs_on_heavy_ampa(inputs):
    """The engine's traces, except that it sleeps far past any test's time limit where an AMPA slot exceeds 35 nS
    (a hang inside a port's native code looks the same from outside)."""
    import time

    if inputs.arrays["ampa"].max() > 35.0:
        time.sleep(3600)
    return engine_inprocess.run(inputs)
