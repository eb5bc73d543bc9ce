"""Added latency from a beat to an attached reader: the socket, and the console's screen.

A real ``autoscalebot --headless`` (a subprocess, 20 beats/s) against the Heroku
emulator and a heartbeat server on loopback. Each beat carries the wall-clock
time the engine emitted it; a reader on this machine compares that with the
time it has the beat in hand:

* ``socket``: N plain clients decode every event line (``autoscalebot ctl``'s
  reader, ``socat``-style consumers);
* ``console``: ``autoscalebot-tui --attach``'s app (headless, Textual's own
  loop) handling the beat in its message handler, i.e. before the next repaint.

Bounded: each row reads for ``--seconds``; the bot stops after the last row.

    python benchmarks/attach_latency.py [--seconds 10] [--clients 1,10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autoscalebot.config import SPEC, build_settings  # noqa: E402
from autoscalebot.control import protocol  # noqa: E402
from autoscalebot.control.client import Connection  # noqa: E402
from autoscalebot.emulator.heartbeat import HeartbeatServer  # noqa: E402
from autoscalebot.emulator.heroku import HerokuEmulator  # noqa: E402
from benchmarks._harness import APP, KEY, start_cli  # noqa: E402


def socket_readers(path: Path, clients: int, seconds: float) -> list[float]:
    """Beat-to-decoded delays (s) seen by ``clients`` readers at once."""
    delays: list[float] = []
    lock = threading.Lock()

    def read() -> None:
        conn = Connection(path)
        conn.sock.settimeout(2.0)
        joined = time.time()  # beats before this come in the snapshot: history, not latency
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end:
                message = conn.read()
                if message is None:
                    return
                if message.get("type") != "event" or message["event"]["kind"] != "beat":
                    continue
                got = time.time()
                event = protocol.decode_event(message["event"])
                assert event is not None
                if event.at.timestamp() > joined:
                    with lock:
                        delays.append(got - event.at.timestamp())
        finally:
            conn.close()

    threads = [threading.Thread(target=read) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 10)
    return delays


def console(path: Path, seconds: float) -> tuple[list[float], list[float]]:
    """Beat-to-handler delays (s) in the attached console's app."""
    from autoscalebot.tui.app import AutoscaleApp

    delays: list[float] = []
    arrived: list[float] = []

    class Timed(AutoscaleApp):
        def on_engine_pulse(self, message) -> None:  # type: ignore[no-untyped-def]
            now = time.time()
            delays.extend(
                now - beat.at.timestamp()
                for beat in message.beats
                if beat.at.timestamp() > since[0]
            )
            super().on_engine_pulse(message)

    conn = Connection(path)
    conn.close()
    since = [float("inf")]  # from a second after the screen is up: not start-up work
    origins = conn.hello.origins | {s.name: "bot" for s in SPEC if s.secret}
    settings = build_settings(conn.hello.settings, origins=origins, require_platform=False)
    app = Timed(settings, attach=path, hello=conn.hello)
    posted = app.sink

    def arrival(event):  # type: ignore[no-untyped-def]
        if event.kind == "beat" and event.at.timestamp() > since[0]:
            arrived.append(time.time() - event.at.timestamp())
        posted(event)

    app.sink = arrival

    async def run() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            since[0] = time.time() + 1.0
            await pilot.pause(seconds + 1.0)

    asyncio.run(run())
    return arrived, delays


def row(name: str, delays: list[float]) -> str:
    if not delays:
        return f"| {name} | 0 | - | - | - | - |"
    ms = sorted(d * 1000 for d in delays)
    q = statistics.quantiles(ms, n=100)
    return f"| {name} | {len(ms)} | {q[49]:.2f} | {q[94]:.2f} | {q[98]:.2f} | {ms[-1]:.2f} |"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--clients", default="1,10", help="comma-separated reader counts")
    args = p.parse_args()
    runtime = tempfile.mkdtemp(prefix="attach-bench-")
    os.chmod(runtime, 0o700)
    os.environ["XDG_RUNTIME_DIR"] = runtime
    with HeartbeatServer() as heartbeat, HerokuEmulator(api_key=KEY) as heroku:
        heartbeat.set(latency=0.01)
        heroku.add_app(APP, web_url=heartbeat.url + "/", formation={"web": 2})
        proc, lines = start_cli(
            heroku.url,
            heartbeat.heartbeat_url,
            "--interval",
            "0.05",
            "--set",
            "MIN_RESPONSE_TIME_IN_MS=1",
            "--duration",
            str(args.seconds * 6 + 30),
        )
        try:
            path = Path(runtime) / "autoscalebot" / f"{APP}-web.sock"
            deadline = time.monotonic() + 20
            while not path.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            print("| reader | beats | p50 ms | p95 ms | p99 ms | max ms |")
            print("|---|---|---|---|---|---|")
            for n in (int(c) for c in args.clients.split(",")):
                print(
                    row(f"socket, {n} client(s)", socket_readers(path, n, args.seconds)), flush=True
                )
            arrived, handled = console(path, args.seconds)
            print(row("console: link thread has it", arrived), flush=True)
            print(row("console: app handler has it", handled), flush=True)
        finally:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
