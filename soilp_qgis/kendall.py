"""Sample Kendall's τ-b, vectorised across the cells of a ``(cells, time)`` block.

Per cell only the steps where both series are finite are used (NaN or ±inf = missing).
τ-b, its tie corrections and its two-sided p-value follow ``scipy.stats.kendalltau``
(``variant="b"``, ``method="auto"``, ``alternative="two-sided"``):

* τ-b = (concordant − discordant) / √((n₀ − n₁)(n₀ − n₂)), n₀ = n(n−1)/2 and n₁, n₂ the
  pairs tied in x and in y;
* p-value: the exact null distribution of the number of concordant pairs when neither series
  has ties and n ≤ 33 (or when at most one pair is discordant, or at most one concordant);
  otherwise the normal approximation with the tie-corrected variance of
  Kendall (1970), as scipy.

Cells with fewer than two valid pairs, or where one series is constant over the valid
pairs, give NaN for τ and p.

How: every series is turned into integer ranks once; per cell (a compiled loop,
:func:`_pair_counts_kernel`) the valid pairs are visited in the order of x and the discordant
pairs counted with a Fenwick tree over the y ranks of the pairs of smaller x (Knight's
algorithm), the joint ties within each group of equal x and the tie sums of each series from
per-rank counts — all integers, so the result is
exact and the same whatever the chunking. Memory is bounded by processing at most
``chunk_cells`` cells at a time. Exact p-values use the null distribution of the concordant
count (Mahonian numbers, computed once per n).
"""

from __future__ import annotations

import math
from functools import cache
from typing import NamedTuple

import numpy as np
from numba import njit
from scipy import special

from .errors import InputError
from .tables import status_code

#: Status codes (resources/status_codes.json) produced here.
STATUS_FITTED = status_code("fitted")
STATUS_NO_DATA = status_code("no_data")
STATUS_TOO_FEW_VALUES = status_code("too_few_values")
STATUS_CONSTANT_SERIES = status_code("constant_series")

#: Largest number of pairs for which the exact null distribution is used (scipy's rule).
EXACT_MAX_PAIRS = 33

#: Cells processed together; bounds the temporary arrays (a few MB per 100 time steps).
DEFAULT_CHUNK_CELLS = 512


class KendallResult(NamedTuple):
    """Per-cell Kendall τ-b, its two-sided p-value and the number of pairs used."""

    tau_b: np.ndarray
    p_value: np.ndarray
    n_pairs: np.ndarray


def kendall_tau_b(
    x: np.ndarray, y: np.ndarray, chunk_cells: int = DEFAULT_CHUNK_CELLS
) -> KendallResult:
    """Kendall's τ-b of ``x`` against ``y`` per cell, with scipy's two-sided p-value.

    ``x`` and ``y`` are ``(cells, time)`` blocks (a 1-D series is one cell), NaN = missing.
    Returns float64 ``tau_b`` and ``p_value`` and int64 ``n_pairs`` (steps where both are
    valid), each of length ``cells``.
    """
    x2, y2 = as_pair_blocks(x, y)
    ranks_x, valid_x = series_ranks(x2)
    ranks_y, valid_y = series_ranks(y2)
    return tau_b_from_ranks(ranks_x, ranks_y, valid_x & valid_y, chunk_cells)


def kendall_status(
    tau_b: np.ndarray, n_pairs: np.ndarray, min_observations: int = 15
) -> np.ndarray:
    """Status code per cell (uint8) for a Kendall τ-b computed by :func:`kendall_tau_b`.

    0 fitted; 1 no data (no step where both series are valid); 2 too few values (fewer
    valid pairs than ``min_observations``); 3 constant series (τ undefined although there
    are enough pairs).
    """
    minimum = check_min_observations(min_observations)
    n_pairs = np.asarray(n_pairs)
    status = np.full(n_pairs.shape, STATUS_FITTED, dtype=np.uint8)
    status[np.isnan(tau_b)] = STATUS_CONSTANT_SERIES
    status[n_pairs < minimum] = STATUS_TOO_FEW_VALUES
    status[n_pairs == 0] = STATUS_NO_DATA
    return status


def check_min_observations(min_observations: int) -> int:
    """The minimum number of valid pairs as an int ≥ 2, or :class:`InputError`."""
    if isinstance(min_observations, (bool, np.bool_)) or not float(min_observations).is_integer():
        raise InputError(
            f"MIN_OBSERVATIONS must be a whole number of time steps, got {min_observations!r}."
        )
    minimum = int(min_observations)
    if minimum < 2:
        raise InputError(
            f"MIN_OBSERVATIONS must be at least 2 (Kendall's τ needs two pairs), got {minimum}."
        )
    return minimum


def series_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense integer ranks per row of a ``(cells, time)`` block and its validity mask.

    Equal values share a rank and order is kept, so the ranks of any subset of the steps
    order and tie that subset exactly as its values do. Missing steps get rank ``time``.
    """
    values = np.asarray(values)
    cells, steps = values.shape
    valid = np.isfinite(values)
    filled = np.where(valid, values, np.inf)
    order = np.argsort(filled, axis=1, kind="stable")
    sorted_values = np.take_along_axis(filled, order, axis=1)
    new_value = np.ones((cells, steps), dtype=np.int32)
    if steps > 1:
        new_value[:, 1:] = sorted_values[:, 1:] != sorted_values[:, :-1]
    dense = np.cumsum(new_value, axis=1, dtype=np.int32) - 1
    ranks = np.empty((cells, steps), dtype=np.int32)
    np.put_along_axis(ranks, order, dense, axis=1)
    ranks[~valid] = steps
    return ranks, valid


def tau_b_from_ranks(
    ranks_x: np.ndarray,
    ranks_y: np.ndarray,
    valid: np.ndarray,
    chunk_cells: int = DEFAULT_CHUNK_CELLS,
) -> KendallResult:
    """τ-b, p-value and pair count from integer ranks (as :func:`series_ranks`) per cell.

    ``ranks_x``/``ranks_y`` are ``(cells, time)`` non-negative ints that order and tie each
    series as its values do (any window of :func:`series_ranks` output qualifies); ``valid``
    marks the pairs to use. Ranks of invalid pairs are ignored.
    """
    cells, steps = valid.shape
    tau = np.full(cells, np.nan)
    p_value = np.full(cells, np.nan)
    n_pairs = valid.sum(axis=1, dtype=np.int64)
    if steps < 2 or cells == 0:
        return KendallResult(tau, p_value, n_pairs)
    chunk_cells = max(1, int(chunk_cells))
    for start in range(0, cells, chunk_cells):
        part = slice(start, min(start + chunk_cells, cells))
        counts = _pair_counts(ranks_x[part], ranks_y[part], valid[part])
        tau[part], p_value[part] = _tau_and_p(n_pairs[part], *counts)
    return KendallResult(tau, p_value, n_pairs)


# --------------------------------------------------------------------------- internals


def as_pair_blocks(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two floating ``(cells, time)`` blocks of the same shape (a 1-D series is one cell).

    Float32 and float64 input is kept as it is (no copy); anything else becomes float64.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    x = x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)
    y = y if np.issubdtype(y.dtype, np.floating) else y.astype(np.float64)
    if x.ndim == 1:
        x = x[np.newaxis, :]
    if y.ndim == 1:
        y = y[np.newaxis, :]
    if x.ndim != 2 or x.shape != y.shape:
        raise InputError(
            "The two series must be (cells, time) blocks of the same shape; "
            f"got {np.shape(x)} and {np.shape(y)}."
        )
    return x, y


def _pair_counts(ranks_x: np.ndarray, ranks_y: np.ndarray, valid: np.ndarray):
    """Discordant pairs, joint ties and per-variable tie sums for one chunk of cells."""
    cells = valid.shape[0]
    counts = np.zeros((8, cells), dtype=np.int64)
    if cells:
        bins = int(max(ranks_x.max(), ranks_y.max())) + 1
        _pair_counts_kernel(np.ascontiguousarray(ranks_x, dtype=np.int32),
                            np.ascontiguousarray(ranks_y, dtype=np.int32),
                            np.ascontiguousarray(valid, dtype=np.bool_), bins, counts)
    discordant, joint_ties, *ties = counts
    return discordant, joint_ties, tuple(ties[:3]), tuple(ties[3:])


@njit(cache=True)
def sort_by_rank(ranks, keep, order, size, start):  # pragma: no cover - compiled
    """Counting sort of the steps t < ``keep.size`` where ``keep[t]`` by ``ranks[t]``: writes
    them into ``order`` (stable), each rank's count into ``size``, and returns how many; ``start``
    is scratch (as long as ``size``)."""
    size[:] = 0
    for t in range(keep.size):
        if keep[t]:
            size[ranks[t]] += 1
    m = 0
    for rank in range(size.size):
        start[rank] = m
        m += size[rank]
    for t in range(keep.size):
        if keep[t]:
            order[start[ranks[t]]] = t
            start[ranks[t]] += 1
    return m


@njit(cache=True)
def _pair_counts_kernel(ranks_x, ranks_y, valid, bins, out):  # pragma: no cover - compiled
    """Per cell c of ``(cells, steps)`` int32 ranks (each < ``bins``) and validity, into the
    int64 ``out[:, c]``: discordant pairs, pairs tied in both series, then for x and for y
    Σt(t−1)/2, Σt(t−1)(t−2), Σt(t−1)(2t+5) over the groups of t tied valid values.

    The valid steps are visited by x rank (a counting sort); the steps of one x rank are
    compared with the y ranks of the steps of smaller x, kept in a Fenwick tree, before they
    are added to it."""
    cells, steps = valid.shape
    order = np.empty(steps, dtype=np.int64)
    tree = np.zeros(bins + 1, dtype=np.int64)
    x_size = np.zeros(bins, dtype=np.int64)
    y_size = np.zeros(bins, dtype=np.int64)
    start = np.empty(bins, dtype=np.int64)
    in_group = np.zeros(bins, dtype=np.int64)
    for c in range(cells):
        for t in range(steps):
            if valid[c, t]:
                y_size[ranks_y[c, t]] += 1
        m = sort_by_rank(ranks_x[c], valid[c], order, x_size, start)
        tree[:] = 0
        discordant = 0
        joint = 0
        i = 0
        while i < m:
            j = i + x_size[ranks_x[c, order[i]]]
            for q in range(i, j):
                y = ranks_y[c, order[q]]
                not_above = 0  # steps of smaller x with a y rank ≤ y
                node = y + 1
                while node > 0:
                    not_above += tree[node]
                    node -= node & -node
                discordant += i - not_above
                joint += in_group[y]
                in_group[y] += 1
            for q in range(i, j):
                y = ranks_y[c, order[q]]
                in_group[y] = 0
                node = y + 1
                while node <= bins:
                    tree[node] += 1
                    node += node & -node
            i = j
        out[0, c] = discordant
        out[1, c] = joint
        for row, size in ((2, x_size), (5, y_size)):
            for rank in range(bins):
                t = size[rank]
                if t > 1:
                    tm1 = t * (t - 1)
                    out[row, c] += tm1 // 2
                    out[row + 1, c] += tm1 * (t - 2)
                    out[row + 2, c] += tm1 * (2 * t + 5)
                size[rank] = 0
    return out


def _tau_and_p(n, discordant, joint_ties, x_ties, y_ties):
    """τ-b and scipy's two-sided ``method="auto"`` p-value from pair counts (int64 arrays)."""
    x_tie, x0, x1 = x_ties
    y_tie, y0, y1 = y_ties
    total = n * (n - 1) // 2
    defined = (n >= 2) & (x_tie < total) & (y_tie < total)
    con_minus_dis = total - x_tie - y_tie + joint_ties - 2 * discordant
    tau = np.full(n.shape, np.nan)
    p_value = np.full(n.shape, np.nan)
    if not defined.any():
        return tau, p_value
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = (
            con_minus_dis.astype(np.float64)
            / np.sqrt((total - x_tie).astype(np.float64))
            / np.sqrt((total - y_tie).astype(np.float64))
        )
        tau[defined] = np.clip(raw[defined], -1.0, 1.0)
        no_ties = (x_tie == 0) & (y_tie == 0)
        smaller_tail = np.minimum(discordant, total - discordant)
        exact = defined & no_ties & ((n <= EXACT_MAX_PAIRS) | (smaller_tail <= 1))
        asymptotic = defined & ~exact
        size = n.astype(np.float64)
        m = size * (size - 1.0)
        variance = (
            (m * (2 * size + 5) - x1 - y1) / 18
            + (2 * x_tie * y_tie) / m
            + (x0 * y0) / (9 * m * (size - 2))
        )
        z = con_minus_dis / np.sqrt(variance)
        p_value[asymptotic] = 2 * special.ndtr(-np.abs(z[asymptotic]))
    for size_exact in np.unique(n[exact]):
        cells = exact & (n == size_exact)
        p_value[cells] = _exact_p_values(int(size_exact), total[cells] - discordant[cells])
    return tau, p_value


def _exact_p_values(n: int, concordant: np.ndarray) -> np.ndarray:
    """Two-sided exact p-values of Kendall's test without ties for series of length ``n``.

    The same cases as scipy's ``_kendall_p_exact``: closed forms when no pair or one pair is
    on the smaller side (any n), the exact null distribution otherwise (n ≤ 33 here).
    """
    total = n * (n - 1) // 2
    smaller = np.minimum(concordant, total - concordant)
    if n <= 2:
        return np.ones(smaller.shape)
    none_side = 2.0 / math.factorial(n) if n < 171 else 0.0
    one_side = 2.0 / math.factorial(n - 1) if n < 172 else 0.0
    prob = np.where(smaller == 0, none_side, one_side)
    general = smaller > 1
    if general.any():
        prob[general] = 2.0 * _exact_cdf(n)[smaller[general]]
    prob[4 * smaller == n * (n - 1)] = 1.0
    return np.clip(prob, 0.0, 1.0)


@cache
def _exact_cdf(n: int) -> np.ndarray:
    """P(concordant ≤ c) for c = 0 … n(n−1)/2 under independence, no ties (Mahonian numbers)."""
    counts = [1]
    for j in range(2, n + 1):  # multiply the generating function by 1 + q + … + q^(j−1)
        grown = [0] * (len(counts) + j - 1)
        running = 0
        for k in range(len(grown)):
            running += counts[k] if k < len(counts) else 0
            running -= counts[k - j] if 0 <= k - j < len(counts) else 0
            grown[k] = running
        counts = grown
    denominator = math.factorial(n)
    cumulative = 0
    cdf = np.empty(len(counts))
    for k, count in enumerate(counts):
        cumulative += count
        cdf[k] = cumulative / denominator  # exact rational rounded once to float64
    return cdf
