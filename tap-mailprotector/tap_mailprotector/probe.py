"""``--test``: can the key read each configured domain, and what does the log API speak
(time filter style, ``X-Pagination``, the page size it honours, what it does at the
result cap)? A handful of calls on the probe budget, then a report."""

from __future__ import annotations

import math
import typing as t

from mailtaps_common import probe
from mailtaps_common.secrets import shown_url
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from .client import (
    AUTO_STYLE,
    TIME_FILTER_PARAMS,
    EntityAccessError,
    LogReadError,
    MailprotectorStream,
    _pagination,
)

if t.TYPE_CHECKING:
    import requests

    from .streams import DomainLogsStream, DomainsStream
    from .tap import TapMailprotector

NEWEST_FIRST = {"sort_field": "received_at", "sort_direction": "desc"}


def run(tap: TapMailprotector) -> bool:
    budget = probe.Budget(float(tap.config["request_timeout"]))
    return probe.run(tap.name, lambda b: Probe(tap, b).report(), budget, [tap.config["api_key"]])


class Probe:
    def __init__(self, tap: TapMailprotector, budget: probe.Budget) -> None:
        self.config = tap.config
        self.domains: DomainsStream = tap.streams["domains"]  # type: ignore[assignment]  # typed Stream in the SDK
        self.logs: DomainLogsStream = tap.streams["domain_logs"]  # type: ignore[assignment]  # typed Stream in the SDK
        self.budget = budget

    def fetch(
        self, stream: MailprotectorStream, url: str, params: dict[str, t.Any]
    ) -> requests.Response:
        prepared = stream.build_prepared_request(
            method="GET", url=url, params=params, headers=stream.http_headers
        )
        return probe.send(stream.requests_session, prepared, self.budget)

    def checked(
        self, stream: MailprotectorStream, url: str, params: dict[str, t.Any]
    ) -> requests.Response:
        """A call the stream validates; anything but a 403/404 on an entity stops the test."""
        response = self.fetch(stream, url, params)
        try:
            stream.validate_response(response)
        except EntityAccessError:
            raise
        except (FatalAPIError, RetriableAPIError) as exc:
            raise probe.ProbeError(str(exc)) from None
        return response

    def report(self) -> probe.Report:
        report = probe.Report("tap-mailprotector connection test")
        report.add("base_url", shown_url(self.domains.url_base))
        try:
            sources = self.domains.sources()
        except ValueError as exc:
            raise probe.ProbeError(str(exc)) from None
        found: list[dict[str, t.Any]] = []
        missing = 0
        for source in sources:
            params = {} if "domain_id" in source else {"page": 1, "per_page": 100}
            try:
                response = self.checked(self.domains, self.domains.get_url(source), params)
            except EntityAccessError as exc:
                missing += exc.status == 404
                report.problems.append(str(exc))
                continue
            body = response.json()
            rows = body if isinstance(body, list) else [body]
            found.extend(row for row in rows if isinstance(row, dict) and "id" in row)
        if missing == len(sources):
            raise probe.ProbeError(
                f"every domain, reseller and customer asked for answered HTTP 404 at "
                f"{shown_url(self.domains.url_base)}: check base_url, then the ids"
            )
        names = [f"{row['id']} ({row.get('name')})" for row in found]
        more = f" and {len(names) - 6} more" if len(names) > 6 else ""
        report.add("domains", ", ".join(names[:6]) + more if names else "none readable")
        for domain in found:
            if self.probe_logs(domain, report):
                break
        else:
            report.add("logs", "no readable domain has an entry: filter, paging, cap not probed")
        return report

    def probe_logs(self, domain: dict[str, t.Any], report: probe.Report) -> bool:
        """The log probes on one domain; False when it has no entry to probe with."""
        context = {"domain_id": domain["id"]}
        url = self.logs.get_url(context)
        page_size = int(self.config["page_size"])

        def send(params: dict[str, t.Any]) -> requests.Response:
            try:
                return self.checked(self.logs, url, params)
            except EntityAccessError as exc:
                raise probe.ProbeError(f"the log of {exc}") from None

        first = send({**NEWEST_FIRST, "page": 1, "page_size": page_size})
        rows = first.json()
        if not isinstance(rows, list) or not rows:
            return False
        pagination = _pagination(first)
        report.add("probed on", f"the log of domain {domain['id']} ({domain.get('name')})")
        report.add("X-Pagination", probe.pagination_summary(first.headers.get("X-Pagination")))
        served, more = len(rows), False
        if served < page_size and "total" not in pagination:  # clamped, or the last page?
            more = bool(send({**NEWEST_FIRST, "page": 2, "page_size": page_size}).json())
        report.add("page size", self.page_size(served, pagination, more, report))
        report.add("time filter", self.time_filter(send, report))
        report.add("result cap", self.result_cap(url, pagination, min(served, page_size)))
        return True

    def page_size(
        self, served: int, pagination: dict[str, t.Any], more: bool, report: probe.Report
    ) -> str:
        """``more``: a second page had entries although the first was short."""
        asked = int(self.config["page_size"])
        total, size = pagination.get("total"), pagination.get("page_size")
        if served >= asked:
            return f"{asked} honoured (page_size)"
        if (
            more
            or (isinstance(size, int) and size < asked)
            or (isinstance(total, int) and total > served)
        ):
            report.problems.append(
                f"the server serves at most {served} entries per page, not page_size {asked}; "
                f"a short page would be taken for the end of the data: set page_size to {served}"
            )
            return f"at most {served} (asked {asked})"
        return f"not seen: the domain has only {served} entries"

    def time_filter(
        self, send: t.Callable[[dict[str, t.Any]], requests.Response], report: probe.Report
    ) -> str:
        try:
            style = self.logs.detect_time_filter_style(send)
        except LogReadError as exc:
            report.problems.append(str(exc))
            return "none of " + ", ".join(TIME_FILTER_PARAMS) + " applies"
        assert style is not None  # the domain has an entry
        configured = self.config["time_filter_style"]
        if configured not in (AUTO_STYLE, style):
            report.problems.append(
                f"the server applies the time filter style {style!r}, not time_filter_style="
                f"{configured!r}: set it to {style!r} or {AUTO_STYLE!r}"
            )
        start_param, end_param = TIME_FILTER_PARAMS[style]
        return f"{style} ({start_param}, {end_param}); time_filter_style is {configured!r}"

    def result_cap(self, url: str, pagination: dict[str, t.Any], page_size: int) -> str:
        """What the first page past ``result_cap`` gets, if the entries reach the cap."""
        cap, total = int(self.config["result_cap"]), pagination.get("total")
        if isinstance(total, int) and total < cap:
            return f"not seen: {total} entries, fewer than result_cap {cap}"
        page = math.ceil(cap / page_size) + 1
        response = self.fetch(
            self.logs, url, {**NEWEST_FIRST, "page": page, "page_size": page_size}
        )
        capped_total = f"; X-Pagination total stops at {cap}" if total == cap else ""
        if response.status_code == 422:
            return f"HTTP 422 for page {page}, past {cap} entries{capped_total}"
        if response.status_code != 200:
            return f"not seen: page {page} answered HTTP {response.status_code}"
        try:
            rows = response.json()
        except ValueError:
            return f"not seen: page {page} is not JSON"
        if rows:
            return f"entries served past {cap}: the server's cap is higher than result_cap"
        if isinstance(total, int):
            return f"empty pages past {cap} entries (silent truncation){capped_total}"
        return f"empty page past {cap} entries: a silent cap, or fewer entries than that"
