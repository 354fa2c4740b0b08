"""GSL's ``evolve_apply`` and NEST's sub-step loop, for many neurons at once.

NEST integrates each simulation step (0, step] with::

    t = 0.0
    while t < step:  gsl_odeiv_evolve_apply(evolve, control, rkf45, system, &t, step, &h, y)

and each neuron keeps its own adaptive ``h``. Here all neurons advance together, one RKF45 *try* per
loop pass for every neuron that is not yet done, so neurons may use different numbers of sub-steps and
rejections; boolean masks and index arrays keep track of which neuron is where. One ``evolve_apply``
call of a neuron maps onto consecutive passes as follows:

* entry: ``y0 = y`` and ``dydt_in = f(y)`` (a fresh RHS call);
* each try: clip ``h0`` to the remaining time when ``h0 > rem`` (strictly), try from ``y0`` with the same
  ``dydt_in``, ask the control for a new h based on the h actually used;
* DECREASE with a real decrease that still moves ``t`` by at least one ulp: reject, retry from ``y0``
  with the proposal; any other outcome: accept, ``t`` becomes ``step`` (clipped) or ``t0 + h0``, and the
  proposal is the neuron's ``h`` from now on (also after a clipped final try, which is why a tiny final
  remainder can shrink the next step's first try).

``evolve_try`` is that rule, written once against ``arraymath`` for both engines; ``advance`` below drives
it with index arrays, ``harness.jax_engine.evolve`` with masks in a ``lax.while_loop``.

An accepted neuron that is not done enters its next ``evolve_apply`` with ``dydt_in = f(y_new)``, which GSL
already computed in the try (``dydt_out``); it is computed here for those neurons only (same arguments,
same bits), and not at all when every neuron is done after one try (see ``rkf45``).

Optionally the tries and rejected tries of each neuron are tallied, like GSL's ``evolve->count`` and
``evolve->failed_steps``; the tally only observes and never changes what is computed.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from . import arraymath
from .control import DECREASE, adjust_step
from .rkf45 import rkf45_try

# rhs_for(index) returns f(y) for the neurons `index` (None: all neurons, in order).
RhsFactory = Callable[[np.ndarray | None], Callable[[np.ndarray], np.ndarray]]


class TryOutcome(NamedTuple):
    """What one RKF45 try plus the step control decided, per neuron."""

    y: np.ndarray  # the try's new state (kept only where not rejected)
    t: np.ndarray  # the time it reaches within the step
    h: np.ndarray  # the step of the retry (rejected) or the proposal for what follows (accepted)
    rejected: np.ndarray  # bool: retry from the same start state
    busy: np.ndarray  # bool: still inside NEST's while loop (rejected, or accepted short of the step's end)


def evolve_try(f: Callable, y0, t0, h0, dydt_in, step, eps_abs, step_control: Callable) -> TryOutcome:
    """One try of GSL's evolve_apply for each neuron (both engines): clip h to what is left of the step, one
    RKF45 try, the control's proposal, and GSL's accept-or-retry decision. Written against ``arraymath``;
    ``step_control`` is the engine's driver of GSL's step control (``adjust_step``: index subsets or masks).
    """
    xp = arraymath.of(y0).xp
    rem = step - t0
    final = (rem >= 0.0) & (h0 > rem)  # GSL clips only when h0 is strictly larger
    h_used = xp.where(final, rem, h0)
    y, yerr = rkf45_try(f, y0, h_used, dydt_in)
    t = xp.where(final, step, t0 + h_used)
    status, h_next = step_control(yerr, h_used, eps_abs)
    shrink = status == DECREASE
    # Retry only if the step really shrank and the new step still moves time by at least one ulp.
    rejected = shrink & (xp.abs(h_next) < xp.abs(h_used)) & (t + h_next != t)
    # A DECREASE that is not retried keeps the step that was used.
    h = xp.where(shrink & ~rejected, h_used, h_next)
    return TryOutcome(y, t, h, rejected, rejected | (t < step))


class TryTally:
    """Cumulative RKF45 tries and rejected tries per neuron (GSL's evolve count and failed_steps)."""

    def __init__(self, n: int):
        self.tries = np.zeros(n, dtype=np.int64)
        self.rejections = np.zeros(n, dtype=np.int64)


def advance(y: np.ndarray, h: np.ndarray, step: float, rhs_for: RhsFactory, eps_abs: np.ndarray,
            tally: TryTally | None = None) -> None:
    """Integrate every row of y over (0, step] in place; h (per neuron) is read and written back."""
    n = y.shape[0]
    t = np.zeros(n)
    dydt_in = rhs_for(None)(y)
    busy = np.arange(n)  # neurons with t < step, i.e. still inside NEST's while loop
    while busy.size:
        if busy.size == n:  # everyone active: no gathering
            out = evolve_try(rhs_for(None), y, t, h, dydt_in, step, eps_abs, adjust_step)
            if not out.busy.any():  # all done in one try: the usual case
                y[...] = out.y
                h[...] = out.h
                if tally is not None:
                    tally.tries += 1
                return
        else:
            out = evolve_try(rhs_for(busy), y[busy], t[busy], h[busy], dydt_in[busy], step, eps_abs[busy],
                             adjust_step)
        h[busy] = out.h  # rejected: the h of the retry; accepted: the h proposed for what follows
        if tally is not None:
            tally.tries[busy] += 1
            tally.rejections[busy[out.rejected]] += 1
        accepted = ~out.rejected
        moved = busy[accepted]
        y[moved] = out.y[accepted]
        t[moved] = out.t[accepted]
        going_on = accepted & out.busy
        if going_on.any():
            dydt_in[busy[going_on]] = rhs_for(busy[going_on])(out.y[going_on])
        busy = busy[out.busy]
