"""Stream declarations: ``domains`` (the selected domains) and, per domain,
``domain_logs`` (message log entries)."""

from __future__ import annotations

import logging
import typing as t
from datetime import UTC, datetime, timedelta

from mailtaps_common.bases import StreamMixin
from mailtaps_common.progress import Progress
from mailtaps_common.secrets import shown_url
from singer_sdk import typing as th
from singer_sdk.exceptions import FatalAPIError
from typing_extensions import override

from .client import (
    SECOND,
    DomainListPaginator,
    EntityAccessError,
    MailprotectorStream,
    MessageLogStream,
    iso,
    parse_datetime,
    to_ms,
)

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record
    from singer_sdk.streams.rest import HTTPRequest, PageContext

# Entries that expire while a window is being read would shift later pages; stay
# this far inside the retention limit.
RETENTION_MARGIN = timedelta(minutes=5)


def _named() -> th.ObjectType:
    """``{"id": ..., "name": ...}`` references; unknown keys inside are kept."""
    return th.ObjectType(
        th.Property("id", th.IntegerType),
        th.Property("name", th.StringType),
        additional_properties=True,
    )


EXTRA = th.Property(
    "extra",
    th.ObjectType(additional_properties=True),
    description="Fields the API sent that this schema does not declare, kept as they came",
)


class KeepUnknownFields(StreamMixin):
    """Moves fields the schema does not declare into ``extra`` instead of letting the
    SDK drop them."""

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        unknown = row.keys() - self.schema["properties"].keys()
        if unknown:
            extra = {key: row.pop(key) for key in list(row) if key in unknown}
            row["extra"] = {**(row.get("extra") or {}), **extra}
        return super().post_process(row, context)


class DomainsStream(KeepUnknownFields, MailprotectorStream):
    """The domains to read: ``domain_ids`` from config plus those listed under
    ``reseller_id``/``customer_id``. A domain answering 403/404 fails the run or is
    skipped (``on_domain_error``); the domain logs of every domain emitted here follow."""

    name = "domains"
    path = "/api/v1/domains"
    primary_keys = ("id",)
    schema = th.PropertiesList(
        th.Property("id", th.IntegerType, required=True),
        th.Property("name", th.StringType),
        th.Property("account", _named()),
        th.Property("domain_status", _named()),
        th.Property("parent", _named()),
        th.Property("created_at", th.DateTimeType),
        th.Property("updated_at", th.DateTimeType),
        EXTRA,
    ).to_dict()

    def sources(self) -> list[dict[str, int]]:
        config = self.config
        out = [{"domain_id": int(d)} for d in config.get("domain_ids") or []]
        if config.get("reseller_id") is not None:
            out.append({"reseller_id": int(config["reseller_id"])})
        if config.get("customer_id") is not None:
            out.append({"customer_id": int(config["customer_id"])})
        if not out:
            raise ValueError("No domains to read: set domain_ids, reseller_id or customer_id")
        return out

    @override
    def get_url(self, context: Context | None) -> str:
        assert context is not None
        if "domain_id" in context:
            return f"{self.url_base}/api/v1/domains/{context['domain_id']}"
        if "reseller_id" in context:
            return f"{self.url_base}/api/v1/resellers/{context['reseller_id']}/domains"
        return f"{self.url_base}/api/v1/customers/{context['customer_id']}/domains"

    @override
    def get_new_paginator(self) -> DomainListPaginator:
        return DomainListPaginator(self.config["page_size"])

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        request = super().get_http_request(page=page)
        if page.stream_context and "domain_id" not in page.stream_context:
            request.params = {"page": page.next_page_token, "per_page": self.config["page_size"]}
        return request

    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        seen: set[t.Any] = set()
        skipped: list[EntityAccessError] = []
        for source in self.sources():
            try:
                for record in self.request_records(source):
                    if record.get("id") not in seen:
                        seen.add(record.get("id"))
                        yield record
            except EntityAccessError as error:
                if "domain_id" not in source or self.config["on_domain_error"] == "fail":
                    if error.status == 404 and not seen and not skipped:
                        raise FatalAPIError(
                            f"{error}; nothing was read before it: check base_url "
                            f"({shown_url(self.url_base)}) too"
                        ) from None
                    raise
                skipped.append(error)
                self.log("Skipping %s (on_domain_error=skip)", error, level=logging.WARNING)
        if skipped and not seen:  # a wrong base_url or api_key, not a few retired domains
            raise FatalAPIError(
                f"every domain was skipped, none was read (on_domain_error=skip): check "
                f"base_url ({shown_url(self.url_base)}), api_key and domain_ids; the first: "
                f"{skipped[0]}"
            )

    @override
    def get_child_context(self, record: Record, context: Context | None) -> Context:
        return {"domain_id": record["id"]}


class DomainLogsStream(KeepUnknownFields, MessageLogStream):
    """Message log entries of each domain; one state partition per domain whose
    bookmark is the end of the last finished window."""

    name = "domain_logs"
    parent_stream_type = DomainsStream
    primary_keys = ("id",)
    schema = th.PropertiesList(
        th.Property("id", th.StringType, required=True),
        th.Property("domain_id", th.IntegerType, description="The domain whose log this is"),
        th.Property("uuid", th.StringType),
        th.Property("received_at", th.DateTimeType, required=True),
        th.Property("sender", th.StringType),
        th.Property("from", th.StringType),
        th.Property("recipient", th.StringType),
        th.Property("direction", th.StringType),
        th.Property("subject", th.StringType),
        th.Property(
            "score", th.ObjectType(th.Property("score", th.IntegerType), additional_properties=True)
        ),
        th.Property("decision", th.StringType),
        th.Property("quarantine_type", th.StringType),
        th.Property("origin", th.StringType),
        th.Property("ip", th.StringType),
        th.Property("helo", th.StringType),
        th.Property("ptr", th.StringType),
        th.Property("postfix_queue_id", th.StringType),
        th.Property("results_data", th.ArrayType(th.StringType)),
        th.Property("rule_ids", th.ArrayType(th.IntegerType)),
        th.Property("user", _named()),
        th.Property("user_group", _named()),
        th.Property("domain", _named()),
        th.Property("customer", _named()),
        th.Property("reseller", _named()),
        th.Property("provider", _named()),
        EXTRA,
    ).to_dict()

    def sync_range(self, context: Context) -> tuple[int, int]:
        """``[start, end)`` for this run: from the bookmark minus the overlap (never
        before ``start_date`` or retention) to now minus the settle delay."""
        now = datetime.now(UTC)
        end = now - timedelta(seconds=self.config["settle_delay_seconds"])
        floor = now - timedelta(days=float(self.config["retention_days"])) + RETENTION_MARGIN
        start_date = self.config.get("start_date")
        wanted = self.get_starting_timestamp(context)  # max(bookmark, start_date)
        if wanted is None:
            start = floor
            self.log(
                "domain %s: no bookmark or start_date, reading all %s days retained",
                context["domain_id"],
                self.config["retention_days"],
            )
        else:
            start = wanted - timedelta(seconds=self.config["overlap_seconds"])
            if start_date:
                start = max(start, parse_datetime(start_date))
            if wanted < floor:
                self.log(
                    "domain %s: entries from %s to %s are older than the %s-day retention "
                    "and can no longer be read; starting at %s",
                    context["domain_id"],
                    wanted.isoformat(),
                    floor.isoformat(),
                    self.config["retention_days"],
                    floor.isoformat(),
                    level=logging.WARNING,
                )
            start = max(start, floor)
        return to_ms(start), to_ms(end)

    def checkpoint(self, context: Context, until: int) -> None:
        """Bookmark the end of a finished window and emit STATE now, so a crash
        loses at most the window being read."""
        state = self.get_context_state(context)
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = iso(until)
        self.finalize_state_progress_markers(state)

    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        assert context is not None
        try:
            yield from self.read_domain(context)
        except EntityAccessError as error:
            if self.config["on_domain_error"] == "fail":
                raise
            self.log(
                "Skipping %s (on_domain_error=skip); bookmark kept at the last finished window",
                error,
                level=logging.WARNING,
            )

    def read_domain(self, context: Context) -> t.Iterable[dict[str, t.Any]]:
        self.resolve_time_filter_style(context)
        start, end = self.sync_range(context)
        max_window = int(float(self.config["max_window_hours"]) * 3600 * SECOND)
        windows = rows = requests_used = 0
        progress = Progress(self.logger, f"domain {context['domain_id']}")
        while start < end:
            window = self.read_window(context, start, min(start + max_window, end))
            yield from window.rows
            self.checkpoint(context, window.done_until)
            progress.step(len(window.rows), iso(start), iso(window.done_until))
            windows += 1
            rows += len(window.rows)
            requests_used += window.requests
            start = window.done_until
        self.log(
            "domain %s: %d entries in %d windows with %d log requests up to %s",
            context["domain_id"],
            rows,
            windows,
            requests_used,
            iso(end),
        )
