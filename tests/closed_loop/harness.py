"""Real processes on loopback for the closed loop: gunicorn, a load generator, the bot.

Used by the closed-loop test (which asserts) and ``benchmarks/closed_loop.py``
(which prints figures). Every process started here is started in its own
session and stopped by its own pid or process group, also when a run fails.
"""

from __future__ import annotations

import contextlib
import http.client
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median, quantiles
from typing import Any

from autoscalebot.backends.gunicorn import ProcessTable

HERE = Path(__file__).resolve().parent

_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_logfmt(line: str) -> dict[str, str]:
    """``key=value key="quoted value"`` into a dict of strings."""
    out = {}
    for key, value in _PAIR.findall(line):
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        out[key] = value
    return out


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop_process(proc: subprocess.Popen[Any], *, grace: float) -> None:
    """SIGTERM; after ``grace``, SIGKILL to its process group (started in its own session)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    if proc.poll() is None:
        # Still running, so not reaped: its pid, and so its group id, is still ours.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


class GunicornServer:
    """``python -m gunicorn`` serving :mod:`wsgi_app` with sync workers on 127.0.0.1.

    ``app``: another WSGI app of this folder, e.g. ``wsgi_exp_app:app``
    (exponential service times).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        workers: int = 1,
        service_ms: float = 50.0,
        app: str = "wsgi_app:app",
    ) -> None:
        self.workdir = workdir
        self.workers = workers
        self.service_ms = service_ms
        self.app = app
        self.pidfile = workdir / "gunicorn.pid"
        self.logfile = workdir / "gunicorn.log"
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 15.0) -> GunicornServer:
        """Start and wait until the pidfile exists and a request is answered."""
        for _attempt in range(3):  # the free port may be taken between probe and bind
            self.port = free_port()
            command = [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--worker-class",
                "sync",
                "--pid",
                str(self.pidfile),
                "--chdir",
                str(HERE),
                "--graceful-timeout",
                "5",
                "--backlog",
                "256",
                "--log-level",
                "warning",
                self.app,
            ]
            env = dict(os.environ, SERVICE_MS=str(self.service_ms))
            with self.logfile.open("ab") as log:
                self.proc = subprocess.Popen(
                    command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
            if self._wait_ready(timeout):
                return self
            self.stop()
        raise RuntimeError(
            f"gunicorn did not start; see {self.logfile}:\n{self.logfile.read_text()[-2000:]}"
        )

    def _wait_ready(self, timeout: float) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self.pidfile.exists() and self.worker_count() == self.workers:
                try:
                    if get(self.url, timeout=2.0)[1] == 200:
                        return True
                except OSError:
                    pass
            time.sleep(0.05)
        return False

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def worker_count(self) -> int:
        """Live workers of the master, straight from the process table."""
        return len(ProcessTable().live_children(self.pid))

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc, grace=8.0)

    def __enter__(self) -> GunicornServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def get(url: str, *, timeout: float) -> tuple[float, int]:
    """One GET with a fresh connection: (seconds taken, status)."""
    host_port = url.split("/")[2]
    host, port = host_port.rsplit(":", 1)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", "/", headers={"Connection": "close"})
        response = conn.getresponse()
        response.read()
        return time.perf_counter() - started, response.status
    finally:
        conn.close()


@dataclass
class Request:
    """One request of the load: when it started (monotonic), how long it took (None: failed)."""

    started: float
    seconds: float | None
    status: int | None


class LoadGenerator:
    """Open-loop Poisson load: ``rate`` requests a second, at most ``max_in_flight`` at once.

    Arrivals are random (seeded), as real users' are: with evenly spaced
    arrivals a queue below capacity never waits, so latency would say nothing
    about how close to capacity the workers run. Requests that would exceed
    ``max_in_flight`` are skipped and counted, so a saturated app cannot make
    the generator grow without bound.
    """

    def __init__(
        self, url: str, *, max_in_flight: int = 48, timeout: float = 10.0, seed: int = 5
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.requests: list[Request] = []
        self.skipped = 0
        self._random = random.Random(seed)
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._pool = ThreadPoolExecutor(max_in_flight, thread_name_prefix="load")
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def run(self, rate: float, seconds: float) -> None:
        """Send requests at ``rate`` a second for ``seconds`` (blocks; ``stop`` ends it early)."""
        end = time.monotonic() + seconds
        due = time.monotonic()
        while True:
            due += self._random.expovariate(rate)
            if due >= end or self._stop.wait(max(0.0, due - time.monotonic())):
                return
            self._send()

    def replay(self, rates: list[float], step_s: float) -> None:
        """Play a trace: ``rates[i]`` requests a second during step ``i`` (blocks until it ends).

        The arrivals are drawn up front (:func:`arrival_offsets`), so the
        count follows the trace whatever the app's latency; ``stop`` ends it early.
        """
        start = time.monotonic()
        for offset in arrival_offsets(rates, step_s, self._random):
            if self._stop.wait(max(0.0, start + offset - time.monotonic())):
                return
            self._send()
        self._stop.wait(max(0.0, start + len(rates) * step_s - time.monotonic()))

    def _send(self) -> None:
        if not self._slots.acquire(blocking=False):
            self.skipped += 1
            return
        self._pool.submit(self._one)

    def _one(self) -> None:
        started = time.monotonic()
        try:
            seconds, status = get(self.url, timeout=self.timeout)
            record = Request(started, seconds, status)
        except OSError:
            record = Request(started, None, None)
        finally:
            self._slots.release()
        with self._lock:
            self.requests.append(record)

    def stop(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


def arrival_offsets(rates: list[float], step_s: float, rng: random.Random) -> list[float]:
    """Poisson arrival times (seconds from the start) for a piecewise-constant rate.

    Each step draws afresh from its own start: the exponential is memoryless,
    so this is exactly a Poisson process whose rate changes at the steps.
    """
    out: list[float] = []
    for i, rate in enumerate(rates):
        if rate <= 0.0:
            continue
        end = (i + 1) * step_s
        due = i * step_s + rng.expovariate(rate)
        while due < end:
            out.append(due)
            due += rng.expovariate(rate)
    return out


@dataclass
class LogLine:
    """One logfmt line of the bot, with the monotonic time it was read."""

    at: float
    fields: dict[str, str]
    text: str


class BotProcess:
    """The real ``autoscalebot --headless`` with ``--set`` settings, its stdout parsed live."""

    def __init__(self, settings: dict[str, Any], workdir: Path, *, duration: float = 120.0) -> None:
        exe = shutil.which("autoscalebot")
        base = [exe] if exe else [sys.executable, "-m", "autoscalebot.cli"]
        self.command = [*base, "--headless", "--duration", str(duration)]
        for name, value in settings.items():
            self.command += ["--set", f"{name}={value}"]
        # A clean environment: no AUTOSCALE_*/HEROKU_* from the caller, no user config file.
        keep = {"PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "TZ"}
        self.env = {k: v for k, v in os.environ.items() if k in keep}
        self.env["XDG_CONFIG_HOME"] = str(workdir / "config")
        # Its own history file: bots run side by side (tests, benchmarks) must not share one.
        self.env["XDG_DATA_HOME"] = str(workdir / "data")
        # And its own control socket: a bot of the same formation elsewhere on the
        # machine (another test, a benchmark) would rightly make it refuse to start.
        run = workdir / "run"
        run.mkdir(mode=0o700, exist_ok=True)
        self.env["XDG_RUNTIME_DIR"] = str(run)
        self.env["PYTHONUNBUFFERED"] = "1"
        self.lines: list[LogLine] = []
        self.stderr_path = workdir / "bot.stderr"
        self.proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> BotProcess:
        with self.stderr_path.open("w") as err:
            self.proc = subprocess.Popen(
                self.command,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=self.env,
                start_new_session=True,
            )
        self._reader = threading.Thread(target=self._read, name="bot-stdout", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for text in self.proc.stdout:
            self.lines.append(LogLine(time.monotonic(), parse_logfmt(text), text.rstrip("\n")))

    def events(self, kind: str) -> list[LogLine]:
        return [line for line in list(self.lines) if line.fields.get("event") == kind]

    def wait_for(self, predicate: Any, timeout: float) -> LogLine | None:
        """The first line (seen so far or within ``timeout``) for which ``predicate`` holds."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            lines = list(self.lines)
            for line in lines[seen:]:
                if predicate(line):
                    return line
            seen = len(lines)
            if time.monotonic() >= deadline or (
                self.proc is not None and self.proc.poll() is not None
            ):
                return None
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc, grace=5.0)
        if self._reader is not None:
            self._reader.join(2.0)

    def output(self) -> str:
        """Everything the bot said, for failure messages."""
        err = self.stderr_path.read_text() if self.stderr_path.exists() else ""
        return "\n".join(line.text for line in self.lines) + (
            "\n--- stderr ---\n" + err if err else ""
        )


class WorkerSampler:
    """Samples the real worker count every ``every`` seconds: [(monotonic, count)]."""

    def __init__(self, server: GunicornServer, every: float = 0.1) -> None:
        self.server = server
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), self.server.worker_count()))
            self._stop.wait(self.every)

    def start(self) -> WorkerSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)


@dataclass(frozen=True)
class Scenario:
    """The story: calm, a surge that needs about three workers, then quiet."""

    service_ms: float = 50.0
    calm_rps: float = 5.0
    calm_seconds: float = 2.0
    surge_rps: float = 50.0  # 2.5 workers' worth at 50 ms each: 3 workers run at 83 %
    surge_seconds: float = 12.0
    settle_timeout: float = 20.0  # after the surge, time allowed to scale back down
    interval: float = 0.3
    max_ms: float = 250.0
    min_ms: float = 70.0
    fails: int = 2
    passes: int = 6
    min_workers: int = 1
    max_workers: int = 4

    def bot_settings(self, server: GunicornServer) -> dict[str, Any]:
        return {
            "SCALING_BACKEND": "gunicorn",
            "GUNICORN_PIDFILE": server.pidfile,
            "HEARTBEAT_URL": server.url,
            "COUNT_REFRESH_IN_SECONDS": 1,
            **self.decision_settings(),
        }

    def decision_settings(self) -> dict[str, Any]:
        """The settings the decision depends on (the simulator runs with the same ones)."""
        return {
            "HEARTBEAT_INTERVAL_IN_SECONDS": self.interval,
            "MAX_RESPONSE_TIME_IN_MS": self.max_ms,
            "MIN_RESPONSE_TIME_IN_MS": self.min_ms,
            "NUMBER_OF_FAILS_TO_SCALE_UP_AFTER": self.fails,
            "NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER": self.passes,
            "MIN_DYNOS": self.min_workers,
            "MAX_DYNOS": self.max_workers,
        }


@dataclass
class ClosedLoopRun:
    """What happened: the timeline, the requests, the bot's lines, the worker counts."""

    scenario: Scenario
    surge_start: float = 0.0
    surge_end: float = 0.0
    finished: float = 0.0
    requests: list[Request] = field(default_factory=list)
    skipped: int = 0
    bot_lines: list[LogLine] = field(default_factory=list)
    samples: list[tuple[float, int]] = field(default_factory=list)
    final_workers: int = -1
    bot_output: str = ""

    def scales(self) -> list[tuple[float, int, int]]:
        """(monotonic, from, to) of every confirmed scale."""
        return [
            (line.at, int(line.fields["from"]), int(line.fields["to"]))
            for line in self.bot_lines
            if line.fields.get("event") == "scale"
        ]

    def latencies_ms(self, start: float, end: float) -> list[float]:
        """Latencies (ms) of requests started in [start, end); a failed one counts as 10 s."""
        return [
            (r.seconds if r.seconds is not None else 10.0) * 1000.0
            for r in self.requests
            if start <= r.started < end
        ]

    @property
    def needed_workers(self) -> int:
        """Workers the surge needs to run below capacity."""
        return math.ceil(self.scenario.surge_rps * self.scenario.service_ms / 1000.0)

    def figures(self, settled_window: float = 4.0) -> dict[str, Any]:
        """The benchmark's numbers (None where the run did not get that far).

        "overloaded" is the surge before the first added worker; "settled" is
        the last ``settled_window`` seconds of the surge.
        """
        ups = [
            s for s in self.scales() if s[2] > s[1] and self.surge_start <= s[0] <= self.surge_end
        ]
        downs = [s for s in self.scales() if s[2] < s[1] and s[0] >= self.surge_end]
        first_up = ups[0][0] if ups else None
        enough = next((s[0] for s in ups if s[2] >= self.needed_workers), None)
        back_to_min = next((s[0] for s in downs if s[2] == self.scenario.min_workers), None)
        surge_samples = [n for at, n in self.samples if self.surge_start <= at <= self.surge_end]
        return {
            "surge_to_first_worker_s": None if first_up is None else first_up - self.surge_start,
            "surge_to_enough_workers_s": None if enough is None else enough - self.surge_start,
            "needed_workers": self.needed_workers,
            "peak_workers": max(surge_samples, default=None),
            "scale_ups": len(ups),
            "scale_downs_during_surge": sum(
                1
                for s in self.scales()
                if s[2] < s[1] and self.surge_start <= s[0] <= self.surge_end
            ),
            "calm": summary(
                self.latencies_ms(self.surge_start - self.scenario.calm_seconds, self.surge_start)
            ),
            "overloaded": summary(self.latencies_ms(self.surge_start, first_up))
            if first_up
            else None,
            "settled": summary(self.latencies_ms(self.surge_end - settled_window, self.surge_end)),
            "load_end_to_min_s": None if back_to_min is None else back_to_min - self.surge_end,
            "final_workers": self.final_workers,
            "skipped_requests": self.skipped,
            "requests": len(self.requests),
            "total_s": self.finished - (self.surge_start - self.scenario.calm_seconds),
        }


def summary(values: list[float]) -> dict[str, float] | None:
    """n, p50 and p95 of ``values`` (ms), or None when empty."""
    if not values:
        return None
    p95 = quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]
    return {"n": len(values), "p50": median(values), "p95": p95}


def run_closed_loop(workdir: Path, scenario: Scenario | None = None) -> ClosedLoopRun:
    """Run the whole story; returns the record once everything started here has stopped."""
    scenario = scenario or Scenario()
    result = ClosedLoopRun(scenario)
    with ExitStack() as stack:
        server = stack.enter_context(
            GunicornServer(workdir, workers=scenario.min_workers, service_ms=scenario.service_ms)
        )
        bot = BotProcess(
            scenario.bot_settings(server),
            workdir,
            duration=scenario.calm_seconds + scenario.surge_seconds + scenario.settle_timeout + 15,
        )
        stack.callback(bot.stop)
        load = LoadGenerator(server.url)
        stack.callback(load.stop)
        sampler = WorkerSampler(server).start()
        stack.callback(sampler.stop)
        bot.start()
        if bot.wait_for(lambda line: line.fields.get("event") == "beat", timeout=15) is None:
            raise RuntimeError(f"the bot did not beat:\n{bot.output()}")
        load.run(scenario.calm_rps, scenario.calm_seconds)
        result.surge_start = time.monotonic()
        load.run(scenario.surge_rps, scenario.surge_seconds)
        result.surge_end = time.monotonic()
        # Quiet: wait until the bot has brought the workers back to the minimum.
        bot.wait_for(
            lambda line: (
                line.fields.get("event") == "scale"
                and line.at > result.surge_end
                and int(line.fields["to"]) == scenario.min_workers
            ),
            timeout=scenario.settle_timeout,
        )
        result.final_workers = _settled_count(server)
        result.finished = time.monotonic()
        load.stop()
        sampler.stop()
        bot.stop()
        result.requests = list(load.requests)
        result.skipped = load.skipped
        result.bot_lines = list(bot.lines)
        result.samples = list(sampler.samples)
        result.bot_output = bot.output()
    return result


def _settled_count(server: GunicornServer, wait: float = 3.0) -> int:
    """The worker count once retiring workers have exited (bounded wait)."""
    deadline = time.monotonic() + wait
    last = server.worker_count()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = server.worker_count()
        if now == last:
            return now
        last = now
    return last
