"""Log-densities of the Archimedean and Tawn copula families, compiled, with parameter derivatives.

Each density is written once in *dual numbers* of the two parameters (θ, δ): a value and its
first and second partial derivatives travel together through every operation, so one pass over
a cell's pairs gives the log-likelihood, its gradient and its Hessian (second-order forward
automatic differentiation). The optimiser (``optimize``) takes Newton steps with them.

A dual is a tuple ``(v, d_θ, d_δ, d_θθ, d_θδ, d_δδ)``. Families (VineCopula codes of the
unrotated family, parameters positive as pyvinecopulib's): Clayton 3, Gumbel 4, Frank 5, Joe 6,
BB1 7, BB6 8, BB7 9, BB8 10 and Tawn 104 (ψ1 = δ, ψ2 = 1) and 204 (ψ1 = 1, ψ2 = δ); one-parameter
families ignore δ. Formulas: the Archimedean density c = ψ''(φ(u) + φ(v))·φ'(u)·φ'(v) with the
generators φ and inverses ψ of pyvinecopulib (Joe 1997, ch. 5), in logarithms; Tawn's
extreme-value density C/(uv)·((A − tA′)(A + (1−t)A′) + t(1−t)A″/w), w = −log(uv),
t = −log v / w, as pyvinecopulib.

The data of a cell are a ``(ROWS, n)`` array (``point_rows``): u, v, 1−u, 1−v, log u, log v,
log(1−u), log(1−v), log(−log u), log(−log v) of the pairs after the rotation is applied
(pyvinecopulib's: 90° → (v, 1−u), 180° → (1−u, 1−v), 270° → (1−v, u)).

As pyvinecopulib, a density is kept within [DBL_MIN, DBL_MAX] and a NaN term is dropped from
the log-likelihood.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

CLAYTON, GUMBEL, FRANK, JOE, BB1, BB6, BB7, BB8 = 3, 4, 5, 6, 7, 8, 9, 10
TAWN_TYPE1, TAWN_TYPE2 = 104, 204
ROWS = 10  # rows of the per-cell data array, see point_rows

#: numba's fast-math flags for the per-pair loops: fused multiply-add, reciprocals and
#: reassociated sums (about a quarter less time, issue 10); not "nnan"/"ninf", so the NaN and
#: infinity checks stay. A fit depends on its own cell only, so results still do not depend on
#: block size or process count.
FAST_MATH = {"contract", "arcp", "afn", "reassoc"}
#: the decorator of the compiled functions of ``densities``, ``optimize`` and ``selection``
compiled = njit(cache=True, error_model="numpy", fastmath=FAST_MATH)

LOG_DBL_MIN = math.log(np.finfo(float).tiny)
LOG_DBL_MAX = math.log(np.finfo(float).max)


# ------------------------------------------------------------------------------ dual numbers
@compiled
def const(c):
    return (c, 0.0, 0.0, 0.0, 0.0, 0.0)


@compiled
def add(x, y):
    return (x[0] + y[0], x[1] + y[1], x[2] + y[2], x[3] + y[3], x[4] + y[4], x[5] + y[5])


@compiled
def sub(x, y):
    return (x[0] - y[0], x[1] - y[1], x[2] - y[2], x[3] - y[3], x[4] - y[4], x[5] - y[5])


@compiled
def scale(x, c):
    return (x[0] * c, x[1] * c, x[2] * c, x[3] * c, x[4] * c, x[5] * c)


@compiled
def shift(x, c):
    return (x[0] + c, x[1], x[2], x[3], x[4], x[5])


@compiled
def mul(x, y):
    return (x[0] * y[0], x[1] * y[0] + x[0] * y[1], x[2] * y[0] + x[0] * y[2],
            x[3] * y[0] + 2.0 * x[1] * y[1] + x[0] * y[3],
            x[4] * y[0] + x[1] * y[2] + x[2] * y[1] + x[0] * y[4],
            x[5] * y[0] + 2.0 * x[2] * y[2] + x[0] * y[5])


@compiled
def chain(x, f0, f1, f2):
    """f(x) from f, f′, f″ at x[0]."""
    return (f0, f1 * x[1], f1 * x[2], f2 * x[1] * x[1] + f1 * x[3],
            f2 * x[1] * x[2] + f1 * x[4], f2 * x[2] * x[2] + f1 * x[5])


@compiled
def log(x):
    v = x[0]
    return chain(x, math.log(v), 1.0 / v, -1.0 / (v * v))


@compiled
def log_abs(x):
    v = x[0]
    return chain(x, math.log(abs(v)), 1.0 / v, -1.0 / (v * v))


@compiled
def exp(x):
    e = math.exp(x[0])
    return chain(x, e, e, e)


@compiled
def log1p(x):
    v = 1.0 + x[0]
    return chain(x, math.log1p(x[0]), 1.0 / v, -1.0 / (v * v))


@compiled
def expm1(x):
    e = math.exp(x[0])
    return chain(x, math.expm1(x[0]), e, e)


@compiled
def inv(x):
    v = x[0]
    return chain(x, 1.0 / v, -1.0 / (v * v), 2.0 / (v * v * v))


@compiled
def div(x, y):
    return mul(x, inv(y))


@compiled
def log_neg_expm1(x):
    """log(−expm1(x)) = log(1 − eˣ) for x < 0."""
    e = math.exp(x[0])
    if x[0] > -0.6931471805599453:
        m = -math.expm1(x[0])
        value = math.log(m)
    else:  # 1 − eˣ close to 1: log1p keeps the small eˣ
        m = 1.0 - e
        value = math.log1p(-e)
    return chain(x, value, -e / m, -e / (m * m))


# ------------------------------------------------------------------------------ densities
@compiled
def _clayton(th, d, i, pc):
    lu, lv = d[4, i], d[5, i]
    s = log1p(add(expm1(scale(th, -lu)), expm1(scale(th, -lv))))
    out = sub(pc[4], scale(shift(th, 1.0), lu + lv))
    return sub(out, mul(shift(pc[0], 2.0), s))


@compiled
def _gumbel(th, d, i, pc):
    a, b = -d[4, i], -d[5, i]
    la, lb = d[8, i], d[9, i]
    ls = log(add(exp(scale(th, la)), exp(scale(th, lb))))
    big_a = exp(mul(ls, pc[0]))
    out = shift(scale(shift(th, -1.0), la + lb), a + b)
    out = sub(out, big_a)
    out = add(out, mul(shift(scale(pc[0], 2.0), -2.0), ls))
    return add(out, log1p(div(shift(th, -1.0), big_a)))


@compiled
def _frank(th, d, i):
    # negative θ: c_θ(u, v) = c_−θ(1 − u, v); then with a = e^(−θu), b = e^(−θv), E = e^(−θ) ≤ 1:
    # c = θ(1 − E)·ab / (a + b − ab − E)², all terms small where the denominator is
    u, v = d[0, i], d[1, i]
    if th[0] < 0:
        th = scale(th, -1.0)
        u = d[2, i]
    a, b = exp(scale(th, -u)), exp(scale(th, -v))
    big_e = exp(scale(th, -1.0))
    out = add(log(th), log1p(scale(big_e, -1.0)))
    out = sub(out, scale(th, u + v))
    den = sub(sub(add(a, b), mul(a, b)), big_e)
    return sub(out, scale(log(den), 2.0))


@compiled
def _joe(th, d, i, pc):
    lub, lvb = d[6, i], d[7, i]
    x, y = exp(scale(th, lub)), exp(scale(th, lvb))  # ū^θ, v̄^θ
    s = sub(add(x, y), mul(x, y))
    out = mul(shift(pc[0], -2.0), log(s))
    out = add(out, scale(shift(th, -1.0), lub + lvb))
    return add(out, log(add(shift(th, -1.0), s)))


@compiled
def _bb1(th, de, d, i, pc):
    lu, lv = d[4, i], d[5, i]
    lx = log(expm1(scale(th, -lu)))
    ly = log(expm1(scale(th, -lv)))
    inv_de = pc[1]
    ls = log(add(exp(mul(de, lx)), exp(mul(de, ly))))
    w = exp(mul(ls, inv_de))
    out = pc[2]
    out = add(out, mul(shift(de, -1.0), add(lx, ly)))
    out = sub(out, scale(shift(th, 1.0), lu + lv))
    out = sub(out, mul(shift(pc[0], 1.0), log1p(w)))
    out = add(out, mul(ls, shift(inv_de, -2.0)))
    # log[(1 − 1/δ) + (1 + 1/θ)·w/(δ(1 + w))]
    bracket = add(scale(shift(inv_de, -1.0), -1.0),
                  div(mul(shift(pc[0], 1.0), w), mul(de, shift(w, 1.0))))
    return add(out, log(bracket))


@compiled
def _bb6_phi(th, de, lub):
    """(log L, L, φ) with L = −log(1 − ū^θ), φ = L^δ."""
    big_l = scale(log_neg_expm1(scale(th, lub)), -1.0)
    ll = log(big_l)
    return ll, big_l, exp(mul(de, ll))


@compiled
def _bb6(th, de, d, i, pc):
    lub, lvb = d[6, i], d[7, i]
    llu, lu_, phu = _bb6_phi(th, de, lub)
    llv, lv_, phv = _bb6_phi(th, de, lvb)
    inv_de = pc[1]
    ls = log(add(phu, phv))
    w = exp(mul(ls, inv_de))
    out = pc[2]
    out = add(out, mul(shift(de, -1.0), add(llu, llv)))
    out = add(out, scale(shift(th, -1.0), lub + lvb))
    out = add(out, add(lu_, lv_))
    out = add(out, mul(shift(pc[0], -1.0), log_neg_expm1(scale(w, -1.0))))
    out = sub(out, w)
    out = add(out, mul(ls, shift(inv_de, -2.0)))
    # log[(1 − 1/δ) + (w/δ)(1 + (1 − 1/θ)/expm1(w))]
    inner = shift(div(scale(shift(pc[0], -1.0), -1.0), expm1(w)), 1.0)
    bracket = add(scale(shift(inv_de, -1.0), -1.0), mul(mul(w, inv_de), inner))
    return add(out, log(bracket))


@compiled
def _bb7(th, de, d, i, pc):
    lub, lvb = d[6, i], d[7, i]
    lyu = log_neg_expm1(scale(th, lub))  # log(1 − ū^θ)
    lyv = log_neg_expm1(scale(th, lvb))
    phu = expm1(scale(mul(de, lyu), -1.0))
    phv = expm1(scale(mul(de, lyv), -1.0))
    inv_de = pc[1]
    l1s = log1p(add(phu, phv))
    z = scale(mul(l1s, inv_de), -1.0)  # log r, r = (1 + s)^(−1/δ)
    lq = log_neg_expm1(z)
    out = pc[2]
    out = sub(out, mul(shift(de, 1.0), add(lyu, lyv)))
    out = add(out, scale(shift(th, -1.0), lub + lvb))
    out = add(out, mul(shift(pc[0], -1.0), lq))
    out = sub(out, mul(shift(inv_de, 2.0), l1s))
    # log[(1 + 1/δ) + (1 − 1/θ)·r/(δq)]
    ratio = exp(sub(z, lq))
    bracket = add(shift(inv_de, 1.0),
                  mul(mul(scale(shift(pc[0], -1.0), -1.0), ratio), inv_de))
    return add(out, log(bracket))


@compiled
def _bb8_log_eta(th, de):
    """log η = log(1 − (1 − δ)^θ); at δ = 1 exactly η = 1 (and its derivatives vanish)."""
    if de[0] >= 1.0:
        return const(0.0)
    return log_neg_expm1(mul(th, log1p(scale(de, -1.0))))


@compiled
def _bb8(th, de, d, i, pc):
    log_eta = pc[3]
    u, v = d[0, i], d[1, i]
    lmu = log1p(scale(de, -u))  # log(1 − δu)
    lmv = log1p(scale(de, -v))
    au = log_neg_expm1(mul(th, lmu))  # log(1 − (1 − δu)^θ)
    av = log_neg_expm1(mul(th, lmv))
    lg = sub(add(au, av), log_eta)  # log g, g = (1 − xu)(1 − xv)/η
    l1g = log_neg_expm1(lg)  # log(1 − g)
    out = pc[2]
    out = add(out, mul(shift(th, -1.0), add(lmu, lmv)))
    out = add(out, mul(shift(pc[0], -1.0), l1g))
    out = sub(out, log_eta)
    # log[1 + (1 − 1/θ)·g/(1 − g)]
    bracket = shift(mul(scale(shift(pc[0], -1.0), -1.0), exp(sub(lg, l1g))), 1.0)
    return add(out, log(bracket))


@compiled
def _tawn(th, de, d, i, type2):
    # in x = −log u, y = −log v: ℓ = wA(t) = (1−ψ1)x + (1−ψ2)y + R, R = ((ψ1x)^θ + (ψ2y)^θ)^(1/θ),
    # c = e^(−ℓ)/(uv)·(ℓx·ℓy − ℓxy): a sum of positive terms, no cancellation in the tails
    x, y = -d[4, i], -d[5, i]
    one = const(1.0)
    psi1 = one if type2 else de
    psi2 = de if type2 else one
    la = shift(log(psi1), d[8, i])  # log(ψ1x)
    lb = shift(log(psi2), d[9, i])
    m = la if la[0] >= lb[0] else lb
    lr = add(m, div(log(add(exp(mul(th, sub(la, m))), exp(mul(th, sub(lb, m))))), th))
    thm1 = shift(th, -1.0)
    pm1 = exp(mul(thm1, sub(la, lr)))  # (ψ1x/R)^(θ−1)
    qm1 = exp(mul(thm1, sub(lb, lr)))
    lx = add(sub(one, psi1), mul(psi1, pm1))
    ly = add(sub(one, psi2), mul(psi2, qm1))
    cross = mul(mul(thm1, mul(psi1, psi2)), mul(mul(pm1, qm1), exp(scale(lr, -1.0))))
    ell = add(add(scale(sub(one, psi1), x), scale(sub(one, psi2), y)), exp(lr))
    return add(shift(scale(ell, -1.0), x + y), log(add(mul(lx, ly), cross)))


@compiled
def log_density_dual(family, th, de, d, i, pc):
    """log c at pair ``i`` of data ``d`` (see module doc) as a dual in (θ, δ); ``pc``: the
    parameters' own terms (``parameter_terms``)."""
    if family == CLAYTON:
        return _clayton(th, d, i, pc)
    if family == GUMBEL:
        return _gumbel(th, d, i, pc)
    if family == FRANK:
        return _frank(th, d, i)
    if family == JOE:
        return _joe(th, d, i, pc)
    if family == BB1:
        return _bb1(th, de, d, i, pc)
    if family == BB6:
        return _bb6(th, de, d, i, pc)
    if family == BB7:
        return _bb7(th, de, d, i, pc)
    if family == BB8:
        return _bb8(th, de, d, i, pc)
    return _tawn(th, de, d, i, family == TAWN_TYPE2)


@compiled
def parameter_terms(family, th, de):
    """Terms of the parameters alone, computed once per evaluation: 1/θ, 1/δ, log(θδ), log η
    (BB8), log(1 + θ) (Clayton)."""
    two = family in (BB1, BB6, BB7, BB8, TAWN_TYPE1, TAWN_TYPE2)
    inv_de = inv(de) if two else const(0.0)
    log_thde = log(mul(th, de)) if two else const(0.0)
    log_eta = _bb8_log_eta(th, de) if family == BB8 else const(0.0)
    log1p_th = log1p(th) if family == CLAYTON else const(0.0)
    return (inv(th), inv_de, log_thde, log_eta, log1p_th)


@compiled
def loglik_dual(family, theta, delta, d, n):
    """Σ log c over the ``n`` pairs of ``d`` with its gradient and Hessian in (θ, δ)."""
    th = (theta, 1.0, 0.0, 0.0, 0.0, 0.0)
    de = (delta, 0.0, 1.0, 0.0, 0.0, 0.0)
    pc = parameter_terms(family, th, de)
    total = const(0.0)
    for i in range(n):
        term = log_density_dual(family, th, de, d, i, pc)
        if term[0] != term[0]:
            continue  # NaN: dropped, as pyvinecopulib
        if term[0] < LOG_DBL_MIN:
            term = const(LOG_DBL_MIN)
        elif term[0] > LOG_DBL_MAX:
            term = const(LOG_DBL_MAX)
        total = add(total, term)
    return total


@compiled
def log_density_values(family, theta, delta, d, n, out):
    """log c of each of the ``n`` pairs of ``d`` into ``out`` (values only, for checks)."""
    th = const(theta)
    de = const(delta)
    pc = parameter_terms(family, th, de)
    for i in range(n):
        out[i] = log_density_dual(family, th, de, d, i, pc)[0]


# ------------------------------------------------------------------------------ data rows
def point_rows(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The ``(ROWS, n)`` data array of pairs (u, v) for ``log_density_dual``."""
    u = np.asarray(u, dtype=float)
    v = np.asarray(v, dtype=float)
    d = np.empty((ROWS, u.size))
    d[0], d[1], d[2], d[3] = u, v, 1.0 - u, 1.0 - v
    d[4], d[5] = np.log(u), np.log(v)
    d[6], d[7] = np.log1p(-u), np.log1p(-v)
    d[8], d[9] = np.log(-d[4]), np.log(-d[5])
    return d


#: (u, v) of a rotation from the unrotated rows: row order of ``point_rows`` for each rotation
ROTATED_ROWS = {
    0: (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    90: (1, 2, 3, 0, 5, 6, 7, 4, 9, 10),  # (v, 1 − u); row 10 = log(−log(1 − u))
    180: (2, 3, 0, 1, 6, 7, 4, 5, 10, 11),
    270: (3, 0, 1, 2, 7, 4, 5, 6, 11, 8),  # (1 − v, u); row 11 = log(−log(1 − v))
}


def rotation_rows(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``(12, n)``: the rows of ``point_rows`` plus log(−log(1−u)), log(−log(1−v)), from which
    every rotation's rows are taken by ``ROTATED_ROWS``."""
    d = point_rows(u, v)
    return np.vstack([d, np.log(-d[6])[None], np.log(-d[7])[None]])


def log_density(family: int, theta: float, delta: float, u, v, rotation: int = 0) -> np.ndarray:
    """log c of an Archimedean or Tawn family at pairs (u, v), any rotation (for checks)."""
    full = rotation_rows(np.atleast_1d(u), np.atleast_1d(v))
    d = np.ascontiguousarray(full[list(ROTATED_ROWS[rotation])])
    out = np.empty(d.shape[1])
    log_density_values(int(family), float(theta), float(delta), d, d.shape[1], out)
    return out
