"""The heartbeat that Docker's HEALTHCHECK and systemd's watchdog read."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from carnet.app.health import check


def test_heartbeat_is_written_while_the_daemon_runs(make_config, run_bridge, tmp_path: Path):
    config = make_config()
    bridge = run_bridge(config)
    heartbeat = Path(config.state_dir) / "heartbeat"
    deadline = time.monotonic() + 5
    while not heartbeat.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    healthy, reason = check(heartbeat, max_age=120)
    assert healthy, reason
    assert heartbeat.stat().st_mode & 0o777 == 0o600

    # A dead scheduler thread stops the heartbeat, so a supervisor restarts the daemon.
    bridge.scheduler.stop()
    heartbeat.unlink()
    bridge.beat()
    assert not heartbeat.exists()


def test_a_state_dir_gone_unwritable_is_logged_not_fatal(
    make_config, run_bridge, caplog, tmp_path: Path
):
    # As root every directory is writable: a file where state_dir was fails for root too.
    config = make_config()
    bridge = run_bridge(config)
    state_dir = Path(config.state_dir)
    # The running bridge keeps writing its files there (and makes the directory again):
    # move it away and put a file in its place, again until the file wins.
    staged = tmp_path / "not-a-directory"
    for attempt in range(50):
        staged.write_text("not a directory", encoding="utf-8")
        with contextlib.suppress(FileNotFoundError):
            state_dir.rename(tmp_path / f"state-moved-away-{attempt}")
        with contextlib.suppress(IsADirectoryError):
            staged.rename(state_dir)
            break
    assert state_dir.is_file()
    bridge.beat()
    bridge.beat()
    failed = [r for r in caplog.records if "cannot write the heartbeat" in r.getMessage()]
    assert len(failed) == 1, caplog.text
    assert "Traceback" not in caplog.text


def test_heartbeat_goes_on_while_the_broker_is_down(make_config, run_bridge, broker):
    # As the README and the Dockerfile say: it tells whether the daemon is alive, not
    # whether the broker answers; the daemon reconnects by itself.
    config = make_config()
    bridge = run_bridge(config)
    assert bridge.link.connected.wait(10)
    broker.stop()
    deadline = time.monotonic() + 10
    while bridge.link.connected.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not bridge.link.connected.is_set()
    heartbeat = Path(config.state_dir) / "heartbeat"
    heartbeat.unlink(missing_ok=True)
    bridge.beat()
    healthy, reason = check(heartbeat, max_age=120)
    assert healthy, reason
