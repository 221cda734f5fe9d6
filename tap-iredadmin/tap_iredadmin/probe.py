"""``--test``: reach the server, log in, and report the admin's kind and which streams
it can read, on the probe budget."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import requests
from mailtaps_common import probe
from mailtaps_common.secrets import shown_url
from mailtaps_common.tls import verify_setting

from .client import API_OFF_HINT, ApiError, IRedAdminClient, IRedAdminError

if TYPE_CHECKING:
    from .tap import TapIRedAdmin

T = TypeVar("T")


def run(tap: TapIRedAdmin) -> bool:
    budget = probe.Budget(float(tap.config["request_timeout"]))
    return probe.run(tap.name, lambda b: _probe(tap, b), budget, [tap.config["password"]])


def _probe(tap: TapIRedAdmin, budget: probe.Budget) -> probe.Report:
    config = dict(tap.config)
    base_url = config["base_url"].rstrip("/")
    shown = shown_url(base_url)
    http = requests.Session()
    http.verify = verify_setting(config["verify_tls"])
    front = probe.send(http, http.prepare_request(requests.Request("GET", base_url + "/")), budget)
    client = IRedAdminClient.from_config(
        {**config, "max_retries": 0, "max_workers": 1, "request_timeout": budget.call_timeout},
        tap.logger,
    )

    def call(fetch: Callable[[], T]) -> T:
        """A client call within the budget; failures other than ``_success: false``
        stop the test."""
        client.timeout = budget.next_timeout()
        budget.calls += 1
        try:
            return fetch()
        except ApiError:
            raise
        except IRedAdminError as exc:
            raise probe.ProbeError(str(exc)) from None

    try:
        call(client.login)
    except (ApiError, probe.ProbeError) as exc:
        if "HTTP 404" not in str(exc):
            raise probe.ProbeError(str(exc)) from None
        if front.status_code == 404:
            raise probe.ProbeError(probe.status_cause(front, "base_url") or str(exc)) from None
        raise probe.ProbeError(
            f"{shown} answers but every /api URL under it is HTTP 404: {API_OFF_HINT}"
        ) from None

    report = probe.Report("tap-iredadmin connection test")
    report.add("base_url", shown)
    try:
        call(lambda: client.get("/api/spampolicy/global"))
        kind = "global"
    except ApiError as failure:
        if failure.reason != "PERMISSION_DENIED":
            raise probe.ProbeError(str(failure)) from None
        kind = "normal"
    report.add("admin", f"{config['username']}, a {kind} admin")
    report.add("server", call(lambda: client.variant).describe())
    readable = _readable_streams(client, call, kind)
    width = max(len(name) for name in readable)
    for name, verdict in readable.items():
        report.add("streams" if name == "domains" else "", f"{name.ljust(width)}  {verdict}")
    return report


def _readable_streams(
    client: IRedAdminClient, call: Callable[[Callable[[], Any]], Any], kind: str
) -> dict[str, str]:
    """Each stream and whether this admin can read it, tried on its first domain."""
    try:
        domains = list(call(client.domains))
    except ApiError as failure:
        return {"domains": f"not readable: {failure}"}
    out = {"domains": f"readable ({len(domains)} domain{'s' if len(domains) != 1 else ''})"}
    if not domains:
        return {**out, "users, aliases, mailing_lists, policies": "no domain to read"}
    first = domains[0]
    for name, fetch in (
        ("users", client.users),
        ("aliases", client.aliases),
        ("mailing_lists", client.mailing_lists),
    ):
        try:
            rows = call(partial(next, fetch([first])))
            if isinstance(rows, ApiError):  # mailing_lists gives the service's failure
                raise rows
            out[name] = f"readable ({len(rows)} in {first})"
        except ApiError as failure:
            skipped = failure.reason == "API_SERVER_NOT_REACHABLE" and name == "mailing_lists"
            out[name] = f"not readable: {failure}" + (
                " (the sync skips them with a warning)" if skipped else ""
            )
    try:
        call(lambda: client.get(f"/api/spampolicy/domain/{first}"))
        scopes = "global, domain and user" if kind == "global" else "domain and user"
        note = "" if kind == "global" else " (global ones need a global admin)"
        out["policies"] = f"readable: {scopes} policies{note}"
    except ApiError as failure:
        out["policies"] = f"not readable: {failure}"
    return out
