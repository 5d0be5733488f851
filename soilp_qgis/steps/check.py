"""``check``: the engine's version and whether its interpreter has every library it needs.

Standard library only, so that it runs — and says what is missing — in an interpreter that has
none of the engine's libraries. The minimum versions are the engine's declared dependencies
(``soilp_qgis/pyproject.toml``); the check fails with one line naming every library that is
missing or older than its minimum.
"""

from __future__ import annotations

import platform
import re
import sys
from importlib import metadata
from pathlib import Path

from .. import __version__
from ..errors import SoilpError
from ..protocol import Reporter

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
MINIMUM_PYTHON = (3, 10)

#: ``"name[extra]>=1.2"`` in pyproject's dependency list
_REQUIREMENT = re.compile(r'^\s*"(?P<name>[A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*'
                          r'(?:>=\s*(?P<minimum>[0-9][^",;\s]*))?[^"]*"\s*,?\s*$')


def required_libraries(pyproject: Path = PYPROJECT) -> dict[str, str | None]:
    """Distribution name → minimum version ('' none) from ``[project] dependencies``."""
    text = pyproject.read_text(encoding="utf-8")
    block = re.search(r"^dependencies\s*=\s*\[(.*?)^\]", text, re.S | re.M)
    if block is None:
        raise SoilpError(f"no dependency list in {pyproject}")
    libraries = {}
    for line in block.group(1).splitlines():
        match = _REQUIREMENT.match(line)
        if match:
            libraries[match.group("name")] = match.group("minimum") or ""
    return libraries


def version_key(version: str) -> tuple[int, ...]:
    """The leading numeric release of a version (``'2024.1.0rc1'`` → ``(2024, 1, 0)``), for
    comparing with a minimum."""
    numbers = []
    for part in version.split("."):
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        numbers.append(int(digits.group()))
        if digits.group() != part:
            break
    return tuple(numbers)


def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def dependency_versions() -> dict[str, str]:
    """Installed version of each library the engine needs, or ``"missing"``."""
    return {name: installed_version(name) or "missing" for name in required_libraries()}


def library_problems(required: dict[str, str],
                     versions: dict[str, str | None]) -> tuple[list[str], list[str]]:
    """(missing libraries, ``"name version (needs ≥ minimum)"`` for those too old)."""
    missing = [name for name in required if versions.get(name) is None]
    too_old = [f"{name} {versions[name]} (needs ≥ {minimum})"
               for name, minimum in required.items()
               if minimum and versions.get(name) is not None
               and version_key(versions[name]) < version_key(minimum)]
    return missing, too_old


def check(params: dict, report: Reporter) -> dict:
    """Report the engine's version, its Python and its libraries' versions; fail naming every
    library that is missing or too old."""
    required = required_libraries()
    versions = {name: installed_version(name) for name in required}
    report.info(f"soilp engine {__version__} on Python {platform.python_version()} "
                f"({sys.executable})")
    for name, version in versions.items():
        report.info(f"{name} {version or 'missing'}")
    missing, too_old = library_problems(required, versions)
    problems = []
    if sys.version_info[:2] < MINIMUM_PYTHON:
        problems.append(f"Python {platform.python_version()} is too old (needs ≥ "
                        f"{'.'.join(map(str, MINIMUM_PYTHON))})")
    if missing:
        problems.append("missing libraries: " + ", ".join(missing))
    if too_old:
        problems.append("too old: " + ", ".join(too_old))
    if problems:
        raise SoilpError("the engine environment is incomplete: " + "; ".join(problems))
    return {
        "ENGINE_VERSION": __version__,
        "PYTHON": sys.executable,
        "PYTHON_VERSION": platform.python_version(),
        "VERSIONS": {name: version for name, version in versions.items()},
    }
