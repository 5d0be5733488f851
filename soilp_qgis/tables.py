"""Tables shared by the engine and the plugin, kept as JSON in ``resources/``.

The plugin never imports the engine, so what both sides need (status codes, biome names,
copula family names) lives in ``resources/`` and both read it from there.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any


def resources_dir() -> Path:
    """The plugin's ``resources/`` folder (override with ``SOILP_RESOURCES``)."""
    override = os.environ.get("SOILP_RESOURCES")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "resources"


@cache
def _load(name: str) -> Any:
    path = resources_dir() / name
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def status_codes() -> list[dict[str, Any]]:
    """Per-cell status codes: ``[{code, name, label, color}, …]``."""
    return _load("status_codes.json")["codes"]


def status_code(name: str) -> int:
    """The code of a status by its name (``"too_few_values"`` → 2)."""
    for entry in status_codes():
        if entry["name"] == name:
            return int(entry["code"])
    raise KeyError(f"unknown status {name!r}")


STATUS_NODATA = 255


def biomes() -> list[dict[str, Any]]:
    """WWF biome classes: ``[{code, name, color}, …]`` (16 classes)."""
    return _load("biomes.json")["biomes"]


def biome_names() -> dict[int, str]:
    """Biome code → name."""
    return {int(b["code"]): b["name"] for b in biomes()}


def copula_families() -> list[dict[str, Any]]:
    """The 40 VineCopula family codes with names and colours."""
    return _load("copula_families.json")["families"]
