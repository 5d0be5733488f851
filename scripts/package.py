"""Build the Plugin Manager zip: one top folder ``soilp/`` with the plugin and the engine sources.

No tests, virtual environments, caches or build outputs go in. Uses only the standard library so
it runs with any Python (QGIS's included).
"""

from __future__ import annotations

import argparse
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP_FOLDER = "soilp"
INCLUDE = ["metadata.txt", "__init__.py", "plugin.py", "LICENSE", "README.md",
           "processing_algs", "soilp_qgis", "resources"]
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".venv", ".venv-qgis"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo", ".part"}


def tracked_files() -> set[str] | None:
    """Files git tracks (so stray local files stay out); None outside a git checkout."""
    try:
        listing = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return set(listing.splitlines())


def plugin_files() -> list[Path]:
    tracked = tracked_files()
    files = []
    for entry in INCLUDE:
        path = ROOT / entry
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for candidate in candidates:
            relative = candidate.relative_to(ROOT)
            if EXCLUDED_PARTS & set(relative.parts) or candidate.suffix in EXCLUDED_SUFFIXES:
                continue
            if tracked is not None and relative.as_posix() not in tracked:
                continue
            files.append(relative)
    return files


def build(output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    files = plugin_files()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in files:
            archive.write(ROOT / relative, f"{TOP_FOLDER}/{relative.as_posix()}")
        archive.write(ROOT / "soilp_qgis" / "requirements.txt", f"{TOP_FOLDER}/requirements.txt")
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    path = build(args.output)
    print(f"{path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
