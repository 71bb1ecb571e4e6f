"""Regrouping: rebuilding a project's issue projection from its raw events under a grouping
config, online. See ``docs/regroup.md`` and :mod:`faultline_processor.regroup.run`."""

from faultline_processor.regroup.run import (
    RegroupBusy,
    RegroupOptions,
    RegroupReport,
    regroup,
)

__all__ = ["RegroupBusy", "RegroupOptions", "RegroupReport", "regroup"]
