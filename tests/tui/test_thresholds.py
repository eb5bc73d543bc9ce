"""The threshold editor: validated like the engine, applied, saved whole to TOML."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from autoscalebot.config import load_settings
from autoscalebot.tui.dialogs import ThresholdsDialog
from tests.tui.tui_rig import PLANTED_KEY, SLOW_THEN_FAST, Rig, make_rig, screen_text, until

pytestmark = pytest.mark.anyio


async def _open_editor(rig: Rig, pilot: object) -> ThresholdsDialog:
    await pilot.press("e")  # type: ignore[attr-defined]
    await until(pilot, lambda: isinstance(rig.app.screen, ThresholdsDialog), what="the editor")
    dialog = rig.app.screen
    assert isinstance(dialog, ThresholdsDialog)
    return dialog


async def _type(pilot: object, dialog: ThresholdsDialog, name: str, text: str) -> None:
    dialog.field(name).focus()  # focusing selects the old value: typing replaces it
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.press(*text)  # type: ignore[attr-defined]


async def test_saved_thresholds_reach_the_engine_and_round_trip_through_toml(
    tmp_path: Path,
) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    rig.config_path.write_text('time_zone = "UTC"\n')  # an existing file keeps its other keys
    rig.config_path.chmod(0o640)  # ... and its mode
    async with rig.app.run_test() as pilot:
        dialog = await _open_editor(rig, pilot)
        await _type(pilot, dialog, "MAX_RESPONSE_TIME_IN_MS", "1500")
        await _type(pilot, dialog, "NUMBER_OF_FAILS_TO_SCALE_UP_AFTER", "4")
        await _type(pilot, dialog, "MAX_DYNOS", "6")
        await _type(pilot, dialog, "HEARTBEAT_INTERVAL_IN_SECONDS", "2.5")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(rig.app.screen, ThresholdsDialog), what="save")
        rig.commands()
        assert rig.engine.settings.max_response_time_in_ms == 1500
        assert rig.engine.settings.number_of_fails_to_scale_up_after == 4
        assert rig.app.settings.max_dynos.to_raw() == 6

    text = rig.config_path.read_text("utf-8")
    assert PLANTED_KEY not in text and "api_key" not in text
    assert tomllib.loads(text) == {
        "time_zone": "UTC",
        "max_response_time_in_ms": 1500.0,
        "number_of_fails_to_scale_up_after": 4,
        "max_dynos": 6,
        "heartbeat_interval_in_seconds": 2.5,
    }
    assert stat.S_IMODE(rig.config_path.stat().st_mode) == 0o640
    back = load_settings(
        config_path=rig.config_path,
        env={"HEROKU_APP_NAME": "shop-web", "HEROKU_API_KEY": "from-the-environment"},
    )
    assert back.max_response_time_in_ms == 1500.0
    assert back.number_of_fails_to_scale_up_after == 4
    assert back.max_dynos.to_raw() == 6
    assert back.heartbeat_interval_in_seconds == 2.5


async def test_enter_saves_and_only_changed_values_are_written(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    async with rig.app.run_test() as pilot:
        dialog = await _open_editor(rig, pilot)
        await _type(pilot, dialog, "COOL_OFF_IN_SECONDS", "90")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(rig.app.screen, ThresholdsDialog), what="save")
    assert tomllib.loads(rig.config_path.read_text()) == {"cool_off_in_seconds": 90.0}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "MIN_RESPONSE_TIME_IN_MS",
            "1500",
            "1500 ms is not below MAX_RESPONSE_TIME_IN_MS (1000 ms)",
        ),
        ("NUMBER_OF_FAILS_TO_SCALE_UP_AFTER", "0", "0 is out of range"),
        ("MAX_DYNOS", "0", "MAX_DYNOS (0)"),  # below MIN_DYNOS at some hour
        ("INCREMENT", "", "expected a whole number"),
    ],
)
async def test_a_bad_value_is_refused_with_the_reason_and_nothing_is_written(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    before = rig.app.settings
    async with rig.app.run_test() as pilot:
        dialog = await _open_editor(rig, pilot)
        if text:
            await _type(pilot, dialog, name, text)
        else:
            dialog.field(name).value = ""
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(rig.app.screen, ThresholdsDialog), "the dialog stays open"
        assert message in dialog.error
        assert dialog.error.split(":")[0] == dialog.query_one(".rejected").id.removeprefix("field-")
        rig.commands()
        assert rig.engine.settings == before
        assert rig.app.settings == before
        await pilot.press("escape")
    assert not rig.config_path.exists()


async def test_a_schedule_is_shown_read_only(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)  # MIN_DYNOS is {"0:00": 1, "18:00": 2}
    async with rig.app.run_test() as pilot:
        dialog = await _open_editor(rig, pilot)
        field = dialog.field("MIN_DYNOS")
        assert field.disabled and field.value == "0:00=1, 18:00=2"
        assert "schedule: in TOML" in screen_text(rig.app)


async def test_arrow_keys_move_between_fields(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    async with rig.app.run_test() as pilot:
        dialog = await _open_editor(rig, pilot)
        assert rig.app.focused is dialog.field("HEARTBEAT_INTERVAL_IN_SECONDS")
        await pilot.press("down", "down")
        assert rig.app.focused is dialog.field("MIN_RESPONSE_TIME_IN_MS")
        await pilot.press("up")
        assert rig.app.focused is dialog.field("MAX_RESPONSE_TIME_IN_MS")


async def test_nothing_changed_writes_nothing(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    async with rig.app.run_test() as pilot:
        await _open_editor(rig, pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(rig.app.screen, ThresholdsDialog), what="close")
    assert not rig.config_path.exists()


async def test_without_a_config_file_edits_apply_but_are_not_saved(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST)
    rig.app.config_path = None  # the demo without --config
    async with rig.app.run_test() as pilot:
        dialog = await _open_editor(rig, pilot)
        assert "not saved" in screen_text(rig.app)
        await _type(pilot, dialog, "INCREMENT", "2")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(rig.app.screen, ThresholdsDialog), what="close")
        rig.commands()
        assert rig.engine.settings.increment == 2
    assert list(tmp_path.iterdir()) == []


def _notes(rig: Rig) -> list[str]:
    return [n.message for n in rig.app._notifications]


async def test_an_edit_the_environment_undoes_at_the_next_start_is_flagged(
    tmp_path: Path,
) -> None:
    rig = make_rig(tmp_path, SLOW_THEN_FAST, origins={"INCREMENT": "env", "MAX_DYNOS": "flag"})
    async with rig.app.run_test() as pilot:
        for text in ("2", "3"):  # the second edit too: the first re-marked it "console"
            dialog = await _open_editor(rig, pilot)
            await _type(pilot, dialog, "INCREMENT", text)
            await pilot.press("ctrl+s")
            await until(
                pilot, lambda: not isinstance(rig.app.screen, ThresholdsDialog), what="save"
            )
            note = _notes(rig)[-1]
            assert "INCREMENT (from the environment) wins at the next start" in note, note
    assert tomllib.loads(rig.config_path.read_text()) == {"increment": 3}


async def test_a_save_the_next_start_would_refuse_is_not_written(tmp_path: Path) -> None:
    # AUTOSCALE_MIN_RESPONSE_TIME_IN_MS=200 in the environment; the operator
    # sets MIN=50 and MAX=100: the engine may run with that, but the next start
    # would read MIN=200 (env) and MAX=100 (file), and refuse to start.
    rig = make_rig(
        tmp_path,
        SLOW_THEN_FAST,
        origins={"MIN_RESPONSE_TIME_IN_MS": "env"},
        MIN_RESPONSE_TIME_IN_MS=200,
    )
    async with rig.app.run_test() as pilot:
        dialog = await _open_editor(rig, pilot)
        await _type(pilot, dialog, "MIN_RESPONSE_TIME_IN_MS", "50")
        await _type(pilot, dialog, "MAX_RESPONSE_TIME_IN_MS", "100")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(rig.app.screen, ThresholdsDialog), what="save")
        rig.commands()
        assert rig.engine.settings.max_response_time_in_ms == 100  # the live engine took it
        note = _notes(rig)[-1]
        assert "NOT saved" in note and "MIN_RESPONSE_TIME_IN_MS (from the environment)" in note
        assert "not below MAX_RESPONSE_TIME_IN_MS" in note
    assert not rig.config_path.exists()
