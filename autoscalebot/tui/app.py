"""The operator console: a Textual app over running engines.

Each formation's engine runs on the engine thread (:class:`EngineThread`,
over a :class:`~autoscalebot.engine.fleet.Fleet` for several) and reports
through a sink of its own that posts each event to the app as a message
naming the formation; the app sends commands (:meth:`Engine.submit`).
Attached (``--attach``), a :class:`RemoteLink` feeds the same sinks from the
bot's control socket. Nothing here touches the network or an engine's state
directly, so the screen never waits on a slow API.

A bot of one formation opens on its dashboard; a bot of several on the
overview (one row each), where Enter opens a formation's dashboard and the
keys act on the selected row.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen

from autoscalebot.config import ConfigError, Settings
from autoscalebot.config.edits import pinned, save_edit
from autoscalebot.config.formations import formation_id
from autoscalebot.control.client import FormationInfo, Hello, RemoteLink
from autoscalebot.engine import events as ev
from autoscalebot.engine.commands import Command, ForceScale, Pause, Resume, UpdateSettings
from autoscalebot.engine.engine import Engine
from autoscalebot.runtime import EngineThread, build_engine
from autoscalebot.tui.clockface import ClockFace
from autoscalebot.tui.dashboard import Dashboard
from autoscalebot.tui.dialogs import HelpDialog, ThresholdsDialog, ThresholdsEdit
from autoscalebot.tui.formation import Formation, beats_kept
from autoscalebot.tui.messages import EngineEvent, EnginePulse, EngineSink
from autoscalebot.tui.overview import OverviewScreen
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

FormationFactory = Callable[[str, Settings, ev.Sink], Engine]
"""Builds one formation's engine: (formation id, its settings, its sink)."""

_DASHBOARD_ACTIONS = frozenset({"pause", "resume", "force", "edit", "help", "pause_all"})
_FORMATION_ACTIONS = frozenset({"pause", "resume", "force", "edit"})

STOP_TIMEOUT = 1.0
"""Seconds quitting waits for the engine thread (a request in flight is let go)."""


class AutoscaleApp(App[int]):
    """Live latency, streaks, dynos, the bounds window and a log; keys to
    pause, force a scale and edit thresholds; an overview of every formation
    for a bot of several.

    Tests build it with an ``engine_factory`` (one formation) or a
    ``formation_factory`` with ``formations`` (several) that return engines on
    a fake clock with in-memory backends, ``threaded=False`` (they step
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
            "P",
            "pause_all",
            "Pause all",
            key_display="P",
            id="pause-all",
            tooltip="Stop automatic scaling of every formation (resume each with p)",
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
        formations: Mapping[str, Settings] | None = None,
        formation_factory: FormationFactory | None = None,
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
        """The running bot's control socket, when attached (None: engines of our own)."""
        self.hello = hello
        """What the attached bot said about itself, last time it was reached."""
        self.link: RemoteLink | None = None
        """The live link to the attached bot, once mounted."""
        self.settings = settings
        """The settings as the console last applied them (the top level, for several)."""
        self.config_path = config_path
        """The TOML file edits are saved to; None: applied to the engine only."""
        self.threaded = threaded
        """Run the engines on the engine thread (False: the caller steps them)."""
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
        self.disconnected: str | None = None
        """Why the attached bot is not answering, while it is not."""
        self.formations: dict[str, Formation] = {}
        """Every formation shown, by id, in the bot's order."""
        if attach is not None and hello is not None:
            for info in hello.formations.values():
                self._add_formation(info.id, _settings_of(info, settings), info.platform)
        elif attach is not None:
            self._add_formation(formation_id(settings), settings, None)
        else:
            listed = dict(formations) if formations else {formation_id(settings): settings}
            for fid, one in listed.items():
                self._add_formation(fid, one, None, beats=beats_kept(len(listed)))
        self._single = len(self.formations) == 1
        self._engine_factory: EngineFactory = engine_factory or (
            lambda sink: build_engine(settings, sink)
        )
        self._formation_factory: FormationFactory = formation_factory or (
            lambda fid, one, sink: build_engine(one, sink)
        )
        self.engine: Engine | None = None
        """The first formation's engine (the only one, for a bot of one), once built."""
        self.runner: EngineThread | None = None
        """The engine thread while it runs."""
        self._last_dashboard: Dashboard | None = None

    def _add_formation(
        self, fid: str, settings: Settings, platform: str | None, *, beats: int | None = None
    ) -> Formation:
        formation = Formation(
            fid, settings, self.post_message, platform=platform, beats=beats or beats_kept(1)
        )
        self.formations[fid] = formation
        return formation

    def preload_history(self) -> int:
        """Put the beats the bot recorded earlier (its local history) on screen
        before the first live one; returns how many. Standalone only: an
        attached console gets the running bot's own recent beats."""
        from autoscalebot.history import recent_beats

        loaded = 0
        for formation in self.formations.values():
            beats = recent_beats(formation.id, formation.beats.maxlen or 0)
            formation.take_beats(beats, len(beats))
            loaded += len(beats)
        return loaded

    @property
    def first(self) -> Formation:
        """The first formation (the only one, for a bot of one)."""
        return next(iter(self.formations.values()))

    @property
    def sink(self) -> ev.Sink:
        """The first formation's sink (the only one's, for a bot of one)."""
        return self.first.sink

    @sink.setter
    def sink(self, sink: ev.Sink) -> None:
        self.first.sink = sink

    @property
    def several(self) -> bool:
        """More than one formation: the console opens on the overview."""
        return not self._single

    # ---- engine lifecycle ----

    def prepare_engine(self) -> Engine:
        """Build every formation's engine (and its backends) now; raises ConfigError.

        The CLI calls this before the screen starts, so a bad backend path is
        a one-line error rather than a console that opens and dies. Returns
        the first formation's engine.
        """
        if self.engine is None:
            if self._single:
                self.first.engine = self._engine_factory(self.first.sink)
            else:
                for formation in self.formations.values():
                    try:
                        formation.engine = self._formation_factory(
                            formation.id, formation.settings, formation.sink
                        )
                    except ConfigError as exc:
                        raise ConfigError(
                            f"FORMATIONS[{formation.id}].{exc.setting}", exc.problem, exc.fix
                        ) from None
            self.engine = self.first.engine
        assert self.engine is not None
        return self.engine

    def get_default_screen(self) -> Screen[Any]:
        if self._single:
            return self._dashboard(self.first, back=False)
        return OverviewScreen(
            self.formations, self.clockface, open=self.open_dashboard, title=self._title()
        )

    def _dashboard(self, formation: Formation, *, back: bool) -> Dashboard:
        self._last_dashboard = Dashboard(
            formation,
            self.clockface,
            title=self._label(formation),
            back=back,
            disconnected=self.disconnected,
        )
        return self._last_dashboard

    def _label(self, formation: Formation) -> str:
        """What the status line names on the right."""
        if self.attach is not None:
            if self.hello is None:
                return ""
            return self.hello.title if self._single else f"{formation.id} ({self.hello.title})"
        if not self._single:
            return formation.id
        one = formation.settings
        return one.heroku_app_name or one.scaling_backend.rsplit(".", 1)[-1]

    def _title(self) -> str:
        if self.attach is not None:
            return self.hello.title if self.hello is not None else f"attaching to {self.attach}"
        return "standalone: engines of this console's own"

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
                self._sink_for,
                on_state=lambda hello, why: self.post_message(LinkState(hello, why)),
                on_reply=lambda reply: self.post_message(ControlReply(reply)),
            ).start()
            return
        self.prepare_engine()
        self.sub_title = self._label(self.first) if self._single else self._title()
        if self.threaded:
            # As the headless bot runs them: one formation is a fleet of one.
            from autoscalebot.engine.fleet import Fleet

            engines = {f.id: f.engine for f in self.formations.values() if f.engine}
            self.runner = EngineThread(Fleet(engines)).start()

    def _sink_for(self, fid: str) -> ev.Sink:
        """Formation ``fid``'s sink, for the link (called on its thread)."""
        formation = self.formations.get(fid)
        return formation.sink if formation is not None else EngineSink(self.post_message, fid)

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
        """Tell the engines to stop, and leave (the wait is at unmount)."""
        if self.runner is not None:
            self.runner.engine.stop()
        for formation in self.formations.values():
            if formation.engine is not None:
                formation.engine.stop()
        self.exit(0)

    def on_unmount(self) -> None:
        # Every way out (q, ctrl+q, an error, the pilot ending) stops the engine.
        self.stop_engine(self.stop_timeout)

    # ---- the screens ----

    @property
    def dashboard(self) -> Dashboard | None:
        """The dashboard open now (under any dialog), or None on the overview."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, Dashboard):
                return screen
            if isinstance(screen, OverviewScreen):
                return None
        return None

    @property
    def overview(self) -> OverviewScreen | None:
        """The overview, for a bot of several formations."""
        for screen in self.screen_stack:
            if isinstance(screen, OverviewScreen):
                return screen
        return None

    def _shown(self) -> Dashboard:
        """The dashboard open now; after the app ended, the last one shown."""
        shown = self.dashboard
        if shown is None and not self.screen_stack:
            shown = self._last_dashboard
        if shown is None:
            raise LookupError("no dashboard is open (the overview is)")
        return shown

    # The open dashboard's panels, as a bot of one formation always shows them.
    @property
    def status_line(self) -> StatusLine:
        return self._shown().status_line

    @property
    def chart(self) -> LatencyChart:
        return self._shown().chart

    @property
    def dynos(self) -> DynosPanel:
        return self._shown().dynos

    @property
    def streak(self) -> StreakPanel:
        return self._shown().streak

    @property
    def bounds(self) -> BoundsPanel:
        return self._shown().bounds

    @property
    def event_log(self) -> EventLog:
        return self._shown().event_log

    @property
    def current(self) -> Formation | None:
        """The formation the keys act on: the open dashboard's, or the overview's selected row."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, Dashboard):
                return screen.formation
            if isinstance(screen, OverviewScreen):
                return screen.selected
        return self.first if self._single else None

    @property
    def status(self) -> ev.Status | None:
        """The last status snapshot of the formation the keys act on."""
        current = self.current
        return current.status if current is not None else None

    def open_dashboard(self, fid: str) -> None:
        """Open formation ``fid``'s dashboard over the overview."""
        formation = self.formations.get(fid)
        if formation is None or self.dashboard is not None:
            return
        overview = self.overview
        if overview is not None:
            overview.select(fid)
        self.push_screen(self._dashboard(formation, back=True), lambda _: self.refresh_bindings())

    def _dashboards_of(self, fid: str) -> Iterable[Dashboard]:
        for screen in self.screen_stack:
            if isinstance(screen, Dashboard) and screen.formation.id == fid:
                yield screen

    def _formation(self, fid: str) -> Formation | None:
        if not fid:
            return self.first  # a sink of no formation: the only one
        return self.formations.get(fid)

    def _show_attached(self, hello: Hello) -> None:
        self.hello = hello
        self.disconnected = None
        self.sub_title = hello.title
        for info in hello.formations.values():
            known = self.formations.get(info.id)
            if known is None:
                self._add_formation(info.id, _settings_of(info, self.settings), info.platform)
            elif info.settings:
                known.settings = _settings_of(info, known.settings)
        for screen in self.screen_stack:
            if isinstance(screen, Dashboard):
                screen.status_line.app_name = self._label(screen.formation)
                screen.status_line.set_disconnected(None)
        overview = self.overview
        if overview is not None:
            overview.title_text = hello.title
            overview.set_disconnected(None)
            overview.refresh_rows()

    def on_link_state(self, message: LinkState) -> None:
        """The attached bot answered again, or stopped answering."""
        if message.hello is not None:
            self._show_attached(message.hello)
            self.notify(message.hello.title, title="Attached")
        else:
            self.disconnected = message.why
            for screen in self.screen_stack:
                if isinstance(screen, Dashboard):
                    screen.status_line.set_disconnected(message.why)
            overview = self.overview
            if overview is not None:
                overview.set_disconnected(message.why)
            self.sub_title = f"disconnected from {self.attach}; retrying"

    def on_control_reply(self, message: ControlReply) -> None:
        """A bot's answer to a command this console sent (refusals also arrive as events)."""
        reply = message.reply
        title = "Thresholds" if self._single else f"Thresholds of {reply.get('formation')}"
        if reply.get("type") == "error":
            self.notify(
                str(reply.get("detail")), title="The bot refused", severity="error", markup=False
            )
        elif reply.get("command") == "set":
            self.notify(
                str(reply.get("detail")),
                title=title,
                severity="information" if reply.get("ok") else "warning",
                markup=False,
            )

    def on_engine_pulse(self, message: EnginePulse) -> None:
        beats, status, count = message.take()
        formation = self._formation(message.formation)
        if formation is None:
            return
        if beats:
            formation.take_beats(beats, count)
        paused_changed = False
        if status is not None:
            paused_changed = formation.status is None or formation.status.paused != status.paused
            formation.take_status(status)
        for shown in self._dashboards_of(formation.id):
            shown.add_beats(beats, count)
            if status is not None:
                shown.show_status(status)
        overview = self.overview
        if overview is not None:
            overview.update(formation)
            if paused_changed:
                overview.show_summary()
        if paused_changed:
            self.refresh_bindings()  # the footer shows Pause or Resume

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
        formation = self._formation(message.formation)
        if formation is None:
            return
        formation.take_event(event)
        for shown in self._dashboards_of(formation.id):
            shown.add_event(event)
        overview = self.overview
        if overview is not None:
            overview.update(formation)
        of = "" if self._single else f" ({formation.id})"
        if isinstance(event, ev.OperatorAction) and not event.accepted:
            self.notify(event.detail, title=f"Refused: {event.action}{of}", severity="warning")
        elif isinstance(event, ev.Trouble) and event.source == "platform":
            self.notify(event.reason, title=f"Scaling API trouble{of}", severity="error")

    def _refresh_countdowns(self) -> None:
        shown = self.dashboard
        if shown is not None:
            shown.refresh_countdowns()
        overview = self.overview
        if overview is not None:
            overview.refresh_rows()

    # ---- keys ----

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _DASHBOARD_ACTIONS and isinstance(self.screen, ModalScreen):
            return False  # a dialog is open: its keys only (and quit)
        if action == "pause_all":
            # One formation: p says it all. Several: while any still scales.
            return not self._single and not all(f.paused for f in self.formations.values())
        current = self.current
        if action in _FORMATION_ACTIONS and current is None:
            return False
        paused = current is not None and current.paused
        if action == "pause":
            return not paused
        if action == "resume":
            return paused
        return True

    def submit(self, command: Command, formation: Formation | None = None) -> None:
        """Send a command to ``formation``'s engine (applied on its thread
        between beats), or to the attached bot for it; None: the current one."""
        formation = formation or self.current
        if formation is None:
            return
        if self.attach is not None:
            if self.link is None:
                return
            problem = self.link.submit(command, formation.id)
            if problem is not None:
                self.notify(problem, title="Not sent", severity="warning", markup=False)
        elif formation.engine is not None:
            formation.engine.submit(command)

    def action_pause(self) -> None:
        """Stop automatic scaling."""
        self.submit(Pause())

    def action_resume(self) -> None:
        """Scale again."""
        self.submit(Resume())

    def action_pause_all(self) -> None:
        """Stop automatic scaling of every formation that still scales."""
        for formation in self.formations.values():
            if not formation.paused:
                self.submit(Pause(), formation)

    def action_resume_all(self) -> None:
        """Let every paused formation scale again (the palette only: no key for it)."""
        for formation in self.formations.values():
            if formation.paused:
                self.submit(Resume(), formation)

    def action_force(self, direction: int) -> None:
        """Scale by INCREMENT now, up (1) or down (-1); the engine clamps it."""
        formation = self.current
        if formation is not None:
            self.submit(ForceScale(delta=direction * formation.settings.increment), formation)

    def action_edit(self) -> None:
        """Open the threshold editor of the current formation."""
        formation = self.current
        if isinstance(self.screen, ThresholdsDialog) or formation is None:
            return
        where: str | None = None
        if self.attach is not None:
            info = self.hello.formations.get(formation.id) if self.hello else None
            where = info.config_note if info is not None else None
        elif not self._single:
            keep = (
                f"edit its entry in FORMATIONS in {self.config_path} to keep it"
                if self.config_path is not None
                else "set it in FORMATIONS to keep it"
            )
            where = f"Applied to {formation.id} at once; not saved ({keep})."
        self.push_screen(
            ThresholdsDialog(formation.settings, save_to=self.config_path, where=where),
            lambda edit: self.apply_thresholds(edit, formation),
        )

    def apply_thresholds(
        self, edit: ThresholdsEdit | None, formation: Formation | None = None
    ) -> None:
        """Send the edited values to the formation's engine; a bot of one
        formation of our own also saves them to the TOML file."""
        formation = formation or self.first
        if edit is None:
            return
        if not edit.changes:
            self.notify("Nothing changed.")
            return
        formation.settings = edit.settings
        if self._single:
            self.settings = edit.settings
        self.submit(UpdateSettings(dict(edit.changes)), formation)
        if self.attach is not None:
            return  # the bot applies and saves it; its answer arrives as a ControlReply
        if not self._single:
            self.notify(
                f"Applied to {formation.id}'s engine; not saved (FORMATIONS entries are "
                "edited in the file).",
                title=f"Thresholds of {formation.id}",
            )
            return
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
        """(key, name, what it does) for each of this console's keys, as bound
        now (a keymap may have moved them): the app's, in the order of
        ``BINDINGS``, then the screen's (Enter, Escape)."""
        bound: dict[str, list[str]] = {}
        order: list[Binding] = [b for b in self.BINDINGS if isinstance(b, Binding)]
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if binding.id:
                bound.setdefault(binding.id, []).append(
                    binding.key_display or self.get_key_display(binding)
                )
                if all(b.id != binding.id for b in order):
                    order.append(binding)
        for binding in order:
            assert binding.id
            keys = bound.get(binding.id)
            if keys:
                yield "/".join(dict.fromkeys(keys)), binding.description, binding.tooltip

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        current = self.current
        of = "" if self._single or current is None else f" of {current.id}"
        if current is not None:
            if current.paused:
                yield SystemCommand(
                    f"Resume scaling{of}", "Let the bot scale again", self.action_resume
                )
            else:
                yield SystemCommand(
                    f"Pause scaling{of}", "Stop automatic scaling; beats go on", self.action_pause
                )
            yield SystemCommand(
                f"Scale up{of}", "Add INCREMENT dynos now (clamped)", lambda: self.action_force(1)
            )
            yield SystemCommand(
                f"Scale down{of}",
                "Remove INCREMENT dynos now (clamped)",
                lambda: self.action_force(-1),
            )
            yield SystemCommand(
                f"Edit thresholds{of}",
                "Response times, streaks, bounds; saved to TOML",
                self.action_edit,
            )
        if not self._single:
            yield SystemCommand(
                "Pause all formations",
                "Stop automatic scaling of every formation (P)",
                self.action_pause_all,
            )
            yield SystemCommand(
                "Resume all formations",
                "Let every paused formation scale again",
                self.action_resume_all,
            )
        yield SystemCommand("Help", "Keys and what each panel shows", self.action_help)


def _settings_of(info: FormationInfo, fallback: Settings) -> Settings:
    """An attached bot's formation's settings, as its hello lists them (secrets
    stay with the bot: marked as held there, so edits validate without them)."""
    from autoscalebot.config import SPEC, build_settings

    if not info.settings:
        return fallback
    origins = info.origins | {spec.name: "bot" for spec in SPEC if spec.secret}
    try:
        return build_settings(info.settings, origins=origins, require_platform=False)
    except ConfigError:  # a bot of another version: show what we can
        return fallback


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
