"""Check or regenerate the golden grouping fixtures in tests/fixtures/grouping/.

    .venv/bin/python scripts/update_grouping_fixtures.py                  # report drift
    .venv/bin/python scripts/update_grouping_fixtures.py --update-golden  # rewrite

Each fixture is ``{"description", "event", "expected": {"hashes", "components"}}``. The
expected values are computed with exactly the code path the test uses. Regenerating is
not reviewing: read the new components of every changed fixture and check they are what
the grouping rules say before committing. A change to an existing fixture's hashes
means released grouping changed, which splits existing issues: add a new config instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "libs" / "core")]

from tests.unit.test_grouping import (  # noqa: E402  (needs the path set up above)
    FIXTURES_DIR,
    group_fixture_event,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update-golden", action="store_true", help="rewrite expected values")
    args = parser.parse_args(argv)
    drifted = 0
    for path in sorted(FIXTURES_DIR.glob("*.json")):
        fixture = json.loads(path.read_text())
        result = group_fixture_event(fixture["event"])
        expected = {"hashes": result.hashes, "components": result.components}
        if fixture.get("expected") == expected:
            print(f"ok       {path.name}")
            continue
        drifted += 1
        print(f"changed  {path.name}")
        for component in result.components:
            print(f"           {component}")
        if args.update_golden:
            fixture["expected"] = expected
            path.write_text(json.dumps(fixture, indent=2, ensure_ascii=False) + "\n")
    if drifted and not args.update_golden:
        print(f"{drifted} fixture(s) differ; rerun with --update-golden after reviewing")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
