"""The simulated APIs served over real HTTP(S) on loopback, so real clients can reach them.

A :class:`Gateway` is one threaded server on 127.0.0.1 that real clients use as their HTTPS
proxy (``HTTPS_PROXY``): for ``CONNECT api.supabase.com:443`` it answers 200 and terminates TLS
with a certificate for that host, signed by a certificate authority made for this session
(:class:`SessionCA`, handed to clients through ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``,
``REQUESTS_CA_BUNDLE``, ``NODE_EXTRA_CA_CERTS``). Every request is turned into an
``httpx.Request`` for the real URL and answered by the mounted simulation's
``handle(request)``: the same state machines the steps inspect. A host that no simulation
serves is refused (403) and remembered in :attr:`Gateway.refused`: a child process behind the
proxy cannot reach the internet either, which extends the hermetic guard to child processes.

Clients that take an API origin instead of a proxy (the Vercel CLI's ``api`` setting) get a
plain-HTTP listener per host from :meth:`Gateway.origin`.

Faults that make a simulation time out close the connection without an answer: the client sees
the service not answering, at once instead of after its own timeout.
"""

from __future__ import annotations

import datetime
import re
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from runbook_lib.world import touched
from runbook_lib.world.http import default_tls
from runbook_lib.world.loopback import serve_in_background

Handler = Callable[[httpx.Request], httpx.Response]
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "transfer-encoding",
    "te",
    "upgrade",
}
_NOT_FORWARDED = _HOP_BY_HOP | {"content-length", "content-encoding"}
LOOPBACK_NAMES = "127.0.0.1,localhost,::1"


class SessionCA:
    """A certificate authority that lives for one session, and leaf certificates per host."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "runbook drill session CA")])
        self._name = name
        self._cert = (
            _builder(name, name, self._key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self.cert_file = directory / "session-ca.pem"
        self.cert_file.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def context_for(self, host: str) -> ssl.SSLContext:
        """A server-side TLS context presenting a certificate for ``host``."""
        with self._lock:
            if host not in self._contexts:
                self._contexts[host] = self._issue(host)
            return self._contexts[host]

    def _issue(self, host: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
        cert = (
            _builder(subject, self._name, key.public_key())
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        chain = self._chain_file(host)
        chain.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain)
        return context

    def server_context(self) -> ssl.SSLContext:
        """Picks the host's certificate from the client's SNI."""
        self.context_for("localhost")  # presented to a client that sends no server name
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._chain_file("localhost"))

        def pick(sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: Any) -> None:
            if name:
                sock.context = self.context_for(name)

        context.sni_callback = pick
        return context

    def _chain_file(self, host: str) -> Path:
        """Where ``host``'s certificate and key are kept (ssl loads chains from files)."""
        return self.directory / (re.sub(r"[^A-Za-z0-9.-]", "_", host) + ".pem")

    def client_context(self) -> ssl.SSLContext:
        """What an in-process client verifies the simulations with."""
        return ssl.create_default_context(cafile=str(self.cert_file))


def _builder(subject: x509.Name, issuer: x509.Name, public_key: Any) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
    )


@dataclass(frozen=True)
class Exchange:
    """One request a client sent through the gateway and the simulation's answer (None: it was
    left unanswered): how a step reads what a real program such as curl really got."""

    request: httpx.Request
    response: httpx.Response | None

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None


class Gateway:
    """The loopback proxy and origins in front of the mounted simulations (one per session)."""

    def __init__(self, ca: SessionCA) -> None:
        self.ca = ca
        self.refused: list[str] = []
        self.exchanges: list[Exchange] = []  # what real clients sent, and what they were answered
        self._routes: list[tuple[re.Pattern[str], Handler]] = []
        self._server_context = ca.server_context()
        self._proxy = _Server(self, fixed_host=None)
        self._origins: dict[str, _Server] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._proxy.server_port}"

    def start(self) -> Gateway:
        self._proxy.start()
        return self

    def stop(self) -> None:
        for server in [self._proxy, *self._origins.values()]:
            server.stop()

    @contextmanager
    def mounted(self, routes: Iterable[tuple[str, Handler]]) -> Iterator[Gateway]:
        """Serve ``routes`` (host regex, handler) until the block ends; what the handlers touch is
        recorded on the running scenario's record (:func:`touched.active`)."""
        with self._lock:
            self._routes = [(re.compile(f"^{host}$"), handler) for host, handler in routes]
        try:
            yield self
        finally:
            with self._lock:
                self._routes = []

    def handler_for(self, host: str) -> Handler | None:
        with self._lock:
            return next((h for pattern, h in self._routes if pattern.match(host)), None)

    def refuse(self, host: str) -> None:
        with self._lock:
            self.refused.append(host)

    def answer(self, handler: Handler, request: httpx.Request) -> httpx.Response:
        with touched.into(touched.active()):
            try:
                response = handler(request)
            except httpx.TimeoutException:
                self._log(Exchange(request, None))
                raise
        response.read()
        self._log(Exchange(request, response))
        return response

    @contextmanager
    def watching(self) -> Iterator[list[Exchange]]:
        """The exchanges made while the block runs (filled when it ends)."""
        start = len(self.exchanges)
        seen: list[Exchange] = []
        try:
            yield seen
        finally:
            with self._lock:
                seen.extend(self.exchanges[start:])

    def _log(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def origin(self, host: str) -> str:
        """A plain-HTTP origin on loopback that serves ``host``'s simulation (for clients that
        take an API origin, not a proxy)."""
        with self._lock:
            if host not in self._origins:
                self._origins[host] = _Server(self, fixed_host=host).start()
            port = self._origins[host].server_port
        return f"http://127.0.0.1:{port}"

    def client(self, timeout: float = 10) -> httpx.Client:
        """An httpx client that reaches the simulations the way a real client does: through the
        proxy, verifying TLS with the session CA; loopback stays direct."""
        verify = self.ca.client_context()
        proxied = httpx.HTTPTransport(proxy=self.url, verify=verify)
        direct = httpx.HTTPTransport(verify=default_tls())
        mounts = {"all://": proxied, "all://127.0.0.1": direct, "all://localhost": direct}
        return httpx.Client(timeout=timeout, mounts=mounts, verify=verify, trust_env=False)

    def environment(self) -> dict[str, str]:
        """What a child process needs to reach the simulations (and only them)."""
        ca = str(self.ca.cert_file)
        proxies = {name: self.url for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")}
        lowered = {name.lower(): value for name, value in proxies.items()}
        return {
            **proxies,
            **lowered,
            "NO_PROXY": LOOPBACK_NAMES,
            "no_proxy": LOOPBACK_NAMES,
            "CURL_CA_BUNDLE": ca,
            "SSL_CERT_FILE": ca,
            "REQUESTS_CA_BUNDLE": ca,
            "NODE_EXTRA_CA_CERTS": ca,
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, gateway: Gateway, fixed_host: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.gateway = gateway
        self.fixed_host = fixed_host
        self._open: set[socket.socket] = set()

    def start(self) -> _Server:
        serve_in_background(self, f"gateway-{self.fixed_host or 'proxy'}")
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        for sock in list(self._open):
            _close_quietly(sock)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that drops its connection (Node resets idle keep-alive sockets) is no error;
        anything else is printed by the standard handler."""
        if isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def track(self, sock: socket.socket, open_: bool) -> None:
        (self._open.add if open_ else self._open.discard)(sock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    tunnel_host: str | None = None
    timeout = 60

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)
            _close_quietly(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the simulations keep their own request logs."""

    def do_CONNECT(self) -> None:
        host = self.path.rpartition(":")[0].strip("[]")
        if self.server.gateway.handler_for(host) is None:
            self._refuse(host)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        tls = self.server.gateway._server_context.wrap_socket(self.connection, server_side=True)
        self.server.track(self.connection, False)
        self.connection = self.request = tls
        self.server.track(tls, True)
        self.rfile = tls.makefile("rb")
        self.wfile = tls.makefile("wb")
        self.tunnel_host = host
        self.close_connection = False

    def _dispatch(self) -> None:
        host, url = self._target()
        handler = self.server.gateway.handler_for(host) if host else None
        if handler is None:
            self._refuse(host or "(no host)")
            return
        request = httpx.Request(
            self.command,
            url,
            headers=[(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP],
            content=self._body(),
        )
        try:
            response = self.server.gateway.answer(handler, request)
        except httpx.TimeoutException:
            self.close_connection = True  # the simulated service never answers
            return
        self._write(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _target(self) -> tuple[str | None, str]:
        fixed = self.tunnel_host or self.server.fixed_host
        if fixed:
            return fixed, f"https://{fixed}{self.path}"
        parts = urlsplit(self.path)
        return (parts.hostname, self.path) if parts.scheme in ("http", "https") else (None, "")

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _write(self, response: httpx.Response) -> None:
        content = response.content
        self.send_response(response.status_code, _reason(response.status_code))
        for name, value in response.headers.multi_items():
            if name.lower() not in _NOT_FORWARDED:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)
        self.wfile.flush()

    def _refuse(self, host: str) -> None:
        self.server.gateway.refuse(host)
        body = (
            f"hermetic run: {host} is not simulated; drills reach only loopback and the "
            "simulated services\n"
        ).encode()
        self.send_response(403, "Forbidden")
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _close_quietly(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.close()
