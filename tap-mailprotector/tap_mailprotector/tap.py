"""Mailprotector tap: domains and their message logs, losslessly at any volume."""

from __future__ import annotations

import typing as t
import warnings

from mailtaps_common.cli import OneLineFailures
from mailtaps_common.config import CheckedConfig
from mailtaps_common.heap import FewerCollections
from mailtaps_common.output import BufferedOutput
from mailtaps_common.secrets import RedactedLogs
from singer_sdk import Tap
from singer_sdk import typing as th
from typing_extensions import override

from . import probe
from .client import AUTO_STYLE, TIME_FILTER_PARAMS
from .streams import DomainLogsStream, DomainsStream

if t.TYPE_CHECKING:
    from singer_sdk.streams import Stream


class TapMailprotector(
    OneLineFailures, RedactedLogs, CheckedConfig, BufferedOutput, FewerCollections, Tap
):
    """Reads Mailprotector's domains and their message logs (one log per tenant domain)."""

    name = "tap-mailprotector"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_key",
            th.StringType,
            title="API key",
            required=True,
            secret=True,
            description="API key of a manager role (Bearer token)",
        ),
        th.Property(
            "base_url",
            th.URIType,
            title="API base URL",
            default="https://emailservice.io",
            description="Address of the Mailprotector API",
        ),
        th.Property(
            "domain_ids",
            th.ArrayType(th.IntegerType(minimum=1)),
            title="Domain ids",
            description="Domains to read (ids); combined with the lists below",
        ),
        th.Property(
            "reseller_id",
            th.IntegerType(minimum=1),
            title="Reseller id",
            description="Read every domain this reseller lists",
        ),
        th.Property(
            "customer_id",
            th.IntegerType(minimum=1),
            title="Customer id",
            description="Read every domain this customer lists",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description="First instant to read when a domain has no bookmark "
            "(default: as far back as retention allows)",
        ),
        th.Property(
            "settle_delay_seconds",
            th.IntegerType(minimum=0, maximum=86400),
            title="Settle delay (seconds)",
            default=300,
            description="Never read entries newer than now minus this",
        ),
        th.Property(
            "overlap_seconds",
            th.IntegerType(minimum=0, maximum=86400),
            title="Overlap (seconds)",
            default=600,
            description="Re-read this much before each bookmark (late indexing)",
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=100),
            title="Page size",
            default=100,
            description="Entries per page; at most 100, the API's maximum (a larger value "
            "would be clamped and a clamped page mistaken for the last one)",
        ),
        th.Property(
            "result_cap",
            th.IntegerType(minimum=1),
            title="Result cap per query",
            default=5000,
            description="Records one log query can return at most",
        ),
        th.Property(
            "time_filter_style",
            th.StringType,
            title="Time filter style",
            default=AUTO_STYLE,
            allowed_values=[AUTO_STYLE, *TIME_FILTER_PARAMS],
            description="auto: probe the server once per run and use the style it applies; "
            "operator: received_at[geq]/[lt]; start_end_date: start_date/end_date; "
            "date_start_end: date_start/date_end",
        ),
        th.Property(
            "on_domain_error",
            th.StringType,
            title="On domain error",
            default="fail",
            allowed_values=["fail", "skip"],
            description="What a domain answering 403/404 does to the run: fail it, or skip "
            "the domain with a warning naming it (its bookmark stays). A run that skips every "
            "domain fails",
        ),
        th.Property(
            "max_window_hours",
            th.NumberType(exclusive_minimum=0, maximum=8760),
            title="Longest window (hours)",
            default=336,
            description="Longest time window one log query covers (windows the cap cuts "
            "short continue from where the cut fell)",
        ),
        th.Property(
            "retention_days",
            th.NumberType(exclusive_minimum=0, maximum=3650),
            title="Retention (days)",
            default=14,
            description="How far back the API keeps logs",
        ),
        th.Property(
            "tie_reread_passes",
            th.IntegerType(minimum=1, maximum=1000),
            title="Tie re-read passes",
            default=25,
            description="Reads of one timestamp whose entries come back in "
            "unstable order before giving up loudly",
        ),
        th.Property(
            "request_timeout",
            th.IntegerType(minimum=1, maximum=3600),
            title="Request timeout (seconds)",
            default=60,
            description="Seconds before one HTTP request times out",
        ),
        th.Property(
            "verify_tls",
            th.BooleanType,
            title="Verify TLS",
            default=True,
            description=(
                "Check the server's TLS certificate, against the CA bundle named in "
                "REQUESTS_CA_BUNDLE if set (turning it off logs a warning)"
            ),
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0, maximum=20),
            title="Retries",
            default=6,
            description="Retries of a request after 429, 5xx, timeouts or bad JSON",
        ),
        th.Property(
            "retry_base_seconds",
            th.NumberType(minimum=0, maximum=600),
            title="First retry wait (seconds)",
            default=1.0,
            description="First backoff wait when no Retry-After is sent; doubles",
        ),
        th.Property(
            "retry_max_seconds",
            th.NumberType(minimum=0, maximum=3600),
            title="Longest retry wait (seconds)",
            default=300,
            description="Longest single wait, Retry-After included",
        ),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.config.get("verify_tls", True):
            self.logger.warning("verify_tls is false: TLS certificates are NOT verified")
            warnings.filterwarnings("ignore", message="Unverified HTTPS request")

    @override
    def discover_streams(self) -> list[Stream]:
        return [DomainsStream(self), DomainLogsStream(self)]

    @override  # type: ignore[misc]  # final in the SDK, whose dry run has no time budget
    def run_connection_test(self) -> bool:
        """``--test``: each domain's access, then what the log API speaks, on a short
        budget; a report, or one line naming the cause."""
        return probe.run(self)
