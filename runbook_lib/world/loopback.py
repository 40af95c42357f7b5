"""Servers on 127.0.0.1: a free port for a program to listen on, and a threaded server run in
the background of the drill's process (the simulations' HTTP, HTTPS-proxy and SMTP listeners).

A server's ``serve_forever`` loop notices ``shutdown()`` only between polls; at the standard
library's default (0.5 s) every scenario that stops a listener waited up to half a second for
nothing, so the loop here polls every :data:`SHUTDOWN_POLL_SECONDS`.
"""

from __future__ import annotations

import socket
import socketserver
import threading

SHUTDOWN_POLL_SECONDS = 0.02


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a program that binds it itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_in_background(server: socketserver.BaseServer, name: str) -> threading.Thread:
    """Run ``server`` in a daemon thread (started); ``server.shutdown()`` returns within
    :data:`SHUTDOWN_POLL_SECONDS`."""
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
        name=name,
        daemon=True,
    )
    thread.start()
    return thread
