"""Family selection for every cell of a block in one compiled loop (used by ``batched``).

Per cell, the candidates are those pyvinecopulib's ``Bicop.from_data`` fits with the
reference's controls (``fit.select_copula``), in its order: independence, Gaussian, t, Clayton,
Gumbel, Frank, Joe, BB1, BB6, BB7, BB8, each rotated family at the two rotations of the sign of
the empirical τ (0° and 180° for τ > 0, else 90° and 270°), minus those that its pre-selection
drops (normal-score correlations of the two corners, ``_corner_correlations``); fewer than 10
pairs leave only independence. Then VineCopula's restricted Tawn types at the rotations of
``fit.tawn_candidates``. The first candidate with the smallest criterion wins, as in both
libraries (a later one must be strictly better).

Starting values come from inverting the empirical τ (VineCopula style): the one-parameter
families' τ inverses, and for the two-parameter families a few points along their τ ridge
between the one-parameter families they contain; Newton refines the best of them.
"""

from __future__ import annotations

import math

import numpy as np

from .densities import (
    BB1,
    BB6,
    BB7,
    BB8,
    CLAYTON,
    FRANK,
    GUMBEL,
    JOE,
    TAWN_TYPE1,
    TAWN_TYPE2,
    compiled,
)
from .optimize import gaussian_fit, newton_fit, student_profile

INDEPENDENCE, GAUSSIAN, STUDENT = 0, 1, 2
#: slot of each family in the ``allowed`` mask: base codes 0–10, then the two Tawn types
TAWN1_SLOT, TAWN2_SLOT = 11, 12
#: parameter bounds (θ, δ) as pyvinecopulib's (restricted Tawn: as ``fit.fit_tawn``); where
#: pyvinecopulib allows 0 (BB1 θ, Tawn δ) the densities need a hair above it
LOWER = {CLAYTON: (1e-10, 0.0), GUMBEL: (1.0, 0.0), FRANK: (-35.0, 0.0), JOE: (1.0, 0.0),
         BB1: (1e-6, 1.0), BB6: (1.0, 1.0), BB7: (1.0, 0.01), BB8: (1.0, 1e-4),
         TAWN_TYPE1: (1.0, 1e-8), TAWN_TYPE2: (1.0, 1e-8)}
UPPER = {CLAYTON: (28.0, 0.0), GUMBEL: (50.0, 0.0), FRANK: (35.0, 0.0), JOE: (30.0, 0.0),
         BB1: (7.0, 7.0), BB6: (6.0, 8.0), BB7: (6.0, 25.0), BB8: (8.0, 1.0),
         TAWN_TYPE1: (20.0, 1.0), TAWN_TYPE2: (20.0, 1.0)}
ITERATIVE = (CLAYTON, GUMBEL, FRANK, JOE, BB1, BB6, BB7, BB8, TAWN_TYPE1, TAWN_TYPE2)
BOUNDS = np.array([[LOWER[f][0], LOWER[f][1], UPPER[f][0], UPPER[f][1]] for f in ITERATIVE])

#: rows of the per-cell data for each rotation (see ``densities.ROTATED_ROWS``)
ROTATION_ROWS = np.array([(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 0, 5, 6, 7, 4, 9, 10),
                          (2, 3, 0, 1, 6, 7, 4, 5, 10, 11), (3, 0, 1, 2, 7, 4, 5, 6, 11, 8)])
ROTATIONS = (0, 90, 180, 270)
#: |τ| from which a Tawn type is fitted from two starts only (VineCopula's and Gumbel's): the
#: sharp, small-weight maxima that the extra starts look for carry a τ well below it
TAWN_WEAK_TAU = 0.1


@compiled
def _slot(family):
    for k in range(len(ITERATIVE)):
        if ITERATIVE[k] == family:
            return k
    return -1


@compiled
def cell_rows(u1, u2, n):
    """The 12 rows of ``densities.rotation_rows`` for one cell."""
    d = np.empty((12, n))
    for i in range(n):
        a, b = u1[i], u2[i]
        d[0, i], d[1, i], d[2, i], d[3, i] = a, b, 1.0 - a, 1.0 - b
        d[4, i], d[5, i] = math.log(a), math.log(b)
        d[6, i], d[7, i] = math.log1p(-a), math.log1p(-b)
        d[8, i], d[9, i] = math.log(-d[4, i]), math.log(-d[5, i])
        d[10, i], d[11, i] = math.log(-d[6, i]), math.log(-d[7, i])
    return d


@compiled
def rotated(full, rotation_index, n):
    out = np.empty((10, n))
    for r in range(10):
        src = ROTATION_ROWS[rotation_index, r]
        for i in range(n):
            out[r, i] = full[src, i]
    return out


@compiled
def starting_values(family, tau, joe_taus, joe_thetas, frank_taus, frank_thetas):
    """(k, 2) starting points (θ, δ) of ``family`` for |τ| = ``tau`` (Frank: signed τ); the
    first is the one the early stop of ``optimize.newton_fit`` looks from."""
    a = min(max(abs(tau), 0.01), 0.9)  # winsorised as pyvinecopulib
    gumbel = 1.0 / (1.0 - a)
    clayton = 2.0 * a / (1.0 - a)
    joe = np.interp(a, joe_taus, joe_thetas)
    if family == CLAYTON:
        return np.array([[clayton, 0.0]])
    if family == GUMBEL:
        return np.array([[gumbel, 0.0]])
    if family == JOE:
        return np.array([[joe, 0.0]])
    if family == FRANK:
        signed = min(max(tau, -0.9), 0.9)
        return np.array([[np.interp(signed, frank_taus, frank_thetas), 0.0]])
    if family == BB1:  # τ = 1 − 2/(δ(θ+2)): split δ(θ+2)/2 between the two factors
        half = 1.0 / (1.0 - a)
        out = np.empty((2, 2))
        for k, share in enumerate((0.5, 0.15)):
            out[k, 1] = half ** share
            out[k, 0] = 2.0 * half ** (1.0 - share) - 2.0
        return out
    if family == BB6:  # θ = 1: Gumbel(δ); δ = 1: Joe(θ)
        return np.array([[1.0 + 0.5 * (joe - 1.0), 1.0 + 0.5 * (gumbel - 1.0)],
                         [1.0, gumbel]])
    if family == BB7:  # θ = 1: Clayton(δ); δ → 0: Joe(θ)
        return np.array([[1.0 + 0.5 * (joe - 1.0), 0.5 * clayton], [1.0, clayton]])
    if family == BB8:  # δ = 1: Joe(θ)
        return np.array([[1.5 * joe, 0.8], [joe, 1.0]])
    # Tawn: VineCopula's start; δ = 1 is Gumbel(θ)
    if a >= TAWN_WEAK_TAU:
        return np.array([[1.0 + 6.0 * a, min(a + 0.1, 0.999)], [gumbel, 1.0]])
    # weak dependence can come from a sharp component of small weight δ (large θ): the
    # likelihood has several local maxima there, so more starts (Newton from the best two)
    return np.array([[1.0 + 6.0 * a, min(a + 0.1, 0.999)], [gumbel, 1.0], [3.0, 0.3],
                     [3.0, 0.05], [8.0, 0.05], [8.0, 0.015], [20.0, 0.01], [20.0, 0.03]])


@compiled
def _pearson(x, y, m):
    if m < 2:
        return np.nan
    mx, my = 0.0, 0.0
    for i in range(m):
        mx += x[i]
        my += y[i]
    mx /= m
    my /= m
    sxy, sxx, syy = 0.0, 0.0, 0.0
    for i in range(m):
        sxy += (x[i] - mx) * (y[i] - my)
        sxx += (x[i] - mx) ** 2
        syy += (y[i] - my) ** 2
    return sxy / math.sqrt(sxx * syy)


@compiled
def _quadrant(z1, z2, n, sign1, sign2, drop_last):
    """Normal scores in the quadrant (sign1·z1 > 0, sign2·z2 > 0) and their correlation."""
    a = np.empty(n)
    b = np.empty(n)
    m = 0
    for i in range(n):
        if sign1 * z1[i] > 0 and sign2 * z2[i] > 0:
            a[m], b[m] = z1[i], z2[i]
            m += 1
    if drop_last:  # pyvinecopulib's get_c1c2 correlates the first count − 1 points
        return 0.0 if m == 0 else _pearson(a, b, m - 1)
    return np.nan if m < 3 else _pearson(a, b, m)


@compiled
def _preselected(base, rotation, tau, c1, c2):
    """pyvinecopulib's ``preselect_family``."""
    if base in (INDEPENDENCE, GAUSSIAN, STUDENT, FRANK):
        return not (base == FRANK and abs(c1 - c2) > 0.3)
    keep = False
    if base in (BB1, BB6, BB7, BB8):
        keep = (tau > 0 and rotation in (0, 180)) or (tau < 0 and rotation in (90, 270))
    lower_tail = base in (CLAYTON, BB1, BB7)
    upper_tail = base in (GUMBEL, JOE, BB1, BB6, BB7, BB8)
    r90or180 = rotation in (90, 180)
    if c1 - c2 > 0.05:
        keep = keep or (lower_tail and r90or180) or (upper_tail and not r90or180)
    elif c1 - c2 < -0.05:
        keep = keep or (lower_tail and not r90or180) or (upper_tail and r90or180)
    else:
        keep = keep or (tau > 0 and rotation in (0, 180)) or (tau < 0 and rotation in (90, 270))
    return keep


@compiled
def tawn_rotations(z1, z2, n, tau):
    """Rotations of the Tawn types that ``fit.tawn_candidates`` picks (4 flags: 0, 90, 180,
    270)."""
    out = np.zeros(4, dtype=np.bool_)
    if tau == 0 or not math.isfinite(tau):
        out[:] = True
        return out
    if tau > 0:
        diff = _quadrant(z1, z2, n, 1.0, 1.0, False) - _quadrant(z1, z2, n, -1.0, -1.0, False)
        out[0] = not diff < -0.05
        out[2] = not diff > 0.05
    else:
        diff = _quadrant(z1, z2, n, 1.0, -1.0, False) - _quadrant(z1, z2, n, -1.0, 1.0, False)
        out[3] = not diff > 0.05
        out[1] = not diff < -0.05
    return out


@compiled
def fit_candidate(base, rotation_index, full, z1, z2, i1, i2, n, tau, tables, t_tables,
                  needed):
    """ML fit of one candidate on one cell: (θ, δ, log-likelihood, ν̂ for t, else 0).

    ``tables``: (joe τ, joe θ, frank τ, frank θ) for the starting values; ``t_tables``:
    (quantiles, margins, constants, ν grid) of ``optimize.t_tables``; ``needed``: the
    log-likelihood below which the candidate cannot be selected (its fit may stop early and
    return −inf; −inf: fit to the end).
    """
    if base == INDEPENDENCE:
        return 0.0, 0.0, 0.0, 0.0
    if base == GAUSSIAN:
        rho, ll = gaussian_fit(z1, z2, n)
        return rho, 0.0, ll, 0.0
    if base == STUDENT:
        rho0 = math.sin(0.5 * math.pi * tau)
        rho, nu, ll, nu_hat = student_profile(t_tables[0], t_tables[1], t_tables[2][0],
                                              t_tables[3][0], i1, i2, n, rho0, needed)
        return rho, nu, ll, nu_hat
    family = base
    if base == TAWN1_SLOT:
        family = TAWN_TYPE1
    elif base == TAWN2_SLOT:
        family = TAWN_TYPE2
    k = _slot(family)
    d = rotated(full, rotation_index, n)
    starts = starting_values(family, tau, tables[0], tables[1], tables[2], tables[3])
    two = BOUNDS[k, 3] > BOUNDS[k, 1]
    theta, delta, ll = newton_fit(family, starts, BOUNDS[k, 0:2].copy(),
                                  BOUNDS[k, 2:4].copy(), two, d, n, needed)
    return theta, delta, ll, 0.0


#: parameters of each slot (base codes 0–10, Tawn types)
PARAMETERS = np.array([0, 1, 2, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2])
#: order in which candidates are fitted, cheap and often good first, so that the early stop
#: of hopeless candidates has a tight threshold (the choice itself follows the reference order)
FIT_ORDER = np.array([0, 1, 5, 3, 4, 6, 2, 7, 8, 9, 10, 11, 12])


@compiled
def candidates(n, tau, a, b, allowed):
    """(slot, rotation) of every candidate of a cell, in the reference's order."""
    slots = np.empty(32, dtype=np.int64)
    rotations = np.empty(32, dtype=np.int64)
    m = 1
    slots[0], rotations[0] = INDEPENDENCE, 0
    if n >= 10:
        positive = tau > 0
        c1 = _quadrant(a, b, n, 1.0 if positive else -1.0, 1.0, True)
        c2 = _quadrant(a, b, n, -1.0 if positive else 1.0, -1.0, True)
        for base in range(1, 11):
            if not allowed[base]:
                continue
            for r in range(2):
                if base in (GAUSSIAN, STUDENT, FRANK):
                    if r == 1:
                        break
                    rotation = 0
                else:
                    rotation = (0, 180)[r] if positive else (90, 270)[r]
                if _preselected(base, rotation, tau, c1, c2):
                    slots[m], rotations[m] = base, rotation
                    m += 1
    if allowed[TAWN1_SLOT] or allowed[TAWN2_SLOT]:
        flags = tawn_rotations(a, b, n, tau)
        for tawn in (TAWN1_SLOT, TAWN2_SLOT):
            if allowed[tawn]:
                for ri in (0, 2, 1, 3):  # fit.tawn_candidates' order
                    if flags[ri]:
                        slots[m], rotations[m] = tawn, ROTATIONS[ri]
                        m += 1
    return slots[:m], rotations[:m]


@compiled
def select_cells(u1, u2, z1, z2, i1, i2, counts, taus, penalties, allowed, tables, t_tables):
    """Selected family of every cell: (slot, rotation, (θ, δ, log-likelihood, ν̂)).

    ``u1``, ``u2``, ``z1``, ``z2``, ``i1``, ``i2``: (cells, n_max) uniforms, normal scores and
    t-table indices of the valid pairs (first ``counts[c]`` entries); ``taus``: empirical τ;
    ``penalties``: criterion penalty per parameter; ``allowed``: 13 flags (base codes 0–10,
    Tawn types 1 and 2).
    """
    cells = u1.shape[0]
    best_slot = np.zeros(cells, dtype=np.int64)
    best_rotation = np.zeros(cells, dtype=np.int64)
    out = np.zeros((cells, 4))
    for c in range(cells):
        n = counts[c]
        tau = taus[c]
        full = cell_rows(u1[c], u2[c], n)
        a, b = z1[c, :n], z2[c, :n]
        slots, rotations = candidates(n, tau, a, b, allowed)
        m = slots.shape[0]
        results = np.zeros((m, 4))
        criteria = np.full(m, np.inf)
        best = np.inf
        for slot in FIT_ORDER:
            for j in range(m):
                if slots[j] != slot:
                    continue
                k = PARAMETERS[slot]
                needed = 0.5 * (penalties[c] * k - best) if best < np.inf else -np.inf
                theta, delta, ll, nu_hat = fit_candidate(slot, rotations[j] // 90, full, a, b,
                                                         i1[c, :n], i2[c, :n], n, tau, tables,
                                                         t_tables, needed)
                results[j, 0], results[j, 1], results[j, 2], results[j, 3] = (theta, delta, ll,
                                                                              nu_hat)
                if math.isfinite(ll):
                    criteria[j] = -2.0 * ll + penalties[c] * k
                    best = min(best, criteria[j])
        chosen = 0
        for j in range(1, m):  # the first smallest, in the reference's order
            if criteria[j] < criteria[chosen]:
                chosen = j
        best_slot[c], best_rotation[c] = slots[chosen], rotations[chosen]
        out[c] = results[chosen]
    return best_slot, best_rotation, out
