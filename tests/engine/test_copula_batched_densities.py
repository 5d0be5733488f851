"""The compiled log-densities and their derivatives (``copula.densities``, ``copula.optimize``).

Independent expectations: pyvinecopulib's pdf on a grid (where its own evaluation is exact:
in the far tails it underflows, so points where it is below e^−15 are left out), numerical
integration to 1 over the unit square, finite differences of the log-likelihood for the
dual-number gradient and Hessian, and scipy's t and normal densities for the Student t and
Gaussian log-likelihoods.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from soilp_qgis.copula import densities as dens
from soilp_qgis.copula import families as fam
from soilp_qgis.copula.optimize import gaussian_fit, student_rho, t_constants

pv = pytest.importorskip("pyvinecopulib")

# (base code, θ, δ) per family: moderate, strong and near-boundary parameters
CASES = [(3, 0.3, 0.0), (3, 5.0, 0.0), (3, 20.0, 0.0), (4, 1.2, 0.0), (4, 3.0, 0.0),
         (4, 15.0, 0.0), (5, -8.0, 0.0), (5, 0.5, 0.0), (5, 20.0, 0.0), (6, 1.3, 0.0),
         (6, 4.0, 0.0), (6, 20.0, 0.0), (7, 0.3, 1.2), (7, 2.0, 3.0), (7, 0.01, 1.5),
         (8, 1.5, 1.2), (8, 3.0, 2.0), (8, 1.0, 1.0), (9, 1.3, 0.5), (9, 3.0, 2.0),
         (9, 1.01, 0.05), (10, 2.0, 0.5), (10, 5.0, 1.0), (10, 1.5, 0.9), (104, 2.0, 0.5),
         (104, 8.0, 0.3), (104, 15.0, 0.9), (204, 2.0, 0.5), (204, 8.0, 0.3), (204, 1.5, 0.05)]


def _vinecopula(base, rotation, theta, delta):
    """VineCopula (code, par, par2) of a base family at a rotation, positive (θ, δ)."""
    sign = -1.0 if rotation in (90, 270) else 1.0
    code = base + fam.ROTATION_OFFSET[rotation]
    return code, sign * theta, (delta if base > 100 else sign * delta)


def _grid():
    g = np.linspace(0.02, 0.98, 25)
    u, v = np.meshgrid(g, g)
    return u.ravel(), v.ravel()


@pytest.mark.parametrize("base,theta,delta", CASES)
def test_log_density_equals_pyvinecopulib_on_a_grid(base, theta, delta):
    u, v = _grid()
    for rotation in (0,) if base == 5 else (0, 90, 180, 270):
        code, par, par2 = _vinecopula(base, rotation, theta, delta)
        reference = np.log(fam.to_bicop(code, par, par2).pdf(np.column_stack([u, v])))
        got = dens.log_density(base, theta, delta, u, v, rotation)
        exact = reference > -15  # pyvinecopulib's own evaluation cancels further out
        assert exact.mean() > 0.3
        np.testing.assert_allclose(got[exact], reference[exact], rtol=1e-8, atol=1e-8,
                                   err_msg=f"{code} {par} {par2}")
        assert np.isfinite(got).all()


@pytest.mark.parametrize("base,theta,delta", [c for c in CASES if c[1] <= 8])
def test_density_integrates_to_one(base, theta, delta):
    def density(v, u):
        return float(np.exp(dens.log_density(base, theta, delta, [u], [v], 0)[0]))

    total, error = integrate.dblquad(density, 0.0, 1.0, 0.0, 1.0, epsabs=1e-7, epsrel=1e-7)
    assert total == pytest.approx(1.0, abs=2e-4), (base, theta, delta, error)


@pytest.mark.parametrize("base,theta,delta", [(3, 2.0, 0.0), (5, -4.0, 0.0), (6, 2.5, 0.0),
                                              (7, 0.8, 1.7), (8, 1.8, 1.4), (9, 2.2, 0.7),
                                              (10, 3.0, 0.7), (104, 3.0, 0.6), (204, 5.0, 0.4)])
def test_dual_gradient_and_hessian_match_finite_differences(base, theta, delta):
    rng = np.random.default_rng(base)
    u, v = rng.uniform(0.01, 0.99, (2, 150))
    rows = np.ascontiguousarray(dens.rotation_rows(u, v)[list(dens.ROTATED_ROWS[180])])

    def value(a, b):
        return dens.loglik_dual(base, a, b, rows, rows.shape[1])[0]

    ll = dens.loglik_dual(base, theta, delta, rows, rows.shape[1])
    h = 1e-5
    g0 = (value(theta + h, delta) - value(theta - h, delta)) / (2 * h)
    assert ll[1] == pytest.approx(g0, rel=1e-5, abs=1e-6)
    h00 = (value(theta + h, delta) - 2 * ll[0] + value(theta - h, delta)) / h ** 2
    assert ll[3] == pytest.approx(h00, rel=1e-3, abs=1e-3)
    if base not in (3, 5, 6):
        g1 = (value(theta, delta + h) - value(theta, delta - h)) / (2 * h)
        assert ll[2] == pytest.approx(g1, rel=1e-5, abs=1e-6)
        h01 = (value(theta + h, delta + h) - value(theta + h, delta - h)
               - value(theta - h, delta + h) + value(theta - h, delta - h)) / (4 * h * h)
        assert ll[4] == pytest.approx(h01, rel=1e-3, abs=1e-3)
        h11 = (value(theta, delta + h) - 2 * ll[0] + value(theta, delta - h)) / h ** 2
        assert ll[5] == pytest.approx(h11, rel=1e-3, abs=1e-3)


def test_student_and_gaussian_log_likelihoods_match_scipy():
    rng = np.random.default_rng(3)
    u1, u2 = rng.uniform(0.01, 0.99, (2, 80))
    rho, nu = 0.45, 4.5
    x1, x2 = special.stdtrit(nu, u1), special.stdtrit(nu, u2)
    joint = stats.multivariate_t(shape=[[1, rho], [rho, 1]], df=nu).logpdf(np.column_stack([x1,
                                                                                            x2]))
    expected = np.sum(joint - stats.t.logpdf(x1, nu) - stats.t.logpdf(x2, nu))
    margin = 0.5 * (nu + 1) * (np.log1p(x1 ** 2 / nu) + np.log1p(x2 ** 2 / nu)).sum()
    constant = t_constants(np.array([nu]))[0]
    # at its maximum over ρ the profile is at least the log-likelihood at ρ = 0.45, and equal
    # to the scipy log-likelihood at the maximising ρ
    best_rho, best = student_rho(x1, x2, margin, constant, nu, 80, 0.0)
    assert best >= expected - 1e-9
    joint = stats.multivariate_t(shape=[[1, best_rho], [best_rho, 1]], df=nu).logpdf(
        np.column_stack([x1, x2]))
    assert best == pytest.approx(np.sum(joint - stats.t.logpdf(x1, nu) - stats.t.logpdf(x2, nu)),
                                 abs=1e-8)
    z1, z2 = special.ndtri(u1), special.ndtri(u2)
    rho_hat, ll = gaussian_fit(z1, z2, 80)
    joint = stats.multivariate_normal(cov=[[1, rho_hat], [rho_hat, 1]]).logpdf(np.column_stack(
        [z1, z2]))
    assert ll == pytest.approx(np.sum(joint - stats.norm.logpdf(z1) - stats.norm.logpdf(z2)),
                               abs=1e-8)
    for other in (rho_hat - 0.01, rho_hat + 0.01):
        joint = stats.multivariate_normal(cov=[[1, other], [other, 1]]).logpdf(
            np.column_stack([z1, z2]))
        assert ll > np.sum(joint - stats.norm.logpdf(z1) - stats.norm.logpdf(z2))
