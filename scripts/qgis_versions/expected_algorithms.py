"""The ids of every soilp algorithm, read from the source without QGIS: each
``ALGORITHM_ID = "..."`` in ``processing_algs/`` and each shipped model (``resources/models/
full_analysis.model3`` → ``soilp:fullanalysis``, as the provider names them).

Usage: python3 expected_algorithms.py CHECKOUT   (one ``soilp:<id>`` a line)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def algorithm_ids(checkout: Path) -> list[str]:
    ids = set()
    for module in sorted((checkout / "processing_algs").glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id == "ALGORITHM_ID"
                    and isinstance(node.value, ast.Constant) and node.value.value):
                ids.add(node.value.value)
    for model in (checkout / "resources" / "models").glob("*.model3"):
        ids.add(model.stem.replace("_", ""))
    return [f"soilp:{name}" for name in sorted(ids)]


if __name__ == "__main__":
    print("\n".join(algorithm_ids(Path(sys.argv[1]))))
