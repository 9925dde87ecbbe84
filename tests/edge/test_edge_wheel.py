"""The installable edge (issue 23 point 3): a wheel built offline from pyproject.toml, installed into a fresh
venv, gives a working ``edge`` command with edge/ and the contract, and nothing else of the cloud."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``pip wheel`` of a copy of the tree (the build leaves build/ and egg-info behind), offline."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("edge", "chalicelib"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.py", "requirements-edge.txt", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-w", str(work / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (found,) = (work / "dist").glob("receipt_bridge_edge-*.whl")
    return found


def test_the_wheel_holds_the_edge_and_the_contract_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    cloud = sorted(n for n in names if n.startswith("chalicelib/"))
    assert cloud == ["chalicelib/__init__.py", "chalicelib/contracts.py"]
    assert "edge/cli.py" in names and "edge/service/systemd.py" in names and "edge/drivers/isl/driver.py" in names
    assert "edge/service/windows.py" in names and "edge/service/host.py" in names
    assert not [n for n in names if n.split("/")[0] in ("infra", "devstack", "tests", "app.py", "bench")]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    required = sorted(line.split(": ", 1)[1] for line in metadata.splitlines() if line.startswith("Requires-Dist: "))
    pinned = sorted(line.split("#", 1)[0].strip() for line in (ROOT / "requirements-edge.txt").read_text().splitlines()
                    if line.split("#", 1)[0].strip())
    assert required == pinned
    # Windows only: pip on Linux skips it (PEP 508 marker), pip on Windows installs the SCM service's API
    assert [r for r in required if r.startswith("pywin32")] == ['pywin32==311; sys_platform == "win32"']
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "edge = edge.cli:main" in entry_points


def test_the_wheel_installs_into_a_fresh_venv_and_runs(wheel, tmp_path):
    """Installed with --no-deps (offline; the dependencies' pins are checked in the metadata above), the
    dependencies come from this venv's site-packages through a .pth file, which holds no project code."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "--no-index", "--no-deps", str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-2000:]
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "outer_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    helped = subprocess.run([str(venv / "bin" / "edge"), "--help"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert helped.returncode == 0, helped.stderr
    assert "pair" in helped.stdout and "service" in helped.stdout
    probe = ("import edge.cli, edge.runner, edge.pairing, edge.service.systemd, edge.service.windows, chalicelib.contracts as c,"
             " importlib.util;"
             "print(c.__file__.startswith(sys.argv[1]), edge.cli.__file__.startswith(sys.argv[1]),"
             " importlib.util.find_spec('chalicelib.shops') is None, importlib.util.find_spec('app') is None)")
    imported = subprocess.run([str(python), "-c", "import sys;" + probe, site], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == ["True", "True", "True", "True"]
