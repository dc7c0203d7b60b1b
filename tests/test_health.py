"""The heartbeat check that the container HEALTHCHECK runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from carnet.app import health
from carnet.runtime import heartbeat


def test_fresh_heartbeat_is_healthy(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    heartbeat.touch(beat)
    healthy, reason = health.check(beat, max_age=120)
    assert healthy
    assert reason.startswith("healthy: last heartbeat ")


def test_touch_creates_a_private_file_and_renews_it(tmp_path: Path) -> None:
    beat = tmp_path / "sub" / "heartbeat"
    heartbeat.touch(beat)
    assert beat.stat().st_mode & 0o077 == 0
    os.utime(beat, (1_000_000, 1_000_000))
    heartbeat.touch(beat)
    assert time.time() - beat.stat().st_mtime < 60


def test_stale_heartbeat_is_unhealthy(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    heartbeat.touch(beat)
    old = time.time() - 300
    os.utime(beat, (old, old))
    healthy, reason = health.check(beat, max_age=120)
    assert not healthy
    assert reason == "unhealthy: last heartbeat 300 s ago (more than 120 s)"


def test_age_is_measured_against_now(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    heartbeat.touch(beat)
    modified = beat.stat().st_mtime
    assert health.check(beat, max_age=120, now=modified + 119)[0]
    assert not health.check(beat, max_age=120, now=modified + 121)[0]


def test_heartbeat_from_the_future_counts_as_fresh(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    heartbeat.touch(beat)
    future = time.time() + 3600
    os.utime(beat, (future, future))
    assert health.check(beat, max_age=120) == (True, "healthy: last heartbeat 0 s ago")


def test_missing_heartbeat_is_unhealthy(tmp_path: Path) -> None:
    healthy, reason = health.check(tmp_path / "heartbeat")
    assert not healthy
    assert reason.startswith(f"unhealthy: no heartbeat file at {tmp_path / 'heartbeat'}")


def test_main_exit_codes_and_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    beat = tmp_path / "heartbeat"
    assert health.main([str(beat), "--max-age", "120"]) == 1
    heartbeat.touch(beat)
    assert health.main([str(beat), "--max-age", "120"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("unhealthy: ")
    assert lines[1].startswith("healthy: ")


def test_main_refuses_a_nonsense_max_age(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        health.main([str(tmp_path / "heartbeat"), "--max-age", "0"])
    assert caught.value.code == 2


def test_runs_as_a_module_like_the_healthcheck(tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"
    command = [sys.executable, "-m", "carnet.app.health", str(beat), "--max-age", "120"]
    root = Path(__file__).resolve().parent.parent
    missing = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=30)
    assert missing.returncode == 1
    assert missing.stdout.startswith("unhealthy: no heartbeat file")
    heartbeat.touch(beat)
    present = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=30)
    assert present.returncode == 0
    assert present.stdout.startswith("healthy: ")


# ----------------------------------------------------- what the docs promise

ROOT = Path(__file__).resolve().parent.parent


def test_heartbeat_docs_describe_the_working_threads_not_the_broker() -> None:
    # The daemon keeps beating through a broker outage (it reconnects by itself); only a
    # dead internal thread stops the heartbeat.
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    docker_section = readme.split("### Docker", 1)[1].split("\n### ", 1)[0]
    for text in (health.__doc__ or "", dockerfile, docker_section):
        flat = " ".join(text.split())
        assert "MQTT is connected" not in flat
        assert "working threads run" in flat
        assert "every 30 s" in flat or "every 30 seconds" in flat


def test_docker_build_context_leaves_out_secrets_and_clutter() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    # Secrets and tokens wherever they lie: a bare ``config.yaml`` matches only at the
    # top of the context, ``**/config.yaml`` in every directory.
    for entry in ("config.yaml", "config/", "state/", "*.env", "__pycache__/", "*.pyc"):
        assert f"**/{entry}" in ignored, entry
    for entry in (".git", ".venv/"):
        assert entry in ignored, entry
    # What the image needs must stay in the context.
    for needed in ("pyproject.toml", "bridge.py", "carnet"):
        assert needed not in ignored


def test_container_needs_no_time_zone() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    settings = [
        word
        for line in text.splitlines()
        if line.startswith("ENV ")
        for word in line.split()[1:]
    ]
    assert not [word for word in settings if word.startswith("TZ=")], settings
