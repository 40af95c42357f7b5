"""A hermetic guard: while active, this process cannot open a connection outside loopback.

Simulated services are reached through respx (no socket at all) or servers on 127.0.0.1
(moto, PostgreSQL). Any attempt to resolve or connect to another address raises
:class:`HermeticViolation` naming the address, so a drill can never touch a real service by
accident. Unix sockets are allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from runbook_lib.errors import HermeticViolation

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@contextmanager
def hermetic() -> Iterator[None]:
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_getaddrinfo = socket.getaddrinfo

    def _check(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            raise HermeticViolation(
                f"hermetic run: connection to {address[0]}:{address[1]} refused; "
                "drills talk only to loopback and simulated services"
            )

    def connect(self: socket.socket, address: Any) -> None:
        _check(self, address)
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check(self, address)
        return original_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not is_loopback(host):
            raise HermeticViolation(
                f"hermetic run: name lookup of {host!r} refused; "
                "drills talk only to loopback and simulated services"
            )
        return original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = original_getaddrinfo
