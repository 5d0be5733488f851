"""Driver points, quadrants, k-means clusters and the least-squares line (paper figures 7–8).

Each (ecoregion, term) gives a point (posterior mean for P, posterior mean for SM). Quadrants:
I (+, +), II (−, +), III (−, −), IV (+, −); II and IV mark a term that drives a negative
dependence between precipitation and soil moisture. A point exactly on an axis has no quadrant
(``""``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from soilp_qgis.bayes.data import TERMS

QUADRANTS: tuple[str, ...] = ("I", "II", "III", "IV")
NEGATIVE_DEPENDENCE_QUADRANTS: frozenset[str] = frozenset({"II", "IV"})
POINT_COLUMNS: tuple[str, ...] = ("ecoregion", "term", "estimate_P", "estimate_SM", "quadrant",
                                  "negative_dependence", "cluster", "converged")


def quadrant(estimate_p: np.ndarray, estimate_sm: np.ndarray) -> np.ndarray:
    """Quadrant names (I–IV, ``""`` on an axis) of points (estimate for P, estimate for SM)."""
    x = np.asarray(estimate_p, dtype=np.float64)
    y = np.asarray(estimate_sm, dtype=np.float64)
    conditions = [(x > 0) & (y > 0), (x < 0) & (y > 0), (x < 0) & (y < 0), (x > 0) & (y < 0)]
    return np.select(conditions, list(QUADRANTS), default="")


def cluster_points(points: np.ndarray, n_clusters: int = 3, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """K-means labels and centres of ``(n, 2)`` points (scikit-learn, ``random_state=seed``).

    Fewer distinct points than ``n_clusters`` give as many clusters as distinct points; no points
    give empty arrays.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    k = min(int(n_clusters), len(np.unique(points, axis=0)))
    if k < 1:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    kmeans = KMeans(n_clusters=k, random_state=seed, n_init=10).fit(points)
    return kmeans.labels_.astype(np.int64), kmeans.cluster_centers_


def least_squares_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of the ordinary least-squares line y = slope·x + intercept; NaN if
    fewer than two distinct x."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(np.unique(x)) < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


@dataclass
class DriverPoints:
    """The points of the driver figure with their quadrant and cluster, the cluster centres and
    the least-squares line across all points."""

    points: pd.DataFrame
    centres: np.ndarray
    slope: float
    intercept: float


def driver_points(coefficients: pd.DataFrame, n_clusters: int = 3, seed: int = 0) -> DriverPoints:
    """Points (estimate for P, estimate for SM) per (ecoregion, term) from a coefficient table.

    ``coefficients`` has the columns of :func:`~soilp_qgis.bayes.summary.coefficient_table`; only
    ``parameter == "coefficient"`` rows are used, estimates are posterior means. Non-converged
    ecoregions stay in (flagged by ``converged``).
    """
    rows = coefficients[coefficients["parameter"] == "coefficient"]
    if "converged" not in rows:
        rows = rows.assign(converged=True)
    wide = rows.pivot_table(index=["ecoregion", "term"], columns="response", values="mean",
                            aggfunc="first")
    flags = rows.groupby(["ecoregion", "term"])["converged"].all()
    points = wide.reset_index().rename(columns={"P": "estimate_P", "SM": "estimate_SM"})
    if len(points):
        points["term"] = pd.Categorical(points["term"], categories=list(TERMS), ordered=True)
        points = points.sort_values(["ecoregion", "term"]).reset_index(drop=True)
        points["term"] = points["term"].astype(str)
        points["converged"] = [bool(flags.loc[(e, t)]) for e, t in
                               zip(points["ecoregion"], points["term"])]
    else:
        points = pd.DataFrame(columns=["ecoregion", "term", "estimate_P", "estimate_SM",
                                       "converged"])
    xy = points[["estimate_P", "estimate_SM"]].to_numpy(dtype=np.float64)
    points["quadrant"] = quadrant(xy[:, 0], xy[:, 1])
    points["negative_dependence"] = points["quadrant"].isin(NEGATIVE_DEPENDENCE_QUADRANTS)
    labels, centres = cluster_points(xy, n_clusters, seed)
    points["cluster"] = labels
    slope, intercept = least_squares_line(xy[:, 0], xy[:, 1])
    return DriverPoints(points[list(POINT_COLUMNS)], centres, slope, intercept)



def negative_drivers(points: pd.DataFrame, label: str = "ecoregion") -> pd.DataFrame:
    """The terms that drive a negative dependence, as the paper's section 3.3 reads them: one row
    per (term, quadrant) with quadrant II or IV, in :data:`TERMS` order, listing the ecoregions
    (column ``label`` of ``points``) whose point lies there and those of them that did not
    converge. Columns: ``term``, ``quadrant``, ``ecoregions``, ``not_converged`` (tuples)."""
    rows = []
    negative = points[points["quadrant"].isin(NEGATIVE_DEPENDENCE_QUADRANTS)]
    for term in TERMS:
        for name in sorted(NEGATIVE_DEPENDENCE_QUADRANTS):
            mine = negative[(negative["term"] == term) & (negative["quadrant"] == name)]
            if len(mine):
                rows.append({"term": term, "quadrant": name,
                             "ecoregions": tuple(mine[label]),
                             "not_converged": tuple(mine.loc[~mine["converged"].astype(bool),
                                                             label])})
    return pd.DataFrame(rows, columns=["term", "quadrant", "ecoregions", "not_converged"])
