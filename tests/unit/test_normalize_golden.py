"""Normalisation and grouping pinned on a fixed corpus (:mod:`tests.normalize_corpus`).

The digests in ``tests/fixtures/normalize_golden.json`` were recorded from the
implementation before it was optimised for speed, so any optimisation that changes a
single output (a value, a key's order, an error, a refusal's message, a hash, an
explanation) fails here. ``FAULTLINE_UPDATE_NORMALIZE_GOLDEN=1`` rewrites the file after
an intended change (the test still fails, so a rewrite is never silent).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.normalize_corpus import base_name, build_corpus, digest, outcome

GOLDEN = Path(__file__).parent.parent / "fixtures" / "normalize_golden.json"
UPDATE = os.environ.get("FAULTLINE_UPDATE_NORMALIZE_GOLDEN") == "1"


def test_corpus_is_large_and_names_are_unique() -> None:
    cases = build_corpus()
    assert len({case.name for case in cases}) == len(cases) > 3000


def test_normalize_and_grouping_match_the_recorded_outputs() -> None:
    names: dict[str, list[str]] = {}
    found: dict[str, list[str]] = {}
    for case in build_corpus():  # grouped by base, in corpus order: the file stays small
        names.setdefault(base_name(case.name), []).append(case.name)
        found.setdefault(base_name(case.name), []).append(digest(outcome(case)))
    if UPDATE:
        GOLDEN.write_text(json.dumps({base: " ".join(digests) for base, digests in
                                      found.items()}, indent=0, sort_keys=True) + "\n")
    expected = {base: text.split() for base, text in json.loads(GOLDEN.read_text()).items()}
    assert not UPDATE, "golden file rewritten: review the diff and rerun without the flag"
    assert sorted(expected) == sorted(found)
    changed = [name for base, digests in found.items()
               for name, old, new in zip(names[base], expected[base], digests, strict=True)
               if old != new]
    assert changed == [], f"{len(changed)} outputs changed, e.g. {changed[:10]}"
