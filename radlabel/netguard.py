"""The PHI guard: the one check every network client runs on its URL before it connects.

Reports are PHI. An LM server (``--api-base``), a Chroma server (``--chroma-url``) or anything
added later gets its URL through :func:`guard_url`, which

* parses strictly: only ``http``/``https``, no user-info (``user@host``), no backslash, no
  percent-escapes, blanks or control characters anywhere, no query or fragment, a plain host
  name or IP literal and a numeric port. These are the spots where two URL parsers disagree
  (``http://10.0.0.1\\@127.0.0.1`` is 127.0.0.1 to ``urllib.parse`` and 10.0.0.1 to a WHATWG
  parser such as the one httpx follows), so a URL using them is refused rather than guessed;
* allows only loopback hosts (``localhost``, 127.0.0.0/8, ``::1``) unless ``allow_remote``;
* for a loopback host, puts the host on ``NO_PROXY``/``no_proxy`` in this process's
  environment, so an ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` set in the shell cannot
  route the report text to a proxy (httpx, requests, aiohttp and urllib all honour it);
* returns the URL rebuilt from the parsed parts, which is what the client must be given.

Core layer: standard library only.
"""
from __future__ import annotations

import ipaddress
import os
import re
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit

from radlabel.errors import InputError

SCHEMES = ("http", "https")
LOOPBACK_NAMES = ("localhost",)
# Loopback names every radlabel process exempts from proxies, before any client is built.
DEFAULT_NO_PROXY = ("localhost", "127.0.0.1", "::1")
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")

_HOST = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?))"
                   r"(?::(?P<port>[0-9]{1,5}))?$")
_BAD_CHARS = re.compile(r"[\\\s%@\x00-\x1f\x7f]")


@dataclass(frozen=True)
class GuardedURL:
    url: str          # rebuilt from the parsed parts: give this one to the client
    scheme: str
    host: str         # without brackets for IPv6
    port: int | None
    path: str
    loopback: bool

    @property
    def netloc(self) -> str:
        h = f"[{self.host}]" if ":" in self.host else self.host
        return h + (f":{self.port}" if self.port is not None else "")


def is_loopback_host(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_url(url: str, *, field: str, schemes: tuple[str, ...] = SCHEMES,
              default_scheme: str | None = None) -> GuardedURL:
    """Strict parse; InputError naming ``field`` for anything a client could read differently."""
    def bad(why: str):
        return InputError(f"refusing URL {url!r}: {why}", field=field)

    if not isinstance(url, str) or not url:
        raise bad("empty")
    raw = url
    if "://" not in raw:
        if default_scheme is None:
            raise bad(f"no scheme; write {schemes[0]}://host:port")
        raw = f"{default_scheme}://{raw}"
    scheme, rest = raw.split("://", 1)
    if scheme.lower() not in schemes:
        raise bad(f"scheme {scheme!r} is not one of {', '.join(schemes)}")
    scheme = scheme.lower()
    m = _BAD_CHARS.search(rest)
    if m:
        what = {"\\": "a backslash", "@": "user-info ('user@host')", "%": "a percent-escape"}.get(
            m.group(), "a blank or control character")
        raise bad(f"it contains {what}, which HTTP clients parse differently")
    try:
        parts = urlsplit(f"{scheme}://{rest}")
    except ValueError as e:
        raise bad(str(e)) from None
    if parts.query or parts.fragment or "?" in rest or "#" in rest:
        raise bad("no query string or fragment allowed")
    hm = _HOST.match(parts.netloc)
    if not hm:
        raise bad("the host is not a plain name, IPv4 or [IPv6] address with an optional port")
    host = hm.group("v6") or hm.group("name")
    if hm.group("v6"):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise bad("not a valid IPv6 address") from None
    port = int(hm.group("port")) if hm.group("port") else None
    if port is not None and not 0 < port < 65536:
        raise bad("port out of range")
    g = GuardedURL("", scheme, host, port, parts.path, is_loopback_host(host))
    return GuardedURL(f"{scheme}://{g.netloc}{parts.path}", scheme, host, port, parts.path,
                      g.loopback)


def exempt_from_proxies(*hosts: str) -> None:
    """Add ``hosts`` to NO_PROXY and no_proxy (both: libraries read one or the other)."""
    for var in ("NO_PROXY", "no_proxy"):
        have = [h.strip() for h in os.environ.get(var, "").split(",") if h.strip()]
        if "*" in have:
            continue
        add = [h for h in hosts if h not in have]
        if add:
            os.environ[var] = ",".join(have + add)


def guard_url(url: str, *, field: str, allow_remote: bool = False,
              schemes: tuple[str, ...] = SCHEMES, default_scheme: str | None = None,
              ) -> GuardedURL:
    """Every network client's check. Refuses a non-loopback host unless ``allow_remote``;
    for a loopback host makes sure no proxy from the environment is used."""
    g = parse_url(url, field=field, schemes=schemes, default_scheme=default_scheme)
    if g.loopback:
        # IPv6 without brackets: httpx reads a bracketed NO_PROXY entry as a broken URL port.
        exempt_from_proxies(*dict.fromkeys([g.host.strip("[]")] + list(DEFAULT_NO_PROXY)))
        return g
    if not allow_remote:
        raise InputError(f"{g.host} is not this machine; reports are PHI and would leave it. "
                         "Use a loopback address (127.0.0.1, localhost, [::1]) or pass "
                         "--allow-remote", field=field)
    return g


def proxies_in_env() -> list[str]:
    return [v for v in PROXY_VARS if os.environ.get(v)]


def announce_remote(target: str, source: str) -> None:
    """One line on stderr when a file (not a flag the user just typed) sends reports away."""
    print(f"radlabel: warning: allow_remote: true in {source}: reports (PHI) will be sent to "
          f"{target}", file=sys.stderr)
