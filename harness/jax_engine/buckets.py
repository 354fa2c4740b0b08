"""Shape buckets: the sizes that compiled programs are made for.

XLA compiles one program per array shape. Padding the neuron count N and the port count P up to a few
sizes makes varied scenarios and populations share programs. Sizes up to 16 are their own bucket; above,
a size is rounded up to four significant bits (16, 18, 20, ..., 30, 32, 36, 40, ...), so at most eight
buckets per octave and at most 12.5 % padding. Padding is work thrown away: with three significant bits
N = 100 x 100 ports ran as 112 x 112, 25 % more work (2.25 instead of 1.97 µs per neuron-step); programs
are cached across processes (``host_pow``), so the extra buckets cost a compilation once per machine.
Padded neurons are quiet default neurons; padded ports have weight 0 and no input, which leaves every real
value bit for bit unchanged (``rhs.nmda_weighted_sum``).
"""
from __future__ import annotations

SIGNIFICANT_BITS = 4


def bucket(size: int) -> int:
    if size <= 1 << SIGNIFICANT_BITS:
        return size
    shift = size.bit_length() - SIGNIFICANT_BITS
    return -(-size >> shift) << shift
