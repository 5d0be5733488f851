"""Posterior summaries: one row per (ecoregion, parameter, term, response); per-ecoregion health.

Columns of the coefficient table (:data:`TABLE_COLUMNS`): the posterior mean, standard deviation,
the 2.5 % and 97.5 % quantiles (brms's equal-tailed 95 % interval), and arviz's rank-normalised
split R-hat and bulk/tail effective sample sizes. ``parameter`` is one of ``intercept``,
``coefficient`` (``term`` is one of the seven terms), ``sigma`` (residual standard deviation),
``residual_correlation`` (``response`` ``P,SM``), and in DATA=cells ``cell_sd`` and
``cell_correlation`` (the random intercepts' spread and correlation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from soilp_qgis.bayes.data import RESPONSES

if TYPE_CHECKING:
    from arviz import InferenceData

TABLE_COLUMNS: tuple[str, ...] = ("ecoregion", "parameter", "term", "response", "mean", "sd",
                                  "q2.5", "q97.5", "rhat", "ess_bulk", "ess_tail")
#: Per-ecoregion columns repeated on every row of :func:`coefficient_table`.
ECOREGION_COLUMNS: tuple[str, ...] = ("divergences", "tree_depth_hits", "converged")
DIAGNOSTIC_COLUMNS: tuple[str, ...] = (
    "ecoregion", "status", "reason", "data", "rows", "cells", "sampler", "chains", "draws",
    "divergences", "tree_depth_hits", "max_rhat", "min_ess_bulk", "min_ess_tail", "converged",
    "compile_seconds", "sampling_seconds")
#: R-hat at or above this marks an ecoregion as not converged (the paper's criterion).
RHAT_LIMIT = 1.05

_PAIR = ",".join(RESPONSES)
# posterior variable -> (parameter name, term label or None for the variable's own term dim)
_LABELS = {
    "intercept": ("intercept", "Intercept"),
    "coefficient": ("coefficient", None),
    "sigma": ("sigma", ""),
    "residual_correlation": ("residual_correlation", ""),
    "cell_sd": ("cell_sd", "Intercept"),
    "cell_correlation": ("cell_correlation", "Intercept"),
}


def posterior_table(idata: InferenceData, ecoregion) -> pd.DataFrame:
    """Summary rows of every summarised parameter of one ecoregion's posterior."""
    import arviz as az  # here: the report reads the tables with this module, not posteriors

    posterior = idata.posterior
    names = [name for name in _LABELS if name in posterior]
    rhat = az.rhat(idata, var_names=names)
    ess_bulk = az.ess(idata, var_names=names, method="bulk")
    ess_tail = az.ess(idata, var_names=names, method="tail")
    rows = []
    for name in names:
        parameter, term_label = _LABELS[name]
        draws = posterior[name].stack(sample=("chain", "draw"))
        dims = [d for d in draws.dims if d != "sample"]
        values = draws.transpose(*dims, "sample").values.reshape(-1, draws.sizes["sample"])
        index = pd.MultiIndex.from_product([draws[d].values for d in dims]) if dims else [()]
        flat = {key: stat.transpose(*dims).values.reshape(-1) for key, stat in
                (("rhat", rhat[name]), ("ess_bulk", ess_bulk[name]), ("ess_tail", ess_tail[name]))}
        for i, labels in enumerate(index):
            labels = dict(zip(dims, labels if isinstance(labels, tuple) else (labels,)))
            q_low, q_high = np.quantile(values[i], [0.025, 0.975])
            rows.append({
                "ecoregion": ecoregion, "parameter": parameter,
                "term": str(labels.get("term", term_label)),
                "response": str(labels.get("response", _PAIR)),
                "mean": float(values[i].mean()), "sd": float(values[i].std(ddof=1)),
                "q2.5": float(q_low), "q97.5": float(q_high),
                "rhat": float(flat["rhat"][i]), "ess_bulk": float(flat["ess_bulk"][i]),
                "ess_tail": float(flat["ess_tail"][i])})
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


@dataclass
class EcoregionFit:
    """The outcome for one ecoregion: its summary rows and health, or why it was skipped."""

    ecoregion: object
    status: str  # "fitted", "skipped" or "failed"
    reason: str = ""
    data: str = ""
    rows: int = 0
    cells: int = 0
    sampler: str = ""
    chains: int = 0
    draws: int = 0
    divergences: int = 0
    tree_depth_hits: int = 0
    compile_seconds: float = 0.0
    sampling_seconds: float = 0.0
    table: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(TABLE_COLUMNS)))

    @property
    def max_rhat(self) -> float:
        return float(self.table["rhat"].max()) if len(self.table) else float("nan")

    @property
    def converged(self) -> bool:
        """All R-hat below :data:`RHAT_LIMIT` (a NaN R-hat fails) and no divergent transitions."""
        if self.status != "fitted" or not len(self.table):
            return False
        return bool((self.table["rhat"] < RHAT_LIMIT).all() and self.divergences == 0)

    def diagnostics(self) -> dict:
        """One row of the diagnostics table."""
        table = self.table
        return {
            "ecoregion": self.ecoregion, "status": self.status, "reason": self.reason,
            "data": self.data, "rows": self.rows, "cells": self.cells, "sampler": self.sampler,
            "chains": self.chains, "draws": self.draws, "divergences": self.divergences,
            "tree_depth_hits": self.tree_depth_hits, "max_rhat": self.max_rhat,
            "min_ess_bulk": float(table["ess_bulk"].min()) if len(table) else float("nan"),
            "min_ess_tail": float(table["ess_tail"].min()) if len(table) else float("nan"),
            "converged": self.converged, "compile_seconds": round(self.compile_seconds, 3),
            "sampling_seconds": round(self.sampling_seconds, 3)}


def coefficient_table(fits: list[EcoregionFit]) -> pd.DataFrame:
    """All ecoregions' summary rows, each with its ecoregion's divergences, tree-depth hits and
    ``converged`` flag (the OUTPUT_TABLE)."""
    tables = [fit.table.assign(divergences=fit.divergences, tree_depth_hits=fit.tree_depth_hits,
                               converged=fit.converged) for fit in fits if len(fit.table)]
    if not tables:
        return pd.DataFrame(columns=[*TABLE_COLUMNS, *ECOREGION_COLUMNS])
    return pd.concat(tables, ignore_index=True)


def diagnostics_table(fits: list[EcoregionFit]) -> pd.DataFrame:
    """One row per ecoregion, skipped and failed ones included, with the reason."""
    return pd.DataFrame([fit.diagnostics() for fit in fits], columns=list(DIAGNOSTIC_COLUMNS))


def flag_reason(max_rhat: float, divergences: int, min_ess_bulk: float = float("nan")) -> str:
    """Why an ecoregion's fit is flagged, in words for the report ("" when it is not)."""
    reasons = []
    if not np.isfinite(max_rhat) or max_rhat >= RHAT_LIMIT:
        reasons.append(f"max R-hat {max_rhat:.3f} ≥ {RHAT_LIMIT}: the chains disagree, so the "
                       "estimates are not reliable"
                       + (f" (min bulk ESS {min_ess_bulk:.0f})" if np.isfinite(min_ess_bulk)
                          else ""))
    if divergences > 0:
        reasons.append(f"{divergences} divergent transition{'s' if divergences != 1 else ''}: "
                       "the sampler met regions it could not follow, so the posterior may be "
                       "slightly biased there (a handful among thousands of draws is usually "
                       "harmless); a higher TARGET_ACCEPT (or RANDOM_INTERCEPTS=marginalised "
                       "where the intercepts are sampled) usually removes them")
    return "; ".join(reasons)


def run_convergence(table: pd.DataFrame, label: str = "ecoregion") -> dict:
    """Convergence of one run from its coefficient table (:func:`coefficient_table`, as read back
    from the CSV): ecoregions fitted and converged, rows and rows with R-hat < :data:`RHAT_LIMIT`,
    the largest R-hat, smallest ESS, divergent transitions and tree-depth hits summed over the
    ecoregions, and the flagged ecoregions (column ``label``) with :func:`flag_reason`."""
    rhat = table["rhat"].to_numpy(dtype=np.float64)
    per_ecoregion = table.groupby(label, sort=False).agg(
        max_rhat=("rhat", "max"), min_ess_bulk=("ess_bulk", "min"),
        divergences=("divergences", "first"), tree_depth_hits=("tree_depth_hits", "first"),
        converged=("converged", "all"))
    flagged = [(str(name), flag_reason(float(row.max_rhat), int(row.divergences),
                                       float(row.min_ess_bulk)))
               for name, row in per_ecoregion.iterrows() if not bool(row.converged)]
    return {"ecoregions": int(len(per_ecoregion)),
            "converged": int(per_ecoregion["converged"].astype(bool).sum()),
            "rows": int(len(table)), "rows_converged": int((rhat < RHAT_LIMIT).sum()),
            "max_rhat": float(np.nanmax(rhat)) if rhat.size else float("nan"),
            "min_ess_bulk": float(table["ess_bulk"].min()) if len(table) else float("nan"),
            "min_ess_tail": float(table["ess_tail"].min()) if len(table) else float("nan"),
            "divergences": int(per_ecoregion["divergences"].sum()),
            "tree_depth_hits": int(per_ecoregion["tree_depth_hits"].sum()),
            "flagged": flagged}
