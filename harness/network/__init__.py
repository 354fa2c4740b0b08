"""Networks of iaf_bw_2001_exact neurons on the in-house engines: NEST's ring buffers, delivery and update calls.

``delivery`` holds the buffers and the order of additions, ``engine`` the update-call loop around either
engine's population.
"""
from .engine import Network

__all__ = ["Network"]
