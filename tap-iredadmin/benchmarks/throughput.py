"""Records/s of tap-iredadmin against a raw reference, and its speed-up from workers.

One directory (50 domains x 1000 mailboxes, 20 aliases per domain by default) in
the sandbox. Two figures, each from real tap processes:

- with no added latency, the tap (its default settings) against a raw reference
  (plain Python, its own process) that makes the tap's calls in turn over one
  kept-alive connection (login, the domain list, each domain, its users, aliases
  and each alias, mailing lists, the five policy reads of global and each domain),
  one ``orjson.loads`` per answer and one ``orjson.dumps`` per record to a buffered
  stdout. They alternate; the best round of each is printed with the ratio.
- with ``--latency`` per call (20 ms, a server across a network), the tap with one
  worker against the tap with 8 (its default ``max_workers``).

    uv run python tap-iredadmin/benchmarks/throughput.py [--domains 50] [--users 1000]
        [--aliases 20] [--rounds 2] [--latency 0.02] [--workers 1 8]
"""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote, urlencode

from sandbox.benchmarking import (
    KeepAlive,
    RecordSink,
    Timing,
    alternate,
    best,
    raw_main,
    report,
    run_raw,
)
from sandbox.benchmarking import run_tap as run_tap_process
from sandbox.iredadmin import BASE_PATH, DEMO_ADMIN, DEMO_PASSWORD, IRedAdminSandbox

from sandbox import RunningSandbox

DEFAULT_WORKERS = 8  # the tap's default max_workers


def raw_reference(args: dict[str, Any], sink: RecordSink) -> None:
    import orjson

    client = KeepAlive(args["base_url"])
    form = urlencode({"username": DEMO_ADMIN, "password": DEMO_PASSWORD}).encode()
    client.connection.request(
        "POST",
        client.prefix + "/api/login",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    login = client.connection.getresponse()
    login.read()
    cookie = (login.getheader("Set-Cookie") or "").split(";")[0]

    def get(path: str) -> Any:
        body = orjson.loads(client.call("GET", path, Cookie=cookie))
        return body["_data"] if "_data" in body else body["setting"]

    domains: dict[str, dict[str, Any]] = get("/api/domains")
    for name, row in domains.items():
        sink.write("domains", {**row, **get(f"/api/domain/{quote(name)}")})
    for name in domains:
        for user in get(f"/api/users/{quote(name)}"):
            user.pop("password", None)
            sink.write("users", user)
    for name in domains:
        for alias in get(f"/api/aliases/{quote(name)}"):
            sink.write(
                "aliases", {**alias, **get(f"/api/alias/{quote(alias['address'], safe='@')}")}
            )
    for name in domains:
        for mailing_list in get(f"/api/mls/{quote(name)}"):
            sink.write("mailing_lists", mailing_list)
    for segment, spam in [("global", "global"), *((d, f"domain/{quote(d)}") for d in domains)]:
        account = "@." if segment == "global" else f"@{segment}"
        found = [("spam", "any", get(f"/api/spampolicy/{spam}"))]
        for direction in ("inbound", "outbound"):
            found.append(("throttle", direction, get(f"/api/throttle/{segment}/{direction}")))
        greylisting = get(f"/api/greylisting/{segment}")
        if greylisting.get("status", "inherit") == "inherit":
            greylisting = {}
        found.append(("greylisting", "any", greylisting))
        whitelists = get(f"/api/greylisting/{segment}/whitelists")
        found.append(
            ("greylisting_whitelists", "any", whitelists if any(whitelists.values()) else {})
        )
        for policy_type, direction, settings in found:
            if settings:
                sink.write(
                    "policies",
                    {"policy_type": policy_type, "account": account, "direction": direction,
                     "settings": settings},
                )  # fmt: skip


def sandbox_app(domains: int, users: int, aliases: int) -> IRedAdminSandbox:
    return IRedAdminSandbox(
        domains=domains, users_per_domain=users, aliases_per_domain=aliases, user_policy_share=0.0
    )


def tap_config(url: str, workers: int) -> dict[str, Any]:
    return {
        "base_url": f"{url}{BASE_PATH}",
        "username": DEMO_ADMIN,
        "password": DEMO_PASSWORD,
        "max_workers": workers,
    }


def measure(*, domains: int, users: int, aliases: int, rounds: int) -> tuple[Timing, Timing, int]:
    """(tap, raw, API calls per run) with no added latency: best of ``rounds`` each."""
    app = sandbox_app(domains, users, aliases)
    with RunningSandbox(app) as sandbox:
        raw_args = {"base_url": f"{sandbox.url}{BASE_PATH}"}
        config = tap_config(sandbox.url, DEFAULT_WORKERS)
        run_raw(__file__, raw_args)  # warm up: the first run pays for imports and caches
        calls_before = len(app.requests)
        results = list(
            alternate(
                rounds,
                lambda: run_raw(__file__, raw_args),
                lambda: run_tap_process("tap-iredadmin", config),
            )
        )
        calls = (len(app.requests) - calls_before) // (rounds * 2)
    return best([r[1] for r in results]), best([r[0] for r in results]), calls


def scaling(
    *, domains: int, users: int, aliases: int, latency: float, workers: list[int]
) -> list[Timing]:
    """One tap run per worker count, ``latency`` seconds per call."""
    app = sandbox_app(domains, users, aliases)
    app.faults.latency_seconds = latency
    with RunningSandbox(app) as sandbox:
        return [run_tap_process("tap-iredadmin", tap_config(sandbox.url, n)) for n in workers]


def report_scaling(latency: float, workers: list[int], timings: list[Timing]) -> str:
    base = timings[0]
    lines = [f"tap-iredadmin, {latency * 1000:.0f} ms per call"]
    for count, timing in zip(workers, timings, strict=True):
        lines.append(
            f"  max_workers={count:<3} {timing.seconds:6.1f} s  {timing.rate:>8,.0f} rec/s  "
            f"CPU {timing.cpu_seconds:.1f} s  x{base.seconds / timing.seconds:.1f} "
            f"against max_workers={workers[0]}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=50)
    parser.add_argument("--users", type=int, default=1000, help="per domain")
    parser.add_argument("--aliases", type=int, default=20, help="per domain")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per call")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, DEFAULT_WORKERS])
    args = parser.parse_args()
    size = dict(domains=args.domains, users=args.users, aliases=args.aliases)
    tap, raw, calls = measure(**size, rounds=args.rounds)
    print(report(f"tap-iredadmin, no added latency, {calls} calls", tap, raw))
    timings = scaling(**size, latency=args.latency, workers=args.workers)
    print(report_scaling(args.latency, args.workers, timings))


if __name__ == "__main__":
    if not raw_main(raw_reference):
        main()
