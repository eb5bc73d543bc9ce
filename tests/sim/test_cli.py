"""``autoscalebot simulate``, run as a subprocess the way users run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autoscalebot.sim.cli import main


def simulate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoscalebot.sim.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_prints_a_table_and_a_chart_and_exits_0():
    done = simulate("--trace", "flash", "--days", "0.5", "--set", "MAX_DYNOS=20", "--width", "80")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for word in (
        "oracle",
        "static",
        "streak*",
        "dyno-h",
        "x oracle",
        "slow %",
        "load",
        "dynos billed",
        "slow beats",
    ):
        assert word in out
    assert done.stderr == ""


def test_compare_runs_every_built_in_policy(tmp_path):
    (tmp_path / "my_settings.py").write_text(
        "MAX_DYNOS = 30\nDECISION_BACKEND = 'adaptive'\nAPP_SERVICE_TIME_IN_MS = 80\n"
    )
    done = simulate(
        "--settings",
        "my_settings",
        "--trace",
        "step",
        "--days",
        "0.25",
        "--compare",
        "--no-chart",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    table = done.stdout
    for name in ("adaptive*", "streak", "hpa", "step", "judoscale", "heroku"):
        assert f"\n{name} " in table
    assert "80 ms mean service" in table  # the settings describe the app


def test_a_csv_trace(tmp_path):
    rows = "\n".join(f"2026-03-02T{h:02d}:00:00Z,{20 + 10 * h}" for h in range(12))
    path = tmp_path / "traffic.csv"
    path.write_text("timestamp,requests_per_second\n" + rows + "\n")
    done = simulate("--trace", str(path), "--no-chart", "--set", "MAX_DYNOS=20")
    assert done.returncode == 0, done.stderr
    assert "traffic.csv" in done.stdout and "0.50 days" in done.stdout


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--trace", "no-such-family"], "--trace"),
        (["--days", "-1"], "--days"),
        (["--concurrency", "0"], "--concurrency"),
        (["--days", "lots"], "--days"),
        (["--set", "MAX_DYNOS=-3"], "MAX_DYNOS"),
        (["--set", "NOT_A_SETTING=1"], "NOT_A_SETTING"),
        (["--policy", "nowhere.Policy"], "DECISION_BACKEND"),
    ],
)
def test_bad_input_is_one_line_naming_the_option_and_exit_2(args, option):
    done = simulate(*args, "--days", "0.1") if "--days" not in args else simulate(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_bad_csv_line_is_named(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(
        "timestamp,requests_per_second\n2026-03-02T00:00:00Z,5\n2026-03-02T00:01:00Z,many\n"
    )
    assert main(["--trace", str(path)]) == 2
    err = capsys.readouterr().err
    assert "--trace" in err and "bad.csv:3" in err


def test_a_router_log_trace(tmp_path, capsys):
    line = (
        '2026-01-05T10:{m:02d}:{s:02d}.000000+00:00 heroku[router]: at=info method=GET path="/" host=a '
        'request_id=r fwd="1.1.1.1" dyno=web.1 connect=0ms service=150ms status=200 bytes=1'
    )
    path = tmp_path / "router.log"
    path.write_text(
        "\n".join(line.format(m=m, s=s) for m in range(30) for s in range(0, 60, 3)) + "\n"
    )
    assert main(["--trace", str(path), "--no-chart"]) == 0
    out = capsys.readouterr().out
    assert "150 ms mean service" in out  # taken from the log's service= times


@pytest.mark.parametrize("name", ["step", "step-scaling"])
def test_policy_takes_the_short_name_or_the_settings_alias(name, capsys):
    assert main(["--policy", name, "--trace", "step", "--days", "0.05", "--no-chart"]) == 0
    out = capsys.readouterr().out
    assert "step*" in out


def test_policy_help_lists_both_spellings(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name in ("step", "step-scaling", "heroku", "heroku-autoscaling", "adaptive"):
        assert name in out


def _steps_csv(tmp_path: Path) -> Path:
    # Calm, then the load doubles for an hour, twice: a file has no marked events.
    rows = []
    for m in range(6 * 60):
        rps = 60 if (60 <= m < 120 or 240 <= m < 300) else 30
        rows.append(f"{1767571200 + 60 * m},{rps}")
    path = tmp_path / "steps.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_file_trace_gets_a_reaction_time_from_its_own_steps(tmp_path, capsys):
    path = _steps_csv(tmp_path)
    assert main(["--trace", str(path), "--no-chart", "--set", "MAX_DYNOS=20"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("streak*"))
    assert row.split()[-1].endswith(("s", "m"))  # a time, not '-'


def test_peak_rps_scales_a_file(tmp_path, capsys):
    path = _steps_csv(tmp_path)
    assert main(["--trace", str(path), "--no-chart", "--peak-rps", "120"]) == 0
    assert "peak 120 rps" in capsys.readouterr().out


def test_a_max_dynos_too_low_for_the_trace_is_said_up_front_and_the_oracle_marked(tmp_path, capsys):
    path = _steps_csv(tmp_path)
    assert main(["--trace", str(path), "--no-chart", "--set", "MAX_DYNOS=3"]) == 0
    out = capsys.readouterr().out
    head = out.split("\n\n")[0]
    # 60 rps needs 4 dynos: the two one-hour doublings cannot be carried.
    assert "MAX_DYNOS cannot carry this load: for 2.0 h (Mon 01:00-02:00, Mon 04:00-05:00)" in head
    assert "oracle (infeasible)" in out


def test_frontier_charts_every_policy_over_its_knob_and_says_where_adaptive_loses(capsys):
    args = ["--trace", "square", "--days", "0.1", "--frontier", "--no-chart", "--width", "90"]
    assert main(args) == 0
    out = capsys.readouterr().out
    chart_part = out.split("Frontiers:")[1]
    for mark in ("s streak", "h hpa", "A adaptive", "x oracle"):
        assert mark in chart_part
    for name in ("streak", "hpa", "step", "judoscale", "heroku"):
        assert any(line.startswith(name + " ") for line in chart_part.splitlines())
    assert "where adaptive loses" in chart_part
