"""Kendall's τ of the Tawn, BB7 and BB8 copulas, compiled, one parameter set at a time.

Tawn: τ = ∫0¹ t(1−t)A″(t)/A(t) dt, integrated by parts so that only A and A′ appear (for large θ,
A″ is a spike at the kink of A): τ = ∫0¹ A′·(t(1−t)A′ − (1−2t)A)/A² dt, split at the kink
(ψ1(1−t) = ψ2·t). BB7 and BB8: τ = 1 + 4∫0¹ φ/φ′ dt over their generators φ (BB7 with
s = 1 − t: φ/φ′ = −(w − w^(1+δ))/(δθ s^(θ−1)), w = 1 − s^θ; BB8: φ/φ′ = log(w/η)·w/(θδ(1 −
δt)^(θ−1)), w = 1 − (1 − δt)^θ, η = 1 − (1 − δ)^θ). Adaptive Gauss–Kronrod (7/15 points) to
1e-13, on pieces shrinking geometrically toward the kink (Tawn) or the ends. Each value depends
on its own parameters only, so a cell's τ does not depend on which cells share its block.
``dependence.kendall_tau`` uses them; tests hold them to independent quadratures of A″ and of
the generators (tests/engine/test_copula_dependence.py).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_TAWN, _BB7, _BB8 = 0, 1, 2
#: the ``kind`` of ``bb_tau_values``
BB7_INTEGRAL, BB8_INTEGRAL = _BB7, _BB8

_XK = np.array([0.991455371120812639, 0.949107912342758525, 0.864864423359769073,
                0.741531185599394440, 0.586087235467691130, 0.405845151377397167,
                0.207784955007898468, 0.0])
_WK = np.array([0.022935322010529225, 0.063092092629978553, 0.104790010322250184,
                0.140653259715525919, 0.169004726639267903, 0.190350578064785410,
                0.204432940075298892, 0.209482141084727828])
_WG = np.array([0.129484966168869693, 0.279705391489276668, 0.381830050505118945,
                0.417959183673469388])  # Gauss weights at _XK[1], _XK[3], _XK[5], _XK[7]


@njit(cache=True, error_model="numpy")
def _integrand(kind, t, psi1, psi2, theta):
    if kind == _BB7:  # θ = psi1, δ = psi2; with s = 1 − t
        th, de = psi1, psi2
        log_w = math.log1p(-t ** th)
        out = -math.exp(log_w) * math.expm1(de * log_w) * t ** (1.0 - th)
        return out if math.isfinite(out) else 0.0
    if kind == _BB8:
        th, de = psi1, psi2
        log_1m = math.log1p(-de * t)
        power = math.exp(th * log_1m)
        out = ((math.log1p(-power) - math.log1p(-(1.0 - de) ** th)) * (1.0 - power)
               * math.exp((1.0 - th) * log_1m))
        return out if math.isfinite(out) else 0.0
    a, b = psi1 * (1.0 - t), psi2 * t
    m = max(a, b)
    if m <= 0:
        return 0.0
    ra, rb = a / m, b / m
    q = ra ** theta + rb ** theta
    value = (1.0 - psi1) * (1.0 - t) + (1.0 - psi2) * t + m * q ** (1.0 / theta)
    slope = psi1 - psi2 + q ** (1.0 / theta - 1.0) * (psi2 * rb ** (theta - 1.0)
                                                      - psi1 * ra ** (theta - 1.0))
    out = slope * (t * (1.0 - t) * slope - (1.0 - 2.0 * t) * value) / (value * value)
    return out if math.isfinite(out) else 0.0


@njit(cache=True, error_model="numpy")
def _kronrod(kind, lo, hi, psi1, psi2, theta):
    """(G7K15 integral, error estimate) on [lo, hi]."""
    centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    fc = _integrand(kind, centre, psi1, psi2, theta)
    kronrod, gauss = _WK[7] * fc, _WG[3] * fc
    for j in range(7):
        f = (_integrand(kind, centre - half * _XK[j], psi1, psi2, theta)
             + _integrand(kind, centre + half * _XK[j], psi1, psi2, theta))
        kronrod += _WK[j] * f
        if j % 2 == 1:
            gauss += _WG[j // 2] * f
    return kronrod * half, abs((kronrod - gauss) * half)


@njit(cache=True, error_model="numpy")
def _adaptive(kind, lo, hi, psi1, psi2, theta, tolerance, toward_lo):
    """∫ over [lo, hi], first cut into pieces shrinking geometrically toward the kink (at ``lo``
    if ``toward_lo``, else at ``hi``), where A′ changes fast for strong dependence."""
    stack = np.empty((300, 2))
    top = 0
    width = hi - lo
    edge = 1.0
    for _ in range(40):
        inner = 0.5 * edge
        if toward_lo:
            stack[top, 0], stack[top, 1] = lo + inner * width, lo + edge * width
        else:
            stack[top, 0], stack[top, 1] = hi - edge * width, hi - inner * width
        top += 1
        edge = inner
    if toward_lo:
        stack[top, 0], stack[top, 1] = lo, lo + edge * width
    else:
        stack[top, 0], stack[top, 1] = hi - edge * width, hi
    top += 1
    total = 0.0
    while top > 0:
        top -= 1
        a, b = stack[top, 0], stack[top, 1]
        value, error = _kronrod(kind, a, b, psi1, psi2, theta)
        if error <= tolerance * (b - a) or b - a < 1e-15 or top >= 298:
            total += value
        else:
            middle = 0.5 * (a + b)
            stack[top, 0], stack[top, 1] = a, middle
            stack[top + 1, 0], stack[top + 1, 1] = middle, b
            top += 2
    return total


@njit(cache=True, error_model="numpy")
def tawn_tau_values(psi1, psi2, theta):
    """τ of pyvinecopulib Tawn copulas (ψ1, ψ2, θ), elementwise."""
    out = np.empty(psi1.shape[0])
    for k in range(psi1.shape[0]):
        kink = psi1[k] / (psi1[k] + psi2[k]) if psi1[k] + psi2[k] > 0 else 0.5
        total = 0.0
        if kink > 0:
            total += _adaptive(_TAWN, 0.0, kink, psi1[k], psi2[k], theta[k], 1e-13, False)
        if kink < 1:
            total += _adaptive(_TAWN, kink, 1.0, psi1[k], psi2[k], theta[k], 1e-13, True)
        out[k] = total
    return out


@njit(cache=True, error_model="numpy")
def bb_tau_values(kind, theta, delta):
    """τ of BB7 (``kind`` 1) or BB8 (2) with positive parameters, elementwise."""
    out = np.empty(theta.shape[0])
    for k in range(theta.shape[0]):
        th, de = theta[k], delta[k]
        lower = _adaptive(kind, 0.0, 0.5, th, de, 0.0, 1e-13, True)
        integral = lower + _adaptive(kind, 0.5, 1.0, th, de, 0.0, 1e-13, False)
        if kind == _BB7:
            out[k] = 1.0 - 4.0 / (de * th) * integral
        else:
            out[k] = 1.0 + 4.0 / (th * de) * integral
    return out
