"""The mypyc build of the normalise + group path, and its pure-Python fallback.

``make test`` runs the whole suite on whatever ``make native`` produced: compiled where
there is a C compiler (CI sets ``FAULTLINE_EXPECT_NATIVE=1`` so a broken build cannot
silently fall back), pure Python elsewhere. The pure modules then still run here, in a
child process, on the golden corpus and the grouping tests, so both builds are covered.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from importlib.machinery import ExtensionFileLoader
from pathlib import Path

import pytest

from faultline_core.native import (
    COMPILED_MODULES,
    PURE_PYTHON_ENV,
    build_state,
    extension_path,
    manifest_problem,
    source_digest,
)

ROOT = Path(__file__).resolve().parents[2]
BUILT = all(extension_path(module).exists() for module in COMPILED_MODULES)


def _run(code_or_args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *code_or_args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, **env}, check=False)


def test_manifest_problems_are_named(tmp_path: Path) -> None:
    manifest = tmp_path / "build.json"
    assert manifest_problem(manifest) == "not built (pure Python)"
    manifest.write_text("{not json")
    assert (manifest_problem(manifest) or "").startswith("unreadable build manifest")
    manifest.write_text(json.dumps({"sources": {"faultline_core.event": "x"}}))
    assert "other modules" in (manifest_problem(manifest) or "")

    digests = {module: source_digest(module) for module in COMPILED_MODULES}
    manifest.write_text(json.dumps({"sources": digests}))
    assert manifest_problem(manifest) == (None if BUILT else manifest_problem(manifest))
    if not BUILT:
        assert (manifest_problem(manifest) or "").startswith("incomplete")
    digests["faultline_core.grouping.v2"] = "0" * 64
    manifest.write_text(json.dumps({"sources": digests}))
    assert (manifest_problem(manifest) or "").startswith("stale: faultline_core.grouping.v2")


def test_the_pure_python_switch_loads_every_module_from_its_source() -> None:
    code = ("import importlib, json; from faultline_core.native import COMPILED_MODULES, "
            "build_state; print(json.dumps([build_state().compiled, "
            "[importlib.import_module(m).__file__ for m in COMPILED_MODULES]]))")
    result = _run(["-c", code], **{PURE_PYTHON_ENV: "1"})

    assert result.returncode == 0, result.stderr
    compiled, files = json.loads(result.stdout)
    assert compiled is False
    assert len(files) == len(COMPILED_MODULES) and all(f.endswith(".py") for f in files)


@pytest.mark.skipif(os.environ.get("FAULTLINE_EXPECT_NATIVE") != "1",
                    reason="FAULTLINE_EXPECT_NATIVE is not set (only CI requires the build)")
def test_ci_runs_on_the_compiled_build() -> None:
    assert build_state().compiled, build_state().reason
    for module in COMPILED_MODULES:
        # (mypyc's own imports record the origin with the package directory doubled)
        spec = importlib.import_module(module).__spec__
        assert spec is not None and isinstance(spec.loader, ExtensionFileLoader)
        assert str(spec.origin).endswith(extension_path(module).name)


@pytest.mark.skipif(not build_state().compiled,
                    reason="this run is already on the pure-Python modules")
def test_the_pure_modules_pass_the_golden_and_grouping_tests_too() -> None:
    result = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider",
                   "tests/unit/test_normalize_golden.py", "tests/unit/test_grouping_v2.py",
                   "tests/unit/test_grouping_v2_hashes.py", "tests/unit/test_normalize.py"],
                  **{PURE_PYTHON_ENV: "1"})

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
