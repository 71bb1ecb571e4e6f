"""Faultline's shared core: event model, protocol parsing, grouping, settings and adapters.

Services import this package; they never import each other.
"""

from faultline_core.native import install_source_fallback

# Before any compiled module can be imported: use the mypyc build only if it matches
# the sources (see faultline_core.native).
install_source_fallback()
