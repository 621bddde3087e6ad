"""Where the server may send a request: only to allowlisted hosts, never to an internal address.

A user types a provider's API base URL and a Slack webhook URL; the server then sends credentials and
messages there. So every such target must be on an allowlist (provider hosts, notification hosts; the
deployment adds its own, such as the local sandbox), and a named host must resolve only to public
addresses: a loopback, private, link-local, multicast or reserved address is refused unless the
allowlist names that address itself. Redirects are never followed by the callers. The refusal text
says only that the target is not allowed: it never tells whether anything answers there."""
from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from ..refusals import Refused

REFUSED = "{what} is not an allowed address: use one of the hosts the console is configured to call ({setting})."


class OutboundRefused(Refused, ValueError):
    pass


def parse_hosts(text: str) -> tuple[str, ...]:
    """`host` or `host:port` entries, comma or space separated; IPv6 literals in brackets."""
    return tuple(e.strip().lower() for e in text.replace(",", " ").split() if e.strip())


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _entry_matches(entry: str, host: str, port: int) -> bool:
    if entry.startswith("["):  # [v6] or [v6]:port
        name, _, rest = entry[1:].partition("]")
        entry_port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        name, entry_port = entry.split(":")
    else:
        name, entry_port = entry, ""
    if entry_port and entry_port != str(port):
        return False
    if name.startswith("*."):  # "*.my.salesforce.com": labels before a suffix of two labels or more, never the suffix
        suffix = name[1:]
        return suffix.count(".") >= 2 and host.endswith(suffix) and len(host) > len(suffix) and _ip(host) is None
    a, b = _ip(name), _ip(host)
    return (a == b) if a is not None and b is not None else name == host


def public(address: str) -> bool:
    ip = _ip(address)
    return ip is not None and ip.is_global and not ip.is_multicast


def check(url: str, allowed: tuple[str, ...], what: str = "The URL", setting: str = "CONSOLE_PROVIDER_HOSTS",
          resolve=socket.getaddrinfo) -> str:
    """Return the URL when the server may call it; raise OutboundRefused otherwise."""
    refused = OutboundRefused(REFUSED.format(what=what, setting=setting))
    try:
        parts = urlsplit(url.strip())
        host, port = (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise refused from None
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise refused
    if not any(_entry_matches(e, host, port) for e in allowed):
        raise refused
    if _ip(host) is not None:
        return url  # an address the allowlist names itself
    if parts.scheme != "https":
        raise refused  # a named host gets credentials over TLS only
    try:
        addresses = {info[4][0] for info in resolve(host, port, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        raise refused from None
    if not addresses or not all(public(a) for a in addresses):
        raise refused
    return url


def http_session(url: str, pool: int = 0) -> requests.Session:
    """The session every outbound call goes through. The environment's proxy (with its NO_PROXY) and CA
    bundle are read once, here: requests otherwise reads them again on every call, with filesystem checks
    on the fetch thread's hot path. A ~/.netrc is never consulted: requests would put its login in place of
    the provider's bearer header and send it there. `pool` > 0 keeps that many connections per host."""
    session = requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
    if pool:
        for scheme in ("http://", "https://"):
            session.mount(scheme, HTTPAdapter(pool_connections=2, pool_maxsize=pool))
    return session


class OutboundFailed(Exception):
    """A request to an allowed address that did not get a 2xx answer (or no answer at all)."""


def post_json(url: str, payload: Any, allowed: tuple[str, ...], what: str, setting: str,
              timeout: float = 5.0) -> requests.Response:
    """POST JSON to a URL a user chose: only after `check`, never following a redirect, bounded in time.
    Raises OutboundRefused for a target not allowed, OutboundFailed for any other failure."""
    check(url, allowed, what, setting)
    try:
        with http_session(url) as session:
            resp = session.post(url, json=payload, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise OutboundFailed(type(exc).__name__) from exc
    if not 200 <= resp.status_code < 300:
        raise OutboundFailed(f"HTTP {resp.status_code}")
    return resp
