"""Load over time: seeded generators, and a user's own CSV or Heroku router log.

A :class:`Trace` is requests per second at a fixed step (one minute by
default). The generated families share their parts:

- ``diurnal``: a working-day hump late in the morning and a second, smaller
  one in the evening, a weekend dip, and AR(1) noise in log space (so the
  noise is a share of the load, and wanders rather than jitters);
- ``flash``: the diurnal week with flash crowds that ramp up in minutes and
  decay over tens of minutes;
- ``step``: load that holds for hours, then jumps to a new level;
- ``square``: low and high load alternating with a half period equal to the
  decision window it is given (fails + passes beats), to provoke flapping;
- ``burst``: a diurnal day with spikes that double or triple the load within
  10-30 s and are gone in one to four minutes: faster than a dyno boots
  (10 s steps);
- ``scheduled``: what repeats on the clock: a job on the hour every hour, a
  newsletter at the same minute each morning, and the diurnal day;
- ``viral``: self-reinforcing bursts, load that feeds on itself and doubles
  every few minutes until it peaks, then fades;
- ``launch``: slow launches, load that climbs to a new level over two to
  eight hours and stays there for a day or more;
- ``small``: the diurnal week of a very small app (an eighth of the peak: one
  or two dynos, where rounding to whole dynos is most of the cost).

Every generator takes a seed and gives the same trace for the same seed.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

FAMILIES = (
    "diurnal",
    "flash",
    "step",
    "square",
    "burst",
    "scheduled",
    "viral",
    "launch",
    "small",
)
BURST_STEP_S = 10.0  # the burst family's resolution: its spikes are shorter than a boot
SMALL_SHARE = 0.12  # the small family's peak, as a share of the peak asked for
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # traces start on a Monday at midnight


class TraceError(ValueError):
    """A trace that cannot be read or made; the message names the place."""


@dataclass(frozen=True)
class Trace:
    """Requests per second, one value per ``step_s`` seconds from ``start``.

    ``events`` are the moments (seconds from the start) where load stepped up
    or a flash crowd began, for the reaction-time metric. ``service_ms`` is the
    mean service time a router log showed, when there was one.
    """

    name: str
    rps: tuple[float, ...]
    step_s: float = 60.0
    start: datetime = MONDAY
    events: tuple[float, ...] = ()
    service_ms: float | None = None
    source: str = field(default="generated", compare=False)

    @property
    def duration_s(self) -> float:
        return len(self.rps) * self.step_s

    @property
    def peak(self) -> float:
        return max(self.rps) if self.rps else 0.0

    def head(self, seconds: float) -> Trace:
        """The first ``seconds`` of this trace."""
        n = max(1, math.ceil(seconds / self.step_s))
        events = tuple(e for e in self.events if e < n * self.step_s)
        return Trace(
            self.name, self.rps[:n], self.step_s, self.start, events, self.service_ms, self.source
        )


# ---- generated families ----


def generate(
    family: str,
    *,
    days: float = 7.0,
    seed: int = 0,
    peak_rps: float = 150.0,
    window_s: float = 240.0,
    step_s: float = 60.0,
) -> Trace:
    """A trace of ``family`` (one of :data:`FAMILIES`), the same for the same arguments."""
    if family not in FAMILIES:
        raise TraceError(f"unknown trace family {family!r}; choose one of {', '.join(FAMILIES)}")
    if days <= 0 or peak_rps <= 0:
        raise TraceError("days and peak rps must be positive")
    # One stream per family and seed, so adding a family never changes another's traces.
    rng = random.Random(f"{family}:{seed}")
    if family == "burst":
        step_s = min(step_s, BURST_STEP_S)
    n = max(1, round(days * 86400.0 / step_s))
    events: list[float] = []
    if family == "diurnal":
        rps = _diurnal(rng, n, step_s, peak_rps)
    elif family == "flash":
        rps = _diurnal(rng, n, step_s, peak_rps)
        events = _flash_crowds(rng, rps, step_s, peak_rps)
    elif family == "step":
        rps, events = _steps(rng, n, step_s, peak_rps)
    elif family == "square":
        rps, events = _square(rng, n, step_s, peak_rps, window_s)
    elif family == "burst":
        rps = _diurnal(rng, n, step_s, 0.6 * peak_rps)
        events = _bursts(rng, rps, step_s)
    elif family == "scheduled":
        rps = _diurnal(rng, n, step_s, 0.6 * peak_rps)
        events = _schedule(rng, rps, step_s, peak_rps)
    elif family == "viral":
        rps = _diurnal(rng, n, step_s, 0.4 * peak_rps)
        events = _viral(rng, rps, step_s, peak_rps)
    elif family == "launch":
        rps = _launches(rng, n, step_s, peak_rps)
    else:
        rps = _diurnal(rng, n, step_s, SMALL_SHARE * peak_rps, noise_sd=0.25)
    return Trace(family, tuple(rps), step_s, MONDAY, tuple(events))


def _ar1_log_noise(
    rng: random.Random, n: int, step_s: float, sd: float, corr_s: float
) -> list[float]:
    """exp() of an AR(1) series with stationary sd ``sd`` and correlation time ``corr_s``."""
    phi = math.exp(-step_s / corr_s)
    sigma = sd * math.sqrt(1.0 - phi * phi)
    x = rng.gauss(0.0, sd)
    gauss = rng.gauss
    out = []
    for _ in range(n):
        x = phi * x + sigma * gauss(0.0, 1.0)
        out.append(math.exp(x - 0.5 * sd * sd))
    return out


def _hump(h: float, centre: float, width: float) -> float:
    d = (h - centre + 12.0) % 24.0 - 12.0  # distance on the clock face
    return math.exp(-0.5 * (d / width) ** 2)


def _diurnal(
    rng: random.Random, n: int, step_s: float, peak: float, *, noise_sd: float = 0.12
) -> list[float]:
    morning = rng.uniform(10.0, 12.0)
    evening = rng.uniform(19.5, 21.5)
    second = rng.uniform(0.5, 0.8)  # the evening hump, relative to the morning one
    night = rng.uniform(0.08, 0.15)
    weekend = rng.uniform(0.45, 0.7)
    days = math.ceil(n * step_s / 86400.0) + 1
    volume = [math.exp(rng.gauss(0.0, 0.08)) for _ in range(days)]  # some days are busier
    shape = [
        night
        + (1.0 - night) * max(_hump(m / 60.0, morning, 3.0), second * _hump(m / 60.0, evening, 2.0))
        for m in range(1440)
    ]
    top = max(shape)
    noise = _ar1_log_noise(rng, n, step_s, sd=noise_sd, corr_s=1800.0)
    out = []
    for i in range(n):
        t = i * step_s
        day = int(t // 86400.0)
        minute = int(t % 86400.0 // 60.0)
        level = shape[minute] / top * volume[day] * (weekend if day % 7 >= 5 else 1.0)
        out.append(peak * level * noise[i])
    return out


def _add(
    rps: list[float], step_s: float, start: float, length: float, shape: Callable[[float], float]
) -> None:
    """Add ``shape(seconds since start)`` to the steps from ``start`` for ``length`` seconds, in place."""
    first = int(start // step_s)
    for i in range(first, min(len(rps), first + int(length / step_s) + 1)):
        dt = i * step_s - start
        if dt >= 0:
            rps[i] += shape(dt)


def _flash_crowds(rng: random.Random, rps: list[float], step_s: float, peak: float) -> list[float]:
    """Add flash crowds in place (about one a day); return their start times."""
    n = len(rps)
    duration = n * step_s
    count = max(1, round(rng.gauss(duration / 86400.0, 0.5)))
    starts = sorted(rng.uniform(0.0, duration) for _ in range(count))
    for start in starts:
        ramp = rng.uniform(120.0, 600.0)
        decay = rng.uniform(600.0, 3600.0)
        height = rng.uniform(0.8, 2.5) * peak

        def crowd(dt: float, h: float = height, r: float = ramp, d: float = decay) -> float:
            return h * (dt / r if dt < r else math.exp(-(dt - r) / d))

        _add(rps, step_s, start, ramp + 6 * decay, crowd)
    return starts


def _bursts(rng: random.Random, rps: list[float], step_s: float) -> list[float]:
    """Spikes shorter than a boot, in place: up in 10-30 s, gone in 1-4 min; return their starts."""
    n = len(rps)
    duration = n * step_s
    starts = []
    t = rng.uniform(600.0, 3600.0)
    while t < duration:
        starts.append(t)
        t += rng.uniform(900.0, 5400.0)  # one every 15 min to 1.5 h
    for start in starts:
        rise = rng.uniform(10.0, 30.0)
        hold = rng.uniform(60.0, 240.0)
        factor = rng.uniform(1.0, 2.0)  # the load doubles or triples
        first = int(start // step_s)
        base = rps[min(n - 1, first)]
        for i in range(first, min(n, first + int((rise + hold + 30.0) / step_s) + 1)):
            dt = i * step_s - start
            if dt < 0:
                continue
            shape = (
                dt / rise
                if dt < rise
                else 1.0
                if dt < rise + hold
                else max(0.0, 1.0 - (dt - rise - hold) / 30.0)
            )
            rps[i] += factor * base * shape
    return starts


def _schedule(rng: random.Random, rps: list[float], step_s: float, peak: float) -> list[float]:
    """Jobs on the clock, in place: every hour at the same minute, and a daily newsletter."""
    n = len(rps)
    minute = rng.uniform(0.0, 5.0) * 60.0  # past the hour
    hourly = rng.uniform(0.3, 0.6) * peak
    hourly_len = rng.uniform(180.0, 480.0)
    letter_at = rng.uniform(7.0, 10.0) * 3600.0  # the newsletter goes out each morning
    letter = rng.uniform(1.0, 1.6) * peak
    letter_decay = rng.uniform(900.0, 2400.0)
    events = []
    days = math.ceil(n * step_s / 86400.0)
    for h in range(days * 24):
        start = h * 3600.0 + minute
        events.append(start)
        for i in range(int(start // step_s), min(n, int((start + hourly_len) // step_s) + 1)):
            if i * step_s >= start:
                rps[i] += hourly
    for d in range(days):
        start = d * 86400.0 + letter_at
        events.append(start)
        _add(rps, step_s, start, 6 * letter_decay, lambda dt: letter * math.exp(-dt / letter_decay))
    return sorted(e for e in events if e < n * step_s)


def _viral(rng: random.Random, rps: list[float], step_s: float, peak: float) -> list[float]:
    """Self-reinforcing bursts, in place: load that doubles every few minutes, peaks, fades."""
    n = len(rps)
    duration = n * step_s
    count = max(1, round(rng.gauss(duration / 86400.0 * 1.5, 0.7)))
    starts = sorted(rng.uniform(0.0, duration) for _ in range(count))
    for start in starts:
        doubling = rng.uniform(120.0, 600.0)  # each visitor brings more, every few minutes
        height = rng.uniform(0.8, 2.0) * peak
        seed = 0.02 * peak
        grow = math.log(height / seed) * doubling / math.log(2.0)  # until it peaks
        fade = rng.uniform(2.0, 5.0) * doubling

        def shape(
            dt: float,
            d: float = doubling,
            g: float = grow,
            h: float = height,
            f: float = fade,
            s: float = seed,
        ) -> float:
            return s * 2.0 ** (dt / d) if dt < g else h * math.exp(-(dt - g) / f)

        _add(rps, step_s, start, grow + 8 * fade, shape)
    return starts


def _launches(rng: random.Random, n: int, step_s: float, peak: float) -> list[float]:
    """Load that climbs to a new level over hours and stays: a launch, every day or two."""
    noise = _ar1_log_noise(rng, n, step_s, sd=0.08, corr_s=1200.0)
    level = rng.uniform(0.1, 0.25)
    changes = []  # (start, length, from, to)
    t = rng.uniform(3.0, 20.0) * 3600.0
    while t < n * step_s:
        new = rng.uniform(0.15, 1.0)
        length = rng.uniform(2.0, 8.0) * 3600.0
        changes.append((t, length, level, new))
        level = new
        t += length + rng.uniform(20.0, 48.0) * 3600.0
    out = []
    j = 0
    current = changes[0][2] if changes else level
    for i in range(n):
        t = i * step_s
        while j < len(changes) and t >= changes[j][0] + changes[j][1]:
            current = changes[j][3]
            j += 1
        if j < len(changes) and t >= changes[j][0]:
            start, length, a, b = changes[j]
            x = (t - start) / length  # smoothstep from a to b
            here = a + (b - a) * x * x * (3.0 - 2.0 * x)
        else:
            here = current
        daily = 0.75 + 0.25 * _hump(t % 86400.0 / 3600.0, 14.0, 4.0)
        out.append(peak * here * daily * noise[i])
    return out


def _steps(
    rng: random.Random, n: int, step_s: float, peak: float
) -> tuple[list[float], list[float]]:
    noise = _ar1_log_noise(rng, n, step_s, sd=0.05, corr_s=600.0)
    out: list[float] = []
    events: list[float] = []
    level = rng.uniform(0.2, 0.6) * peak
    next_change = rng.uniform(1.0, 6.0) * 3600.0
    for i in range(n):
        t = i * step_s
        if t >= next_change:
            new = rng.uniform(0.15, 1.0) * peak
            if new > level:
                events.append(t)
            level = new
            next_change = t + rng.uniform(1.0, 6.0) * 3600.0
        out.append(level * noise[i])
    return out, events


def _square(
    rng: random.Random, n: int, step_s: float, peak: float, window_s: float
) -> tuple[list[float], list[float]]:
    half = max(step_s, round(window_s / step_s) * step_s)
    low = rng.uniform(0.3, 0.45) * peak
    high = rng.uniform(0.85, 1.0) * peak
    phase = rng.uniform(0.0, 2.0 * half)
    noise = _ar1_log_noise(rng, n, step_s, sd=0.05, corr_s=600.0)
    out: list[float] = []
    events: list[float] = []
    was_high = False
    for i in range(n):
        t = i * step_s
        is_high = ((t + phase) // half) % 2 == 1
        if is_high and not was_high:
            events.append(t)
        was_high = is_high
        out.append((high if is_high else low) * noise[i])
    return out, events


# ---- a user's own data ----


def _parse_time(text: str) -> datetime | None:
    text = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise TraceError(f"{path} does not exist") from None
    except UnicodeDecodeError:
        raise TraceError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise TraceError(f"{path} cannot be read: {exc.strerror}") from None


def load_csv(path: Path, *, step_s: float = 60.0) -> Trace:
    """``timestamp, requests_per_second`` rows (ISO 8601 or Unix seconds), resampled to ``step_s``.

    A header row, blank lines and ``#`` comments are skipped; each value holds
    until the next row's timestamp. A bad row is an error naming its line.
    """
    rows: list[tuple[datetime, float]] = []
    for lineno, line in enumerate(_read_lines(path), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = [p.strip() for p in text.split(",")]
        if (
            not rows
            and len(parts) == 2
            and _parse_time(parts[0]) is None
            and re.search(r"[A-Za-z]", parts[0])
        ):
            continue  # the header
        where = f"{path}:{lineno}"
        if len(parts) != 2:
            raise TraceError(f"{where}: expected 'timestamp, requests_per_second', got {text!r}")
        moment = _parse_time(parts[0])
        if moment is None:
            raise TraceError(
                f"{where}: cannot read the timestamp {parts[0]!r} (use ISO 8601 or Unix seconds)"
            )
        try:
            rps = float(parts[1])
        except ValueError:
            raise TraceError(
                f"{where}: {parts[1]!r} is not a number of requests per second"
            ) from None
        if not math.isfinite(rps) or rps < 0:
            raise TraceError(f"{where}: requests per second must be 0 or more, got {parts[1]!r}")
        if rows and moment <= rows[-1][0]:
            raise TraceError(f"{where}: timestamp {parts[0]} is not after the row before it")
        rows.append((moment, rps))
    if not rows:
        raise TraceError(f"{path}: no 'timestamp, requests_per_second' rows found")
    start = rows[0][0]
    times = [(m - start).total_seconds() for m, _ in rows]
    end = times[-1] + (times[-1] - times[-2] if len(times) > 1 else step_s)
    return Trace(
        path.stem,
        tuple(integrate(times, [v for _, v in rows], end, step_s)),
        step_s,
        start,
        (),
        None,
        source=str(path),
    )


def integrate(times: list[float], values: list[float], end: float, step_s: float) -> list[float]:
    """The mean of a step function over each ``step_s``: rows closer than a step are averaged, not sampled.

    ``values[j]`` holds from ``times[j]`` until ``times[j + 1]`` (the last one
    until ``end``); a step the rows end inside is averaged over its covered part.
    """
    steps = max(1, math.ceil(end / step_s - 1e-9))
    sums = [0.0] * steps
    covered = [0.0] * steps
    for j, value in enumerate(values):
        a = times[j]
        b = times[j + 1] if j + 1 < len(times) else end
        while a < b:
            i = min(steps - 1, int(a // step_s))
            edge = min(b, (i + 1) * step_s)
            if edge <= a:  # a float edge case at the last step
                edge = b
            sums[i] += value * (edge - a)
            covered[i] += edge - a
            a = edge
    return [sums[i] / covered[i] if covered[i] > 0 else 0.0 for i in range(steps)]


def scaled(trace: Trace, peak_rps: float) -> Trace:
    """The trace with every value multiplied so its busiest step is ``peak_rps``."""
    if trace.peak <= 0.0:
        raise TraceError("the trace has no load to scale (every value is 0)")
    factor = peak_rps / trace.peak
    return Trace(
        trace.name,
        tuple(v * factor for v in trace.rps),
        trace.step_s,
        trace.start,
        trace.events,
        trace.service_ms,
        trace.source,
    )


_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)")
_ROUTER = re.compile(r"heroku\[router\]:|\sheroku\s+router\s")
_PAIR = re.compile(r'(\w+)=("[^"]*"|\S+)')


def parse_router_line(line: str) -> tuple[datetime, dict[str, str]] | None:
    """(time, fields) of a Heroku router line; None for any other log line.

    Raises :class:`TraceError` (without a line number) for a router line that
    is broken: no timestamp, or no ``at=``/``status=`` field.
    """
    if not _ROUTER.search(line):
        return None
    stamp = _STAMP.search(line)
    if stamp is None:
        raise TraceError("a router line without an ISO 8601 timestamp")
    moment = _parse_time(stamp.group(1))
    if moment is None:
        raise TraceError(f"cannot read the timestamp {stamp.group(1)!r}")
    fields = {k: v.strip('"') for k, v in _PAIR.findall(line[stamp.end() :])}
    if "at" not in fields or "status" not in fields:
        raise TraceError("a router line without at= and status= fields")
    return moment, fields


def load_router_log(path: Path, *, step_s: float = 60.0) -> Trace:
    """Requests counted per ``step_s`` from Heroku router log lines (``heroku logs``, a syslog drain).

    Lines from other sources (``app[web.1]``, ``heroku[web.1]``) are skipped.
    The mean ``service=`` time of the answered requests becomes the trace's
    ``service_ms``.
    """
    stamps: list[datetime] = []
    service: list[float] = []
    for lineno, line in enumerate(_read_lines(path), start=1):
        try:
            parsed = parse_router_line(line)
        except TraceError as exc:
            raise TraceError(f"{path}:{lineno}: {exc}: {line.strip()[:120]!r}") from None
        if parsed is None:
            continue
        moment, fields = parsed
        stamps.append(moment)
        ms = re.fullmatch(r"(\d+(?:\.\d+)?)ms", fields.get("service", ""))
        if (
            ms
            and fields.get("at") == "info"
            and fields["status"].isdigit()
            and int(fields["status"]) < 500
        ):
            service.append(float(ms.group(1)))
    if not stamps:
        raise TraceError(
            f"{path}: no Heroku router lines found (lines with 'heroku[router]:' and at=...)"
        )
    start = min(stamps)
    start = start.replace(second=0, microsecond=0)
    counts = [0] * (int((max(stamps) - start).total_seconds() // step_s) + 1)
    for moment in stamps:
        counts[int((moment - start).total_seconds() // step_s)] += 1
    mean_service = sum(service) / len(service) if service else None
    return Trace(
        path.stem,
        tuple(c / step_s for c in counts),
        step_s,
        start,
        (),
        mean_service,
        source=str(path),
    )


def load(
    spec: str,
    *,
    days: float = 7.0,
    seed: int = 0,
    peak_rps: float = 150.0,
    window_s: float = 240.0,
) -> Trace:
    """A family name, a ``.csv`` file, or a router log file; ``days`` trims a file."""
    if spec in FAMILIES:
        return generate(spec, days=days, seed=seed, peak_rps=peak_rps, window_s=window_s)
    path = Path(spec)
    if not path.exists():
        raise TraceError(f"{spec!r} is neither a trace family ({', '.join(FAMILIES)}) nor a file")
    if path.is_dir():
        raise TraceError(f"{spec} is a folder, not a trace file")
    trace = load_csv(path) if path.suffix.lower() == ".csv" else load_router_log(path)
    return trace.head(days * 86400.0) if trace.duration_s > days * 86400.0 else trace


def to_csv(trace: Trace) -> str:
    """The trace as ``timestamp, requests_per_second`` CSV text (for tests and exports)."""
    out = ["timestamp,requests_per_second"]
    for i, rps in enumerate(trace.rps):
        moment = trace.start + timedelta(seconds=i * trace.step_s)
        out.append(f"{moment.isoformat()},{rps:.4f}")
    return "\n".join(out) + "\n"
