"""The simulated S3: moto's server on 127.0.0.1, and the arranging of a scenario's objects.

:class:`MotoServer` is moto's own WSGI application (every route, status code and XML shape
unchanged) served by werkzeug on a free loopback port, as ``moto.server.ThreadedMotoServer``
does, with one difference: moto's dispatcher looks up which backend serves a ``Host`` header by
listing moto's package directory on *every* request (about 180 ``stat`` calls, half of the
server's time per request). The answer depends on the host alone, so :class:`_MemoDispatcher`
remembers it per host.

:func:`put_objects` arranges a scenario's starting state (the files behind the attachments
table) straight in moto's in-process backend, the way a fixture inserts rows: the procedures
under test (the guide's ``aws s3 sync``, restores, verification) still go through HTTP.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from moto.backends import get_backend
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from runbook_lib.errors import ConfigurationError, EnvironmentMissing
from runbook_lib.world.loopback import serve_in_background


class _MemoDispatcher(DomainDispatcherApplication):
    """moto's host -> backend dispatcher, with each host's answer remembered."""

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._backend_by_host: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backend_by_host:
            self._backend_by_host[host] = super().get_backend_for_host(host)
        return self._backend_by_host[host]


class MotoServer:
    """moto on 127.0.0.1 in a daemon thread; ``endpoint`` is what ``AWS_ENDPOINT_URL`` takes."""

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        try:
            self._server = make_server("127.0.0.1", 0, _MemoDispatcher(), threaded=True)
        except OSError as exc:
            raise EnvironmentMissing(
                f"cannot start the simulated S3 on 127.0.0.1: {exc}; check loopback networking"
            ) from None
        self._thread = serve_in_background(self._server, "moto-s3")
        return self.endpoint

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("MotoServer.start() was not called")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def put_objects(bucket: str, objects: Iterable[tuple[str, bytes]]) -> int:
    """Store ``(key, body)`` pairs in an existing bucket of the in-process moto backend."""
    backend = get_backend("s3")[DEFAULT_ACCOUNT_ID]["aws"]
    if bucket not in backend.buckets:
        raise ConfigurationError(
            f"cannot arrange objects in bucket {bucket!r}: the simulated S3 has no such bucket; create it first"
        )
    count = 0
    for key, body in objects:
        backend.put_object(bucket, key, body)
        count += 1
    return count
