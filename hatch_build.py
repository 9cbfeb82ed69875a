"""Hatch build hook: bundle Cliply Studio's front end (npm ci + esbuild) into the wheel.

The bundle (src/cliply/web/static/dist) is gitignored and built from package-lock.json;
when it already exists (make setup built it) it is used as is.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class StudioBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        dist = root / "src" / "cliply" / "web" / "static" / "dist"
        if self.target_name != "wheel" or (dist / "app.js").exists():
            return
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "Building the Cliply wheel needs npm to bundle the web app "
                "(apt-get install nodejs npm), or a prebuilt src/cliply/web/static/dist."
            )
        if not (root / "node_modules").exists():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=root, check=True)
        subprocess.run([npm, "run", "build"], cwd=root, check=True)
