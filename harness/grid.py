"""NEST's time grid: milliseconds, integer tics and simulation steps.

NEST represents every time as an integer number of tics (1 tic = 1 µs by default). The step length the
model integrates over is ``0.001 * tics_per_step``, which is not always the literal resolution
(0.013 ms becomes 0.013000000000000001), so every backend derives its step length from here.
"""
from __future__ import annotations

import math

TICS_PER_MS = 1000
MS_PER_TIC = 0.001
# Decimal text such as 12.7 does not multiply to an exact integer number of tics (12700.000000000002);
# a product this close (relative) to an integer counts as that integer.
_TIC_SLACK = 1e-9


def ms_to_tics(ms: float) -> int:
    """Nearest tic, as NEST's ``Time::ms`` rounds (half up)."""
    return int(math.floor(ms * TICS_PER_MS + 0.5))


def is_whole_tics(ms: float) -> bool:
    tics = ms * TICS_PER_MS
    if not math.isfinite(tics):  # beyond 1.8e305 ms the tics overflow: no time NEST could represent
        return False
    return abs(tics - ms_to_tics(ms)) <= _TIC_SLACK * max(1.0, abs(tics))


def on_grid(ms: float, tics_per_step: int) -> bool:
    """True when ``ms`` is an exact multiple of the resolution (no snapping needed in NEST)."""
    return is_whole_tics(ms) and ms_to_tics(ms) % tics_per_step == 0


def ms_to_steps(ms: float, tics_per_step: int) -> int:
    """Steps of an on-grid time; callers check ``on_grid`` first."""
    return ms_to_tics(ms) // tics_per_step


def step_length_ms(tics_per_step: int) -> float:
    """The h NEST integrates over: MS_PER_TIC * tics, not the literal resolution."""
    return MS_PER_TIC * tics_per_step


def steps_to_ms(steps, tics_per_step: int):
    """Time stamps as NEST reports them (``Time::get_ms`` = MS_PER_TIC * tics). Works on arrays too."""
    return MS_PER_TIC * (steps * tics_per_step)


def refractory_counts(t_ref: float, tics_per_step: int) -> int:
    """NEST's ``Time(Time::ms(t_ref)).get_steps()``: t_ref rounded to tics, then rounded up to steps."""
    tics = math.trunc(t_ref * TICS_PER_MS + 0.5)
    return math.trunc((tics + tics_per_step - 1) * (1.0 / tics_per_step))
