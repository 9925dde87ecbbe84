"""The folder tree stays true: the import rules of docs/architecture.md, and a contract the edge can import alone."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYDANTIC_DISTRIBUTIONS = ("pydantic", "pydantic_core", "typing_extensions", "annotated_types", "typing_inspection")


def test_every_import_rule_holds():
    """import-linter checks the contracts in .importlinter (layers of the cloud, the edge's one cloud import...)."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout or "broken" not in result.stdout


def test_the_contract_imports_with_pydantic_alone(tmp_path):
    """The till PC runs the edge with pydantic and no Lambda requirements: chalicelib.contracts must need nothing else.

    A fresh interpreter with no site-packages (-S, -I) sees only the standard library, pydantic and its own
    dependencies (copied from this venv), and the contract module with the empty package file beside it.
    """
    import pydantic

    site = Path(pydantic.__file__).resolve().parents[1]
    for name in PYDANTIC_DISTRIBUTIONS:
        source = site / name if (site / name).is_dir() else site / f"{name}.py"
        target = tmp_path / source.name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    package = tmp_path / "chalicelib"
    package.mkdir()
    shutil.copy(ROOT / "chalicelib" / "__init__.py", package / "__init__.py")
    shutil.copy(ROOT / "chalicelib" / "contracts.py", package / "contracts.py")
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import chalicelib.contracts as c; "
        "print(c.FiscalJob.__name__, sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'boto3', 'botocore', 'chalice', 'jwt', 'httpx', 'structlog'}))"
    )
    result = subprocess.run([sys.executable, "-S", "-I", "-c", probe, str(tmp_path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "FiscalJob []"
