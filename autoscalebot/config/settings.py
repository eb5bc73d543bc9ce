"""The settings object: every setting the seed README names, plus the new ones.

``SPEC`` is the single table of settings (name, default, parser, help); the
loader, the README's table, the console's editor and the TOML writer all read
it, so a new setting is one new row here and one field on ``Settings``.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from autoscalebot.engine.schedule import Schedule, ScheduleError


class ConfigError(Exception):
    """A setting is wrong. ``str()`` is the one line the CLI prints."""

    def __init__(self, setting: str, problem: str, fix: str = "") -> None:
        self.setting = setting
        self.problem = problem
        self.fix = fix
        text = f"{setting}: {problem}" if setting else problem
        super().__init__(f"{text}. {fix}" if fix else text)


# Short names for the built-in backends, so settings can say "heroku" or "streak".
BACKEND_ALIASES: dict[str, dict[str, str]] = {
    "MEASUREMENT_BACKEND": {
        "heartbeat": "autoscalebot.backends.probe.HeartbeatProbe",
        "requests": "autoscalebot.backends.queues.RequestFiguresProbe",
        "rq": "autoscalebot.backends.queues.RQProbe",
        "celery": "autoscalebot.backends.queues.CeleryProbe",
        "redis-list": "autoscalebot.backends.queues.RedisListProbe",
    },
    "DECISION_BACKEND": {
        "streak": "autoscalebot.backends.policy.StreakPolicy",
        "adaptive": "autoscalebot.backends.policies.adaptive.AdaptivePolicy",
        "hpa": "autoscalebot.backends.policies.hpa.HPAPolicy",
        "step-scaling": "autoscalebot.backends.policies.step.StepScalingPolicy",
        "judoscale": "autoscalebot.backends.policies.judoscale.JudoscalePolicy",
        "heroku-autoscaling": "autoscalebot.backends.policies.heroku.HerokuAutoscalingPolicy",
        "queue": "autoscalebot.backends.policies.queue.QueuePolicy",
    },
    "SCALING_BACKEND": {
        "heroku": "autoscalebot.backends.heroku.HerokuScaler",
        "gunicorn": "autoscalebot.backends.gunicorn.GunicornScaler",
        "kubernetes": "autoscalebot.backends.kubernetes.KubernetesScaler",
        "command": "autoscalebot.backends.command.CommandScaler",
        "process-group": "autoscalebot.backends.processes.ProcessGroupScaler",
    },
    "NOTIFICATION_BACKENDS": {
        "console": "autoscalebot.backends.notification.ConsoleBackend",
        "logger": "autoscalebot.backends.notification.LoggerBackend",
        "test": "autoscalebot.backends.notification.TestBackend",
        "django-email": "autoscalebot.backends.notification.DjangoEmailBackend",
        "webhook": "autoscalebot.backends.webhook.WebhookBackend",
    },
}


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    name: str
    default: Any
    parse: Callable[[str, Any], Any]
    help: str
    secret: bool = False
    editable: bool = False  # offered by the console's threshold editor

    @property
    def attr(self) -> str:
        return self.name.lower()


# ---- value parsers: (setting name, raw value) -> value, raising ConfigError ----
# Raw values come as Python objects (settings module, TOML) or as strings
# (environment, --set); each parser accepts both.


def _str(name: str, raw: Any) -> str:
    if not isinstance(raw, str):
        raise ConfigError(name, f"expected text, got {type(raw).__name__} {_show(name, raw)}")
    return raw.strip()


def _opt_str(name: str, raw: Any) -> str | None:
    return None if raw is None or raw == "" else _str(name, raw)


def _word(name: str, raw: Any) -> str:
    """Non-empty text without spaces (a process type: "web", "worker")."""
    value = _str(name, raw)
    if not value:
        raise ConfigError(name, "is empty", f"Name the process type, e.g. {name}=web.")
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]*", value):
        raise ConfigError(
            name,
            f"{value!r} is not a process type name",
            "Use letters, digits, '-' or '_', as in the Procfile (e.g. web, worker).",
        )
    return value


def _token(name: str, raw: Any) -> str | None:
    """A secret token: printable ASCII only; the value itself is never shown."""
    value = _opt_str(name, raw)
    if value is None:
        return None
    for position, char in enumerate(value, start=1):
        if not "!" <= char <= "~":
            import unicodedata

            what = unicodedata.name(char, "a control character")
            raise ConfigError(
                name,
                f"contains U+{ord(char):04X} ({what}) at character {position}, "
                "which no API key has",
                "Copy the key again as plain text (an invisible character often comes with a paste).",
            )
    return value


def _formation_list(name: str, raw: Any) -> tuple[dict[str, Any], ...]:
    """A list of formations, each a table of settings (JSON text from env or --set)."""
    if isinstance(raw, str):
        import json

        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(name, f"is not a JSON list of tables: {exc}") from None
    if not isinstance(raw, list | tuple):
        raise ConfigError(
            name, f"is a {type(raw).__name__}, not a list", "Write it as [[formations]] tables."
        )
    out = []
    for n, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or not all(isinstance(k, str) for k in entry):
            raise ConfigError(f"{name}[{n}]", "is not a table of settings")
        out.append(dict(entry))
    return tuple(out)


def _bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        low = raw.strip().lower()
        if low in {"1", "true", "yes", "on"}:
            return True
        if low in {"0", "false", "no", "off"}:
            return False
    raise ConfigError(name, f"expected true or false, got {raw!r}")


def _number(name: str, raw: Any, *, integer: bool) -> float | int:
    if isinstance(raw, bool):
        raise ConfigError(name, f"expected a number, got {raw!r}")
    if isinstance(raw, str):
        try:
            raw = int(raw) if integer or re.fullmatch(r"\s*-?\d+\s*", raw) else float(raw)
        except ValueError:
            kind = "a whole number" if integer else "a number"
            raise ConfigError(name, f"expected {kind}, got {raw!r}") from None
    if integer and not isinstance(raw, int):
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        raise ConfigError(name, f"expected a whole number, got {raw!r}")
    if not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ConfigError(name, f"expected a number, got {raw!r}")
    return raw


def _ranged(
    low: float, high: float, *, integer: bool = False, low_open: bool = False
) -> Callable[[str, Any], Any]:
    def parse(name: str, raw: Any) -> Any:
        value = _number(name, raw, integer=integer)
        if (value <= low if low_open else value < low) or value > high:
            edge = f"more than {low:g}" if low_open else f"at least {low:g}"
            raise ConfigError(
                name, f"{value!r} is out of range", f"Use {edge} and at most {high:g}."
            )
        return int(value) if integer else float(value)

    return parse


def _optional(inner: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    def parse(name: str, raw: Any) -> Any:
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in {"", "none"}):
            return None
        return inner(name, raw)

    return parse


def _schedule(name: str, raw: Any) -> Schedule:
    if isinstance(raw, str):
        raw = _parse_schedule_text(name, raw)
    try:
        return Schedule.parse(raw)
    except ScheduleError as exc:
        raise ConfigError(name, str(exc)) from None


def _parse_schedule_text(name: str, text: str) -> Any:
    """Read "3" or "0:00=2,9:00=5" (the environment's and --set's form)."""
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not re.fullmatch(r"-?\d+", value.strip()):
            raise ConfigError(name, f"cannot read {text!r}", 'Write a number, or "0:00=2,9:00=5".')
        out[key.strip()] = int(value)
    return out


def _dotted(name: str, raw: Any) -> str:
    value = _str(name, raw)
    aliases = BACKEND_ALIASES.get(name, {})
    value = aliases.get(value, value)
    if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", value):
        if aliases:
            raise ConfigError(name, f"{value!r} is not a backend", short_names_fix(value, aliases))
        raise ConfigError(
            name, f"{value!r} is not a dotted path", "Write it like 'package.module.Class'."
        )
    return value


def short_names_fix(value: str, names: Collection[str]) -> str:
    """The fix for an unknown short name: the close one, and every one."""
    import difflib

    close = difflib.get_close_matches(value, names, n=1)
    listed = f"Use one of: {', '.join(names)}, or a dotted path 'package.module.Class'."
    return f"Did you mean {close[0]}? {listed}" if close else listed


def _dotted_list(name: str, raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [p for p in (s.strip() for s in raw.split(",")) if p]
    if not isinstance(raw, list | tuple):
        raise ConfigError(name, f"expected a list of dotted paths, got {raw!r}")
    aliases = BACKEND_ALIASES.get(name, {})
    out = []
    for item in raw:
        value = aliases.get(item, item) if isinstance(item, str) else item
        out.append(_dotted(name, value))
    return tuple(out)


def _time_zone(name: str, raw: Any) -> str | None:
    value = _opt_str(name, raw)
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            name, f"unknown time zone {value!r}", "Use an IANA name like 'America/Vancouver'."
        ) from None
    return value


def _url(name: str, raw: Any) -> str:
    value = _str(name, raw)
    if not re.match(r"^https?://[^/\s]+", value):
        raise ConfigError(
            name, f"{value!r} is not an http(s) URL", "Write it like 'https://api.heroku.com'."
        )
    return value.rstrip("/")


def _names(name: str, raw: Any) -> tuple[str, ...]:
    """A list of names (queues): ``["high", "default"]`` or ``"high,default"``."""
    if isinstance(raw, str):
        raw = [p.strip() for p in raw.split(",")]
    if not isinstance(raw, list | tuple) or not all(isinstance(p, str) for p in raw):
        raise ConfigError(name, f"expected a list of names, got {raw!r}")
    names = tuple(p.strip() for p in raw if p.strip())
    for part in names:
        if len(part) > 200 or any(c.isspace() or c == "," for c in part):
            raise ConfigError(
                name, f"{part[:40]!r} is not a queue name", "Write names like 'high,default'."
            )
    return names


def _heartbeat_url(name: str, raw: Any) -> str:
    value = _str(name, raw)
    if not (value.startswith("/") or re.match(r"^https?://[^/\s]+", value)):
        raise ConfigError(
            name,
            f"{value!r} is neither a path nor an http(s) URL",
            "Write '/autoscalebot/heartbeat/' or 'https://example.com/health'.",
        )
    return value


DAY = 86400.0

SPEC: tuple[Setting, ...] = (
    Setting(
        "HEROKU_APP_NAME",
        None,
        _opt_str,
        "Required (Heroku). The name of your app, e.g. dancing-forest-1234.",
    ),
    Setting(
        "HEROKU_API_KEY",
        None,
        _token,
        "Required (Heroku). Your API key; from the environment or the settings module, never from TOML.",
        secret=True,
    ),
    Setting(
        "HEARTBEAT_INTERVAL_IN_SECONDS",
        30.0,
        _ranged(0, DAY, low_open=True),
        "Seconds between heartbeat checks (start to start); fractions allowed.",
        editable=True,
    ),
    Setting(
        "HEARTBEAT_URL",
        "/autoscalebot/heartbeat/",
        _heartbeat_url,
        "URL to time; a path is resolved against the app's own URL.",
    ),
    Setting(
        "HEARTBEAT_TIMEOUT_IN_SECONDS",
        None,
        _optional(_ranged(0, 600, low_open=True)),
        "Give up on a heartbeat after this long; default twice MAX_RESPONSE_TIME_IN_MS.",
    ),
    Setting(
        "MAX_RESPONSE_TIME_IN_MS",
        1000.0,
        _ranged(0, 600_000, low_open=True),
        'Slower than this is "too slow" (a fail).',
        editable=True,
    ),
    Setting(
        "MIN_RESPONSE_TIME_IN_MS",
        200.0,
        _ranged(0, 600_000),
        'Faster than this is "too fast" (a pass).',
        editable=True,
    ),
    Setting(
        "NUMBER_OF_FAILS_TO_SCALE_UP_AFTER",
        3,
        _ranged(1, 10_000, integer=True),
        "Consecutive fails (slow, timeout, refused, status >= 400) before adding dynos.",
        editable=True,
    ),
    Setting(
        "NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER",
        5,
        _ranged(1, 10_000, integer=True),
        "Consecutive passes before removing dynos.",
        editable=True,
    ),
    Setting(
        "MAX_DYNOS",
        Schedule.constant(3),
        _schedule,
        'Most dynos: a number or a schedule {"0:00": 2, "9:00": 5}.',
        editable=True,
    ),
    Setting(
        "MIN_DYNOS",
        Schedule.constant(1),
        _schedule,
        "Fewest dynos: a number or a schedule.",
        editable=True,
    ),
    Setting(
        "INCREMENT",
        1,
        _ranged(1, 1000, integer=True),
        "Dynos added or removed per scale.",
        editable=True,
    ),
    Setting("NOTIFICATION_BACKENDS", (), _dotted_list, "Dotted paths of notification backends."),
    Setting(
        "NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD",
        None,
        _optional(_schedule),
        "Notify when more dynos than this were added or removed within the period (a number or a schedule).",
    ),
    Setting(
        "NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES",
        None,
        _optional(_ranged(0, 7 * 24 * 60, low_open=True)),
        "The period, in minutes, for the rule above.",
    ),
    Setting(
        "NOTIFY_IF_NEEDS_EXCEED_MAX", True, _bool, "Notify when at MAX_DYNOS and still too slow."
    ),
    Setting(
        "NOTIFY_IF_NEEDS_BELOW_MIN",
        False,
        _bool,
        "Notify when at MIN_DYNOS (above 1) and still too fast.",
    ),
    Setting("NOTIFY_ON_SCALE_FAILS", False, _bool, "Notify when a scaling call fails."),
    Setting("NOTIFY_ON_EVERY_SCALE", False, _bool, "Notify on every scale."),
    Setting("NOTIFY_ON_EVERY_PING", False, _bool, "Notify on every heartbeat."),
    Setting(
        "TIME_ZONE",
        None,
        _time_zone,
        "IANA time zone for schedules; default the machine's local zone.",
    ),
    Setting(
        "HEROKU_API_URL",
        "https://api.heroku.com",
        _url,
        "Heroku Platform API base URL (the emulator's URL in tests and the demo).",
    ),
    Setting("PROCESS_TYPE", "web", _word, "The process type (formation) to scale."),
    Setting(
        "ALLOW_WEB_SCALE_TO_ZERO",
        False,
        _bool,
        "Let MIN_DYNOS be 0 for the web process type (an outage while at zero); worker types may always go to 0.",
    ),
    Setting(
        "COOL_OFF_IN_SECONDS",
        0.0,
        _ranged(0, DAY),
        "Least time between two automatic scales.",
        editable=True,
    ),
    Setting(
        "MANUAL_HOLD_IN_SECONDS",
        300.0,
        _ranged(0, DAY),
        "After a forced scale, automatic scaling waits this long.",
    ),
    Setting(
        "COUNT_REFRESH_IN_SECONDS",
        60.0,
        _ranged(0, DAY, low_open=True),
        "How often the platform's count is re-read, so scaling by hand is noticed.",
    ),
    Setting(
        "MEASUREMENT_BACKEND",
        "autoscalebot.backends.probe.HeartbeatProbe",
        _dotted,
        "Measurement backend (dotted path or 'heartbeat').",
    ),
    Setting(
        "DECISION_BACKEND",
        "autoscalebot.backends.policy.StreakPolicy",
        _dotted,
        "Decision backend (dotted path or 'streak').",
    ),
    Setting(
        "SCALING_BACKEND",
        "autoscalebot.backends.heroku.HerokuScaler",
        _dotted,
        "Scaling backend (dotted path or 'heroku').",
    ),
    Setting("DRY_RUN", False, _bool, "Decide and log, but never call the scaling API."),
    Setting(
        "FORMATIONS",
        (),
        _formation_list,
        "Several formations in one bot: a list of tables (TOML [[formations]]), each naming its app and process type (or deployment, pidfile, command) and any setting it changes; the rest is inherited from the top level. An optional NAME names it.",
    ),
    Setting(
        "HISTORY_MAX_MB",
        20.0,
        _ranged(0, 10_000),
        "The bot's own history (beats, decisions, scales: numbers only, never a secret) in the user data folder, for 'simulate --trace history'; capped at this size, 0 turns it off.",
    ),
    Setting(
        "CONTROL_SOCKET",
        None,
        _opt_str,
        "The bot's control socket (for autoscalebot-tui --attach and autoscalebot ctl); default <user runtime dir>/autoscalebot/<app>-<process type>.sock.",
    ),
    Setting(
        "METRICS_PORT",
        None,
        _optional(_ranged(0, 65535, integer=True)),
        "Serve Prometheus metrics at http://METRICS_HOST:PORT/metrics (needs the [metrics] extra); off when unset.",
    ),
    Setting(
        "METRICS_HOST",
        "127.0.0.1",
        _str,
        "The address the metrics endpoint listens on: loopback unless you open it (e.g. 0.0.0.0 in a pod).",
    ),
    # Settings of the other built-in backends; each backend checks its own at start-up.
    Setting(
        "GUNICORN_PIDFILE",
        None,
        _opt_str,
        "Gunicorn scaler: the master's pidfile (gunicorn --pid PATH).",
    ),
    Setting(
        "GUNICORN_SCALE_TIMEOUT_IN_SECONDS",
        10.0,
        _ranged(0, 600, low_open=True),
        "Gunicorn scaler: how long to wait for the live worker count to match after TTIN/TTOU.",
    ),
    Setting(
        "KUBERNETES_API_URL",
        None,
        _optional(_url),
        "Kubernetes scaler: API server URL; default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT (in a pod).",
    ),
    Setting(
        "KUBERNETES_NAMESPACE",
        None,
        _opt_str,
        "Kubernetes scaler: the Deployment's namespace; default the pod's own (from the service account).",
    ),
    Setting(
        "KUBERNETES_DEPLOYMENT",
        None,
        _opt_str,
        "Kubernetes scaler: the name of the Deployment to scale (required).",
    ),
    Setting(
        "KUBERNETES_TOKEN_FILE",
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
        _str,
        "Kubernetes scaler: bearer token file (re-read as it rotates).",
    ),
    Setting(
        "KUBERNETES_CA_FILE",
        "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
        _str,
        "Kubernetes scaler: CA bundle that signs the API server's certificate.",
    ),
    Setting(
        "SCALE_COMMAND",
        None,
        _opt_str,
        "Command scaler: command run to scale, e.g. 'dokku ps:scale myapp web={quantity}' (no shell).",
    ),
    Setting(
        "COUNT_COMMAND",
        None,
        _opt_str,
        "Command scaler: command that prints the current count, e.g. a script around 'dokku ps:report'.",
    ),
    Setting(
        "COMMAND_TIMEOUT_IN_SECONDS",
        30.0,
        _ranged(0, 3600, low_open=True),
        "Command scaler: a command still running after this long is killed and reported.",
    ),
    Setting(
        "WEBHOOK_URL",
        None,
        _opt_str,
        "Webhook notifications: the URL to POST to (a Slack incoming webhook, ...); from the environment, never TOML.",
        secret=True,
    ),
    Setting(
        "WEBHOOK_FORMAT",
        "slack",
        _str,
        "Webhook notifications: 'slack' ({\"text\": ...}) or 'json' (every field of the notification).",
    ),
    Setting(
        "WEBHOOK_TIMEOUT_IN_SECONDS",
        5.0,
        _ranged(0, 120, low_open=True),
        "Webhook notifications: give up on one POST after this long (one retry follows a failure).",
    ),
    Setting(
        "APP_SERVICE_TIME_IN_MS",
        100.0,
        _ranged(0, 600_000, low_open=True),
        "Latency-model policies (adaptive, hpa): mean time one request takes when nothing queues.",
    ),
    Setting(
        "APP_CONCURRENCY",
        2,
        _ranged(1, 1000, integer=True),
        "Latency-model policies: requests one dyno serves at once (WEB_CONCURRENCY).",
    ),
    Setting(
        "APP_BOOT_SECONDS",
        45.0,
        _ranged(0, DAY),
        "Latency-model policies: seconds before a new dyno serves.",
    ),
    Setting(
        "TARGET_PERCENTILE",
        95.0,
        _ranged(0, 99.99, low_open=True),
        "Latency-model policies: the share (%) of requests that should be faster than MAX_RESPONSE_TIME_IN_MS.",
    ),
    Setting(
        "ADAPTIVE_DOWN_WINDOW_SECONDS",
        420.0,
        _ranged(0, DAY),
        "Adaptive policy: scale down only to the most any recent estimate allowed over this window, "
        "and only to a count the load's upper confidence bound would not swamp.",
    ),
    Setting(
        "REDIS_URL",
        None,
        _opt_str,
        "Job queue backends (rq, celery, redis-list): the Redis URL (Celery: its broker URL); default $REDIS_URL; never from TOML.",
        secret=True,
    ),
    Setting(
        "QUEUES",
        (),
        _names,
        "Job queue backends: the queues to measure, e.g. 'high,default'; default 'default' (rq) or 'celery' (celery).",
    ),
    Setting(
        "QUEUE_LATENCY_UP_IN_SECONDS",
        30.0,
        _ranged(0, DAY, low_open=True),
        "Queue policy: add workers when the oldest job has waited longer than this.",
        editable=True,
    ),
    Setting(
        "QUEUE_LATENCY_DOWN_IN_SECONDS",
        5.0,
        _ranged(0, DAY),
        "Queue policy: remove workers after NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER beats with every job waiting less than this.",
        editable=True,
    ),
    Setting(
        "QUEUE_EMPTY_TO_ZERO_IN_SECONDS",
        300.0,
        _ranged(0, DAY),
        "Queue policy: with MIN_DYNOS 0, stop every worker once the queues have been empty this long.",
        editable=True,
    ),
    Setting(
        "PROCESS_COMMAND",
        None,
        _opt_str,
        "Process-group scaler: the command of one worker process, e.g. 'rq worker high default' (no shell).",
    ),
)

SPEC_BY_NAME: dict[str, Setting] = {s.name: s for s in SPEC}


@functools.cache
def local_zone() -> tzinfo:
    """The machine's zone with its DST rules ($TZ, else /etc/localtime).

    ``datetime.now().astimezone()`` would give a fixed offset, an hour off
    across a DST change for schedules read later.
    """
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        with open("/etc/localtime", "rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError):
        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return local


@dataclass(frozen=True)
class Settings:
    """The validated settings. Build with :func:`build_settings`, not directly."""

    heroku_app_name: str | None
    heroku_api_key: str | None = field(repr=False)
    heartbeat_interval_in_seconds: float
    heartbeat_url: str
    heartbeat_timeout_in_seconds: float | None
    max_response_time_in_ms: float
    min_response_time_in_ms: float
    number_of_fails_to_scale_up_after: int
    number_of_passes_to_scale_down_after: int
    max_dynos: Schedule
    min_dynos: Schedule
    increment: int
    notification_backends: tuple[str, ...]
    notify_if_scale_diff_exceeds_threshold: Schedule | None
    notify_if_scale_diff_exceeds_period_in_minutes: float | None
    notify_if_needs_exceed_max: bool
    notify_if_needs_below_min: bool
    notify_on_scale_fails: bool
    notify_on_every_scale: bool
    notify_on_every_ping: bool
    time_zone: str | None
    heroku_api_url: str
    process_type: str
    allow_web_scale_to_zero: bool
    cool_off_in_seconds: float
    manual_hold_in_seconds: float
    count_refresh_in_seconds: float
    measurement_backend: str
    decision_backend: str
    scaling_backend: str
    dry_run: bool
    formations: tuple[dict[str, Any], ...]
    history_max_mb: float
    control_socket: str | None
    metrics_port: int | None
    metrics_host: str
    gunicorn_pidfile: str | None
    gunicorn_scale_timeout_in_seconds: float
    kubernetes_api_url: str | None
    kubernetes_namespace: str | None
    kubernetes_deployment: str | None
    kubernetes_token_file: str
    kubernetes_ca_file: str
    scale_command: str | None
    count_command: str | None
    command_timeout_in_seconds: float
    webhook_url: str | None = field(repr=False)
    webhook_format: str
    webhook_timeout_in_seconds: float
    app_service_time_in_ms: float
    app_concurrency: int
    app_boot_seconds: float
    target_percentile: float
    adaptive_down_window_seconds: float
    redis_url: str | None = field(repr=False)
    queues: tuple[str, ...]
    queue_latency_up_in_seconds: float
    queue_latency_down_in_seconds: float
    queue_empty_to_zero_in_seconds: float
    process_command: str | None
    # Names from the settings module that no built-in knows: for third-party backends.
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # Where each value came from (name -> "default", "module", "toml", "env", "flag").
    origins: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def tz(self) -> tzinfo:
        """The zone schedules are read in."""
        if self.time_zone:
            return ZoneInfo(self.time_zone)
        return local_zone()

    @property
    def heartbeat_timeout(self) -> float:
        """Seconds to wait for a heartbeat before calling it a fail."""
        if self.heartbeat_timeout_in_seconds is not None:
            return self.heartbeat_timeout_in_seconds
        return max(2 * self.max_response_time_in_ms / 1000.0, 0.05)

    def value(self, name: str) -> Any:
        """A setting by its seed name."""
        return getattr(self, SPEC_BY_NAME[name].attr)

    def with_changes(self, changes: Mapping[str, Any]) -> Settings:
        """A new validated Settings with ``changes`` (seed names) applied."""
        raw = {s.name: self.value(s.name) for s in SPEC}
        for key, value in changes.items():
            name = key.upper()
            if name not in SPEC_BY_NAME:
                raise ConfigError(name, "is not a setting", _did_you_mean(name))
            raw[name] = value.to_raw() if isinstance(value, Schedule) else value
        for name, value in raw.items():
            if isinstance(value, Schedule):
                raw[name] = value.to_raw()
        origins = dict(self.origins) | {k.upper(): "console" for k in changes}
        return build_settings(raw, extra=self.extra, origins=origins)

    def public(self) -> dict[str, str]:
        """Every setting as display text, secrets masked (for logs and screens)."""
        out = {}
        for s in SPEC:
            value = self.value(s.name)
            if s.secret:
                out[s.name] = "(set)" if value else "(not set)"
            elif isinstance(value, tuple):
                out[s.name] = ", ".join(value) or "[]"
            else:
                out[s.name] = str(value)
        return out


def build_settings(
    raw: Mapping[str, Any],
    *,
    extra: Mapping[str, Any] | None = None,
    origins: Mapping[str, str] | None = None,
    require_platform: bool = True,
    django: bool = False,
) -> Settings:
    """Validate ``raw`` (seed names -> raw values; missing names default).

    ``require_platform=False`` is for runs that scale nothing (the simulator):
    no platform credentials, and a web formation may be simulated at zero.
    ``django`` words the fixes for ``manage.py run_autoscalebot``.
    """
    values: dict[str, Any] = {}
    for s in SPEC:
        if s.name in raw and raw[s.name] is not None:
            values[s.attr] = s.parse(s.name, raw[s.name])
        elif s.name in raw and raw[s.name] is None and s.default is not None and not _nullable(s):
            raise ConfigError(
                s.name, "must not be empty", f"Remove it to use the default, {s.default}."
            )
        else:
            values[s.attr] = s.default
    settings = Settings(**values, extra=dict(extra or {}), origins=dict(origins or {}))
    _check_together(settings, require_platform=require_platform, django=django)
    return settings


def _nullable(s: Setting) -> bool:
    try:
        return s.parse(s.name, None) is None
    except ConfigError:
        return False


def _check_together(s: Settings, *, require_platform: bool, django: bool = False) -> None:
    """Rules that involve more than one setting."""
    if s.min_response_time_in_ms >= s.max_response_time_in_ms:
        raise ConfigError(
            "MIN_RESPONSE_TIME_IN_MS",
            f"{s.min_response_time_in_ms:g} ms is not below MAX_RESPONSE_TIME_IN_MS "
            f"({s.max_response_time_in_ms:g} ms)",
            "Make MIN_RESPONSE_TIME_IN_MS smaller than MAX_RESPONSE_TIME_IN_MS.",
        )
    minutes = sorted(set(s.min_dynos.change_minutes()) | set(s.max_dynos.change_minutes()))
    for minute in minutes:
        low, high = s.min_dynos.value_at_minute(minute), s.max_dynos.value_at_minute(minute)
        if low > high:
            when = f"at {minute // 60}:{minute % 60:02d}" if len(minutes) > 1 else "all day"
            raise ConfigError(
                "MIN_DYNOS",
                f"{when} MIN_DYNOS ({low}) is above MAX_DYNOS ({high})",
                "Lower MIN_DYNOS or raise MAX_DYNOS for that time of day.",
            )
    threshold = s.notify_if_scale_diff_exceeds_threshold
    period = s.notify_if_scale_diff_exceeds_period_in_minutes
    if (threshold is None) != (period is None):
        missing = (
            "NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES"
            if period is None
            else "NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD"
        )
        raise ConfigError(missing, "is not set, but its pair is", "Set both, or neither.")
    if require_platform:
        _check_web_zero(s)
    # With FORMATIONS, each formation names its own platform, checked on its own.
    if (
        require_platform
        and not s.formations
        and s.scaling_backend == SPEC_BY_NAME["SCALING_BACKEND"].default
    ):
        for name in ("HEROKU_APP_NAME", "HEROKU_API_KEY"):
            # "bot": a secret the running bot holds and never sends (an attached console's copy).
            if not s.value(name) and s.origins.get(name) != "bot":
                raise ConfigError(
                    name, "is required to scale on Heroku", _required_fix(name, django)
                )


def _required_fix(name: str, django: bool) -> str:
    """How to give a required Heroku setting, in the words of the command that runs."""
    if django:
        # manage.py run_autoscalebot reads AUTOSCALE_ names and has no --demo.
        if name == "HEROKU_API_KEY":
            return "Fix: export HEROKU_API_KEY=... on the worker (or set AUTOSCALE_HEROKU_API_KEY in settings.py)."
        return f"Fix: set AUTOSCALE_{name} in settings.py (or export {name}=...)."
    how = (
        "export HEROKU_API_KEY=..." if name == "HEROKU_API_KEY" else f"set {name} in your settings"
    )
    return f"Fix: {how} (or run --demo)."


def _check_web_zero(s: Settings) -> None:
    """A web formation at zero dynos is an outage: only by the user's explicit choice."""
    if s.process_type != "web" or s.allow_web_scale_to_zero:
        return
    schedule = s.min_dynos
    minutes = schedule.change_minutes() or [0]
    zero = [m for m in minutes if schedule.value_at_minute(m) == 0]
    if zero:
        when = f" from {zero[0] // 60}:{zero[0] % 60:02d}" if len(minutes) > 1 else ""
        raise ConfigError(
            "MIN_DYNOS",
            f"is 0{when} for the web process type, which would take the app down on quiet beats",
            "Set MIN_DYNOS to 1 or more, or set ALLOW_WEB_SCALE_TO_ZERO = True if the outage is what you want.",
        )


def _did_you_mean(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, SPEC_BY_NAME, n=1)
    return f"Did you mean {close[0]}?" if close else "See the settings table in the README."


def _show(name: str, raw: Any) -> str:
    return "" if SPEC_BY_NAME.get(name) and SPEC_BY_NAME[name].secret else repr(raw)
