"""The shared policies on their own: config lines, string cleaning, key checks, redaction."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote, quote_plus

import pytest
from mailtaps_common import config, keys, secrets, text, tls
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.configuration import _dict_config
from singer_sdk.exceptions import ConfigValidationError

SCHEMA = th.PropertiesList(
    th.Property("api_key", th.StringType, required=True, secret=True),
    th.Property("start_date", th.DateTimeType),
    th.Property("max_window_hours", th.NumberType(exclusive_minimum=0), default=336),
    th.Property("page_size", th.IntegerType(minimum=1, maximum=100), default=100),
    th.Property("overlap_seconds", th.IntegerType(minimum=0), default=600),
    th.Property("window_minutes", th.IntegerType(minimum=1, maximum=1440), default=60),
    th.Property("mode", th.StringType, allowed_values=["fail", "skip"], default="fail"),
    th.Property("api_url", th.URIType),
    th.Property("verify_tls", th.BooleanType, default=True),
    th.Property("ids", th.ArrayType(th.IntegerType)),
).to_dict()


class RowsStream(keys.KeyedRecords, text.StorableText, Stream):
    name = "rows"
    primary_keys = ("id",)
    schema = th.PropertiesList(
        th.Property("id", th.StringType), th.Property("v", th.StringType)
    ).to_dict()

    def get_records(self, context):
        raw = json.dumps(
            [{"id": "1", "v": "a\x00b"}, {"id": None, "v": "x"}, {"v": "y"}, {"id": "2", "v": "ok"}]
        ).encode()
        rows = self.storable(json.loads(raw), suspect=text.may_hold_unstorable(raw))
        yield from rows


class PolicyTap(secrets.RedactedLogs, config.CheckedConfig, Tap):
    name = "tap-policy"
    config_jsonschema = SCHEMA

    def discover_streams(self):
        return [RowsStream(self)]


def lines(settings: dict) -> list[str]:
    with pytest.raises(ConfigValidationError) as caught:
        PolicyTap(config=settings)
    return caught.value.errors


# -- config ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        (
            {"max_window_hours": 0},
            "tap-policy: invalid setting 'max_window_hours' = 0: must be greater than 0",
        ),
        ({"max_window_hours": -1}, "'max_window_hours' = -1: must be greater than 0"),
        (
            {"page_size": 500},
            "tap-policy: invalid setting 'page_size' = 500: must be from 1 to 100",
        ),
        ({"overlap_seconds": -5}, "'overlap_seconds' = -5: must be at least 0"),
        ({"window_minutes": 1441}, "'window_minutes' = 1441: must be from 1 to 1440"),
        ({"start_date": ""}, "'start_date' = '': must be an ISO 8601 date-time"),
        ({"start_date": "yesterday"}, "'start_date' = 'yesterday': must be an ISO 8601 date-time"),
        ({"start_date": "2026-13-01T00:00:00Z"}, "must be an ISO 8601 date-time"),
        ({"page_size": "ten"}, "'page_size' = 'ten': must be a whole number"),
        ({"mode": "ignore"}, "'mode' = 'ignore': must be one of 'fail', 'skip'"),
        (
            {"api_url": "mail.example.com/api"},
            "tap-policy: invalid setting 'api_url' = 'mail.example.com/api': must be an http:// "
            "or https:// URL with a host, e.g. https://mail.example.com",
        ),
        ({"api_url": "ftp://mail.example.com"}, "'api_url' = 'ftp://mail.example.com': must"),
        ({"api_url": "https://"}, "'api_url' = 'https://': must be an http://"),
        ({"api_url": "https://[mail.example.com]/"}, "must be an http:// or https:// URL"),
        ({"api_url": "https://mail.example.com:443443/"}, "must be an http:// or https:// URL"),
        ({"api_url": "http://mail..example.com/"}, "must be an http:// or https:// URL"),
        ({"api_url": "http://mail example.com/"}, "must be an http:// or https:// URL"),
        ({"api_url": "http://mail.example.com:0/"}, "must be an http:// or https:// URL"),
        ({"api_url": "http://" + "a" * 300 + ".com/"}, "must be an http:// or https:// URL"),
        ({"page_size": 0.5}, "'page_size' = 0.5: must be a whole number"),  # one line, not two
        ({"mode": "ig\nnore"}, "'mode' = 'ig\\nnore': must be one of 'fail', 'skip'"),
        ({"start_date": "2026-01-31\x00"}, "must be an ISO 8601 date-time"),
    ],
)
def test_each_bad_value_is_one_line_naming_setting_value_and_range(settings, line):
    found = lines({"api_key": "k", **settings})
    assert len(found) == 1, found
    assert line in found[0]


@pytest.mark.parametrize("value", ["k\ney", "k\x00ey", "k\x1b[31mey", "k\ud800ey"])
def test_a_setting_with_control_characters_is_one_line_and_a_secret_stays_hidden(value):
    assert lines({"api_key": value}) == [
        "tap-policy: invalid setting 'api_key' = (hidden): must not hold control characters "
        "(a line break, a NUL) or lone surrogates"
    ]


@pytest.mark.parametrize(
    ("variable", "text", "line"),
    [
        ("PAGE_SIZE", "abc", "'page_size' = 'abc': TAP_POLICY_PAGE_SIZE must be a whole number"),
        ("IDS", "1,2", "'ids' = '1,2': TAP_POLICY_IDS must be a JSON list, e.g. [1, 2]"),
        (
            "VERIFY_TLS",
            "ture",
            "'verify_tls' = 'ture': TAP_POLICY_VERIFY_TLS must be true or false",
        ),
        ("API_KEY", "k", None),
        ("IDS", "[1, 2]", None),
        ("VERIFY_TLS", "Off", None),
    ],
)
def test_settings_from_environment_variables_text_they_cannot_be_is_one_line(
    monkeypatch, variable, text, line
):
    monkeypatch.setenv("TAP_POLICY_API_KEY", "k")
    monkeypatch.setenv(f"TAP_POLICY_{variable}", text)
    if line is None:
        PolicyTap(parse_env_config=True)
        return
    with pytest.raises(ConfigValidationError) as caught:
        PolicyTap(parse_env_config=True)
    (error,) = caught.value.errors
    assert error.startswith(f"tap-policy: invalid setting {line}")


@pytest.mark.parametrize(("page_size", "line"), [("7", None), ("abc", "must be a whole number")])
def test_settings_from_a_dotenv_file_are_read_as_the_sdk_reads_them(
    monkeypatch, tmp_path, page_size, line
):
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"TAP_POLICY_API_KEY=k-from-dotenv\nTAP_POLICY_PAGE_SIZE={page_size}\n")
    monkeypatch.setattr(_dict_config, "find_dotenv", lambda: str(dotenv))
    for name in ("TAP_POLICY_API_KEY", "TAP_POLICY_PAGE_SIZE"):  # loading it sets them
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    if line is None:
        tap = PolicyTap(parse_env_config=True)
        assert (tap.config["api_key"], tap.config["page_size"]) == ("k-from-dotenv", 7)
        return
    with pytest.raises(ConfigValidationError) as caught:
        PolicyTap(parse_env_config=True)
    (error,) = caught.value.errors
    assert error.endswith(f"'page_size' = 'abc': TAP_POLICY_PAGE_SIZE {line}")


def test_null_is_a_setting_left_unset():
    tap = PolicyTap(config={"api_key": "k", "page_size": None, "mode": None, "start_date": None})
    assert (tap.config["page_size"], tap.config["mode"]) == (100, "fail")
    assert tap.config["start_date"] is None  # no default: null it stays


def test_missing_required_and_several_bad_values_give_one_line_each():
    found = lines({"page_size": 0, "overlap_seconds": -1})
    assert found == [
        "tap-policy: missing required setting 'api_key'",
        "tap-policy: invalid setting 'overlap_seconds' = -1: must be at least 0",
        "tap-policy: invalid setting 'page_size' = 0: must be from 1 to 100",
    ]


def test_a_secret_value_is_never_shown():
    found = lines({"api_key": 12345})
    assert found == ["tap-policy: invalid setting 'api_key' = (hidden): must be a string"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://web-user:Url-Secret-9@:8443/api", "https://:8443/api"),
        ("web-user:Url-Secret-9@mail.example.com/api", "mail.example.com/api"),  # no scheme
        ("//web-user:Url-Secret-9@mail.example.com/api", "mail.example.com/api"),
        (
            "web-user:Url-Secret-9@mail.example.com/?next=https://x",
            "mail.example.com/?next=https://x",
        ),
        ("https://web-user:Url#Secret-9@mail.example.com/", "https://mail.example.com/"),  # no URL
    ],
)
def test_a_bad_url_is_shown_without_its_user_and_password(url, shown):
    found = lines({"api_key": "k", "api_url": url})
    assert found == [
        f"tap-policy: invalid setting 'api_url' = '{shown}': must be an http:// or "
        "https:// URL with a host, e.g. https://mail.example.com"
    ]
    if "#" not in url:  # with it, no part of the value is a password to requests
        assert secrets.config_secrets({"api_url": url}, SCHEMA) == ["Url-Secret-9"] * 2


@pytest.mark.parametrize(
    "url",
    [
        "https://mail.example.com",
        "http://127.0.0.1:8080/iredadmin",
        "https://[::1]:8443/api",
        "https://web-user:p]ss@w[rd@mail.example.com/api",  # as requests takes it
        " https://web-user:p]ss@mail.example.com/api",  # requests strips the blank
    ],
)
def test_web_urls_pass(url):
    assert PolicyTap(config={"api_key": "k", "api_url": url}).config["api_url"] == url


def test_valid_dates_and_defaults_pass():
    tap = PolicyTap(config={"api_key": "k", "start_date": "2026-01-31"})
    assert tap.config["page_size"] == 100
    PolicyTap(config={"api_key": "k", "start_date": "2026-01-31T08:00:00+05:30"})
    PolicyTap(config={"api_key": "k", "start_date": "2026-01-31T08:00:00Z"})


def test_discovery_warns_about_missing_settings_but_refuses_bad_values(caplog):
    with caplog.at_level(logging.WARNING):
        PolicyTap(config={}, validate_config=False)
    assert "tap-policy: missing required setting 'api_key'" in caplog.text
    with pytest.raises(ConfigValidationError):
        PolicyTap(config={"page_size": 0}, validate_config=False)


def test_unknown_setting_warns_with_the_closest_name(caplog):
    with caplog.at_level(logging.WARNING):
        PolicyTap(config={"api_key": "k", "window_minute": 5, "stream_maps": {}})
    assert "unknown setting 'window_minute' (did you mean 'window_minutes'?)" in caplog.text
    assert "stream_maps" not in caplog.text  # declared by the SDK
    assert config.unknown_settings({"zzz": 1}, SCHEMA) == [
        "unknown setting 'zzz' (no declared setting is close); it is ignored"
    ]


# -- strings a target cannot store ----------------------------------------------------


def test_nul_and_lone_surrogates_become_replacement_characters_everywhere():
    raw = b'{"a\\u0000": ["x\\u0000y", {"k": "\\ud800z"}], "n": 1, "ok": "\\ud83d\\ude00"}'
    assert text.may_hold_unstorable(raw)
    cleaned, count = text.replace_unstorable(json.loads(raw))
    assert cleaned == {"a\ufffd": ["x\ufffdy", {"k": "\ufffdz"}], "n": 1, "ok": "\U0001f600"}
    assert count == 3
    json.dumps(cleaned, ensure_ascii=False).encode("utf-8")  # storable


@pytest.mark.parametrize(
    "raw",
    [b'{"s": "\\u0000"}', b'{"s": "\\ud800"}', b'{"s": "a\\uDC00"}', b'{"s": "\x00"}',
     b'{"s": "\xed\xa0\x80"}', b'{"s": "\\"\\n", "t": "\\u0000"}'],
)  # fmt: skip
def test_each_form_of_an_unstorable_character_is_suspected(raw):
    assert text.may_hold_unstorable(raw)


def test_clean_answers_are_not_walked():
    assert not text.may_hold_unstorable(b'{"s": "\\"quoted\\" \\n \\u00e9 \\/"}')
    assert not text.may_hold_unstorable(
        json.dumps({"s": "Réunion 🚚"}, ensure_ascii=False).encode()
    )
    assert not text.may_hold_unstorable(b'{"s": "plain"}')
    value = {"s": "plain"}
    assert text.replace_unstorable(value) == (value, 0)
    assert text.replace_unstorable(value)[0] is value


def test_stream_counts_replacements_and_skips_keyless_records(caplog):
    tap = PolicyTap(config={"api_key": "k"})
    stream = tap.streams["rows"]
    with caplog.at_level(logging.WARNING):
        records = list(stream._sync_records(write_messages=False))
        stream.log_sync_costs()
    assert records == [{"id": "1", "v": "a\ufffdb"}, {"id": "2", "v": "ok"}]
    assert "rows: replaced 1 characters a target cannot store" in caplog.text
    assert "rows: skipped 2 records without a value for the primary key field 'id'" in caplog.text


# -- redaction -------------------------------------------------------------------------


def every_form(secret: str) -> list[str]:
    raw = secret.encode()
    b64, url = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    return [
        secret, b64, b64.rstrip("="), url, url.rstrip("="), quote(secret, safe=""),
        quote_plus(secret), json.dumps(secret)[1:-1],
    ]  # fmt: skip


@pytest.mark.parametrize("secret", ["sandbox-demo-password", 'p@ss wörd/+?=&"\\', "ü?>"])
def test_every_form_of_a_secret_is_redacted(secret):
    redact = secrets.Redactor([secret])
    for form in every_form(secret):
        out = redact(f"DB error: password={form} failed")
        assert form not in out, form
        assert out == "DB error: password=[redacted] failed"


def test_a_one_character_secret_does_not_garble_words():
    redact = secrets.Redactor(["e"])
    assert redact("Max retries exceeded: password=e (ZQ==)") == (
        "Max retries exceeded: password=[redacted] ([redacted])"
    )


def test_base64_settings_also_hide_the_password_they_encode():
    schema = {"properties": {"password_base64": {"secret": True}, "user": {}}}
    found = secrets.config_secrets({"password_base64": "c2VjcmV0LXZhbHVl", "user": "u"}, schema)
    assert sorted(found) == ["c2VjcmV0LXZhbHVl", "secret-value"]


def test_a_password_in_a_url_setting_is_a_secret():
    config = {
        "base_url": "https://web-user:p%40ss-word@mail.example.com/iredadmin",
        "api_url": "https://mail.example.com/",  # no credentials
        "note": "not a url: a@b://",
        "bad_port": "http://u:pw-in-bad-url@host:99999999/",
        "proxy_url": "http://u:br]ck@t-pw@proxy.example.com:3128",  # as requests reads it
    }
    found = secrets.config_secrets(config, {"properties": {}})
    assert sorted(found) == [
        "br]ck@t-pw", "br]ck@t-pw", "p%40ss-word", "p@ss-word", "pw-in-bad-url", "pw-in-bad-url"
    ]  # fmt: skip
    assert "web-user:[redacted]@mail" in secrets.Redactor(found)(config["base_url"])


@pytest.mark.parametrize(
    ("url", "shown"),
    [("http://a:b@h:1/x", "http://h:1/x"), ("https://h/x", "https://h/x"),
     ("http://web:Ab]cd@h/p?q=a@b", "http://h/p?q=a@b"), ("http://u:p%40s@h", "http://h"),
     ("http://h/path@x", "http://h/path@x"), ("not a URL @ all", "not a URL @ all")],
)  # fmt: skip
def test_urls_are_shown_without_user_and_password(url, shown):
    assert secrets.shown_url(url) == shown


@pytest.mark.parametrize(
    ("url", "server"),
    [("https://u:p@h:8443/a", "h:8443"), ("http://h", "h"), ("http://[::1]:3128", "[::1]:3128"),
     ("user:Proxy-Secret-7@proxy:3128", "proxy:3128"), ("http://u:Proxy-Secret-7@h:99999/", "http://h:99999/")],
)  # fmt: skip
def test_a_server_is_named_without_user_and_password(url, server):
    assert tls.server_of(url) == server


def test_the_passwords_of_the_environments_proxies_are_secrets():
    environ = {
        "HTTPS_PROXY": "https://u:Proxy-Secret-7@127.0.0.1:99999",  # requests cannot parse it
        "http_proxy": "u2:p%40ss-8@proxy:3128",  # no scheme: requests takes it as http://
        "all_proxy": "",
        "no_proxy": "u:not-a-proxy@h",
    }
    assert sorted(secrets.proxy_secrets(environ)) == [
        "Proxy-Secret-7", "Proxy-Secret-7", "p%40ss-8", "p@ss-8"
    ]  # fmt: skip


def test_log_records_are_redacted_message_arguments_and_exception(caplog):
    PolicyTap(config={"api_key": "key-0123456789"})
    logger = logging.getLogger("tap-policy")
    with caplog.at_level(logging.INFO):
        logger.info("server said %s", "token key-0123456789")
        try:
            raise RuntimeError("echo a2V5LTAxMjM0NTY3ODk=")
        except RuntimeError:
            logger.exception("failed")
    for record in caplog.records:
        secrets._FILTER.filter(record)  # pytest's handler sits beside the SDK's
    shown = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "key-0123456789" not in shown
    assert "a2V5LTAxMjM0NTY3ODk" not in shown
    assert "server said token [redacted]" in shown
