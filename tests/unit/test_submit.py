import shlex
from datetime import date
from pathlib import Path

import pytest
from contentlake.jobs import DAILY_JOBS, SETUP_JOB

from contentlake.submit import dates_between, main


def test_backfill_runs_every_job_for_every_date_in_order(tmp_path, capsys):
    argv = ["daily", "--start", "2026-11-01", "--end", "2026-11-02", "--root", str(tmp_path)]
    assert main([*argv, "--dry-run"]) == 0
    commands = [shlex.split(line) for line in capsys.readouterr().out.splitlines()]

    def option(command, name):
        return command[command.index(name) + 1]

    def script(command):
        return next(Path(arg).name for arg in command if arg.endswith(".py"))

    scheduled = [(option(command, "--run-date"), script(command)) for command in commands]
    # The tables are created (idempotently) once, before the first date.
    assert scheduled == [("2026-11-01", f"{SETUP_JOB}.py")] + [
        (day, f"{job}.py") for day in ("2026-11-01", "2026-11-02") for job in DAILY_JOBS
    ]
    for command in commands:
        assert command[0] == "spark-submit"
        assert option(command, "--packages") == (
            "io.delta:delta-spark_4.1_2.13:4.4.0,io.openlineage:openlineage-spark_2.13:1.53.0"
        )
        assert option(command, "--root") == str(tmp_path.resolve())


def test_one_application_submits_the_whole_range_once(tmp_path, capsys):
    argv = ["daily", "--start", "2026-11-01", "--end", "2026-11-03", "--root", str(tmp_path)]
    assert main([*argv, "--one-application", "--dry-run"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    command = shlex.split(line)
    application = command.index(next(arg for arg in command if arg.endswith(".py")))
    assert Path(command[application]).name == "backfill.py"
    assert command[application + 1 :] == [
        "--profile", "local",
        "--start", "2026-11-01", "--end", "2026-11-03",
        "--root", str(tmp_path.resolve()),
    ]  # fmt: skip
    with pytest.raises(SystemExit):
        main(["ingest_events", "--run-date", "2026-11-01", "--one-application", "--dry-run"])
    assert "--one-application goes with daily" in capsys.readouterr().err


def test_a_date_or_a_range_is_required(capsys):
    with pytest.raises(SystemExit):
        main(["ingest_events", "--dry-run"])
    assert "give --run-date, or --start and --end" in capsys.readouterr().err


def test_dates_between_is_inclusive_and_refuses_reversed_ranges():
    assert dates_between(date(2026, 11, 30), date(2026, 12, 2)) == [
        date(2026, 11, 30),
        date(2026, 12, 1),
        date(2026, 12, 2),
    ]
    with pytest.raises(ValueError, match="before"):
        dates_between(date(2026, 11, 2), date(2026, 11, 1))
