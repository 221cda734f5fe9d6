"""Mailprotector tap: domains and their message logs, losslessly at any volume."""

from __future__ import annotations

import typing as t
import warnings

from mailtaps_common.setting_values import numbers_from_text
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.tap_base import CliTestOptionValue

from .client import TIME_FILTER_PARAMS
from .streams import DomainLogsStream, DomainsStream

if t.TYPE_CHECKING:
    import click
    from singer_sdk.streams import Stream


class TapMailprotector(Tap):
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
            th.StringType,
            title="API base URL",
            default="https://emailservice.io",
            description="Address of the Mailprotector API",
        ),
        th.Property(
            "domain_ids",
            th.ArrayType(th.IntegerType),
            title="Domain ids",
            description="Domains to read (ids); combined with the lists below",
        ),
        th.Property(
            "reseller_id",
            th.IntegerType,
            title="Reseller id",
            description="Read every domain this reseller lists",
        ),
        th.Property(
            "customer_id",
            th.IntegerType,
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
            th.IntegerType,
            title="Settle delay (seconds)",
            default=300,
            description="Never read entries newer than now minus this",
        ),
        th.Property(
            "overlap_seconds",
            th.IntegerType,
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
            th.IntegerType,
            title="Result cap per query",
            default=5000,
            description="Records one log query can return at most",
        ),
        th.Property(
            "time_filter_style",
            th.StringType,
            title="Time filter style",
            default="operator",
            allowed_values=list(TIME_FILTER_PARAMS),
            description="operator: received_at[geq]/[lt]; start_end_date: "
            "start_date/end_date; date_start_end: date_start/date_end",
        ),
        th.Property(
            "on_domain_error",
            th.StringType,
            title="On domain error",
            default="fail",
            allowed_values=["fail", "skip"],
            description="What a domain answering 403/404 does to the run",
        ),
        th.Property(
            "max_window_hours",
            th.NumberType,
            title="Longest window (hours)",
            default=336,
            description="Longest time window one log query covers (windows the cap cuts "
            "short continue from where the cut fell)",
        ),
        th.Property(
            "retention_days",
            th.NumberType,
            title="Retention (days)",
            default=14,
            description="How far back the API keeps logs",
        ),
        th.Property(
            "tie_reread_passes",
            th.IntegerType,
            title="Tie re-read passes",
            default=25,
            description="Reads of one timestamp whose entries come back in "
            "unstable order before giving up loudly",
        ),
        th.Property(
            "request_timeout",
            th.IntegerType,
            title="Request timeout (seconds)",
            default=60,
            description="Seconds before one HTTP request times out",
        ),
        th.Property(
            "verify_tls",
            th.BooleanType,
            title="Verify TLS",
            default=True,
            description="Check the server's TLS certificate (turning it off logs a warning)",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            title="Retries",
            default=6,
            description="Retries of a request after 429, 5xx, timeouts or bad JSON",
        ),
        th.Property(
            "retry_base_seconds",
            th.NumberType,
            title="First retry wait (seconds)",
            default=1.0,
            description="First backoff wait when no Retry-After is sent; doubles",
        ),
        th.Property(
            "retry_max_seconds",
            th.NumberType,
            title="Longest retry wait (seconds)",
            default=120.0,
            description="Longest single wait, Retry-After included",
        ),
    ).to_dict()

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        numbers_from_text(self._config, self.config_jsonschema)
        return super()._validate_config(raise_errors=raise_errors)

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.config.get("verify_tls", True):
            self.logger.warning("verify_tls is false: TLS certificates are NOT verified")
            warnings.filterwarnings("ignore", message="Unverified HTTPS request")

    def discover_streams(self) -> list[Stream]:
        return [DomainsStream(self), DomainLogsStream(self)]

    def check_domains(self) -> list[str]:
        """Per domain: can the key read it, and does its log apply the time filter?
        Returns one line per problem and logs one line per domain."""
        domains, logs = DomainsStream(self), DomainLogsStream(self)
        problems: list[str] = []
        try:
            sources = domains.sources()
        except ValueError as exc:
            return [str(exc)]
        for source in sources:
            try:
                records = list(domains.request_records(source))
            except Exception as exc:
                problems.append(str(exc) or type(exc).__name__)
                continue
            for record in records:
                context = {"domain_id": record["id"]}
                problem = logs.probe_time_filter(context)
                if problem:
                    problems.append(f"domain {record['id']} ({record.get('name')}): {problem}")
                else:
                    self.logger.info("domain %s (%s): ok", record["id"], record.get("name"))
        return problems

    @classmethod
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        """``--test`` first checks every domain and names the cause of each failure."""
        if value == CliTestOptionValue.All.value:
            config = ctx.params.get("config")
            tap = cls(
                config=config.config if config else None,
                parse_env_config=bool(config and config.parse_env),
                validate_config=True,
            )
            problems = tap.check_domains()
            for problem in problems:
                cls.logger.error("Connection test failed: %s", problem)
            if problems:
                ctx.exit(1)
        super().cb_test(ctx, param, value)
