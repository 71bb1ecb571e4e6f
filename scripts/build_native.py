"""Compile faultline_core's hot modules with mypyc, in place (see faultline_core.native).

Run by ``make install``/``make run``/``make test``; a no-op when the build matches the
sources. Without a C compiler or Python's headers, or when compilation fails, it says
why and leaves the pure-Python modules in use (exit 0), unless ``--require`` is given.
``FAULTLINE_PURE_PYTHON=1`` skips the build. Usage:
``.venv/bin/python scripts/build_native.py [--require] [--force]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

# Importing faultline_core warns when the build is stale, which here is the expected case.
logging.getLogger("faultline_core.native").disabled = True

from faultline_core.native import (  # noqa: E402
    COMPILED_MODULES,
    MANIFEST_PATH,
    PACKAGE_DIR,
    PURE_PYTHON_ENV,
    extension_path,
    source_digest,
    source_path,
)

SOURCE_ROOT = PACKAGE_DIR.parent  # libs/core: module names are relative to it
BUILD_DIR = SOURCE_ROOT.parent.parent / "build" / "native"
EXTENSION_SUFFIX = str(sysconfig.get_config_var("EXT_SUFFIX"))  # the shared runtime's too

# Run in a child process so setuptools' and mypy's global state stay out of this one.
_SETUP = """
import sys
from setuptools import setup
from mypyc.build import mypycify
sources, target_dir = sys.argv[1].split(","), sys.argv[2]
sys.argv = [sys.argv[0], *sys.argv[3:]]
setup(name="faultline_core_native", ext_modules=mypycify(
    sources, opt_level="3", debug_level="1", target_dir=target_dir,
    group_name="faultline_core._compiled"))
"""


def _digests() -> dict[str, str]:
    return {module: source_digest(module) for module in COMPILED_MODULES}


def _up_to_date() -> bool:
    try:
        recorded = json.loads(MANIFEST_PATH.read_text()).get("sources")
    except (OSError, ValueError, AttributeError):
        return False
    return bool(recorded == _digests()) and all(
        extension_path(module).exists() for module in COMPILED_MODULES)


def _built_files() -> list[Path]:
    extensions = [extension_path(module) for module in COMPILED_MODULES]
    # The runtime the modules share; older builds named it by a hash, at the top level.
    shared = [*PACKAGE_DIR.glob(f"*__mypyc{EXTENSION_SUFFIX}"),
              *SOURCE_ROOT.glob(f"*__mypyc{EXTENSION_SUFFIX}")]
    return [path for path in [*extensions, *shared] if path.exists()]


def remove_build() -> None:
    """Delete the manifest first, so a half-removed build is never taken as current."""
    MANIFEST_PATH.unlink(missing_ok=True)
    for path in _built_files():
        path.unlink()


def _missing_toolchain() -> str | None:
    compiler = os.environ.get("CC") or str(sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return f"no C compiler ({compiler!r} is not on PATH)"
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not headers.exists():
        return f"no Python headers ({headers} is missing; Debian: python3-dev)"
    return None


def _compile() -> tuple[bool, str]:
    sources = [str(source_path(module).relative_to(SOURCE_ROOT)) for module in COMPILED_MODULES]
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-c", _SETUP, ",".join(sources), str(BUILD_DIR / "c"),
               "build_ext", "--inplace", "--build-temp", str(BUILD_DIR / "temp")]
    result = subprocess.run(command, cwd=SOURCE_ROOT, capture_output=True, text=True,
                            check=False)
    return result.returncode == 0, result.stdout + result.stderr


def build(force: bool = False) -> str | None:
    """Build unless current; return why the pure modules stay in use, or ``None``."""
    if not force and _up_to_date():
        return None
    missing = _missing_toolchain()
    if missing:
        remove_build()
        return missing
    remove_build()
    digests = _digests()
    ok, output = _compile()
    if not ok or not all(extension_path(module).exists() for module in COMPILED_MODULES):
        remove_build()
        tail = "\n".join(output.strip().splitlines()[-30:])
        return f"mypyc failed:\n{tail}"
    if digests != _digests():
        remove_build()
        return "a source changed during the build; run it again"
    MANIFEST_PATH.write_text(json.dumps({"sources": digests}, indent=1, sort_keys=True))
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--require", action="store_true",
                        help="exit 1 when the compiled build cannot be made")
    parser.add_argument("--force", action="store_true", help="rebuild even if current")
    parser.add_argument("--remove", action="store_true",
                        help="delete the compiled build (pure Python from then on)")
    args = parser.parse_args()
    if args.remove:
        remove_build()
        return 0
    if os.environ.get(PURE_PYTHON_ENV) == "1" and not args.require:
        print(f"native build skipped ({PURE_PYTHON_ENV}=1)")
        return 0
    started = time.monotonic()
    problem = build(force=args.force)
    if problem is None:
        print(f"native build current ({len(COMPILED_MODULES)} modules compiled with mypyc, "
              f"{time.monotonic() - started:.1f} s)")
        return 0
    print(f"native build not made, pure Python in use: {problem}", file=sys.stderr)
    return 1 if args.require else 0


if __name__ == "__main__":
    sys.exit(main())
