"""TLS verification the same way in the three taps.

``requests`` reads a CA bundle named in ``REQUESTS_CA_BUNDLE`` (or ``CURL_CA_BUNDLE``) in
``Session.request`` only. The SDK's streams call ``Session.send``, so in the two SDK taps
the variable was ignored and a company CA (a TLS-inspecting proxy, an internal server)
could only be trusted by turning verification off. :func:`verify_setting` gives every
session the bundle the environment names.

A certificate that does not verify is not a transient failure: retrying it only delays
the error. :func:`certificate_distrust` recognises one, and :func:`untrusted_certificate`
says what to do about it.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests
import urllib3

from mailtaps_common.secrets import shown_url_setting

CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")  # in requests' order


def verify_setting(verify_tls: bool) -> bool | str:
    """``verify`` for a ``requests`` session: the CA bundle the environment names (else
    ``requests``' own) when verifying, ``False`` when ``verify_tls`` is off."""
    if not verify_tls:
        return False
    for name in CA_BUNDLE_VARIABLES:
        if path := os.environ.get(name):
            if not os.path.exists(path):
                raise ValueError(f"{name} names {path}, which does not exist: fix or unset it")
            return path
    return True


def causes(failure: BaseException) -> Iterator[BaseException]:
    """The exception, the urllib3 reasons it wraps, and their causes."""
    seen: set[int] = set()
    todo = [failure]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(a for a in current.args if isinstance(a, BaseException))
        for linked in (getattr(current, "reason", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                todo.append(linked)


def certificate_distrust(failure: BaseException) -> str | None:
    """OpenSSL's words when ``failure`` is (or wraps) a server certificate that did not
    verify; None for any other failure."""
    for cause in causes(failure):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return str(cause.verify_message or cause.reason)
    return None


def server_of(url: str) -> str:
    """``host:port`` of ``url`` (the host alone without a port), never its user and
    password."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is no number, a stray bracket
        return shown_url_setting(url)
    if not host:
        return shown_url_setting(url)
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


def failing_proxy(url: str, failure: BaseException) -> str | None:
    """``host:port`` of the environment's proxy for ``url`` when ``failure`` happened on
    the way to it (``requests`` reports those as a ``ProxyError``); None otherwise."""
    if not any(isinstance(cause, urllib3.exceptions.ProxyError) for cause in causes(failure)):
        return None
    proxy = requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))
    return server_of(proxy) if proxy else "(unknown)"


def untrusted_certificate(url: str, failure: BaseException) -> str | None:
    """The error when ``failure`` (of a call to ``url``) is a certificate that did not
    verify: the server's, or that of the HTTPS proxy the environment names for ``url``
    (``requests`` reports that one as a failure to reach the proxy). None otherwise."""
    distrust = certificate_distrust(failure)
    if distrust is None:
        return None
    whose = server_of(url)
    if (proxy := failing_proxy(url, failure)) is not None:
        whose = f"the proxy {proxy}"
    return (
        f"the TLS certificate of {whose} is not trusted ({distrust}): if it is right, name "
        "its CA in REQUESTS_CA_BUNDLE, or set verify_tls to false"
    )
