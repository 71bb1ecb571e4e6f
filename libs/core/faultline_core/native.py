"""The optional compiled build of the hot pure modules, and its pure-Python fallback.

``scripts/build_native.py`` (run by ``make install``) compiles :data:`COMPILED_MODULES`
with mypyc into extension modules beside their sources and records each source's
SHA-256 in ``_native_build.json``. Python then imports the extensions instead of the
``.py`` files: the same code, about twice as fast on the normalise + group path.

Compiled modules call each other directly in C, so the build is used whole or not at
all. :func:`install_source_fallback` (run when ``faultline_core`` is imported) makes the
import system load every listed module from its ``.py`` source when the build is stale
(a source changed since it was compiled) or ``FAULTLINE_PURE_PYTHON=1`` is set. A
machine without a C compiler simply has no build and runs the sources.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import os
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST_PATH = PACKAGE_DIR / "_native_build.json"
PURE_PYTHON_ENV = "FAULTLINE_PURE_PYTHON"

# The per-event path of the processor: decode, normalise, summarise, group. Everything
# here must stay `mypy --strict` clean, because compiled code checks annotations at run
# time (a str annotated as int raises TypeError instead of passing through).
COMPILED_MODULES: tuple[str, ...] = (
    "faultline_core.event",
    "faultline_core.event_summary",
    "faultline_core.normalize",
    "faultline_core.normalize_body",
    "faultline_core.normalize_context",
    "faultline_core.normalize_interfaces",
    "faultline_core.normalize_values",
    "faultline_core.useragent",
    "faultline_core.grouping.base",
    "faultline_core.grouping.components",
    "faultline_core.grouping.parameterize",
    "faultline_core.grouping.v1",
    "faultline_core.grouping.v2",
    "faultline_core.grouping.v2_fingerprint",
    "faultline_core.grouping.v2_frames",
    "faultline_core.grouping.v2_hashes",
)


def source_path(module: str) -> Path:
    """The ``.py`` file of one of :data:`COMPILED_MODULES`."""
    relative = module.split(".")[1:]
    return PACKAGE_DIR.joinpath(*relative[:-1], relative[-1] + ".py")


def source_digest(module: str) -> str:
    return hashlib.sha256(source_path(module).read_bytes()).hexdigest()


@dataclass(frozen=True)
class NativeBuildState:
    """Whether the compiled build is in use, and if not, why."""

    compiled: bool
    reason: str


def extension_path(module: str) -> Path:
    """Where the compiled build puts one of :data:`COMPILED_MODULES`."""
    return source_path(module).with_suffix(str(sysconfig.get_config_var("EXT_SUFFIX")))


def manifest_problem(manifest_path: Path = MANIFEST_PATH) -> str | None:
    """Why the recorded build cannot be used, or ``None`` when it matches the sources."""
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        return "not built (pure Python)"
    except (OSError, ValueError) as exc:
        return f"unreadable build manifest: {exc}"
    digests = manifest.get("sources") if isinstance(manifest, dict) else None
    if not isinstance(digests, dict) or set(digests) != set(COMPILED_MODULES):
        return "the build manifest lists other modules: rebuild with `make install`"
    for module in COMPILED_MODULES:
        if digests[module] != source_digest(module):
            return f"stale: {module} changed since it was compiled; rebuild with `make install`"
        if not extension_path(module).exists():
            return f"incomplete: {extension_path(module).name} is missing; rebuild"
    return None


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Loads the listed modules from their ``.py`` sources, ahead of the extensions."""

    def __init__(self, modules: Sequence[str]) -> None:
        self._modules = frozenset(modules)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self._modules:
            return None
        return importlib.util.spec_from_file_location(fullname, source_path(fullname))


_state: NativeBuildState | None = None


def install_source_fallback() -> NativeBuildState:
    """Decide once per process whether the compiled build is used (see module doc)."""
    global _state
    if _state is not None:
        return _state
    if os.environ.get(PURE_PYTHON_ENV) == "1":
        problem: str | None = f"{PURE_PYTHON_ENV}=1"
    else:
        problem = manifest_problem()
    if problem is None:
        _state = NativeBuildState(compiled=True, reason="compiled with mypyc")
        return _state
    sys.meta_path.insert(0, _SourceFinder(COMPILED_MODULES))
    if not problem.startswith(("not built", PURE_PYTHON_ENV)):
        log.warning("faultline_core native build not used: %s", problem)
    _state = NativeBuildState(compiled=False, reason=problem)
    return _state


def build_state() -> NativeBuildState:
    """The decision :func:`install_source_fallback` made for this process."""
    return install_source_fallback()
