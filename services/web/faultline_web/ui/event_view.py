"""What the issue page shows of an event, extracted from its stored JSON (pure).

Templates get plain strings, numbers and lists only, so they stay simple and every value
passes through autoescaping. Exceptions and frames are newest first, as Sentry shows them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faultline_web import eventdata
from faultline_web.eventdata import Pairs, text

MAX_VALUE_CHARS = 20_000


@dataclass(frozen=True)
class SourceLine:
    lineno: int | None
    code: str
    current: bool


@dataclass(frozen=True)
class FrameView:
    location: str
    function: str
    lineno: int | None
    in_app: bool
    source: list[SourceLine]
    variables: Pairs


@dataclass(frozen=True)
class ExceptionView:
    type: str
    value: str
    module: str
    mechanism: str
    handled: str
    frames: list[FrameView]


@dataclass(frozen=True)
class RequestView:
    method: str
    url: str
    query: Pairs
    headers: Pairs
    cookies: Pairs
    body: str
    env: Pairs


@dataclass(frozen=True)
class BreadcrumbView:
    timestamp: str
    category: str
    level: str
    message: str
    data: str


@dataclass(frozen=True)
class EventView:
    event_id: str
    message: str
    exceptions: list[ExceptionView]
    request: RequestView | None
    user: Pairs
    tags: Pairs
    contexts: list[tuple[str, Pairs]]
    breadcrumbs: list[BreadcrumbView]
    details: Pairs
    errors: list[str]


def clip(value: str) -> str:
    """Cap one displayed value, so a huge field cannot make a page unusable."""
    return value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS] + " …"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _lines(value: Any) -> list[str]:
    return [text(line) for line in value] if isinstance(value, list) else []


def source_lines(frame: dict[str, Any]) -> list[SourceLine]:
    """The frame's source context with line numbers (when the frame has a line number)."""
    lineno = _int(frame.get("lineno"))
    pre, post = _lines(frame.get("pre_context")), _lines(frame.get("post_context"))
    context_line = frame.get("context_line")
    if not isinstance(context_line, str):
        return []

    def number(offset: int) -> int | None:
        return lineno + offset if lineno is not None else None

    lines = [SourceLine(number(i - len(pre)), clip(code), False) for i, code in enumerate(pre)]
    lines.append(SourceLine(lineno, clip(context_line), True))
    lines.extend(SourceLine(number(i + 1), clip(code), False) for i, code in enumerate(post))
    return lines


def frame_view(frame: dict[str, Any]) -> FrameView:
    location = text(frame.get("filename") or frame.get("abs_path") or frame.get("module"))
    return FrameView(
        location=clip(location or "<unknown>"),
        function=clip(text(frame.get("function"))),
        lineno=_int(frame.get("lineno")),
        in_app=frame.get("in_app") is True,
        source=source_lines(frame),
        variables=[(key, clip(value)) for key, value in eventdata.pairs(frame.get("vars"))],
    )


def exception_view(exception: dict[str, Any]) -> ExceptionView:
    mechanism = exception.get("mechanism")
    mechanism = mechanism if isinstance(mechanism, dict) else {}
    handled = mechanism.get("handled")
    return ExceptionView(
        type=clip(text(exception.get("type"))),
        value=clip(text(exception.get("value"))),
        module=clip(text(exception.get("module"))),
        mechanism=clip(text(mechanism.get("type"))),
        handled="" if not isinstance(handled, bool) else ("yes" if handled else "no"),
        frames=[frame_view(frame) for frame in reversed(eventdata.frames_of(exception))],
    )


def request_view(request: dict[str, Any]) -> RequestView | None:
    if not request:
        return None
    body = request.get("data")
    body_text = body if isinstance(body, str) else (
        "" if body is None else json.dumps(body, indent=2, ensure_ascii=False, default=str)
    )

    def clipped(found: Pairs) -> Pairs:
        return [(clip(key), clip(value)) for key, value in found]

    return RequestView(
        method=clip(text(request.get("method"))),
        url=clip(text(request.get("url"))),
        query=clipped(eventdata.query_pairs(request.get("query_string"))),
        headers=clipped(eventdata.pairs(request.get("headers"))),
        cookies=clipped(eventdata.cookie_pairs(request.get("cookies"))),
        body=clip(body_text),
        env=clipped(eventdata.pairs(request.get("env"))),
    )


def breadcrumb_time(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return text(value)
        return moment.strftime("%H:%M:%S.%f")[:-3]
    return clip(text(value))


def breadcrumb_view(crumb: dict[str, Any]) -> BreadcrumbView:
    data = crumb.get("data")
    return BreadcrumbView(
        timestamp=breadcrumb_time(crumb.get("timestamp")),
        category=clip(text(crumb.get("category") or crumb.get("type"))),
        level=clip(text(crumb.get("level"))),
        message=clip(text(crumb.get("message"))),
        data=clip(text(data)) if data else "",
    )


def contexts_view(value: Any) -> list[tuple[str, Pairs]]:
    if not isinstance(value, dict):
        return []
    return [
        (clip(str(name)), [(clip(k), clip(v)) for k, v in eventdata.pairs(body)])
        for name, body in value.items()
        if isinstance(body, dict)
    ]


def _details(data: dict[str, Any]) -> Pairs:
    sdk = data.get("sdk")
    sdk_text = ""
    if isinstance(sdk, dict):
        sdk_text = " ".join(text(sdk.get(part)) for part in ("name", "version") if sdk.get(part))
    fields = [
        ("platform", text(data.get("platform"))),
        ("level", text(data.get("level"))),
        ("environment", text(data.get("environment"))),
        ("release", text(data.get("release"))),
        ("server", text(data.get("server_name"))),
        ("transaction", text(data.get("transaction"))),
        ("logger", text(data.get("logger"))),
        ("sdk", sdk_text),
    ]
    return [(name, clip(value)) for name, value in fields if value]


def _errors(data: dict[str, Any]) -> list[str]:
    errors = data.get("errors")
    return [clip(text(error)) for error in errors] if isinstance(errors, list) else []


def event_view(event_id: str, data: dict[str, Any]) -> EventView:
    user = data.get("user")
    return EventView(
        event_id=event_id,
        message=clip(eventdata.message_of(data)),
        exceptions=[exception_view(exc) for exc in reversed(eventdata.exceptions_of(data))],
        request=request_view(eventdata.request_of(data)),
        user=[(clip(k), clip(v)) for k, v in eventdata.pairs(user)] if user else [],
        tags=[(clip(k), clip(v)) for k, v in eventdata.tags_of(data)],
        contexts=contexts_view(data.get("contexts")),
        breadcrumbs=[breadcrumb_view(crumb) for crumb in eventdata.breadcrumbs_of(data)],
        details=_details(data),
        errors=_errors(data),
    )
