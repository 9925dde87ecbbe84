"""``make package``: ``chalice package`` for one stage, then ``infra.template.assemble`` over its output.

``app.py`` names its queues from the settings at import time, so Chalice runs
in a child process whose environment is exactly the stage's own (from
``.chalice/config.json``), never the caller's ``BRIDGE_*`` variables.

    python -m infra.package --stage dev --out var/package/dev
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from chalicelib.core.settings import Settings
from infra import iam
from infra.template import assemble

PROJECT_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_NAME = "sam.json"
_ARTIFACTS = ("deployment.zip", "layer-deployment.zip")


class PackagingError(RuntimeError):
    """The stage cannot be packaged as configured."""


def stage_environment(stage: str, config_path: Path = PROJECT_DIR / ".chalice" / "config.json") -> dict[str, str]:
    """The environment variables Chalice gives the stage's functions (global ones, then the stage's)."""
    config = json.loads(config_path.read_text())
    if stage not in config.get("stages", {}):
        raise PackagingError(f"stage {stage!r} is not in {config_path}")
    env = {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}
    if "BRIDGE_JWT_SECRET" in env:
        raise PackagingError("BRIDGE_JWT_SECRET must never be in config.json; use BRIDGE_JWT_SECRET_PARAM (SSM)")
    if not env.get("BRIDGE_JWT_SECRET_PARAM"):
        raise PackagingError(f"stage {stage!r} needs BRIDGE_JWT_SECRET_PARAM, the SSM SecureString of the JWT key")
    if env.get("BRIDGE_STAGE") != stage:
        raise PackagingError(f"stage {stage!r} must set BRIDGE_STAGE={stage} in its environment_variables")
    return env


def scope(stage: str, env: dict[str, str]) -> iam.Scope:
    """The stage's name prefix, exactly as ``Settings.prefix`` computes it inside the functions."""
    app_name = env.get("BRIDGE_APP_NAME", Settings.model_fields["app_name"].default)
    return iam.Scope(prefix=f"{app_name}-{stage}", jwt_secret_param=env["BRIDGE_JWT_SECRET_PARAM"])


def _chalice_package(stage: str, env: dict[str, str], out_dir: Path) -> dict[str, Any]:
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_") and k != "AWS_ENDPOINT_URL"}
    child_env.setdefault("AWS_DEFAULT_REGION", "eu-central-1")  # Chalice needs one; the template is region-free
    child_env.update(env)
    result = subprocess.run(
        [sys.executable, "-c", "from chalice.cli import main; main()",
         "--project-dir", str(PROJECT_DIR), "package", "--stage", stage, str(out_dir)],
        env=child_env, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise PackagingError(f"chalice package failed:\n{result.stdout}\n{result.stderr}")
    template: dict[str, Any] = json.loads((out_dir / TEMPLATE_NAME).read_text())
    return template


def package(stage: str, out_dir: Path) -> Path:
    """Write the stage's deployable template and code bundles to ``out_dir``; return the template's path."""
    env = stage_environment(stage)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chalice-package-") as raw:
        raw_dir = Path(raw)
        template = assemble(_chalice_package(stage, env, raw_dir), scope(stage, env))
        for artifact in _ARTIFACTS:
            if (raw_dir / artifact).exists():
                shutil.move(raw_dir / artifact, out_dir / artifact)
    path = out_dir / TEMPLATE_NAME
    path.write_text(json.dumps(template, indent=2, sort_keys=True) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    out_dir = args.out or PROJECT_DIR / "var" / "package" / args.stage
    try:
        path = package(args.stage, out_dir)
    except (PackagingError, ValueError) as exc:
        sys.exit(f"make package: {exc}")
    resources = json.loads(path.read_text())["Resources"]
    print(f"{path} ({path.stat().st_size} bytes, {len(resources)} resources)")


if __name__ == "__main__":
    main()
