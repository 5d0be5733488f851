"""No unscoped enum access on the plugin side: the form PyQt6 (QGIS 4) no longer resolves.

Every attribute chain in ``processing_algs/``, ``plugin.py``, ``__init__.py`` and ``scripts/``
that starts at a name imported from ``qgis.*`` is resolved against the running QGIS's bindings;
an attribute that turns out to be an enum member reached from anything but its own enum type
(``QgsProcessing.TypeVectorPolygon``, ``QgsProcessingParameterNumber.Integer``, ``Qt.AlignLeft``)
is reported with its file and line. ``QgsProcessingParameterNumber.Type.Integer`` and the names
of ``processing_algs/compat.py`` pass.
"""

from __future__ import annotations

import ast
import enum
import importlib
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [ROOT / "processing_algs", ROOT / "plugin.py", ROOT / "__init__.py", ROOT / "scripts"]
_UNRESOLVED = object()


def is_enum_member(value: Any) -> bool:
    """A member of a PyQt5/sip enum (its type's metatype is ``sip.enumtype``) or of a Python
    enum (PyQt6, and QGIS's own Python-side enums)."""
    if isinstance(value, enum.Enum):
        return True
    return type(type(value)).__name__ == "enumtype"


def qgis_imports(tree: ast.AST) -> dict[str, Any]:
    """Names bound by ``from qgis... import X [as Y]`` anywhere in the module, resolved."""
    names: dict[str, Any] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.module
                and (node.module == "qgis" or node.module.startswith("qgis."))):
            continue
        try:
            module = importlib.import_module(node.module)
        except ImportError:
            continue
        for alias in node.names:
            value = getattr(module, alias.name, _UNRESOLVED)
            if value is not _UNRESOLVED:
                names[alias.asname or alias.name] = value
    return names


def unscoped_enum_accesses(source: str, filename: str = "<source>") -> list[str]:
    """``file:line: Owner.Member (use Owner.Enum.Member)`` for each unscoped enum access."""
    tree = ast.parse(source, filename)
    roots = qgis_imports(tree)
    resolved: dict[int, Any] = {}

    def resolve(node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return roots.get(node.id, _UNRESOLVED)
        if isinstance(node, ast.Attribute):
            if id(node) not in resolved:
                parent = resolve(node.value)
                resolved[id(node)] = _UNRESOLVED if parent is _UNRESOLVED else getattr(
                    parent, node.attr, _UNRESOLVED)
            return resolved[id(node)]
        return _UNRESOLVED

    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        parent = resolve(node.value)
        value = resolve(node)
        if parent is _UNRESOLVED or value is _UNRESOLVED or not is_enum_member(value):
            continue
        if parent is not type(value):
            scoped = f"{ast.unparse(node.value)}.{type(value).__name__}.{node.attr}"
            problems.append(f"{filename}:{node.lineno}: {ast.unparse(node)} (use {scoped}, or "
                            f"the processing_algs.compat name where QGIS moved the enum)")
    return problems


def scanned_files() -> Iterator[Path]:
    for place in SCANNED:
        if place.is_file():
            yield place
        elif place.is_dir():
            yield from sorted(place.rglob("*.py"))


def test_plugin_side_has_no_unscoped_enum_access():
    problems = []
    for path in scanned_files():
        problems += unscoped_enum_accesses(path.read_text(encoding="utf-8"),
                                           str(path.relative_to(ROOT)))
    assert not problems, "unscoped enum access (refused by PyQt6):\n" + "\n".join(problems)


def test_scan_covers_the_plugin_side():
    names = {path.relative_to(ROOT).as_posix() for path in scanned_files()}
    assert {"plugin.py", "__init__.py", "processing_algs/base.py",
            "processing_algs/compat.py"} <= names
    assert any(name.startswith("scripts/") for name in names)


@pytest.mark.parametrize("bad, member", [
    ("QgsProcessing.TypeVectorPolygon", "TypeVectorPolygon"),
    ("QgsProcessingParameterNumber.Integer", "Integer"),
    ("QgsProcessingParameterDefinition.FlagAdvanced", "FlagAdvanced"),
    ("QgsWkbTypes.PolygonGeometry", "PolygonGeometry"),
    ("Qt.AlignLeft", "AlignLeft"),
])
def test_scan_catches_a_planted_unscoped_member(bad, member):
    source = ("from qgis.core import QgsProcessing, QgsProcessingParameterNumber, "
              "QgsProcessingParameterDefinition, QgsWkbTypes\n"
              "from qgis.PyQt.QtCore import Qt\n\n"
              "def f(definition):\n"
              f"    return definition.flags(), {bad}\n")
    problems = unscoped_enum_accesses(source, "planted.py")
    assert len(problems) == 1
    assert problems[0].startswith(f"planted.py:5: {bad} ")
    assert f".{member}, or" in problems[0]


def test_scan_catches_an_aliased_import():
    source = ("from qgis.core import QgsProcessingParameterNumber as Number\n"
              "kind = Number.Double\n")
    assert [p.split(" (")[0] for p in unscoped_enum_accesses(source, "a.py")] == \
        ["a.py:2: Number.Double"]


def test_scan_accepts_scoped_members_and_non_enums():
    source = ("from qgis.core import QgsProcessing, QgsProcessingParameterNumber, "
              "QgsVectorFileWriter, QgsProcessingContext\n"
              "from qgis.PyQt.QtCore import Qt\n"
              "a = QgsProcessing.SourceType.TypeVectorPolygon\n"
              "b = QgsProcessingParameterNumber.Type.Integer\n"
              "c = Qt.AlignmentFlag.AlignLeft\n"
              "d = QgsVectorFileWriter.SaveVectorOptions()\n"
              "e = QgsProcessingContext.LayerDetails\n"
              "f = QgsProcessing.TEMPORARY_OUTPUT\n")
    assert unscoped_enum_accesses(source) == []


def test_is_enum_member_of_both_kinds():
    from qgis.core import QgsProcessing

    class Colour(enum.Enum):
        RED = 1

    assert is_enum_member(QgsProcessing.SourceType.TypeVectorPolygon)
    assert is_enum_member(Colour.RED)
    assert not is_enum_member(3)
    assert not is_enum_member(QgsProcessing)

