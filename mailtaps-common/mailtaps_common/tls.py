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
from urllib.parse import urlsplit

from mailtaps_common.probe import causes

CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")  # in requests' order


def verify_setting(verify_tls: bool) -> bool | str:
    """``verify`` for a ``requests`` session: the CA bundle the environment names (else
    ``requests``' own) when verifying, ``False`` when ``verify_tls`` is off."""
    if not verify_tls:
        return False
    return next((path for name in CA_BUNDLE_VARIABLES if (path := os.environ.get(name))), True)


def certificate_distrust(failure: BaseException) -> str | None:
    """OpenSSL's words when ``failure`` is (or wraps) a server certificate that did not
    verify; None for any other failure."""
    for cause in causes(failure):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return str(cause.verify_message or cause.reason)
    return None


def untrusted_certificate(url: str, distrust: str) -> str:
    """The error for a certificate of the server at ``url`` that did not verify."""
    server = urlsplit(url)
    where = f"{server.hostname}" + (f":{server.port}" if server.port else "")
    return (
        f"the TLS certificate of {where} is not trusted ({distrust}): if it is right, name "
        "its CA in REQUESTS_CA_BUNDLE, or set verify_tls to false"
    )
