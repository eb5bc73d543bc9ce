"""The operator console: a Textual app over a running engine.

The engine runs on its own thread (:class:`EngineThread`) and reports through
a sink that posts each event to the app as a message; the app sends it
commands (:meth:`Engine.submit`). Nothing here touches the network or the
engine's state directly, so the screen never waits on a slow API.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Footer

from autoscalebot.config import Settings
from autoscalebot.config.edits import pinned, save_edit
from autoscalebot.control.client import Hello, RemoteLink
from autoscalebot.engine import events as ev
from autoscalebot.engine.commands import Command, ForceScale, Pause, Resume, UpdateSettings
from autoscalebot.engine.engine import Engine
from autoscalebot.runtime import EngineThread, build_engine
from autoscalebot.tui.clockface import ClockFace
from autoscalebot.tui.dialogs import HelpDialog, ThresholdsDialog, ThresholdsEdit
from autoscalebot.tui.messages import EngineEvent, EnginePulse, EngineSink
from autoscalebot.tui.widgets import (
    BoundsPanel,
    DynosPanel,
    EventLog,
    LatencyChart,
    StatusLine,
    StreakPanel,
)
from autoscalebot.tui.widgets.literal import literal

EngineFactory = Callable[[ev.Sink], Engine]
"""Builds the engine, given the sink it must report to."""

_DASHBOARD_ACTIONS = frozenset({"pause", "resume", "force", "edit", "help"})

STOP_TIMEOUT = 1.0
"""Seconds quitting waits for the engine thread (a request in flight is let go)."""


class AutoscaleApp(App[int]):
    """Live latency, streaks, dynos, the bounds window and a log; keys to
    pause, force a scale and edit thresholds.

    Tests build it with an ``engine_factory`` that returns an engine on a fake
    clock with in-memory backends, ``threaded=False`` (they step
    ``engine.tick()`` and ``engine.apply_commands()`` themselves) and ``now``
    from the same fake clock, so every screen is reproducible.
    """

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "autoscalebot"

    BINDINGS = [
        Binding(
            "p",
            "pause",
            "Pause",
            id="pause",
            tooltip="Stop automatic scaling; beats go on, and +/- still scale by hand",
        ),
        Binding("p", "resume", "Resume", id="resume", tooltip="Let the bot scale again"),
        Binding(
            "plus,equals_sign",
            "force(1)",
            "Scale up",
            key_display="+",
            id="scale-up",
            tooltip="Add INCREMENT dynos now (clamped to MAX_DYNOS), paused or not;"
            " then automatic scaling holds",
        ),
        Binding(
            "minus",
            "force(-1)",
            "Scale down",
            key_display="-",
            id="scale-down",
            tooltip="Remove INCREMENT dynos now (clamped to MIN_DYNOS), paused or not;"
            " then automatic scaling holds",
        ),
        Binding(
            "e",
            "edit",
            "Thresholds",
            id="edit-thresholds",
            tooltip="Edit thresholds, streaks and bounds; saved to TOML",
        ),
        Binding(
            "question_mark",
            "help",
            "Help",
            key_display="?",
            id="help",
            tooltip="Keys and what each panel shows",
        ),
        Binding("q", "quit", "Quit", id="quit", tooltip="Stop the engine and leave"),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        engine_factory: EngineFactory | None = None,
        config_path: Path | None = None,
        threaded: bool = True,
        now: Callable[[], datetime] | None = None,
        duration: float | None = None,
        stop_timeout: float = STOP_TIMEOUT,
        attach: Path | None = None,
        hello: Hello | None = None,
    ) -> None:
        super().__init__()
        self.attach = attach
        """The running bot's control socket, when attached (None: an engine of our own)."""
        self.hello = hello
        """What the attached bot said about itself, last time it was reached."""
        self.link: RemoteLink | None = None
        """The live link to the attached bot, once mounted."""
        self.settings = settings
        """The settings as the console last applied them."""
        self.config_path = config_path
        """The TOML file edits are saved to; None: applied to the engine only."""
        self.threaded = threaded
        """Run the engine on its worker thread (False: the caller steps it)."""
        self.duration = duration
        """Quit by itself after this many seconds (None: run until quit)."""
        self.stop_timeout = stop_timeout
        """How long leaving waits for the engine thread (0: the caller waits)."""
        self.pinned: dict[str, tuple[str, Any]] = pinned(settings)
        """Settings the environment or a flag set at start: name -> (origin, value).

        Kept from the settings as loaded, because edits re-mark what they touch
        as "console"; these win over the TOML file again at the next start."""
        self.clockface = ClockFace(settings.tz, now) if now else ClockFace(settings.tz)
        """How times are shown."""
        self.sink: ev.Sink = EngineSink(self.post_message)
        """The engine's sink: wraps each event in a message for this app."""
        self._engine_factory: EngineFactory = engine_factory or (
            lambda sink: build_engine(settings, sink)
        )
        self.engine: Engine | None = None
        """The engine, once :meth:`prepare_engine` built it."""
        self.runner: EngineThread | None = None
        """The engine's thread while it runs."""
        self.status: ev.Status | None = None
        """The last status snapshot from the engine."""

    # ---- engine lifecycle ----

    def prepare_engine(self) -> Engine:
        """Build the engine (and its backends) now; raises ConfigError.

        The CLI calls this before the screen starts, so a bad backend path is
        a one-line error rather than a console that opens and dies.
        """
        if self.engine is None:
            self.engine = self._engine_factory(self.sink)
        return self.engine

    def on_mount(self) -> None:
        # Countdowns (hold, cool-off, next window) move even between beats.
        self.set_interval(1.0, self._refresh_countdowns)
        if self.duration is not None:
            self.set_timer(self.duration, self.action_quit)
        if self.attach is not None:
            if self.hello is not None:
                self._show_attached(self.hello)
            self.link = RemoteLink(
                self.attach,
                self.sink,
                on_state=lambda hello, why: self.post_message(LinkState(hello, why)),
                on_reply=lambda reply: self.post_message(ControlReply(reply)),
            ).start()
            return
        engine = self.prepare_engine()
        name = engine.settings.heroku_app_name or engine.settings.scaling_backend.rsplit(".", 1)[-1]
        self.status_line.app_name = name
        self.sub_title = name
        if self.threaded:
            self.runner = EngineThread(engine).start()

    def stop_engine(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop the engine thread; True if it ended within ``timeout``.

        A beat stuck mid-request is let go after ``timeout`` (the thread is a
        daemon), so stopping never takes longer than that.
        """
        if self.link is not None:
            return self.link.stop(timeout)  # the attached bot keeps running
        if self.runner is None:
            return True
        return self.runner.stop(timeout)

    async def action_quit(self) -> None:
        """Tell the engine to stop, and leave (the wait is at unmount)."""
        if self.engine is not None:
            self.engine.stop()
        self.exit(0)

    def on_unmount(self) -> None:
        # Every way out (q, ctrl+q, an error, the pilot ending) stops the engine.
        self.stop_engine(self.stop_timeout)

    # ---- the screen ----

    def compose(self) -> ComposeResult:
        # The panels are kept by reference: events keep arriving while a
        # dialog is the active screen, and a query would look in the dialog.
        face = self.clockface
        self.status_line = StatusLine(face, self.settings.heroku_app_name or "", id="status")
        self.chart = LatencyChart(id="latency")
        self.dynos = DynosPanel(id="dynos")
        self.streak = StreakPanel(id="streak")
        self.bounds = BoundsPanel(face, id="bounds")
        self.event_log = EventLog(face, id="log")
        yield self.status_line
        yield Horizontal(_panel("Latency", self.chart), _panel("Dynos", self.dynos), id="top")
        yield Horizontal(_panel("Streak", self.streak), _panel("Window", self.bounds), id="middle")
        yield _panel("Log", self.event_log)
        yield Footer()

    def _show_attached(self, hello: Hello) -> None:
        self.hello = hello
        self.sub_title = hello.title
        self.status_line.app_name = hello.title
        self.status_line.set_disconnected(None)

    def on_link_state(self, message: LinkState) -> None:
        """The attached bot answered again, or stopped answering."""
        if message.hello is not None:
            self._show_attached(message.hello)
            self.notify(message.hello.title, title="Attached")
        else:
            self.status_line.set_disconnected(message.why)
            self.sub_title = f"disconnected from {self.attach}; retrying"

    def on_control_reply(self, message: ControlReply) -> None:
        """A bot's answer to a command this console sent (refusals also arrive as events)."""
        reply = message.reply
        if reply.get("type") == "error":
            self.notify(
                str(reply.get("detail")), title="The bot refused", severity="error", markup=False
            )
        elif reply.get("command") == "set":
            self.notify(
                str(reply.get("detail")),
                title="Thresholds",
                severity="information" if reply.get("ok") else "warning",
                markup=False,
            )

    def on_engine_pulse(self, message: EnginePulse) -> None:
        beats, status, count = message.take()
        if beats:
            self.chart.add_beats(beats, count)
            self.streak.add_beats(beats)
        if status is not None:
            self._show_status(status)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool | None = None,
    ) -> None:
        """A toast; its words are shown literally (they are often a server's:
        ``[/api/v3]`` is not markup, a control character is escaped) unless
        ``markup=True`` says they are this console's own markup."""
        if markup is None:
            # Textual's own toasts ("Press [b]q[/b] to quit") are its markup.
            markup = sys._getframe(1).f_globals.get("__name__", "").startswith("textual.")
        if not markup:
            message, title = literal(message), literal(title)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        self.event_log.add(event)
        if isinstance(event, ev.OperatorAction) and not event.accepted:
            self.notify(event.detail, title=f"Refused: {event.action}", severity="warning")
        elif isinstance(event, ev.Stopped):
            self.status_line.set_stopped(event.reason)
        elif isinstance(event, ev.Trouble) and event.source == "platform":
            self.notify(event.reason, title="Scaling API trouble", severity="error")

    def _show_status(self, status: ev.Status) -> None:
        paused_changed = self.status is None or self.status.paused != status.paused
        self.status = status
        for view in (self.status_line, self.dynos, self.bounds):
            view.set_status(status)
        self.streak.set_streaks(status.streaks)
        self.chart.set_thresholds(status.thresholds_ms)
        if paused_changed:
            self.refresh_bindings()  # the footer shows Pause or Resume

    def _refresh_countdowns(self) -> None:
        self.status_line.refresh()
        self.bounds.refresh()

    # ---- keys ----

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _DASHBOARD_ACTIONS and isinstance(self.screen, ModalScreen):
            return False  # a dialog is open: its keys only (and quit)
        paused = self.status is not None and self.status.paused
        if action == "pause":
            return not paused
        if action == "resume":
            return paused
        return True

    def submit(self, command: Command) -> None:
        """Send a command to the engine (applied on its thread between beats),
        or to the attached bot."""
        if self.link is not None:
            problem = self.link.submit(command)
            if problem is not None:
                self.notify(problem, title="Not sent", severity="warning", markup=False)
        elif self.engine is not None:
            self.engine.submit(command)

    def action_pause(self) -> None:
        """Stop automatic scaling."""
        self.submit(Pause())

    def action_resume(self) -> None:
        """Scale again."""
        self.submit(Resume())

    def action_force(self, direction: int) -> None:
        """Scale by INCREMENT now, up (1) or down (-1); the engine clamps it."""
        self.submit(ForceScale(delta=direction * self.settings.increment))

    def action_edit(self) -> None:
        """Open the threshold editor."""
        if isinstance(self.screen, ThresholdsDialog):
            return
        where = self.hello.config_note if self.attach is not None and self.hello else None
        self.push_screen(
            ThresholdsDialog(self.settings, save_to=self.config_path, where=where),
            self.apply_thresholds,
        )

    def apply_thresholds(self, edit: ThresholdsEdit | None) -> None:
        """Send the edited values to the engine and save them to the TOML file."""
        if edit is None:
            return
        if not edit.changes:
            self.notify("Nothing changed.")
            return
        self.settings = edit.settings
        self.submit(UpdateSettings(dict(edit.changes)))
        if self.attach is not None:
            return  # the bot applies and saves it; its answer arrives as a ControlReply
        outcome = save_edit(
            self.config_path,
            edit.settings,
            edit.changes,
            self.pinned,
            unsaved="Applied to the running engine (not saved: no --config file).",
        )
        message = outcome.message
        if not outcome.saved and self.config_path is not None:
            message = f"Applied to the running engine, but {message}"
        self.notify(
            message[0].upper() + message[1:],
            title="Thresholds",
            severity=outcome.severity,  # type: ignore[arg-type]
            timeout=15 if outcome.severity == "error" else 5,
        )

    def action_help(self) -> None:
        """Show the keys and a legend for the panels."""
        if isinstance(self.screen, HelpDialog):
            return
        self.push_screen(HelpDialog(list(self.key_help())))

    def key_help(self) -> Iterable[tuple[str, str, str]]:
        """(key, name, what it does) for each of this app's keys, as bound now
        (a keymap may have moved them), in the order of ``BINDINGS``."""
        bound: dict[str, list[str]] = {}
        for active in self.screen.active_bindings.values():
            if active.binding.id:
                bound.setdefault(active.binding.id, []).append(
                    active.binding.key_display or self.get_key_display(active.binding)
                )
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding) and binding.id
            keys = bound.get(binding.id)
            if keys:
                yield "/".join(dict.fromkeys(keys)), binding.description, binding.tooltip

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        paused = self.status is not None and self.status.paused
        if paused:
            yield SystemCommand("Resume scaling", "Let the bot scale again", self.action_resume)
        else:
            yield SystemCommand(
                "Pause scaling", "Stop automatic scaling; beats go on", self.action_pause
            )
        yield SystemCommand(
            "Scale up", "Add INCREMENT dynos now (clamped)", lambda: self.action_force(1)
        )
        yield SystemCommand(
            "Scale down", "Remove INCREMENT dynos now (clamped)", lambda: self.action_force(-1)
        )
        yield SystemCommand(
            "Edit thresholds", "Response times, streaks, bounds; saved to TOML", self.action_edit
        )
        yield SystemCommand("Help", "Keys and what each panel shows", self.action_help)


class LinkState(Message):
    """The attached bot answered (``hello``) or stopped answering (``why``)."""

    def __init__(self, hello: Hello | None, why: str) -> None:
        super().__init__()
        self.hello = hello
        self.why = why


class ControlReply(Message):
    """The attached bot's answer to one of this console's commands."""

    def __init__(self, reply: dict[str, Any]) -> None:
        super().__init__()
        self.reply = reply


def _panel(title: str, content: Widget) -> Vertical:
    """A bordered, titled box around one widget (``#<id>-box`` in the CSS)."""
    box = Vertical(content, id=f"{content.id}-box", classes="panel")
    box.border_title = title
    return box
