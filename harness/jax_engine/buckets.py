"""Shape buckets: the sizes that compiled programs are made for.

XLA compiles one program per array shape. Padding the neuron count N and the port count P up to a few
sizes makes varied scenarios and populations share programs. Sizes up to 8 are their own bucket; above,
a size is rounded up to three significant bits (8, 10, 12, 14, 16, 20, 24, 28, 32, 40, ...), so at most
four buckets per octave and at most 25 % padding. Padded neurons are quiet default neurons; padded ports
have weight 0 and no input, which leaves every real value bit for bit unchanged (``rhs.nmda_weighted_sum``).
"""
from __future__ import annotations


def bucket(size: int) -> int:
    if size <= 8:
        return size
    shift = size.bit_length() - 3
    return -(-size >> shift) << shift
