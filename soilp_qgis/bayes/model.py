"""The pymc model: brms ``bf(P ~ Ta*GPP*LST) + bf(SM ~ Ta*GPP*LST)`` with residual correlation.

On the z-scores of one ecoregion (see :mod:`soilp_qgis.bayes.data`):

- ``(P, SM)`` rows are bivariate normal around ``intercept + terms @ coefficient`` (+ the cell's
  intercept offset in DATA=cells), with residual standard deviations ``sigma`` and correlation
  ``residual_correlation`` under an LKJ(eta=1) prior (for 2 × 2, uniform on (−1, 1));
- priors as brms's defaults on this scale: Student-t(3, 0, 2.5) intercepts, half-Student-t(3, 2.5)
  residual and random-effect scales, and Normal(0, 10) slopes (brms uses flat ones);
- DATA=cells: correlated random intercepts per cell for both responses (``cell_sd``,
  ``cell_correlation``, LKJ(1)), centred (each cell's intercepts around the fixed
  intercept) or non-centred (``offset = z @ L.T`` with ``z ~ Normal(0, 1)``, brms's form), or
  marginalised: integrated out in closed form (one compiled operation with its gradient
  written out, :mod:`soilp_qgis.bayes.likelihood`), so the sampler sees only the
  ecoregion-level parameters.

The bivariate normal likelihood is computed from sufficient statistics, exactly: with the
design ``W = [1, terms]`` (rows × 8), coefficients ``Γ = [intercept; coefficient]`` (8 × 2), cell
offsets ``U`` (cells × 2) and residuals ``r_i = y_i − W_i Γ − U_c(i)``, the log density is
``−N log 2π − N/2 log|Σ| − tr(Σ⁻¹ R)/2`` with ``R = Σ_i r_i r_iᵀ``, and ``R`` expands
into ``YᵀY − ΓᵀWᵀY − YᵀWΓ + ΓᵀWᵀWΓ − MᵀU − UᵀM + Uᵀ diag(n_c) U`` where
``M = S_y − S_W Γ`` holds each cell's sums of y and W. So a gradient costs O(cells) instead
of O(rows) — the same posterior as ``pm.MvNormal`` row by row, many times faster for
DATA=cells.

The data enter as ``pm.Data`` (:func:`model_data_arrays`), whose shapes depend only on the number
of cells, so a compiled model can be reused for another ecoregion with the same number of cells
(with marginalised intercepts, for any number of cells: no parameter has a cell dimension).
"""

from __future__ import annotations

import warnings

import numpy as np

# pytensor warns (once per process, when pip-installed) that its C backend found no BLAS: nutpie,
# the default sampler, runs the model through numba, so the advice would only puzzle a user
warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS",
                        category=UserWarning)
import pymc as pm  # noqa: E402 - after the filter above
import pytensor.tensor as pt  # noqa: E402

from soilp_qgis.bayes.data import RESPONSES, TERMS, EcoregionData  # noqa: E402
from soilp_qgis.bayes.likelihood import DATA as LIKELIHOOD_DATA  # noqa: E402
from soilp_qgis.bayes.likelihood import graph_logp, marginal_cells_logp  # noqa: E402

INTERCEPT_PRIOR = {"nu": 3.0, "mu": 0.0, "sigma": 2.5}
SCALE_PRIOR = {"nu": 3.0, "sigma": 2.5}
SLOPE_PRIOR_SD = 10.0
#: Forms of the per-cell random intercepts (same model, different sampling geometry).
RANDOM_INTERCEPT_FORMS: tuple[str, ...] = ("centred", "non_centred", "marginalised")

#: Posterior variables worth summarising, in table order (cell_* only exist in DATA=cells).
SUMMARY_VARIABLES: tuple[str, ...] = ("intercept", "coefficient", "sigma", "residual_correlation",
                                      "cell_sd", "cell_correlation")


def _scales_and_correlation(sd_name: str, correlation_name: str) -> tuple:
    """Standard deviations (half-Student-t) and correlation (LKJ(1)) of a 2-D covariance.

    For a 2 × 2 correlation matrix the LKJ(eta) density is ∝ (1 − r²)^(eta − 1), so LKJ(1) is
    the uniform distribution of ``r`` on (−1, 1): the same prior as ``pm.LKJCholeskyCov`` (its
    standard deviations independent of the correlation), written in closed form: the gradient's
    graph shrinks from 203 to 120 nodes and costs about a fifth less (20 cells).
    """
    sd = pm.HalfStudentT(sd_name, nu=SCALE_PRIOR["nu"], sigma=SCALE_PRIOR["sigma"],
                         dims="response")
    return sd, pm.Uniform(correlation_name, lower=-1.0, upper=1.0)


def _cholesky(sd, r) -> tuple:
    """The Cholesky factor's entries ``(l00, l10, l11)`` of the covariance of ``sd`` and ``r``."""
    return sd[0], sd[1] * r, sd[1] * pt.sqrt(1.0 - r ** 2)


def model_data_arrays(data: EcoregionData) -> dict[str, np.ndarray]:
    """The sufficient statistics the model reads (its ``pm.Data`` by name).

    ``design_cross`` WᵀW (8 × 8), ``design_response`` WᵀY (8 × 2), ``response_cross`` YᵀY
    (2 × 2), ``rows`` N; in DATA=cells also per cell ``cell_design_sum`` (cells × 8),
    ``cell_response_sum`` (cells × 2) and ``cell_rows`` (cells).
    """
    design = np.column_stack([np.ones(data.n_rows), np.asarray(data.terms, dtype=np.float64)])
    responses = np.asarray(data.responses, dtype=np.float64)
    arrays = {"design_cross": design.T @ design, "design_response": design.T @ responses,
              "response_cross": responses.T @ responses,
              "rows": np.array(float(data.n_rows))}
    if data.cell_index is not None:
        n_cells = data.n_cells
        design_sum = np.zeros((n_cells, design.shape[1]))
        response_sum = np.zeros((n_cells, 2))
        np.add.at(design_sum, data.cell_index, design)
        np.add.at(response_sum, data.cell_index, responses)
        arrays.update(cell_design_sum=design_sum, cell_response_sum=response_sum,
                      cell_rows=np.bincount(data.cell_index, minlength=n_cells).astype(np.float64))
    return arrays


def build_driver_model(data: EcoregionData, random_intercepts: str = "marginalised",
                       compiled_likelihood: bool = True) -> pm.Model:
    """The multivariate driver model of one ecoregion's standardised data.

    ``random_intercepts`` (DATA=cells only): ``"centred"`` samples each cell's own intercepts
    ``cell_intercept_P``/``_SM`` ~ MvNormal(intercept, L Lᵀ) (hierarchical centring: the fixed
    intercept is their mean), ``"non_centred"`` samples standard-normal ``cell_z`` with
    ``offset = cell_z @ L.T`` (brms's form). Same model, same posterior; with many rows per cell
    (the usual case: every time step of every cell) the centred form mixes far better: the
    non-centred one shows divergent transitions, and offsets from the intercept leave the
    intercept badly mixed when there are many cells. ``"marginalised"`` integrates the
    intercepts out exactly (same posterior of every other parameter; the cells' own intercepts
    are not sampled): no funnel between ``cell_sd`` and the intercepts, and as many parameters
    whatever the number of cells.

    ``compiled_likelihood`` (marginalised only): the likelihood as one compiled operation with its
    gradient written out (:class:`~soilp_qgis.bayes.likelihood.MarginalCellsLogp`: pytensor's
    Python and numba backends, what nutpie and pymc run) or, if False, as a pytensor graph
    differentiated by pytensor (:func:`~soilp_qgis.bayes.likelihood.graph_logp`: any backend,
    e.g. JAX for numpyro). Same density.
    """
    if random_intercepts not in RANDOM_INTERCEPT_FORMS:
        raise ValueError(f"random_intercepts must be one of {RANDOM_INTERCEPT_FORMS}, "
                         f"got {random_intercepts!r}")
    coords = {"response": list(RESPONSES), "term": list(TERMS)}
    cells = data.cell_index is not None
    if cells and random_intercepts != "marginalised":
        coords["cell"] = [int(c) for c in data.cells]
    with pm.Model(coords=coords) as model:
        stats = {name: pm.Data(name, value) for name, value in model_data_arrays(data).items()}
        intercept = pm.StudentT("intercept", dims="response", **INTERCEPT_PRIOR)
        coefficient = pm.Normal("coefficient", mu=0.0, sigma=SLOPE_PRIOR_SD,
                                dims=("term", "response"))
        gamma = pt.concatenate([intercept[None, :], coefficient], axis=0)
        if cells:
            cell_sd, cell_correlation = _scales_and_correlation("cell_sd", "cell_correlation")
        if cells and random_intercepts == "marginalised":
            sigma, residual_correlation = _scales_and_correlation("sigma", "residual_correlation")
            logp = marginal_cells_logp if compiled_likelihood else graph_logp
            likelihood = logp(intercept, coefficient, sigma, residual_correlation, cell_sd,
                              cell_correlation, *(stats[name] for name in LIKELIHOOD_DATA))
        else:
            cross = stats["design_response"].T @ gamma
            residual_cross = (stats["response_cross"] - cross - cross.T
                              + gamma.T @ stats["design_cross"] @ gamma)
            if cells:
                cell_sums = stats["cell_response_sum"] - stats["cell_design_sum"] @ gamma
                offset = _cell_offsets(random_intercepts, intercept,
                                       _cholesky(cell_sd, cell_correlation))
                mixed = cell_sums.T @ offset
                residual_cross = (residual_cross - mixed - mixed.T
                                  + offset.T @ (stats["cell_rows"][:, None] * offset))
            residual_chol = _cholesky(*_scales_and_correlation("sigma", "residual_correlation"))
            likelihood = _bivariate_normal_logp(residual_chol, residual_cross, stats["rows"])
        pm.Potential("likelihood", likelihood)
    return model


def _cell_offsets(random_intercepts: str, intercept, cell_chol):
    """Each cell's intercept offsets (cells × 2) with covariance L Lᵀ, sampled in ``"centred"``
    or ``"non_centred"`` form (see :func:`build_driver_model`)."""
    c00, c10, c11 = cell_chol
    if random_intercepts == "centred":
        # each cell's own intercepts ~ MvNormal(intercept, L Lᵀ), as P's marginal times SM given
        # P; the offsets from the fixed intercept follow
        own_p = pm.Normal("cell_intercept_P", intercept[0], c00, dims="cell")
        own_sm = pm.Normal("cell_intercept_SM", intercept[1] + c10 * (own_p - intercept[0]) / c00,
                           c11, dims="cell")
        return pt.stack([own_p, own_sm], axis=1) - intercept[None, :]
    cell_z = pm.Normal("cell_z", 0.0, 1.0, dims=("cell", "response"))
    return pt.stack([c00 * cell_z[:, 0], c10 * cell_z[:, 0] + c11 * cell_z[:, 1]], axis=1)


def _bivariate_normal_logp(chol, residual_cross, rows):
    """Σ_i log N(r_i | 0, L Lᵀ) from R = Σ_i r_i r_iᵀ (2 × 2), the number of rows and the
    Cholesky factor's entries ``chol = (l00, l10, l11)``."""
    l00, l10, l11 = chol
    s00, s01, s11 = _covariance(chol)
    r01 = 0.5 * (residual_cross[0, 1] + residual_cross[1, 0])
    quadratic = (s11 * residual_cross[0, 0] - 2.0 * s01 * r01 + s00 * residual_cross[1, 1]) \
        / (l00 * l11) ** 2
    return -rows * np.log(2.0 * np.pi) - rows * (pt.log(l00) + pt.log(l11)) - 0.5 * quadratic


def _covariance(chol):
    """Entries ``(s00, s01, s11)`` of L Lᵀ from a 2 × 2 Cholesky factor's ``(l00, l10, l11)``."""
    l00, l10, l11 = chol
    return l00 ** 2, l00 * l10, l10 ** 2 + l11 ** 2
