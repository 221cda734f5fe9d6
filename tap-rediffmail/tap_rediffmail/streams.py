"""Streams: ``report_windows`` calls the API once per window and carries the
bookmark; the two reports are its children and take their rows from that call."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import msgspec
import requests
from mailtaps_common.keys import KeyedRecords
from mailtaps_common.progress import Progress
from mailtaps_common.selection import WholeRecords
from mailtaps_common.text import StorableText, may_hold_unstorable
from singer_sdk import Stream
from singer_sdk import typing as th
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import Metadata, MetadataMapping
from typing_extensions import override

from tap_rediffmail.client import (
    RediffMailStream,
    Window,
    WindowPaginator,
    WindowPlanner,
    iso_utc,
    key_cell,
    parse_utc,
    read_row,
)

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

WINDOW_BOUNDS = (
    th.Property("domain", th.StringType, required=True),
    th.Property("window_start", th.DateTimeType, required=True,
                description="Start of the window the row was read in (inclusive)."),
    th.Property("window_end", th.DateTimeType, required=True,
                description="End of that window (exclusive)."),
)  # fmt: skip

EXTRA = th.Property(
    "extra",
    th.ObjectType(additional_properties=True),
    description="Fields the API sent that the schema does not declare, or values of a "
    "declared field with an unexpected type, verbatim.",
)


class ReportWindowsStream(RediffMailStream):
    """One record per fully read window: the audit trail of the sync and its bookmark."""

    name = "report_windows"
    primary_keys = ("domain", "window_start", "window_end")
    replication_key = "window_end"
    is_sorted = True
    STATE_MSG_FREQUENCY = 1  # a STATE after every window: a crash costs one window at most

    schema = th.PropertiesList(
        *WINDOW_BOUNDS,
        th.Property("outbound_count", th.IntegerType, required=True),
        th.Property("activity_count", th.IntegerType, required=True),
    ).to_dict()

    @property
    @override
    def metadata(self) -> MetadataMapping:
        """The stream and its fields are ``inclusion: automatic``: a catalog cannot
        deselect them, since the bookmark (``window_end``) lives here."""
        metadata = super().metadata
        for entry in metadata.values():
            entry.inclusion = Metadata.InclusionType.AUTOMATIC
        return metadata

    def horizon(self) -> int:
        """Newest instant any window may reach: now minus lag, or end_date if earlier."""
        lag = timedelta(minutes=int(self.config["lag_minutes"]))
        horizon = int((datetime.now(UTC) - lag).timestamp()) // 60 * 60
        if self.config.get("end_date"):
            horizon = min(horizon, int(parse_utc(self.config["end_date"]).timestamp()))
        return horizon

    def plan_windows(self) -> WindowPlanner:
        start_at = self.get_starting_timestamp(None)
        assert start_at is not None  # start_date is required
        start = int(start_at.timestamp())
        levels = self.stream_state.get("window_levels", {})
        return WindowPlanner(
            start=start,
            horizon=self.horizon(),
            window_seconds=int(self.config["window_minutes"]) * 60,
            max_rows=int(self.config["max_rows_per_window"]),
            row_cap=self.config.get("row_cap"),
            level=int(levels.get(str(start), 0)),
        )

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        self.planner = self.plan_windows()
        if self.planner.current is None:
            self.logger.info("Nothing to read yet: the next window is not older than the lag")
            return
        self.progress = Progress(self.logger, self.name)
        for count, record in enumerate(super().get_records(context), 1):
            yield record
            if count == self.ABORT_AT_RECORD_COUNT:  # --test: stop before the next call
                return
        self.progress.done()

    @override
    def get_new_paginator(self) -> WindowPaginator:
        return WindowPaginator(self.planner)

    @override
    def parse_response(self, response: requests.Response) -> Iterator[dict[str, Any]]:
        window = self.planner.current
        assert window is not None
        reports = self.reports_of(response)
        counts = {name: len(rows) for name, rows in reports.items()}
        if not self.planner.accept(counts):
            self.logger.warning(
                "Window %s..%s reached row_cap=%s (%s): reading it again in smaller windows",
                iso_utc(window.start), iso_utc(window.end), self.planner.row_cap, counts,
            )  # fmt: skip
            return
        # The level for the window after this one, keyed by where it starts, next to
        # the level this one was read with: a resume from either bookmark plans the
        # same windows as an uninterrupted run.
        levels = self.stream_state.get("window_levels", {})
        self.stream_state["window_levels"] = {
            str(window.start): levels.get(str(window.start), 0),
            str(window.end): self.planner.level,
        }
        # Likewise the occurrence counts of rows without a timestamp: the children
        # add the counts after this window under its end.
        previous = self.stream_state.get("key_counts", {})
        key_counts = {k: v for k, v in previous.items() if k == str(window.start)}
        self.stream_state["key_counts"] = key_counts
        following = self.planner.current
        # Not in the SDK's dry run (a record limit): it may stop after this window.
        if following is not None and self.ABORT_AT_RECORD_COUNT is None:
            self.call_ahead(following)
        suspect = may_hold_unstorable(response.content)
        for child in self.child_streams:
            assert isinstance(child, ReportStream)  # the children are the two reports
            child.hand_over(window, reports[child.name], key_counts, suspect=suspect)
        self.logger.info(
            "Read window %s..%s: %s", iso_utc(window.start), iso_utc(window.end), counts
        )
        self.progress.step(sum(counts.values()), iso_utc(window.start), iso_utc(window.end))
        yield {
            "domain": self.config["domain"],
            "window_start": iso_utc(window.start),
            "window_end": iso_utc(window.end),
            "outbound_count": counts["outbound_mail_delivery_report"],
            "activity_count": counts["activity_report"],
        }

    @override
    def generate_child_contexts(
        self, record: dict[str, Any], context: Context | None
    ) -> Iterable[dict[str, Any]]:
        yield {"window_start": record["window_start"], "window_end": record["window_end"]}


class ReportStream(KeyedRecords, StorableText, WholeRecords, Stream):
    """A report's rows from the window its parent just read."""

    parent_stream_type = ReportWindowsStream
    state_partitioning_keys: list[str] = []
    primary_keys = ("record_key",)
    # to_record already types every value; the SDK's per-value pass costs a quarter
    # of the run time.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    declared: dict[str, str]  # field name -> "string" | "integer" | "names"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._window: Window | None = None
        self._rows: list[Any] = []
        self._suspect = False
        self._key_counts: dict[str, Any] = {}
        self._warned_outside = False

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.config["timezone"])

    def hand_over(
        self, window: Window, rows: list[Any], key_counts: dict[str, Any], *, suspect: bool
    ) -> None:
        """The rows of ``window`` (see ``reports_of``); ``suspect``: whether the answer
        may hold text a target cannot store."""
        self._window, self._rows, self._key_counts = window, rows, key_counts
        self._suspect = suspect

    def untimed_counts(self, window: Window) -> dict[str, int]:
        """Occurrences so far in this window's UTC day of each row without a
        timestamp (by a digest of its fields), as of the window's start.

        They live in the parent's state under the boundary they are valid at, next
        to the bookmark, the way the window levels do: a run resumed from either
        boundary of this window continues the count from the right place.
        """
        at_start = {} if window.start == key_cell(window.start) else self._key_counts
        counts = dict(at_start.get(str(window.start), {}).get(self.name, {}))
        if window.end != key_cell(window.end):  # the day goes on after this window
            self._key_counts.setdefault(str(window.end), {})[self.name] = counts
        return counts

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Keys: a hash of the row's declared fields (as typed, so the same value
        gives the same key however the API wrote it) and its occurrence number
        among identical rows. Rows with a time are placed by that second, which no
        window splits; rows without one by their UTC day, counted across the windows
        of the day. Either way the key does not depend on the window plan."""
        window, rows = self._window, self._rows
        self._rows = []
        assert window is not None
        bounds = {
            "domain": self.config["domain"],
            "window_start": iso_utc(window.start),
            "window_end": iso_utc(window.end),
        }
        utc_times: dict[str, str | None] = {}  # many rows share a second (fan-out)
        timed_counts: dict[bytes, int] = {}
        untimed_counts = self.untimed_counts(window)
        outside = 0
        # The key's hash begins with the domain, the report and the scope (empty for rows
        # with a time, the UTC day for rows without), the same for every row of a window.
        prefix = f"{bounds['domain']}\x1f{self.name}\x1f"
        timed_key = hashlib.sha256(f"{prefix}\x1f".encode())
        untimed_key = hashlib.sha256(f"{prefix}{key_cell(window.start)}\x1f".encode())
        for item in rows:  # each row parsed, typed and emitted before the next
            row = self.storable(read_row(item), suspect=self._suspect)
            record, fields = self.to_record(row, bounds, utc_times)
            identity = canonical_json(fields)
            if record.get("date_time_utc"):
                if not record["window_start"] <= record["date_time_utc"] < record["window_end"]:
                    outside += 1
                occurrence = timed_counts.get(identity, 0)
                timed_counts[identity] = occurrence + 1
                key = timed_key.copy()
            else:
                counter = hashlib.sha256(identity).hexdigest()[:16]
                occurrence = untimed_counts.get(counter, 0)
                untimed_counts[counter] = occurrence + 1
                key = untimed_key.copy()
            key.update(identity)
            key.update(b"\x1f%d" % occurrence)
            record["record_key"] = key.hexdigest()[:32]
            yield record
        if outside and not self._warned_outside:
            self._warned_outside = True
            self.logger.warning(
                "%d %s rows of window %s..%s have a date_time outside the window once read "
                "as %s: check the 'timezone' setting",
                outside, self.name, iso_utc(window.start), iso_utc(window.end), self.zone.key,
            )  # fmt: skip

    def to_record(
        self, row: dict[str, Any], bounds: dict[str, str], utc_times: dict[str, str | None]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The row typed as the schema says (what does not fit goes to ``extra``), and
        its declared fields as the key reads them: typed, or verbatim where they did
        not fit."""
        record: dict[str, Any] = dict(bounds)
        fields: dict[str, Any] = dict(self.unset_fields)
        extra: dict[str, Any] = {}
        for name, value in row.items():
            kind = self.declared.get(name)
            if kind is None:
                extra[name] = value
                continue
            typed: Any
            if value is None:
                typed = [] if kind == "names" else None
            elif kind == "integer":
                typed = _as_int(value)
            elif kind == "names":
                typed = _as_names(value)
            else:
                typed = value if isinstance(value, str) else json.dumps(value)
            record[name] = typed
            if typed is None and value is not None:
                extra[name] = fields[name] = value
            else:
                fields[name] = typed
        text = record.get("date_time")
        if isinstance(text, str):
            if text not in utc_times:
                utc_times[text] = self.utc_time(text)
            record["date_time_utc"] = utc_times[text]
        record["extra"] = extra or None
        return record, fields

    @cached_property
    def unset_fields(self) -> dict[str, None]:
        """Every declared field, as the key reads one the row does not have."""
        return dict.fromkeys(self.declared)

    def utc_time(self, text: str) -> str | None:
        try:
            local = datetime.fromisoformat(text.strip())  # "YYYY-MM-DD HH:MM:SS"
        except ValueError:
            return None
        if local.tzinfo is None:
            local = local.replace(tzinfo=self.zone)
        return local.astimezone(UTC).isoformat()


# Keys sorted, no spaces, UTF-8: the same row always gives the same bytes.
canonical_json = msgspec.json.Encoder(order="sorted").encode


def _as_names(value: Any) -> list[str] | None:
    """File names however the API lists them: a list, one comma-joined string, or
    nothing (null, "" or []: no attachment). None when it is none of these."""
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        return value
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


KEY_AND_TIME = (
    th.Property("record_key", th.StringType, required=True,
                description="Synthetic key: the same event synced again gets the same key; "
                "identical rows in one window get one key each."),
    th.Property("date_time", th.StringType,
                description="As the API sent it: naive, in the configured timezone."),
    th.Property("date_time_utc", th.DateTimeType),
)  # fmt: skip


class OutboundMailDeliveryReportStream(ReportStream):
    """Delivery details of outbound mail, one row per recipient."""

    name = "outbound_mail_delivery_report"
    declared = {
        "date_time": "string", "from_address": "string", "return_path": "string",
        "recipient": "string", "service": "string", "subject": "string", "sender_ip": "string",
        "rcpt_to_count": "integer", "rcpt_cc_count": "integer", "rcpt_bcc_count": "integer",
        "mail_size_bytes": "integer", "attachment_names": "names",
        "status": "string", "status_code": "integer",
    }  # fmt: skip
    schema = th.PropertiesList(
        *KEY_AND_TIME,
        *WINDOW_BOUNDS,
        th.Property("from_address", th.StringType),
        th.Property("return_path", th.StringType),
        th.Property("recipient", th.StringType),
        th.Property("service", th.StringType, description="HTTP or SMTP seen; open text."),
        th.Property("subject", th.StringType, description="Verbatim, leading spaces kept."),
        th.Property("sender_ip", th.StringType, description="IPv4 or IPv6."),
        th.Property("rcpt_to_count", th.IntegerType),
        th.Property("rcpt_cc_count", th.IntegerType),
        th.Property("rcpt_bcc_count", th.IntegerType),
        th.Property("mail_size_bytes", th.IntegerType),
        th.Property(
            "attachment_names",
            th.ArrayType(th.StringType),
            description="The names, however the API lists them (a list, one comma-joined "
            "string or a single name); [] when the mail has none.",
        ),
        th.Property("status", th.StringType),
        th.Property("status_code", th.IntegerType),
        EXTRA,
    ).to_dict()


class ActivityReportStream(ReportStream):
    """Admin, user and system actions on the domain's accounts."""

    name = "activity_report"
    declared = {
        "actionby": "string", "actionon": "string", "usertype": "string",
        "actiontype": "string", "clientip": "string", "useragent": "string",
        "date_time": "string",
    }  # fmt: skip
    schema = th.PropertiesList(
        *KEY_AND_TIME,
        *WINDOW_BOUNDS,
        th.Property("actionby", th.StringType),
        th.Property("actionon", th.StringType),
        th.Property("usertype", th.StringType, description="ADMIN, USER or SYSTEM."),
        th.Property("actiontype", th.StringType, description="Open text, e.g. FAR."),
        th.Property("clientip", th.StringType),
        th.Property("useragent", th.StringType, description="Verbatim."),
        EXTRA,
    ).to_dict()
