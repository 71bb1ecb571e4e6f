"""The unchanged sentry-java SDK (``io.sentry:sentry``) in a small program reports to Faultline.

The program (``java_app/``) is compiled with Maven once per source change into a cache that
survives between runs (``~/.cache/faultline/java``, local Maven repository included), then
run as a subprocess with the DSN as its first argument or in ``SENTRY_DSN``. The SDK gzips
every request body. Set ``FAULTLINE_UPDATE_SDK_FIXTURES=1`` to rewrite the golden envelope in
``tests/fixtures/sdk/java/`` from a fresh capture.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from faultline_core.compression import decompress
from faultline_core.envelope import parse_envelope
from tests.integration.allinone import ROOT, AllInOne
from tests.integration.sdk.capture import capture_server
from tests.integration.sdk.conftest import find_issue, latest_event

APP_SOURCE = Path(__file__).parent / "java_app"
APP_FILES = ("pom.xml", "src/main/java/dev/faultline/sdkapp/App.java")
CACHE = Path.home() / ".cache" / "faultline" / "java"
FIXTURES = ROOT / "tests" / "fixtures" / "sdk" / "java"
BODY_FIXTURE = FIXTURES / "exception.envelope.gz"
REQUEST_FIXTURE = FIXTURES / "exception.request.json"
MAIN_CLASS = "dev.faultline.sdkapp.App"
IN_APP_PACKAGE = "dev.faultline.sdkapp."
CHAIN = ["SocketTimeoutException", "IOException", "IllegalStateException"]
MAX_BODY = 10 * 1024 * 1024


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: install JDK 17+ and Maven to run the Java SDK test")
    return path


def _maven_build(target: Path) -> None:
    """Compile the app and copy its dependencies into ``target``, atomically."""
    staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    for name in APP_FILES:
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(APP_SOURCE / name, staging / name)
    command = [_tool("mvn"), "-q", "-B", "-Dstyle.color=never",
               f"-Dmaven.repo.local={CACHE / 'm2'}", "compile", "dependency:copy-dependencies"]
    try:
        done = subprocess.run(command, cwd=staging, capture_output=True, text=True,
                              timeout=600, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("the Maven build of the Java SDK app took over 600 s: is Maven Central "
                    "reachable from this machine?")
    if done.returncode != 0:
        pytest.fail("the Maven build of the Java SDK app failed (is Maven Central reachable?):\n"
                    f"{(done.stdout + done.stderr)[-3000:]}")
    try:
        staging.rename(target)
    except OSError:  # another session finished the same build first
        shutil.rmtree(staging, ignore_errors=True)


@pytest.fixture(scope="session")
def java_classpath() -> str:
    """The classpath of the built app: its classes plus the sentry jar and its dependencies."""
    _tool("java")
    digest = hashlib.sha256()
    for name in APP_FILES:
        digest.update((APP_SOURCE / name).read_bytes())
    built = CACHE / f"app-{digest.hexdigest()[:16]}"
    if not (built / "target" / "dependency").is_dir():
        _maven_build(built)
    jars = sorted(str(jar) for jar in (built / "target" / "dependency").glob("*.jar"))
    assert any(Path(jar).name.startswith("sentry-") for jar in jars), jars
    return os.pathsep.join([str(built / "target" / "classes"), *jars])


def run_app(classpath: str, marker: str, dsn: str, dsn_in_env: bool = False) -> None:
    """Run the program once; it raises, reports, flushes and exits."""
    args = [marker] if dsn_in_env else [dsn, marker]
    env = {**os.environ, "SENTRY_DSN": dsn} if dsn_in_env else dict(os.environ)
    done = subprocess.run([_tool("java"), "-cp", classpath, MAIN_CLASS, *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def java_issue(aio: AllInOne, java_classpath: str) -> tuple[str, dict[str, Any]]:
    """The issue of one chained error reported by two runs of the program (two events)."""
    marker = f"java-{uuid.uuid4().hex}"
    dsn = aio.bootstrap["dsn"]
    run_app(java_classpath, marker, dsn)
    run_app(java_classpath, marker, dsn, dsn_in_env=True)
    return marker, find_issue(aio, marker, count=2)


def test_same_error_from_two_runs_is_one_issue_counted_twice(
        aio: AllInOne, java_issue: tuple[str, dict[str, Any]]) -> None:
    marker, issue = java_issue
    assert issue["title"] == (
        f"IllegalStateException: java-sdk checkout failed for order 42 {marker}")
    assert issue["culprit"] == "dev.faultline.sdkapp.App$CheckoutService in placeOrder"
    assert issue["level"] == "error" and issue["status"] == "unresolved"
    resp = aio.api("/api/0/projects/default/default/issues/", params={"limit": 100})
    resp.raise_for_status()
    assert [i for i in resp.json() if marker in i["title"]] == [issue]
    assert int(issue["userCount"]) == 1


def test_event_keeps_platform_sdk_and_the_whole_exception_chain(
        aio: AllInOne, java_issue: tuple[str, dict[str, Any]]) -> None:
    marker, issue = java_issue
    event = latest_event(aio, issue["id"])
    assert event["groupID"] == str(issue["id"])
    assert event["platform"] == "java"
    assert event["sdk"]["name"] == "sentry.java"
    assert event["sdk"]["version"].startswith("8.")
    assert event["release"] == "faultline-java-app@1.0.0"
    assert event["environment"] == "sdk-matrix" and event["server_name"] == "java-app-1"
    values = event["exception"]["values"]
    assert [v["type"] for v in values] == CHAIN
    assert [v["module"] for v in values] == ["java.net", "java.io", "java.lang"]
    assert [v["value"] for v in values] == [
        f"java-sdk inventory read timed out {marker}",
        f"java-sdk inventory service unreachable {marker}",
        f"java-sdk checkout failed for order 42 {marker}",
    ]
    # The SDK links each cause to the exception it caused: 0 is the one thrown last.
    assert [v["mechanism"]["type"] for v in values] == ["chained"] * 3
    assert [v["mechanism"]["exception_id"] for v in values] == [2, 1, 0]
    assert [v["mechanism"].get("parent_id") for v in values] == [1, 0, None]


def test_frames_carry_in_app_flags_from_the_configured_package(
        aio: AllInOne, java_issue: tuple[str, dict[str, Any]]) -> None:
    _, issue = java_issue
    event = latest_event(aio, issue["id"])
    root_cause = event["exception"]["values"][0]
    frames = root_cause["stacktrace"]["frames"]
    assert [f["function"] for f in frames] == [
        "main", "ifPresent", "placeOrder", "reserveStock", "readInventory"]
    assert all(f["filename"] == "App.java" and f["lineno"] > 0
               for f in frames if f["module"].startswith(IN_APP_PACKAGE))
    in_app = [f["module"] for f in frames if f.get("in_app")]
    assert in_app and all(m.startswith(IN_APP_PACKAGE) for m in in_app)
    jdk = [f for f in frames if f["module"] == "java.util.Optional"]
    assert len(jdk) == 1 and not jdk[0].get("in_app")
    outermost = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert outermost[-1]["function"] == "placeOrder" and outermost[-1]["in_app"] is True


def test_event_keeps_user_tags_contexts_and_breadcrumbs(
        aio: AllInOne, java_issue: tuple[str, dict[str, Any]]) -> None:
    _, issue = java_issue
    event = latest_event(aio, issue["id"])
    assert event["user"]["id"] == "java-user-7"
    assert event["user"]["email"] == "grace@example.com"
    assert event["user"]["username"] == "grace"
    tags = {tag["key"]: tag["value"] for tag in event["tags"]}
    assert tags["sdk_matrix"] == "java" and tags["checkout.step"] == "payment"
    assert tags["user"] == "id:java-user-7"
    runtime = event["contexts"]["runtime"]
    assert runtime["version"].split(".")[0].isdigit() and runtime["name"]
    assert tags["runtime.name"] == runtime["name"]
    crumbs = event["breadcrumbs"]["values"]
    assert [(c["category"], c["message"]) for c in crumbs] == [
        ("ui.click", "cart opened"), ("inventory", "reserving stock for order 42")]
    assert crumbs[0]["level"] == "info" and crumbs[0]["data"] == {"cart_id": "c-42"}


def _shape(body: bytes) -> dict[str, Any]:
    """What must not drift between the committed fixture and a fresh capture."""
    envelope = parse_envelope(decompress(body, "gzip", MAX_BODY))
    event = json.loads(envelope.items[0].payload)
    return {"sdk": envelope.headers["sdk"]["name"],
            "items": [item.type for item in envelope.items],
            "keys": sorted(event), "platform": event["platform"],
            "exceptions": [v["type"] for v in event["exception"]["values"]],
            "contexts": sorted(event["contexts"]), "user": sorted(event["user"])}


def test_golden_envelope_matches_what_the_sdk_sends(java_classpath: str) -> None:
    with capture_server() as server:
        run_app(java_classpath, "golden", server.dsn())
    captured = server.requests
    assert len(captured) == 1, [r.path for r in captured]
    request = captured[0]
    assert request.path == "/api/42/envelope/"
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["content-type"] == "application/x-sentry-envelope"
    assert "sentry_key=0123456789abcdef0123456789abcdef" in request.headers["x-sentry-auth"]
    if os.environ.get("FAULTLINE_UPDATE_SDK_FIXTURES") == "1":
        FIXTURES.mkdir(parents=True, exist_ok=True)
        BODY_FIXTURE.write_bytes(request.body)
        kept = ("content-encoding", "content-type", "user-agent", "x-sentry-auth")
        REQUEST_FIXTURE.write_text(json.dumps(
            {"method": "POST", "path": request.path,
             "headers": {name: request.headers[name] for name in kept}}, indent=2) + "\n")
    assert _shape(request.body) == _shape(BODY_FIXTURE.read_bytes()), (
        "sentry-java now sends a differently shaped event: rerun this test with "
        "FAULTLINE_UPDATE_SDK_FIXTURES=1 and review the fixture diff")
