"""``sentry-cli send-event`` (the binary from the PyPI package ``sentry-cli``) reporting a
failed deploy to the all-in-one, as a deploy script would."""

from __future__ import annotations

import uuid

from tests.integration.allinone import AllInOne
from tests.integration.sdk.conftest import find_issue, latest_event
from tests.integration.sdk.python_apps.runner import require_tools, send_cli_event


def test_send_event_message_is_formatted_and_grouped(aio: AllInOne) -> None:
    require_tools()
    token = "run" + uuid.uuid4().hex[:12]
    for _ in range(2):
        done = send_cli_event(aio.bootstrap["dsn"], token)
        assert b"Event dispatched" in done.stdout + done.stderr
    # The event carries only the template and its argument; Faultline formats it.
    issue = find_issue(aio, f"Deploy of prod failed in run {token}", count=2)
    assert issue["title"] == f"Deploy of prod failed in run {token}"
    assert issue["level"] == "error"

    event = latest_event(aio, issue["id"])
    assert event["platform"] == "native"
    assert event["sdk"]["name"] == "sentry-cli"
    assert event["logentry"] == {
        "message": f"Deploy of %s failed in run {token}",
        "params": ["prod"],
        "formatted": f"Deploy of prod failed in run {token}",
    }
    messages = [e["data"]["formatted"] for e in event["entries"] if e["type"] == "message"]
    assert messages == [f"Deploy of prod failed in run {token}"]
    assert event["release"] == "deploy@5.0.0" and event["environment"] == "sdk-matrix"
    assert event["user"]["id"] == "deployer-1"
    assert event["user"]["ip_address"] == "127.0.0.1"  # "{{auto}}": the sender's address
    tags = {t["key"]: t["value"] for t in event["tags"]}
    assert tags["stage"] == "rollout" and tags["os.name"] == event["contexts"]["os"]["name"]
    assert event["contexts"]["rust"]["type"] == "runtime"
    assert "PATH" in event["extra"]["environ"]  # sentry-cli sends its environment
