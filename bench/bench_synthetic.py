"""Benchmark of the synthetic study area: the default area (2° Northern Hemisphere, 2000–2019,
daily) must simulate in ≤ 60 s and ≤ 4 GB on 2 cores.

Run: ``.venv/bin/python -m bench synthetic`` (or ``.venv/bin/python bench/bench_synthetic.py``).
The simulation runs in a fresh child process so that its peak resident memory is its own. The
second table is the science the run produces: per biome, the share of cells whose monthly
precipitation sum and monthly soil moisture have a negative Kendall's τ (scipy), per layer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, time
import numpy as np
from scipy.stats import kendalltau
from soilp_qgis.synthetic import make_geography, simulate, biome_polygons
from soilp_qgis import tables

out = {}
t = time.perf_counter(); g = make_geography(); out["geography_s"] = time.perf_counter() - t
t = time.perf_counter(); world = simulate(g, 2000, 2019, seed=0)
out["simulate_s"] = time.perf_counter() - t
out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
t = time.perf_counter(); biome_polygons(g); out["polygons_s"] = time.perf_counter() - t
out["land_cells"] = int(g.land.sum()); out["days"] = int(world.daily_dates.size)
months = world.daily_dates.astype("datetime64[M]")
p = np.stack([world.precipitation[months == m].astype(float).sum(axis=0)
              for m in np.unique(months)])
names = tables.biome_names()
rows = []
negative_total = np.zeros(3); cells_total = 0
for code in sorted(names):
    r, c = np.nonzero(g.biome == code)
    taus = np.array([[kendalltau(p[:, i, j], world.soil_moisture[k, :, i, j]).statistic
                      for i, j in zip(r, c)] for k in range(3)])
    negative = (taus < 0).sum(axis=1)
    negative_total += negative; cells_total += r.size
    rows.append([code, names[code], int(r.size), *(negative / r.size).tolist()])
out["dependence"] = rows
out["dependence_all"] = (negative_total / cells_total).tolist()
print("@@" + json.dumps(out))
"""


def main() -> None:
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2", MKL_NUM_THREADS="2")
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env,
                          check=True)
    line = next(printed for printed in done.stdout.splitlines() if printed.startswith("@@"))
    result = json.loads(line[2:])
    cell_days = result["land_cells"] * result["days"]
    print(f"{'step':<44} {'seconds':>8} {'peak MiB':>9} {'cell-days/s':>12}")
    print(f"{'make_geography 2° NH (180×45)':<44} {result['geography_s']:8.2f} {'':>9} {'':>12}")
    print(f"{'simulate 2° NH 2000–2019 daily':<44} {result['simulate_s']:8.2f} "
          f"{result['peak_rss_mib']:9.0f} {cell_days / result['simulate_s']:12.0f}")
    print(f"{'biome_polygons 2° NH':<44} {result['polygons_s']:8.2f} {'':>9} {'':>12}")
    print(f"({result['land_cells']} land cells × {result['days']} days; budget ≤ 60 s, ≤ 4096 MiB)")
    print()
    print("share of cells with negative monthly Kendall's tau (P sum vs SM), "
          "default area 2000–2019")
    print(f"{'code':>4} {'biome':<62} {'cells':>5} {'0-7cm':>6} {'7-28cm':>6} {'28-100cm':>8}")
    for code, name, cells, *shares in result["dependence"]:
        print(f"{code:>4} {name:<62} {cells:>5} {shares[0]:6.1%} {shares[1]:6.1%} {shares[2]:8.1%}")
    a = result["dependence_all"]
    print(f"{'':>4} {'all land cells':<62} {sum(r[2] for r in result['dependence']):>5} "
          f"{a[0]:6.1%} {a[1]:6.1%} {a[2]:8.1%}")


if __name__ == "__main__":
    main()
