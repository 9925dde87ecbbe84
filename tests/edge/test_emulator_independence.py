"""An emulator is written from the manufacturer's document, not from our driver (DESIGN §5, issue 26 Build 2).

Every module under edge/emulators/ is parsed with ``ast``: none may import ``edge.drivers`` nor the card
terminals' ``edge.terminals`` (in any
spelling: ``import``, ``from ... import``, relative, or ``importlib.import_module("...")``), and an ISL
module may not lean on the simulated register either (``edge.emulators.simulated``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EMULATORS = ROOT / "edge" / "emulators"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved, dynamic imports with a literal name included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def forbidden(path: Path) -> list[str]:
    banned = ["edge.drivers", "edge.terminals"]  # card-terminal drivers (ZVT) live in edge/terminals/
    if path.relative_to(EMULATORS).parts[0] == "isl":
        banned.append("edge.emulators.simulated")
    return sorted(m for m in imported_modules(path) if any(m == b or m.startswith(b + ".") for b in banned))


FAMILIES = sorted(p.name for p in EMULATORS.iterdir() if p.is_dir() and (p / "__init__.py").exists())
@pytest.mark.parametrize("family", FAMILIES)
def test_no_emulator_module_imports_a_driver(family: str) -> None:
    offenders = {str(p.relative_to(ROOT)): forbidden(p) for p in sorted((EMULATORS / family).rglob("*.py"))}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_isl_emulator_is_checked() -> None:
    assert "isl" in FAMILIES and (EMULATORS / "isl" / "device.py").exists()


@pytest.mark.parametrize(
    "source",
    [
        "import edge.drivers.isl.frame",
        "from edge.drivers.isl import commands",
        "from edge import drivers",
        "from ...drivers.isl import frame",
        "importlib.import_module('edge.drivers.isl')",
        "from edge.emulators.simulated.models import DEFAULT_VAT_GROUPS",
        "from edge.terminals.zvt import apdu",
    ],
)
def test_every_spelling_of_a_driver_import_is_caught(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_root = tmp_path
    module = fake_root / "edge" / "emulators" / "isl" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text(source + "\n")
    monkeypatch.setattr(f"{__name__}.ROOT", fake_root)
    monkeypatch.setattr(f"{__name__}.EMULATORS", fake_root / "edge" / "emulators")
    assert forbidden(module) != []
