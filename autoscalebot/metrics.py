"""Prometheus metrics of the headless bot, for Kubernetes and plain servers.

Opt-in: ``METRICS_PORT`` starts an HTTP endpoint (``/metrics``) on
``METRICS_HOST``, loopback unless the operator opens it. The numbers come from
the engine's events through :class:`MetricsSink`, like the log's, so the
engine knows nothing of Prometheus. Needs the ``[metrics]`` extra
(``prometheus-client``), imported only when the endpoint is asked for.
(Heroku users get the same numbers as l2met fields in the log lines.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from autoscalebot.config import ConfigError, Settings
from autoscalebot.engine import events as ev

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

OUTCOMES = ("pass", "ok", "fail")


class MetricsSink:
    """An event sink that keeps Prometheus gauges and counters up to date.

    Gauges: dynos now, target, window min and max, the last heartbeat
    latency, each streak and its limit, paused. Counters: beats by outcome,
    confirmed scales (automatic or manual), failed scale calls, trouble
    episodes by failing part, drift. Quick and thread-safe (the client's
    metrics lock themselves), as a sink must be.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Info

        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        """Where the metrics live (their own, not the client's global one)."""
        reg = self.registry
        self._info = Info("autoscalebot", "What this bot scales.", ["formation"], registry=reg)
        self._dynos = Gauge(
            "autoscalebot_dynos",
            "Dynos (replicas, workers) running now.",
            ["formation"],
            registry=reg,
        )
        self._target = Gauge(
            "autoscalebot_dynos_target",
            "The count the bot is heading for.",
            ["formation"],
            registry=reg,
        )
        self._min = Gauge(
            "autoscalebot_dynos_min", "MIN_DYNOS at this moment.", ["formation"], registry=reg
        )
        self._max = Gauge(
            "autoscalebot_dynos_max", "MAX_DYNOS at this moment.", ["formation"], registry=reg
        )
        self._latency = Gauge(
            "autoscalebot_heartbeat_latency_seconds",
            "The last heartbeat's response time (NaN when it got no answer).",
            ["formation"],
            registry=reg,
        )
        self._streak = Gauge(
            "autoscalebot_streak",
            "Consecutive beats in each streak.",
            ["formation", "streak"],
            registry=reg,
        )
        self._streak_limit = Gauge(
            "autoscalebot_streak_limit",
            "Beats in a row that trigger a scale.",
            ["formation", "streak"],
            registry=reg,
        )
        self._paused = Gauge(
            "autoscalebot_paused",
            "1 while automatic scaling is paused.",
            ["formation"],
            registry=reg,
        )
        self._beats = Counter(
            "autoscalebot_beats", "Heartbeats, by outcome.", ["formation", "outcome"], registry=reg
        )
        self._scales = Counter(
            "autoscalebot_scales",
            "Scales the platform confirmed.",
            ["formation", "manual"],
            registry=reg,
        )
        self._failures = Counter(
            "autoscalebot_scale_failures", "Scale calls that failed.", ["formation"], registry=reg
        )
        self._trouble = Counter(
            "autoscalebot_trouble",
            "Episodes of a part failing (probe, platform, scale, notify:...).",
            ["formation", "source"],
            registry=reg,
        )
        self._drift = Counter(
            "autoscalebot_drift",
            "Counts changed outside the bot (by hand).",
            ["formation"],
            registry=reg,
        )

    def sink_for(self, formation: str) -> ev.Sink:
        """The sink of one formation: its metrics carry ``formation="<id>"``."""
        for outcome in OUTCOMES:  # present at 0 from the start, so rate() works
            self._beats.labels(formation=formation, outcome=outcome)
        for manual in ("false", "true"):
            self._scales.labels(formation=formation, manual=manual)
        return lambda event: self.record(event, formation)

    def record(self, event: ev.Event, formation: str) -> None:
        """Update ``formation``'s metrics from one of its engine's events."""
        f = formation
        match event:
            case ev.Started():
                self._info.labels(formation=f).info(
                    {"app": event.app, "dry_run": _flag(event.dry_run)}
                )
                self._set_dynos(f, event.current)
                self._min.labels(formation=f).set(event.min)
                self._max.labels(formation=f).set(event.max)
            case ev.Beat():
                self._beats.labels(formation=f, outcome=event.outcome).inc()
                latency = event.latency_ms
                self._latency.labels(formation=f).set(
                    float("nan") if latency is None else latency / 1000.0
                )
                self._set_dynos(f, event.current)
                self._set_streaks(f, event.streaks)
            case ev.StatusChanged():
                status = event.status
                self._set_dynos(f, status.current)
                if status.target is not None:
                    self._target.labels(formation=f).set(status.target)
                self._min.labels(formation=f).set(status.min)
                self._max.labels(formation=f).set(status.max)
                self._paused.labels(formation=f).set(1 if status.paused else 0)
                self._set_streaks(f, status.streaks)
            case ev.Scaled():
                self._scales.labels(formation=f, manual=_flag(event.manual)).inc()
                self._dynos.labels(formation=f).set(event.after)
            case ev.ScaleFailed():
                self._failures.labels(formation=f).inc()
            case ev.Trouble():
                self._trouble.labels(formation=f, source=event.source).inc()
            case ev.Drift():
                self._drift.labels(formation=f).inc()
                self._dynos.labels(formation=f).set(event.actual)

    def _set_dynos(self, f: str, current: int | None) -> None:
        if current is not None:
            self._dynos.labels(formation=f).set(current)

    def _set_streaks(self, f: str, streaks: dict[str, tuple[int, int]]) -> None:
        for name, (n, of) in streaks.items():
            self._streak.labels(formation=f, streak=name).set(n)
            self._streak_limit.labels(formation=f, streak=name).set(of)

    def serve(self, port: int, host: str = "127.0.0.1") -> MetricsServer:
        """Start the HTTP endpoint on a daemon thread; ``port`` 0 picks a free one."""
        from prometheus_client import start_wsgi_server

        httpd, thread = start_wsgi_server(port, addr=host, registry=self.registry)
        return MetricsServer(httpd, thread)


class MetricsServer:
    """The running endpoint: where it listens, and how to stop it."""

    def __init__(self, httpd: Any, thread: Any) -> None:
        self._httpd = httpd
        self._thread = thread
        self.host: str = httpd.server_address[0]
        """The address it listens on."""
        self.port: int = httpd.server_address[1]
        """The port it listens on (the real one when 0 was asked)."""

    @property
    def url(self) -> str:
        """``http://127.0.0.1:9100/metrics``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop answering and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(1.0)


@contextmanager
def serving_metrics(settings: Settings) -> Iterator[MetricsSink | None]:
    """A :class:`MetricsSink` with its endpoint while the context lasts when
    ``METRICS_PORT`` is set (feed it each formation's events through
    :meth:`MetricsSink.sink_for`); None otherwise.

    Raises ConfigError naming METRICS_PORT when the client is not installed
    or the address cannot be listened on.
    """
    if settings.metrics_port is None:
        yield None
        return
    try:
        metrics = MetricsSink()
    except ImportError:
        raise ConfigError(
            "METRICS_PORT",
            "needs the prometheus-client package",
            "pip install 'autoscalebot[metrics]', or unset METRICS_PORT.",
        ) from None
    try:
        server = metrics.serve(settings.metrics_port, settings.metrics_host)
    except OSError as exc:
        raise ConfigError(
            "METRICS_PORT",
            f"cannot listen on {settings.metrics_host}:{settings.metrics_port} ({exc.strerror or exc})",
            "Pick a free port, or set METRICS_HOST to an address of this machine.",
        ) from None
    try:
        yield metrics
    finally:
        server.close()


def _flag(value: bool) -> str:
    return "true" if value else "false"
