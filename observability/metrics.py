"""GET /metrics in Prometheus' text format, and the request metrics.

Counters and histograms live in each process; with METRICS_DIR set (one directory shared by the
gunicorn workers and the django-q2 workers, a volume shared by the containers), each process
writes them to a file (prometheus-client's multiprocess mode) and /metrics sums every file. What the database stores (syncs, snapshots, deliveries,
the queue) is read from it at scrape time by the apps' collectors instead, so that it is right
whichever machine is scraped."""

import hmac
import ipaddress
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

HTTP_REQUEST_SECONDS = Histogram(
    "snr_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


# Any token is a method to a client; series are kept for these, the rest count as "other".
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def http_request_observe(*, method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in HTTP_METHODS else "other"
    _request_histogram(method, route, status).observe(seconds)


@cache
def _request_histogram(method: str, route: str, status: int) -> Histogram:
    # labels() validates its arguments and takes a lock on every call: each of the few series
    # (routes and statuses are ours, methods a fixed few) is looked up once.
    return HTTP_REQUEST_SECONDS.labels(method=method, route=route, status=str(status))


def metrics_view(*, collectors: Iterable[Collector]) -> Callable[[HttpRequest], HttpResponse]:
    """The /metrics view: this process's (or, in multiprocess mode, every process's) counters
    and histograms, then what `collectors` read at scrape time."""
    scrape_time = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        scrape_time.register(collector)

    @require_GET
    def metrics(request: HttpRequest) -> HttpResponse:
        if not metrics_access_allowed(request):
            return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
        body = generate_latest(_process_registry()) + generate_latest(scrape_time)
        return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)

    return metrics


def _process_registry() -> CollectorRegistry:
    if not settings.METRICS_DIR:
        return REGISTRY
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_EveryHostsFiles(Path(settings.METRICS_DIR)))
    return registry


class _EveryHostsFiles(Collector):
    """prometheus-client's MultiProcessCollector reads one directory; each host (container) has
    its own under METRICS_DIR."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def collect(self) -> Iterable[Metric]:
        files = sorted(str(path) for path in self.root.glob("*/*.db"))
        merged: Iterable[Metric] = MultiProcessCollector.merge(  # type: ignore[no-untyped-call]
            files, accumulate=True
        )
        return merged


def metrics_access_allowed(request: HttpRequest) -> bool:
    """A bearer METRICS_TOKEN, or a client address in METRICS_ALLOWED_IPS; nobody otherwise."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if (
        settings.METRICS_TOKEN
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode())
    ):
        return True
    networks = _allowed_networks(tuple(settings.METRICS_ALLOWED_IPS))
    if not networks:
        return False
    # The address as django-axes sees it, so both agree on which proxies are trusted.
    client = get_client_ip_address(request)
    try:
        address = ipaddress.ip_address(client or "")
    except ValueError:
        return False
    return any(address in network for network in networks)


@cache
def _allowed_networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry)
