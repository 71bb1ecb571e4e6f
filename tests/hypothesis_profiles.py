"""Hypothesis profiles for every property test: import this module before using @given.

``fuzz-default`` (``make test``) is small and derandomised: a CI run explores the same
examples every time, so it cannot turn red at random. ``long`` (``make fuzz``, selected by
``HYPOTHESIS_PROFILE=long``) searches many more random inputs.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SLOW_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
# Derandomised: a CI run explores the same examples every time, so it cannot turn red at
# random; the long profile is where new inputs are searched for.
settings.register_profile(
    "fuzz-default",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_SLOW_CHECKS,
)
# No example database: a failure prints a @reproduce_failure blob instead of leaving a
# .hypothesis directory in the work tree.
settings.register_profile(
    "long",
    max_examples=5000,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=_SLOW_CHECKS,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fuzz-default"))
