"""The pymc model: brms ``bf(P ~ Ta*GPP*LST) + bf(SM ~ Ta*GPP*LST)`` with residual correlation.

On the z-scores of one ecoregion (see :mod:`soilp_qgis.bayes.data`):

- ``(P, SM)`` rows are bivariate normal around ``intercept + terms @ coefficient`` (+ the cell's
  intercept offset in DATA=cells), with residual standard deviations ``sigma`` and correlation
  ``residual_correlation`` under an LKJ(eta=1) prior (``pm.LKJCholeskyCov``);
- priors as brms's defaults on this scale: Student-t(3, 0, 2.5) intercepts, half-Student-t(3, 2.5)
  residual and random-effect scales, and Normal(0, 10) slopes (brms uses flat ones);
- DATA=cells: correlated random intercepts per cell for both responses (``cell_sd``,
  ``cell_correlation``, LKJ(1)), centred (default) or non-centred (``offset = z @ L.T`` with
  ``z ~ Normal(0, 1)``, brms's form).

The bivariate normal likelihood is written as P's marginal times SM given P (with ``Σ = L Lᵀ``:
``P ~ N(μ_P, L₁₁)``, ``SM | P ~ N(μ_SM + L₂₁ (P − μ_P) / L₁₁, L₂₂)``), the same density as
``pm.MvNormal(mu, chol=L)`` but elementwise, which samples several times faster.

The data enter as ``pm.Data`` (``terms``, ``responses``, ``cell_index``) so a compiled model can be
reused for another ecoregion with the same number of cells.
"""

from __future__ import annotations

import numpy as np
import pymc as pm

from soilp_qgis.bayes.data import RESPONSES, TERMS, EcoregionData

INTERCEPT_PRIOR = {"nu": 3.0, "mu": 0.0, "sigma": 2.5}
SCALE_PRIOR = {"nu": 3.0, "sigma": 2.5}
SLOPE_PRIOR_SD = 10.0
LKJ_ETA = 1.0
#: Forms of the per-cell random intercepts (same model, different sampling geometry).
RANDOM_INTERCEPT_FORMS: tuple[str, ...] = ("centred", "non_centred")

#: Posterior variables worth summarising, in table order (cell_* only exist in DATA=cells).
SUMMARY_VARIABLES: tuple[str, ...] = ("intercept", "coefficient", "sigma", "residual_correlation",
                                      "cell_sd", "cell_correlation")


def _lkj_scales(name: str) -> tuple:
    """Cholesky factor, standard deviations and correlation of a 2-D covariance with LKJ(eta)."""
    chol, corr, stds = pm.LKJCholeskyCov(
        f"{name}_cholesky", n=2, eta=LKJ_ETA,
        sd_dist=pm.HalfStudentT.dist(nu=SCALE_PRIOR["nu"], sigma=SCALE_PRIOR["sigma"], shape=2),
        compute_corr=True, store_in_trace=False)
    return chol, stds, corr[0, 1]


def build_driver_model(data: EcoregionData, random_intercepts: str = "centred") -> pm.Model:
    """The multivariate driver model of one ecoregion's standardised data.

    ``random_intercepts`` (DATA=cells only): ``"centred"`` samples the cell offsets themselves,
    ``"non_centred"`` samples standard-normal ``cell_z`` with ``offset = cell_z @ L.T``. Same model,
    same posterior; with many rows per cell (the usual case: every time step of every cell) the
    centred form samples faster and without the divergent transitions the non-centred one shows.
    """
    if random_intercepts not in RANDOM_INTERCEPT_FORMS:
        raise ValueError(f"random_intercepts must be one of {RANDOM_INTERCEPT_FORMS}, "
                         f"got {random_intercepts!r}")
    coords = {"response": list(RESPONSES), "term": list(TERMS)}
    if data.cell_index is not None:
        coords["cell"] = [int(c) for c in data.cells]
    with pm.Model(coords=coords) as model:
        terms = pm.Data("terms", np.asarray(data.terms, dtype=np.float64))
        responses = pm.Data("responses", np.asarray(data.responses, dtype=np.float64))
        intercept = pm.StudentT("intercept", dims="response", **INTERCEPT_PRIOR)
        coefficient = pm.Normal("coefficient", mu=0.0, sigma=SLOPE_PRIOR_SD,
                                dims=("term", "response"))
        mu = intercept + terms @ coefficient
        if data.cell_index is not None:
            cell_index = pm.Data("cell_index", np.asarray(data.cell_index, dtype=np.int64))
            cell_chol, cell_sd, cell_corr = _lkj_scales("cell")
            pm.Deterministic("cell_sd", cell_sd, dims="response")
            pm.Deterministic("cell_correlation", cell_corr)
            if random_intercepts == "centred":
                # (offset_P, offset_SM) ~ MvNormal(0, L Lᵀ), factorised like the likelihood below
                offset_p = pm.Normal("cell_offset_P", 0.0, cell_chol[0, 0], dims="cell")
                offset_sm = pm.Normal("cell_offset_SM", cell_chol[1, 0] * offset_p / cell_chol[0, 0],
                                      cell_chol[1, 1], dims="cell")
                offset = pm.math.stack([offset_p, offset_sm], axis=1)
            else:
                cell_z = pm.Normal("cell_z", 0.0, 1.0, dims=("cell", "response"))
                offset = cell_z @ cell_chol.T
            mu = mu + offset[cell_index]
        chol, sigma, corr = _lkj_scales("residual")
        pm.Deterministic("sigma", sigma, dims="response")
        pm.Deterministic("residual_correlation", corr)
        p, sm = responses[:, 0], responses[:, 1]
        mu_p, mu_sm = mu[:, 0], mu[:, 1]
        pm.Normal("observed_P", mu=mu_p, sigma=chol[0, 0], observed=p)
        pm.Normal("observed_SM", mu=mu_sm + chol[1, 0] * (p - mu_p) / chol[0, 0],
                  sigma=chol[1, 1], observed=sm)
    return model
