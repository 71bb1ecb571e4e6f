"""The Node SDK app (``node_app/``): one cached ``npm ci`` install shared by every test.

``npm ci`` runs once per lock file into a cache that survives between runs; each test
gets its own directory with the scripts it needs and a symlink to that install.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

APP_SOURCE = Path(__file__).parent / "node_app"
CACHE = Path.home() / ".cache" / "faultline" / "node-express"
LOCK_FILES = ("package.json", "package-lock.json")


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node.js 20+ to run the Node SDK tests")
    return node


def _npm_ci(target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not on PATH: install Node.js 20+ with npm to run the Node SDK test")
    staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in LOCK_FILES:
        shutil.copy2(APP_SOURCE / name, staging / name)
    try:
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=staging,
                              capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("`npm ci` for the Node SDK app took over 600 s: is the npm registry "
                    "reachable from this machine?")
    if done.returncode != 0:
        pytest.fail(f"`npm ci` for the Node SDK app failed (is the npm registry reachable?):\n"
                    f"{done.stderr[-3000:]}")
    try:
        staging.rename(target)
    except OSError:  # another session finished the same install first
        shutil.rmtree(staging, ignore_errors=True)


def installed_node_modules() -> Path:
    """The cached install for the current lock file (installing it on first use)."""
    digest = hashlib.sha256()
    for name in LOCK_FILES:
        digest.update((APP_SOURCE / name).read_bytes())
    installed = CACHE / digest.hexdigest()[:16]
    if not (installed / "node_modules").is_dir():
        _npm_ci(installed)
    return installed / "node_modules"


def node_workdir(tmp_path_factory: pytest.TempPathFactory, label: str, *scripts: str) -> Path:
    """A fresh directory with ``package.json``, ``instrument.js``, ``scripts`` and the
    cached ``node_modules``."""
    node_modules = installed_node_modules()
    workdir = tmp_path_factory.mktemp(label)
    for name in ("package.json", "instrument.js", *scripts):
        shutil.copy2(APP_SOURCE / name, workdir / name)
    (workdir / "node_modules").symlink_to(node_modules, target_is_directory=True)
    return workdir
