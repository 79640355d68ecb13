import logging

import pytest

from bot.cli import main
from bot.logs import RedactingFilter


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in ("DISCORD_TOKEN", "DATABASE_PATH", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    yield tmp_path
    logging.getLogger().handlers.clear()


def test_db_status_then_upgrade(in_tmp, capsys):
    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert "version 0" in out and "pending 0001_foundation" in out
    assert main(["db", "upgrade"]) == 0
    assert "applied 0001_foundation" in capsys.readouterr().out
    assert main(["db", "status"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_bad_setting_stops_with_one_line(in_tmp, monkeypatch, capsys):
    monkeypatch.setenv("SMTP_PORT", "many")
    assert main(["db", "status"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "familia: SMTP_PORT is invalid: expected a whole number 1-65535."


def test_redacting_filter_masks_secrets_tokens_and_emails():
    secret = "MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456"
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "token %s sent to %s", (secret, "ana@example.org"), None
    )
    RedactingFilter(["hunter2hunter2"]).filter(record)
    text = record.getMessage()
    assert secret not in text and "ana@example.org" not in text
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "pw hunter2hunter2", (), None)
    RedactingFilter(["hunter2hunter2"]).filter(record)
    assert record.getMessage() == "pw ***"


@pytest.mark.slow
def test_run_without_token_goes_offline_and_stops_on_ctrl_c(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "DATABASE_PATH")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env | {
            "PYTHONPATH": os.getcwd(), "CONSOLE_PORT": "0"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    deadline = time.monotonic() + 60
    try:
        for line in proc.stdout:
            lines.append(line)
            if "Press Ctrl-C to stop" in line or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
    text = "".join(lines)
    assert "runs OFFLINE against a local Discord emulator" in text
    assert "Set DISCORD_TOKEN in .env" in text
    assert "/settings timezone" in text and "Press Ctrl-C to stop" in text
    assert "Try Familia in your browser, as anyone in the demo server: http://127.0.0.1:" \
        in text
    assert not (tmp_path / "familia.db").exists()  # the real database is never touched
    # mail went to the local SMTP server and is kept for the user to open
    assert "saved in offline-outbox/" in text
    assert list((tmp_path / "offline-outbox").glob("*/*-digest_leader.eml"))


async def test_familia_email_test_and_status(tmp_path, capsys):
    import json

    from bot.config import load_settings
    from bot.mail.cli import email_main
    from bot.mail.local import free_port
    from tests._email import SmtpSink

    sink = SmtpSink()
    sink.controller.start()
    try:
        settings = load_settings(env_file=None, database_path=tmp_path / "f.db",
                                 smtp_host="127.0.0.1", smtp_port=sink.port,
                                 smtp_security="none")
        assert await email_main(settings, "test", "ops@example.org") == 0
        assert capsys.readouterr().out.strip() == "test email to o•••@e•••.org: sent"
        assert [m["To"] for m in sink.messages] == ["ops@example.org"]
        assert await email_main(settings, "test", "not an address") == 2
    finally:
        sink.controller.stop()
    down = settings.model_copy(update={"smtp_port": free_port()})
    assert await email_main(down, "test", "ops@example.org") == 1  # server down: queued
    assert "test email to o•••@e•••.org: queued (" in capsys.readouterr().out
    assert await email_main(down, "status", None) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["counts"] == {"sent": 1, "queued": 1}
    assert status["errors"][0]["state"] == "queued" and status["errors"][0]["last_error"]
    assert "ops@example.org" not in json.dumps(status)


def test_help_describes_familia_and_each_command(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "``" not in out and ":class:" not in out  # no raw docstring markup
    assert "Familia runs a live-streaming creator family program" in out
    for command, said in [("run", "run the bot"), ("demo", "scripted walk-through"),
                          ("db", "migrations"), ("email", "test message"),
                          ("i18n", "no Spanish yet")]:
        line = next(line for line in out.splitlines() if line.strip().startswith(command + " "))
        assert said in line
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "--offline" in capsys.readouterr().out
