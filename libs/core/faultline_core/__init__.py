"""Faultline's shared core: event model, protocol parsing, grouping, settings and adapters.

Services import this package; they never import each other.
"""
