"""One webhook POST over httpcore (the engine under httpx), with two guarantees httpx alone does
not give: the connection goes to the address that was validated (no second DNS lookup), and the
whole attempt, connect to last byte read, ends by one deadline."""

import ssl
import typing
from dataclasses import dataclass
from time import monotonic

import httpcore

from catalog.webhooks.validators import WebhookTarget

# Receivers answer "ok": more than this is read no further, and the connection is dropped.
RESPONSE_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    body: bytes  # at most RESPONSE_BODY_LIMIT bytes


class WebhookSendError(Exception):
    """The attempt got no complete answer: connection refused, reset, TLS failure, or deadline."""


def webhook_post(
    *,
    url: str,
    target: WebhookTarget,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
) -> WebhookResponse:
    """POSTs `body` to `url` through `target.address`. The Host header and, for https, the TLS
    server name and certificate check use the URL's host name; redirects are not followed."""
    backend = _PinnedBackend(addresses=target.addresses, deadline=monotonic() + timeout)
    try:
        with (
            httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=backend) as pool,
            pool.stream(
                "POST",
                url,
                headers=[*headers.items(), ("Accept-Encoding", "identity")],
                content=body,
                extensions={"timeout": {"connect": timeout, "read": timeout, "write": timeout}},
            ) as response,
        ):
            return WebhookResponse(status=response.status, body=_read_limited(response))
    except httpcore.TimeoutException as error:
        raise WebhookSendError(
            f"TimeoutError: no complete answer within {timeout:g} s (WEBHOOK_TIMEOUT_SECONDS)"
        ) from error
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as error:
        raise WebhookSendError(f"{type(error).__name__}: {error}") from error


def _read_limited(response: httpcore.Response) -> bytes:
    received = bytearray()
    for chunk in response.iter_stream():
        received += chunk
        if len(received) >= RESPONSE_BODY_LIMIT:
            break  # closing the unfinished response closes its connection: the rest is dropped
    return bytes(received[:RESPONSE_BODY_LIMIT])


class _Deadline:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def clamp(self, timeout: float | None) -> float:
        """What is left of the attempt, never more than the per-operation timeout. A timeout of 0
        would make the socket non-blocking, so an exhausted deadline raises instead."""
        left = self.deadline - monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the attempt's deadline has passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """Each read or write may only wait for what is left of the attempt: a receiver that drips
    one byte at a time cannot stretch it."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.clamp(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # server_hostname is the URL's host: SNI and certificate checks are for the name.
        secure = self._stream.start_tls(ssl_context, server_hostname, self._deadline.clamp(timeout))
        return _DeadlineStream(secure, self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to the validated addresses, in turn (an unreachable IPv6 address falls back to
    the next), whatever host name httpcore asks for."""

    def __init__(self, *, addresses: tuple[str, ...], deadline: float) -> None:
        self._addresses = addresses
        self._deadline = _Deadline(deadline)
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        failure = httpcore.ConnectError(f"{host} has no checked address")
        for address in self._addresses:
            try:
                stream = self._backend.connect_tcp(
                    address, port, self._deadline.clamp(timeout), local_address, socket_options
                )
            except httpcore.ConnectError as error:
                failure = error
                continue
            return _DeadlineStream(stream, self._deadline)
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks never use unix sockets")
