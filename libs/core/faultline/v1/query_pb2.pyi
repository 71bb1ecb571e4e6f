import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IssueStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ISSUE_STATUS_UNSPECIFIED: _ClassVar[IssueStatus]
    ISSUE_STATUS_UNRESOLVED: _ClassVar[IssueStatus]
    ISSUE_STATUS_RESOLVED: _ClassVar[IssueStatus]
    ISSUE_STATUS_IGNORED: _ClassVar[IssueStatus]

class IssueSort(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ISSUE_SORT_UNSPECIFIED: _ClassVar[IssueSort]
    ISSUE_SORT_LAST_SEEN: _ClassVar[IssueSort]
    ISSUE_SORT_FIRST_SEEN: _ClassVar[IssueSort]
    ISSUE_SORT_COUNT: _ClassVar[IssueSort]
    ISSUE_SORT_USERS: _ClassVar[IssueSort]

class VolumeRange(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOLUME_RANGE_UNSPECIFIED: _ClassVar[VolumeRange]
    VOLUME_RANGE_24H: _ClassVar[VolumeRange]
    VOLUME_RANGE_14D: _ClassVar[VolumeRange]

class VolumeInterval(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOLUME_INTERVAL_UNSPECIFIED: _ClassVar[VolumeInterval]
    VOLUME_INTERVAL_HOUR: _ClassVar[VolumeInterval]
    VOLUME_INTERVAL_DAY: _ClassVar[VolumeInterval]
ISSUE_STATUS_UNSPECIFIED: IssueStatus
ISSUE_STATUS_UNRESOLVED: IssueStatus
ISSUE_STATUS_RESOLVED: IssueStatus
ISSUE_STATUS_IGNORED: IssueStatus
ISSUE_SORT_UNSPECIFIED: IssueSort
ISSUE_SORT_LAST_SEEN: IssueSort
ISSUE_SORT_FIRST_SEEN: IssueSort
ISSUE_SORT_COUNT: IssueSort
ISSUE_SORT_USERS: IssueSort
VOLUME_RANGE_UNSPECIFIED: VolumeRange
VOLUME_RANGE_24H: VolumeRange
VOLUME_RANGE_14D: VolumeRange
VOLUME_INTERVAL_UNSPECIFIED: VolumeInterval
VOLUME_INTERVAL_HOUR: VolumeInterval
VOLUME_INTERVAL_DAY: VolumeInterval

class Issue(_message.Message):
    __slots__ = ("id", "project_id", "title", "culprit", "level", "status", "count", "user_count", "first_seen", "last_seen", "platform", "type", "metadata_json", "substatus", "status_details_json", "assignee_user_id", "assignee_email", "users_seen", "environments", "releases")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CULPRIT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    USER_COUNT_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    SUBSTATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_EMAIL_FIELD_NUMBER: _ClassVar[int]
    USERS_SEEN_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    RELEASES_FIELD_NUMBER: _ClassVar[int]
    id: int
    project_id: int
    title: str
    culprit: str
    level: str
    status: IssueStatus
    count: int
    user_count: int
    first_seen: _timestamp_pb2.Timestamp
    last_seen: _timestamp_pb2.Timestamp
    platform: str
    type: str
    metadata_json: str
    substatus: str
    status_details_json: str
    assignee_user_id: int
    assignee_email: str
    users_seen: int
    environments: _containers.RepeatedCompositeFieldContainer[IssueSeenIn]
    releases: _containers.RepeatedCompositeFieldContainer[IssueSeenIn]
    def __init__(self, id: _Optional[int] = ..., project_id: _Optional[int] = ..., title: _Optional[str] = ..., culprit: _Optional[str] = ..., level: _Optional[str] = ..., status: _Optional[_Union[IssueStatus, str]] = ..., count: _Optional[int] = ..., user_count: _Optional[int] = ..., first_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., platform: _Optional[str] = ..., type: _Optional[str] = ..., metadata_json: _Optional[str] = ..., substatus: _Optional[str] = ..., status_details_json: _Optional[str] = ..., assignee_user_id: _Optional[int] = ..., assignee_email: _Optional[str] = ..., users_seen: _Optional[int] = ..., environments: _Optional[_Iterable[_Union[IssueSeenIn, _Mapping]]] = ..., releases: _Optional[_Iterable[_Union[IssueSeenIn, _Mapping]]] = ...) -> None: ...

class IssueSeenIn(_message.Message):
    __slots__ = ("name", "first_seen", "last_seen", "times_seen")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    TIMES_SEEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    first_seen: _timestamp_pb2.Timestamp
    last_seen: _timestamp_pb2.Timestamp
    times_seen: int
    def __init__(self, name: _Optional[str] = ..., first_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., times_seen: _Optional[int] = ...) -> None: ...

class ListIssuesRequest(_message.Message):
    __slots__ = ("project_id", "status", "sort", "limit", "cursor", "query")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SORT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    project_id: int
    status: IssueStatus
    sort: IssueSort
    limit: int
    cursor: str
    query: str
    def __init__(self, project_id: _Optional[int] = ..., status: _Optional[_Union[IssueStatus, str]] = ..., sort: _Optional[_Union[IssueSort, str]] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ..., query: _Optional[str] = ...) -> None: ...

class ListIssuesResponse(_message.Message):
    __slots__ = ("issues", "next_cursor")
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    issues: _containers.RepeatedCompositeFieldContainer[Issue]
    next_cursor: str
    def __init__(self, issues: _Optional[_Iterable[_Union[Issue, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class GetIssueRequest(_message.Message):
    __slots__ = ("project_id", "issue_id")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: int
    issue_id: int
    def __init__(self, project_id: _Optional[int] = ..., issue_id: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("event_id", "project_id", "issue_id", "timestamp", "data_json")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    project_id: int
    issue_id: int
    timestamp: _timestamp_pb2.Timestamp
    data_json: str
    def __init__(self, event_id: _Optional[str] = ..., project_id: _Optional[int] = ..., issue_id: _Optional[int] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., data_json: _Optional[str] = ...) -> None: ...

class GetEventRequest(_message.Message):
    __slots__ = ("project_id", "event_id")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: int
    event_id: str
    def __init__(self, project_id: _Optional[int] = ..., event_id: _Optional[str] = ...) -> None: ...

class LatestEventRequest(_message.Message):
    __slots__ = ("project_id", "issue_id")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: int
    issue_id: int
    def __init__(self, project_id: _Optional[int] = ..., issue_id: _Optional[int] = ...) -> None: ...

class EventVolumeRequest(_message.Message):
    __slots__ = ("project_id", "issue_id", "range", "interval")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_ID_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    project_id: int
    issue_id: int
    range: VolumeRange
    interval: VolumeInterval
    def __init__(self, project_id: _Optional[int] = ..., issue_id: _Optional[int] = ..., range: _Optional[_Union[VolumeRange, str]] = ..., interval: _Optional[_Union[VolumeInterval, str]] = ...) -> None: ...

class VolumeBucket(_message.Message):
    __slots__ = ("start", "count")
    START_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    count: int
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., count: _Optional[int] = ...) -> None: ...

class EventVolumeResponse(_message.Message):
    __slots__ = ("buckets",)
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    buckets: _containers.RepeatedCompositeFieldContainer[VolumeBucket]
    def __init__(self, buckets: _Optional[_Iterable[_Union[VolumeBucket, _Mapping]]] = ...) -> None: ...

class TagBreakdownRequest(_message.Message):
    __slots__ = ("project_id", "issue_id", "keys", "top_n")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_ID_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    TOP_N_FIELD_NUMBER: _ClassVar[int]
    project_id: int
    issue_id: int
    keys: _containers.RepeatedScalarFieldContainer[str]
    top_n: int
    def __init__(self, project_id: _Optional[int] = ..., issue_id: _Optional[int] = ..., keys: _Optional[_Iterable[str]] = ..., top_n: _Optional[int] = ...) -> None: ...

class TagValue(_message.Message):
    __slots__ = ("value", "count", "first_seen", "last_seen")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    value: str
    count: int
    first_seen: _timestamp_pb2.Timestamp
    last_seen: _timestamp_pb2.Timestamp
    def __init__(self, value: _Optional[str] = ..., count: _Optional[int] = ..., first_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TagKeyBreakdown(_message.Message):
    __slots__ = ("key", "total", "unique_values", "top_values")
    KEY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_VALUES_FIELD_NUMBER: _ClassVar[int]
    TOP_VALUES_FIELD_NUMBER: _ClassVar[int]
    key: str
    total: int
    unique_values: int
    top_values: _containers.RepeatedCompositeFieldContainer[TagValue]
    def __init__(self, key: _Optional[str] = ..., total: _Optional[int] = ..., unique_values: _Optional[int] = ..., top_values: _Optional[_Iterable[_Union[TagValue, _Mapping]]] = ...) -> None: ...

class TagBreakdownResponse(_message.Message):
    __slots__ = ("tags",)
    TAGS_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.RepeatedCompositeFieldContainer[TagKeyBreakdown]
    def __init__(self, tags: _Optional[_Iterable[_Union[TagKeyBreakdown, _Mapping]]] = ...) -> None: ...

class LogAttributeFilter(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class SearchLogsRequest(_message.Message):
    __slots__ = ("project_id", "query", "levels", "attributes", "period_seconds", "start", "end", "limit", "cursor")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    PERIOD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    project_id: int
    query: str
    levels: _containers.RepeatedScalarFieldContainer[str]
    attributes: _containers.RepeatedCompositeFieldContainer[LogAttributeFilter]
    period_seconds: int
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    limit: int
    cursor: str
    def __init__(self, project_id: _Optional[int] = ..., query: _Optional[str] = ..., levels: _Optional[_Iterable[str]] = ..., attributes: _Optional[_Iterable[_Union[LogAttributeFilter, _Mapping]]] = ..., period_seconds: _Optional[int] = ..., start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., limit: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class LogAttribute(_message.Message):
    __slots__ = ("key", "value", "type")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    type: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ..., type: _Optional[str] = ...) -> None: ...

class LogRow(_message.Message):
    __slots__ = ("log_id", "timestamp", "level", "severity_number", "body", "trace_id", "span_id", "release", "environment", "template", "attributes")
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    SPAN_ID_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    log_id: str
    timestamp: _timestamp_pb2.Timestamp
    level: str
    severity_number: int
    body: str
    trace_id: str
    span_id: str
    release: str
    environment: str
    template: str
    attributes: _containers.RepeatedCompositeFieldContainer[LogAttribute]
    def __init__(self, log_id: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., level: _Optional[str] = ..., severity_number: _Optional[int] = ..., body: _Optional[str] = ..., trace_id: _Optional[str] = ..., span_id: _Optional[str] = ..., release: _Optional[str] = ..., environment: _Optional[str] = ..., template: _Optional[str] = ..., attributes: _Optional[_Iterable[_Union[LogAttribute, _Mapping]]] = ...) -> None: ...

class SearchLogsResponse(_message.Message):
    __slots__ = ("rows", "next_cursor")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[LogRow]
    next_cursor: str
    def __init__(self, rows: _Optional[_Iterable[_Union[LogRow, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class StatusDetails(_message.Message):
    __slots__ = ("in_next_release", "in_release", "ignore_duration_minutes", "ignore_count", "ignore_user_count", "ignore_until")
    IN_NEXT_RELEASE_FIELD_NUMBER: _ClassVar[int]
    IN_RELEASE_FIELD_NUMBER: _ClassVar[int]
    IGNORE_DURATION_MINUTES_FIELD_NUMBER: _ClassVar[int]
    IGNORE_COUNT_FIELD_NUMBER: _ClassVar[int]
    IGNORE_USER_COUNT_FIELD_NUMBER: _ClassVar[int]
    IGNORE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    in_next_release: bool
    in_release: str
    ignore_duration_minutes: int
    ignore_count: int
    ignore_user_count: int
    ignore_until: _timestamp_pb2.Timestamp
    def __init__(self, in_next_release: _Optional[bool] = ..., in_release: _Optional[str] = ..., ignore_duration_minutes: _Optional[int] = ..., ignore_count: _Optional[int] = ..., ignore_user_count: _Optional[int] = ..., ignore_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpdateIssuesRequest(_message.Message):
    __slots__ = ("project_id", "issue_ids", "status", "status_details", "set_assignee", "assignee_user_id", "acting_user_id")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_IDS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_DETAILS_FIELD_NUMBER: _ClassVar[int]
    SET_ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTING_USER_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: int
    issue_ids: _containers.RepeatedScalarFieldContainer[int]
    status: IssueStatus
    status_details: StatusDetails
    set_assignee: bool
    assignee_user_id: int
    acting_user_id: int
    def __init__(self, project_id: _Optional[int] = ..., issue_ids: _Optional[_Iterable[int]] = ..., status: _Optional[_Union[IssueStatus, str]] = ..., status_details: _Optional[_Union[StatusDetails, _Mapping]] = ..., set_assignee: _Optional[bool] = ..., assignee_user_id: _Optional[int] = ..., acting_user_id: _Optional[int] = ...) -> None: ...

class UpdateIssuesResponse(_message.Message):
    __slots__ = ("issue_ids", "status", "status_details_json", "assignee_user_id", "assignee_email", "substatus")
    ISSUE_IDS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_USER_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_EMAIL_FIELD_NUMBER: _ClassVar[int]
    SUBSTATUS_FIELD_NUMBER: _ClassVar[int]
    issue_ids: _containers.RepeatedScalarFieldContainer[int]
    status: IssueStatus
    status_details_json: str
    assignee_user_id: int
    assignee_email: str
    substatus: str
    def __init__(self, issue_ids: _Optional[_Iterable[int]] = ..., status: _Optional[_Union[IssueStatus, str]] = ..., status_details_json: _Optional[str] = ..., assignee_user_id: _Optional[int] = ..., assignee_email: _Optional[str] = ..., substatus: _Optional[str] = ...) -> None: ...

class MergeIssuesRequest(_message.Message):
    __slots__ = ("project_id", "issue_ids", "acting_user_id")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_IDS_FIELD_NUMBER: _ClassVar[int]
    ACTING_USER_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: int
    issue_ids: _containers.RepeatedScalarFieldContainer[int]
    acting_user_id: int
    def __init__(self, project_id: _Optional[int] = ..., issue_ids: _Optional[_Iterable[int]] = ..., acting_user_id: _Optional[int] = ...) -> None: ...

class MergeIssuesResponse(_message.Message):
    __slots__ = ("parent_id", "child_ids")
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHILD_IDS_FIELD_NUMBER: _ClassVar[int]
    parent_id: int
    child_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, parent_id: _Optional[int] = ..., child_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class UnmergeHashesRequest(_message.Message):
    __slots__ = ("project_id", "issue_id", "hashes", "acting_user_id")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_ID_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    ACTING_USER_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: int
    issue_id: int
    hashes: _containers.RepeatedScalarFieldContainer[str]
    acting_user_id: int
    def __init__(self, project_id: _Optional[int] = ..., issue_id: _Optional[int] = ..., hashes: _Optional[_Iterable[str]] = ..., acting_user_id: _Optional[int] = ...) -> None: ...

class UnmergeHashesResponse(_message.Message):
    __slots__ = ("source_id", "destination_id")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    source_id: int
    destination_id: int
    def __init__(self, source_id: _Optional[int] = ..., destination_id: _Optional[int] = ...) -> None: ...

class ListHashesRequest(_message.Message):
    __slots__ = ("project_id", "issue_id")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: int
    issue_id: int
    def __init__(self, project_id: _Optional[int] = ..., issue_id: _Optional[int] = ...) -> None: ...

class GroupHash(_message.Message):
    __slots__ = ("hash", "latest_event_id", "event_count")
    HASH_FIELD_NUMBER: _ClassVar[int]
    LATEST_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    hash: str
    latest_event_id: str
    event_count: int
    def __init__(self, hash: _Optional[str] = ..., latest_event_id: _Optional[str] = ..., event_count: _Optional[int] = ...) -> None: ...

class ListHashesResponse(_message.Message):
    __slots__ = ("hashes",)
    HASHES_FIELD_NUMBER: _ClassVar[int]
    hashes: _containers.RepeatedCompositeFieldContainer[GroupHash]
    def __init__(self, hashes: _Optional[_Iterable[_Union[GroupHash, _Mapping]]] = ...) -> None: ...

class AddCommentRequest(_message.Message):
    __slots__ = ("project_id", "issue_id", "text", "acting_user_id")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ACTING_USER_ID_FIELD_NUMBER: _ClassVar[int]
    project_id: int
    issue_id: int
    text: str
    acting_user_id: int
    def __init__(self, project_id: _Optional[int] = ..., issue_id: _Optional[int] = ..., text: _Optional[str] = ..., acting_user_id: _Optional[int] = ...) -> None: ...

class Activity(_message.Message):
    __slots__ = ("id", "issue_id", "type", "data_json", "user_id", "user_email", "created")
    ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    id: int
    issue_id: int
    type: str
    data_json: str
    user_id: int
    user_email: str
    created: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., issue_id: _Optional[int] = ..., type: _Optional[str] = ..., data_json: _Optional[str] = ..., user_id: _Optional[int] = ..., user_email: _Optional[str] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListActivityRequest(_message.Message):
    __slots__ = ("project_id", "issue_id", "limit")
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    project_id: int
    issue_id: int
    limit: int
    def __init__(self, project_id: _Optional[int] = ..., issue_id: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListActivityResponse(_message.Message):
    __slots__ = ("activities",)
    ACTIVITIES_FIELD_NUMBER: _ClassVar[int]
    activities: _containers.RepeatedCompositeFieldContainer[Activity]
    def __init__(self, activities: _Optional[_Iterable[_Union[Activity, _Mapping]]] = ...) -> None: ...
