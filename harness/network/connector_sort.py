"""The order of NEST's connections after its connector sort: which connection of a source comes first.

NEST keeps one connector per (thread, synapse model) and, before the first Simulate, sorts it by source
node ID (nestkernel ``sort_connections`` -> libnestutil ``nest::sort`` -> Boost's ``integer_sort`` on
(source, connection) pairs, comparing the source only). A neuron's spike reaches its connections in that
sorted order (their ``lcid``, which ``GetConnections`` shows as ``port``), so a target with several
connections from one source (multapses) adds them in it. The sort is not stable: Boost uses pdqsort below
1000 entries (insertion sort below 24, where creation order survives) and its radix spreadsort from 1000
on, which permute equal keys. This module replays those algorithms step by step on the keys, as Boost
1.x implements them (Boost Software License; written here from the algorithm), and returns the
permutation. Checked against live NEST's ``port`` for 1 to 4 threads and up to 9000 connections
(tests/test_network_order.py; the probe is docs/model.md's "Networks").

``sorted_order(keys)[i]`` is the index, in creation order, of the connection that ends at position i.
"""


INSERTION = 24
NINTHER = 128
PARTIAL_LIMIT = 8


def _log2(n):
    l = 0
    while n > 1:
        n >>= 1
        l += 1
    return l


def sorted_order(keys) -> list[int]:
    a = [(k, i) for i, k in enumerate(keys)]
    if len(a) < MIN_SORT_SIZE:
        _pdqsort(a, 0, len(a))
    else:
        _spreadsort_rec(a, 0, len(a), [], 0)
    return [i for _, i in a]


def _pdqsort(a, b, e):
    if e > b:
        _loop(a, b, e, _log2(e - b), True)


# ---- boost spreadsort integer_sort (detail::spreadsort_rec, Right_shift version), n >= 1000 ----
MIN_SORT_SIZE = 1000
MAX_SPLITS = 11
MAX_FINISHING_SPLITS = 12
LOG_MEAN_BIN_SIZE = 2
LOG_MIN_SPLIT_COUNT = 9
LOG_FINISHING_COUNT = 31


def _rough_log2(x):
    r = 0
    while r < 64 and (x >> r):
        r += 1
    return r


def _get_log_divisor(count, log_range):
    ld = log_range - _rough_log2(count)
    if ld <= 0 and log_range <= MAX_FINISHING_SPLITS:
        return 0
    ld += LOG_MEAN_BIN_SIZE
    if log_range - ld > MAX_SPLITS:
        ld = log_range - MAX_SPLITS
    return ld


def _get_min_count(log_range):
    min_size = LOG_MEAN_BIN_SIZE + LOG_MIN_SPLIT_COUNT
    if LOG_FINISHING_COUNT < min_size and log_range <= min_size and log_range <= MAX_SPLITS:
        return 1 << (LOG_FINISHING_COUNT if log_range <= LOG_FINISHING_COUNT else log_range)
    base_iterations = MAX_SPLITS - LOG_MIN_SPLIT_COUNT
    base_range = ((base_iterations + 1) * (MAX_SPLITS + LOG_MIN_SPLIT_COUNT)) // 2 + LOG_MEAN_BIN_SIZE
    if log_range < base_range:
        result = LOG_MIN_SPLIT_COUNT
        offset = min_size
        while offset < log_range:
            result += 1
            offset += result
        return 1 << (result + LOG_MEAN_BIN_SIZE)
    remainder = log_range - base_range
    return 1 << (((MAX_SPLITS - 1) + remainder) // MAX_SPLITS + base_iterations + min_size)


def _spreadsort_rec(a, first, last, bin_cache, cache_offset):
    # is_sorted_or_find_extremes
    cur = first
    mn = mx = first
    while not _lt(a[cur + 1], a[cur]):
        cur += 1
        if cur == last - 1:
            return
    mx = cur
    cur += 1
    while cur < last:
        if _lt(a[mx], a[cur]):
            mx = cur
        elif _lt(a[cur], a[mn]):
            mn = cur
        cur += 1
    ld = _get_log_divisor(last - first, _rough_log2(a[mx][0] - a[mn][0]))
    div_min = a[mn][0] >> ld
    div_max = a[mx][0] >> ld
    bin_count = div_max - div_min + 1
    sizes = [0] * bin_count
    cache_end = cache_offset + bin_count
    if cache_end > len(bin_cache):
        bin_cache.extend([0] * (cache_end - len(bin_cache)))
    for i in range(first, last):
        sizes[(a[i][0] >> ld) - div_min] += 1
    bins = cache_offset
    bin_cache[bins] = first
    for u in range(bin_count - 1):
        bin_cache[bins + u + 1] = bin_cache[bins + u] + sizes[u]
    nextbinstart = first
    for ii in range(bin_count - 1):
        nextbinstart += sizes[ii]
        local = bins + ii
        current = bin_cache[local]
        while current < nextbinstart:
            tb = bins + (a[current][0] >> ld) - div_min
            while tb != local:
                b = bin_cache[tb]
                bin_cache[tb] += 1
                bb = bins + (a[b][0] >> ld) - div_min
                if bb != local:
                    c = bin_cache[bb]
                    bin_cache[bb] += 1
                    tmp = a[c]
                    a[c] = a[b]
                else:
                    tmp = a[b]
                a[b] = a[current]
                a[current] = tmp
                tb = bins + (a[current][0] >> ld) - div_min
            current += 1
        bin_cache[local] = nextbinstart
    bin_cache[bins + bin_count - 1] = last
    if not ld:
        return
    max_count = _get_min_count(ld)
    last_pos = first
    for u in range(cache_offset, cache_end):
        end_u = bin_cache[u]
        count = end_u - last_pos
        if count >= 2:
            if count < max_count:
                _pdqsort(a, last_pos, end_u)
            else:
                _spreadsort_rec(a, last_pos, end_u, bin_cache, cache_end)
        last_pos = end_u


def _lt(x, y):
    return x[0] < y[0]


def _ins(a, b, e):
    for cur in range(b + 1, e):
        if _lt(a[cur], a[cur - 1]):
            tmp = a[cur]
            s = cur
            while True:
                a[s] = a[s - 1]
                s -= 1
                if not (s != b and _lt(tmp, a[s - 1])):
                    break
            a[s] = tmp


def _unguarded_ins(a, b, e):
    for cur in range(b + 1, e):
        if _lt(a[cur], a[cur - 1]):
            tmp = a[cur]
            s = cur
            while True:
                a[s] = a[s - 1]
                s -= 1
                if not _lt(tmp, a[s - 1]):
                    break
            a[s] = tmp


def _partial_ins(a, b, e):
    if b == e:
        return True
    limit = 0
    for cur in range(b + 1, e):
        if _lt(a[cur], a[cur - 1]):
            tmp = a[cur]
            s = cur
            while True:
                a[s] = a[s - 1]
                s -= 1
                if not (s != b and _lt(tmp, a[s - 1])):
                    break
            a[s] = tmp
            limit += cur - s
        if limit > PARTIAL_LIMIT:
            return False
    return True


def _sort2(a, i, j):
    if _lt(a[j], a[i]):
        a[i], a[j] = a[j], a[i]


def _sort3(a, i, j, k):
    _sort2(a, i, j)
    _sort2(a, j, k)
    _sort2(a, i, j)


def _partition_right(a, b, e):
    pivot = a[b]
    first = b
    last = e
    first += 1
    while _lt(a[first], pivot):
        first += 1
    if first - 1 == b:
        while first < last:
            last -= 1
            if _lt(a[last], pivot):
                break
    else:
        while True:
            last -= 1
            if _lt(a[last], pivot):
                break
    already = first >= last
    while first < last:
        a[first], a[last] = a[last], a[first]
        first += 1
        while _lt(a[first], pivot):
            first += 1
        last -= 1
        while not _lt(a[last], pivot):
            last -= 1
    pp = first - 1
    a[b] = a[pp]
    a[pp] = pivot
    return pp, already


def _partition_left(a, b, e):
    pivot = a[b]
    first = b
    last = e
    last -= 1
    while _lt(pivot, a[last]):
        last -= 1
    if last + 1 == e:
        while first < last:
            first += 1
            if _lt(pivot, a[first]):
                break
    else:
        while True:
            first += 1
            if _lt(pivot, a[first]):
                break
    while first < last:
        a[first], a[last] = a[last], a[first]
        last -= 1
        while _lt(pivot, a[last]):
            last -= 1
        first += 1
        while not _lt(pivot, a[first]):
            first += 1
    pp = last
    a[b] = a[pp]
    a[pp] = pivot
    return pp


# libstdc++ heap (fallback after too many bad partitions)
def _push_heap(a, base, hole, top, value):
    parent = (hole - 1) // 2
    while hole > top and _lt(a[base + parent], value):
        a[base + hole] = a[base + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[base + hole] = value


def _adjust_heap(a, base, hole, n, value):
    top = hole
    child = hole
    while child < (n - 1) // 2:
        child = 2 * (child + 1)
        if _lt(a[base + child], a[base + child - 1]):
            child -= 1
        a[base + hole] = a[base + child]
        hole = child
    if (n & 1) == 0 and child == (n - 2) // 2:
        child = 2 * (child + 1)
        a[base + hole] = a[base + child - 1]
        hole = child - 1
    _push_heap(a, base, hole, top, value)


def _heapsort(a, b, e):
    n = e - b
    if n >= 2:
        parent = (n - 2) // 2
        while True:
            _adjust_heap(a, b, parent, n, a[b + parent])
            if parent == 0:
                break
            parent -= 1
    while e - b > 1:
        e -= 1
        v = a[e]
        a[e] = a[b]
        _adjust_heap(a, b, 0, e - b, v)


def _loop(a, b, e, bad, leftmost):
    while True:
        size = e - b
        if size < INSERTION:
            (_ins if leftmost else _unguarded_ins)(a, b, e)
            return
        s2 = size // 2
        if size > NINTHER:
            _sort3(a, b, b + s2, e - 1)
            _sort3(a, b + 1, b + s2 - 1, e - 2)
            _sort3(a, b + 2, b + s2 + 1, e - 3)
            _sort3(a, b + s2 - 1, b + s2, b + s2 + 1)
            a[b], a[b + s2] = a[b + s2], a[b]
        else:
            _sort3(a, b + s2, b, e - 1)
        if not leftmost and not _lt(a[b - 1], a[b]):
            b = _partition_left(a, b, e) + 1
            continue
        pp, already = _partition_right(a, b, e)
        l = pp - b
        r = e - (pp + 1)
        if l < size // 8 or r < size // 8:
            bad -= 1
            if bad == 0:
                _heapsort(a, b, e)
                return
            if l >= INSERTION:
                a[b], a[b + l // 4] = a[b + l // 4], a[b]
                a[pp - 1], a[pp - l // 4] = a[pp - l // 4], a[pp - 1]
                if l > NINTHER:
                    a[b + 1], a[b + l // 4 + 1] = a[b + l // 4 + 1], a[b + 1]
                    a[b + 2], a[b + l // 4 + 2] = a[b + l // 4 + 2], a[b + 2]
                    a[pp - 2], a[pp - (l // 4 + 1)] = a[pp - (l // 4 + 1)], a[pp - 2]
                    a[pp - 3], a[pp - (l // 4 + 2)] = a[pp - (l // 4 + 2)], a[pp - 3]
            if r >= INSERTION:
                a[pp + 1], a[pp + 1 + r // 4] = a[pp + 1 + r // 4], a[pp + 1]
                a[e - 1], a[e - r // 4] = a[e - r // 4], a[e - 1]
                if r > NINTHER:
                    a[pp + 2], a[pp + 2 + r // 4] = a[pp + 2 + r // 4], a[pp + 2]
                    a[pp + 3], a[pp + 3 + r // 4] = a[pp + 3 + r // 4], a[pp + 3]
                    a[e - 2], a[e - (1 + r // 4)] = a[e - (1 + r // 4)], a[e - 2]
                    a[e - 3], a[e - (2 + r // 4)] = a[e - (2 + r // 4)], a[e - 3]
        else:
            if already and _partial_ins(a, b, pp) and _partial_ins(a, pp + 1, e):
                return
        _loop(a, b, pp, bad, leftmost)
        b = pp + 1
        leftmost = False
