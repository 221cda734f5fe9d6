"""Mailprotector API imitation (the API as ``tap-mailprotector/README.md`` describes it).

Tenancy (provider > resellers > customers > domains), Bearer keys scoped to a
reseller or a customer, domain lookups and lists, and the paged message log of a
domain with its time filter, 5000-record cap, ``X-Pagination`` header,
retention, indexing delay and ties. Entries are generated per domain and UTC hour
from a seeded generator (plus configured bursts), so any range is reproducible
and :meth:`MailprotectorSandbox.truth` can say exactly what exists in it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import json
import math
import random
import time
import uuid
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .core import Request, Response, SandboxApp

DEMO_API_KEY = "mp-demo-key-reseller-343"  # the sandbox's own fake keys
CUSTOMER_API_KEY = "mp-demo-key-customer-7114"
OTHER_RESELLER_API_KEY = "mp-demo-key-reseller-344"
DEMO_RESELLER_ID = 343
DEMO_CUSTOMER_ID = 7114
DEMO_DOMAIN_ID = 102
ALIAS_DOMAIN_ID = 103
PENDING_DOMAIN_ID = 104
HOT_DOMAIN_ID = 105
FOREIGN_DOMAIN_ID = 201  # belongs to reseller 344: the demo key gets 403

PROVIDER = {"id": 65, "name": "United States"}
RESELLERS = {343: "Carnegie IT Partners", 344: "Northwind Resale"}
# customer id -> (name, reseller id)
CUSTOMERS = {7114: ("Carnegie Demo", 343), 7115: ("Hot Shop Ltd", 343), 7200: ("Other Co", 344)}
# domain id -> (name, customer id, status id, parent domain id)
DOMAINS = {
    102: ("mpdemo.net", 7114, 2, None),
    103: ("mpdemo.org", 7114, 2, 102),
    104: ("pending-demo.net", 7114, 1, None),
    105: ("hotshop.example", 7115, 2, None),
    201: ("othercorp.example", 7200, 2, None),
}
DOMAIN_STATUS = {1: "Pending", 2: "Active"}
API_KEYS = {
    DEMO_API_KEY: ("reseller", 343),
    CUSTOMER_API_KEY: ("customer", 7114),
    OTHER_RESELLER_API_KEY: ("reseller", 344),
}

TIME_FILTER_STYLES = ("operator", "start_end_date", "date_start_end", "ignored")
_OPERATORS = ("gt", "geq", "lt", "leq", "eq")
_USERS = ["carnegie", "alice", "bob", "chen", "dana", "emeka", "farah", "goran", "hana", "ivan"]
_EXTERNAL = ["mailings.ncaa.com", "gmail.com", "outlook.com", "partner.example.com", "bank.example"]
_SUBJECTS = [
    "The Journey to Detroit Continues!",
    "Invoice #{n}",
    "RE: Q3 numbers",
    "Réunion de lundi",
    "Your parcel is on its way 🚚",
    "Password expiry notice",
    "FW: contract draft",
    "",
]
# (subject, as served with the setting unstorable_subjects)
UNSTORABLE_SUBJECT = ("Password expiry notice", "Password\x00 expiry \ud800notice")
_RESULTS = ["spf_pass", "spf_fail", "from_spf_none", "dkim_pass", "dmarc_pass", "bulk", "rbl"]
_DECISIONS = ["deliver", "deliver", "deliver", "quarantine_spam", "quarantine_virus", "reject"]


@dataclass
class MailprotectorSettings:
    """Switchable behaviour of the imitation (see issue 3)."""

    # entries per hour per domain id (keys may be str when set from JSON)
    volumes: dict[Any, float] = field(
        default_factory=lambda: {102: 30.0, 103: 0.0, 104: 0.0, 105: 12.0, 201: 5.0}
    )
    # extra traffic: {"domain_id", "seconds", "count", and "start" (ISO) or "ago_seconds"
    # (before the app was created), optional "tie_group": entries sharing one timestamp}
    bursts: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {
                "domain_id": 105,
                "ago_seconds": 3 * 3600,
                "seconds": 300,
                "count": 8000,
                "tie_group": 150,
            }
        ]
    )
    page_size_default: int = 25
    page_size_max: int = 100
    per_page_max: int = 100
    result_cap: int = 5000
    cap_style: str = "empty"  # "empty": silent truncation | "422"
    pagination_header: bool = True
    total_capped: bool = True  # X-Pagination total is min(N, cap)
    time_filter: str = "operator"  # one of TIME_FILTER_STYLES
    retention_days: float = 14.0
    indexing_delay_seconds: float = 0.0  # each entry visible up to this long after received_at
    unstable_ties: bool = False  # equal received_at come back in a new order on every call
    extra_fields: bool = False
    clock_offset_seconds: float = 0.0  # the sandbox's "now" = real now + offset
    # the sandbox's "now" stays at this epoch second: retention stops moving, so a count
    # taken before a long run still holds after it (benchmarks)
    frozen_at: float | None = None
    # subjects "Password expiry notice" served with a NUL and a lone surrogate in them
    unstorable_subjects: bool = False


@dataclass(frozen=True)
class IndexSlice:
    """``all_rows[lo:hi]`` (reversed if ``descending``) without the copy: a page takes
    only its own rows, so it costs the same however many entries the query matches."""

    all_rows: list[dict[str, Any]]
    lo: int
    hi: int
    descending: bool = False

    def __len__(self) -> int:
        return self.hi - self.lo

    def rows(self) -> list[dict[str, Any]]:
        return self.page(0, len(self))

    def page(self, first: int, size: int) -> list[dict[str, Any]]:
        if self.descending:
            top = max(self.lo, self.hi - first)
            return self.all_rows[max(self.lo, top - size) : top][::-1]
        begin = self.lo + first
        return self.all_rows[begin : max(begin, min(self.hi, begin + size))]


class MailprotectorSandbox(SandboxApp):
    name = "mailprotector"

    def __init__(self, seed: int = 7, **settings: Any) -> None:
        super().__init__(seed)
        self.settings = MailprotectorSettings(**settings)
        self.created_at = time.time()
        self._order_rng = random.Random(seed + 1)
        self._encoded: dict[tuple[str, bool, bool], bytes] = {}
        self.route("GET", r"/api/v1/domains/(?P<domain_id>\d+)", self.get_domain)
        self.route("GET", r"/api/v1/domains/(?P<domain_id>\d+)/logs", self.get_logs)
        self.route(
            "GET",
            r"/api/v1/(?P<kind>resellers|customers)/(?P<parent_id>\d+)/domains",
            self.list_domains,
        )

    # -- knobs ------------------------------------------------------------
    def now(self) -> float:
        if self.settings.frozen_at is not None:
            return self.settings.frozen_at
        return time.time() + self.settings.clock_offset_seconds

    def caller_key(self, request: Request) -> str:
        key = _bearer(request)
        if not key:
            return request.client_ip
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:10]

    def vendor_fault(self, fault: str, request: Request) -> Response | None:
        if fault == "rate_limit":
            return self.too_many_requests({})
        if fault == "rate_limit_retry_after":
            return self.too_many_requests({"Retry-After": "1"})
        if fault == "echo_key":  # a careless server quoting the credential back
            return Response.json({"message": f"upstream rejected token {_bearer(request)}"}, 500)
        return None

    # -- access -----------------------------------------------------------
    def _scope(self, request: Request) -> tuple[str, int] | Response:
        key = _bearer(request)
        if key is None or key not in API_KEYS:
            return Response.json({"message": "Unauthorized"}, status=401)
        return API_KEYS[key]

    @staticmethod
    def _domain_visible(scope: tuple[str, int], domain_id: int) -> bool:
        kind, owner = scope
        customer_id = DOMAINS[domain_id][1]
        if kind == "customer":
            return customer_id == owner
        return CUSTOMERS[customer_id][1] == owner

    def _domain_access(self, request: Request, domain_id: str) -> int | Response:
        scope = self._scope(request)
        if isinstance(scope, Response):
            return scope
        number = int(domain_id)
        if number not in DOMAINS:
            return Response.json({"message": "Record not found"}, status=404)
        if not self._domain_visible(scope, number):
            return Response.json({"message": "Not authorized to access this record"}, 403)
        return number

    # -- entities ---------------------------------------------------------
    def render_domain(self, domain_id: int) -> dict[str, Any]:
        name, customer_id, status, parent = DOMAINS[domain_id]
        created = datetime(2010, 1, 2, tzinfo=UTC).timestamp() + domain_id * 86400
        return {
            "id": domain_id,
            "name": name,
            "account": {"id": customer_id, "name": CUSTOMERS[customer_id][0]},
            "domain_status": {"id": status, "name": DOMAIN_STATUS[status]},
            "parent": None if parent is None else {"id": parent, "name": DOMAINS[parent][0]},
            "created_at": _iso(created * 1000),
            "updated_at": "2019-08-23T02:00:52.000Z",
            "spam_threshold": 500,
        }

    def get_domain(self, request: Request, domain_id: str) -> Response:
        access = self._domain_access(request, domain_id)
        if isinstance(access, Response):
            return access
        return Response.json(self.render_domain(access))

    def list_domains(self, request: Request, kind: str, parent_id: str) -> Response:
        scope = self._scope(request)
        if isinstance(scope, Response):
            return scope
        owner = int(parent_id)
        if kind == "resellers":
            if owner not in RESELLERS:
                return Response.json({"message": "Record not found"}, status=404)
            allowed = scope == ("reseller", owner)
            ids = [d for d, row in DOMAINS.items() if CUSTOMERS[row[1]][1] == owner]
        else:
            if owner not in CUSTOMERS:
                return Response.json({"message": "Record not found"}, status=404)
            allowed = scope in (("customer", owner), ("reseller", CUSTOMERS[owner][1]))
            ids = [d for d, row in DOMAINS.items() if row[1] == owner]
        if not allowed:
            return Response.json({"message": "Not authorized to access this record"}, 403)
        try:
            page = int(request.arg("page", "1"))
            per_page = min(int(request.arg("per_page", "25")), self.settings.per_page_max)
        except ValueError:
            return Response.json({"message": "page and per_page must be integers"}, 422)
        if page < 1 or per_page < 1:
            return Response.json({"message": "page and per_page must be positive"}, 422)
        chunk = sorted(ids)[(page - 1) * per_page : page * per_page]
        return Response.json([self.render_domain(d) for d in chunk])

    # -- message logs -----------------------------------------------------
    def get_logs(self, request: Request, domain_id: str) -> Response:
        access = self._domain_access(request, domain_id)
        if isinstance(access, Response):
            return access
        s = self.settings
        try:
            page = int(request.arg("page", "1"))
            page_size = min(
                int(request.arg("page_size", str(s.page_size_default))), s.page_size_max
            )
            start_ms, end_ms = self._time_range(request)
        except ValueError as exc:
            return Response.json({"message": str(exc)}, status=422)
        if page < 1 or page_size < 1:
            return Response.json({"message": "page and page_size must be positive"}, 422)
        sort_field = request.arg("sort_field", "@timestamp")
        direction = request.arg("sort_direction", "desc")
        if sort_field not in ("@timestamp", "received_at") or direction not in ("asc", "desc"):
            return Response.json({"message": "invalid sort"}, status=422)

        entries = self.visible(access, start_ms, end_ms)  # in (_ms, id) order
        wanted = {name: request.arg(name) for name in ("sender", "recipient", "subject")}
        if s.unstable_ties or any(value is not None for value in wanted.values()):
            rows = [e for e in entries.rows() if all(_matches(e, n, v) for n, v in wanted.items())]
            if s.unstable_ties:
                with self.lock:
                    order_seed = self._order_rng.random()
                shuffle = random.Random(order_seed)
                tie = {e["id"]: shuffle.random() for e in rows}
                rows.sort(key=lambda e: (e["_ms"], tie[e["id"]]))
            entries = IndexSlice(rows, 0, len(rows))
        if direction == "desc":
            entries = dataclasses.replace(entries, descending=True)

        first = (page - 1) * page_size
        if first >= s.result_cap:
            if s.cap_style == "422":
                return Response.json(
                    {
                        "message": f"Result window is too large, only the first "
                        f"{s.result_cap} records can be read"
                    },
                    status=422,
                )
            chunk = []
        else:
            chunk = entries.page(first, page_size)
        headers = {}
        if s.pagination_header:
            total = min(len(entries), s.result_cap) if s.total_capped else len(entries)
            pages = math.ceil(total / page_size)
            headers["X-Pagination"] = json.dumps(
                {
                    "total": total,
                    "total_pages": pages,
                    "page": page,
                    "page_size": page_size,
                    "next_page": page + 1 if page < pages else None,
                }
            )
        body = b"[" + b", ".join(self.encoded_entry(e) for e in chunk) + b"]"
        return Response(200, body, {"Content-Type": "application/json; charset=utf-8", **headers})

    def _time_range(self, request: Request) -> tuple[int, int]:
        """``[start, end)`` in epoch milliseconds from the configured filter style."""
        style = self.settings.time_filter
        start, end = -(2**62), 2**62
        if style == "operator":
            for op in _OPERATORS:
                value = request.arg(f"received_at[{op}]")
                if value is None:
                    continue
                ms = _parse_ms(value)
                if op == "gt":
                    start = max(start, ms + 1)
                elif op == "geq":
                    start = max(start, ms)
                elif op == "lt":
                    end = min(end, ms)
                elif op == "leq":
                    end = min(end, ms + 1)
                else:
                    start, end = max(start, ms), min(end, ms + 1)
        elif style in ("start_end_date", "date_start_end"):
            names = (
                ("start_date", "end_date")
                if style == "start_end_date"
                else ("date_start", "date_end")
            )
            if (value := request.arg(names[0])) is not None:
                start = _parse_ms(value)
            if (value := request.arg(names[1])) is not None:
                end = _parse_ms(value)
        elif style != "ignored":
            raise ValueError(f"unknown time filter style {style!r}")
        return start, end

    def encoded_entry(self, entry: dict[str, Any]) -> bytes:
        """An entry's JSON as :meth:`Response.json` writes it, encoded once per entry."""
        key = (entry["id"], self.settings.extra_fields, self.settings.unstorable_subjects)
        encoded = self._encoded.get(key)
        if encoded is None:
            encoded = Response.json(self.render_entry(entry)).body
            self._encoded[key] = encoded
        return encoded

    def render_entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in entry.items() if not k.startswith("_")}
        if not self.settings.extra_fields:
            for name in ("decision", "quarantine_type", "tls"):
                out.pop(name, None)
        if self.settings.unstorable_subjects and out.get("subject") == UNSTORABLE_SUBJECT[0]:
            out["subject"] = UNSTORABLE_SUBJECT[1]
        return out

    # -- data -------------------------------------------------------------
    def entries(self, domain_id: int, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Every entry of a domain with ``start <= received_at < end`` that still exists
        (retention applied; indexing delay not), in ``(received_at, id)`` order."""
        return self.indexed(domain_id, start_ms, end_ms).rows()

    def indexed(self, domain_id: int, start_ms: int, end_ms: int) -> IndexSlice:
        """:meth:`entries` as a slice of the cached index, without copying it."""
        s = self.settings
        floor = int((self.now() - s.retention_days * 86400) * 1000)
        start_ms = max(start_ms, floor)
        ceiling = int(self.now() * 1000) + 1
        end_ms = min(end_ms, ceiling)
        if end_ms <= start_ms:
            return IndexSlice([], 0, 0)
        rate = float(s.volumes.get(domain_id, s.volumes.get(str(domain_id), 0.0)))
        bursts = tuple(
            (index, json.dumps(burst, sort_keys=True))
            for index, burst in enumerate(s.bursts)
            if int(burst["domain_id"]) == domain_id
        )
        times, rows = _span_index(
            self.seed,
            domain_id,
            start_ms // 3_600_000,
            (end_ms - 1) // 3_600_000,
            rate,
            bursts,
            self.created_at,
        )
        return IndexSlice(rows, bisect_left(times, start_ms), bisect_left(times, end_ms))

    def visible(self, domain_id: int, start_ms: int, end_ms: int) -> IndexSlice:
        """What the API returns now: entries whose indexing delay has passed. Only the
        newest ``indexing_delay_seconds`` can still be hidden, so only they are checked."""
        window = self.indexed(domain_id, start_ms, end_ms)
        delay_ms = self.settings.indexing_delay_seconds * 1000
        if not delay_ms:
            return window
        now_ms = self.now() * 1000
        rows, settled = window.all_rows, window.hi
        while settled > window.lo and rows[settled - 1]["_ms"] + delay_ms > now_ms:
            settled -= 1
        visible = rows[window.lo : settled] + [
            e for e in rows[settled : window.hi] if e["_ms"] + e["_delay"] * delay_ms <= now_ms
        ]
        return IndexSlice(visible, 0, len(visible))

    def visible_entries(self, domain_id: int, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        return self.visible(domain_id, start_ms, end_ms).rows()

    def truth(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """``?domain=ID&from=ISO|epoch&to=ISO|epoch[&ids=1]``: count (and ids) of what
        exists in ``[from, to)`` for a domain."""
        domain_id = int(query["domain"][0])
        start = _parse_ms(query.get("from", ["1970-01-01T00:00:00Z"])[0])
        end = _parse_ms(query.get("to", [_iso(self.now() * 1000 + 1)])[0])
        rows = self.entries(domain_id, start, end)
        result: dict[str, Any] = {"domain": domain_id, "count": len(rows)}
        if query.get("ids", ["0"])[0] in ("1", "true"):
            result["ids"] = [e["id"] for e in rows]
        return result


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return header[7:].strip() or None


def _matches(entry: dict[str, Any], name: str, wanted: str | None) -> bool:
    if wanted is None:
        return True
    return wanted.lower() in (entry.get(name) or "").lower()


def _parse_ms(value: str) -> int:
    """Epoch milliseconds from ISO 8601 (``Z`` or offset; naive means UTC) or epoch seconds."""
    try:
        return int(float(value) * 1000)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"invalid time {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def _iso(ms: float) -> str:
    moment = datetime.fromtimestamp(int(ms) / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ms) % 1000:03d}+00:00"


def _entry(rng: random.Random, domain_id: int, ms: int, n: int) -> list[dict[str, Any]]:
    """One message: an entry per recipient, all with the same ``received_at``."""
    name, customer_id, _, _ = DOMAINS[domain_id]
    reseller_id = CUSTOMERS[customer_id][1]
    inbound = rng.random() < 0.75
    local_users = rng.sample(_USERS, rng.choice([1, 1, 1, 2, 3]))
    external = f"{rng.choice(['news', 'no-reply', 'bounces', 'j.doe'])}@{rng.choice(_EXTERNAL)}"
    sender = external if inbound else f"{local_users[0]}@{name}"
    recipients = [f"{u}@{name}" for u in local_users] if inbound else [external]
    ip = ".".join(
        str(rng.randrange(low, high)) for low, high in ((11, 223), (0, 256), (0, 256), (1, 255))
    )
    host = f"o{rng.randrange(1, 999)}.{(external if inbound else sender).split('@')[1]}"
    score = rng.choice([-50, 0, 40, 120, 340, 520, 900])
    decision = rng.choice(_DECISIONS) if score > 300 else "deliver"
    common = {
        "sender": None if rng.random() < 0.05 else sender,
        "from": f'"{sender.split("@")[0].title()}" <{sender}>',
        "score": {"score": score},
        "direction": "inbound" if inbound else "outbound",
        "origin": ip,
        "subject": rng.choice(_SUBJECTS).format(n=n),
        "domain": {"id": domain_id, "name": name},
        "customer": {"id": customer_id, "name": CUSTOMERS[customer_id][0]},
        "reseller": {"id": reseller_id, "name": RESELLERS[reseller_id]},
        "provider": dict(PROVIDER),
        "received_at": _iso(ms),
        "results_data": rng.sample(_RESULTS, rng.choice([1, 2, 3])),
        "rule_ids": [rng.randrange(1, 90)] if rng.random() < 0.1 else [],
        "helo": host,
        "ptr": host if rng.random() < 0.9 else None,
        "ip": ip,
        "postfix_queue_id": f"{rng.getrandbits(40):010X}",
        "decision": decision,
        "quarantine_type": decision.removeprefix("quarantine_")
        if decision.startswith("quarantine")
        else None,
        "tls": {"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384"},
        "_ms": ms,
        "_delay": rng.random(),
    }
    out = []
    for recipient in recipients:
        entry_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        user = recipient.split("@")[0]
        out.append(
            {
                "id": entry_id,
                "uuid": entry_id,
                **common,
                "recipient": recipient,
                "user": {"id": 871000 + _USERS.index(user) if user in _USERS else 0, "name": user},
                "user_group": {"id": 109, "name": "Default"},
            }
        )
    return out


@lru_cache(maxsize=16)
def _span_index(
    seed: int,
    domain_id: int,
    first_hour: int,
    last_hour: int,
    rate: float,
    bursts: tuple[tuple[int, str], ...],
    created_at: float,
) -> tuple[list[int], list[dict[str, Any]]]:
    """The entries of whole hours ``first_hour..last_hour`` and of the domain's bursts,
    sorted by ``(received_at, id)``, with their times beside them for bisection: the
    pages of one query are slices of one index instead of a filter and sort each."""
    times: list[int] = []
    rows: list[dict[str, Any]] = []
    if rate > 0:  # hours hold disjoint, ascending times: their sorted lists concatenate
        for hour in range(first_hour, last_hour + 1):
            hour_times, hour_rows = _sorted_hour(seed, domain_id, hour, rate)
            times.extend(hour_times)
            rows.extend(hour_rows)
    burst_rows = [
        row for index, spec in bursts for row in _burst_entries(seed, index, spec, created_at)
    ]
    if burst_rows:
        rows = list(heapq.merge(rows, sorted(burst_rows, key=_index_order), key=_index_order))
        times = [e["_ms"] for e in rows]
    return times, rows


def _index_order(entry: dict[str, Any]) -> tuple[int, Any]:
    return entry["_ms"], entry["id"]


@lru_cache(maxsize=4096)
def _sorted_hour(
    seed: int, domain_id: int, hour: int, rate: float
) -> tuple[list[int], list[dict[str, Any]]]:
    rows = sorted(_hour_entries(seed, domain_id, hour, rate), key=_index_order)
    return [e["_ms"] for e in rows], rows


@lru_cache(maxsize=4096)
def _hour_entries(seed: int, domain_id: int, hour: int, rate: float) -> list[dict[str, Any]]:
    rng = random.Random(f"{seed}:{domain_id}:{hour}")
    messages = max(0, round(rng.gauss(rate / 1.5, (rate / 1.5) ** 0.5)))
    out: list[dict[str, Any]] = []
    for n in range(messages):
        out.extend(_entry(rng, domain_id, hour * 3_600_000 + rng.randrange(3_600_000), n))
    return out


@lru_cache(maxsize=64)
def _burst_entries(seed: int, index: int, spec: str, created_at: float) -> list[dict[str, Any]]:
    burst = json.loads(spec)
    domain_id = int(burst["domain_id"])
    if "start" in burst:
        start_ms = _parse_ms(burst["start"])
    else:
        start_ms = int((created_at - float(burst["ago_seconds"])) * 1000)
    span_ms = max(1, int(float(burst["seconds"]) * 1000))
    rng = random.Random(f"{seed}:burst:{index}:{spec}")
    tie_ms = start_ms + span_ms // 2
    tie_left = int(burst.get("tie_group", 0))
    out: list[dict[str, Any]] = []
    n = 0
    while len(out) < int(burst["count"]):
        if tie_left > 0:
            batch = _entry(rng, domain_id, tie_ms, n)[:tie_left]
            tie_left -= len(batch)
        else:
            batch = _entry(rng, domain_id, start_ms + rng.randrange(span_ms), n)
        out.extend(batch[: int(burst["count"]) - len(out)])
        n += 1
    return out
