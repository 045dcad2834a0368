"""`make run` for real: a fresh database, the demo served, and nothing left running afterwards,
whichever way it is stopped."""

import json
import os
import pty
import secrets
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 180
# scripts/supervise.py gives qcluster 20 s to finish a task, then kills what is left.
STOP_SECONDS = 60
# Every process `make run` starts inherits its environment, and so this variable: that is how the
# test finds them, whatever session, process group or parent they end up in.
MARK = "RUN_LOCAL_TEST_MARK"

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/environ").exists(), reason="finds processes through /proc"
)


class Output:
    """What `make run` writes, read as it comes: from a pipe, or from a terminal (a pty) that
    can hang up."""

    def __init__(self, *, terminal: bool) -> None:
        if terminal:
            self.fd, self.child_fd = pty.openpty()
        else:
            self.fd, self.child_fd = os.pipe()
        self.chunks: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def start(self) -> None:
        os.close(self.child_fd)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set() and self._read_ready(timeout=0.1):
            pass

    def _read_ready(self, *, timeout: float) -> bool:
        """Reads what is there within `timeout`; False once the other side is closed."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # a pty whose other side is closed
            return False
        self.chunks.append(chunk)
        return bool(chunk)

    def close(self) -> None:
        """Stops reading and closes our side: for a terminal, that is hanging up."""
        if self.fd == -1:
            return
        self._stop.set()
        self._thread.join()
        while select.select([self.fd], [], [], 0)[0] and self._read_ready(timeout=0):
            pass
        os.close(self.fd)
        self.fd = -1

    def text(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")


def _service_manager(make: subprocess.Popen[bytes], output: Output) -> None:
    """SIGTERM to make alone; 5 s later, SIGKILL to its whole process group if make is not gone."""
    make.send_signal(signal.SIGTERM)
    try:
        make.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(make.pid, signal.SIGKILL)


def _terminal_closed(make: subprocess.Popen[bytes], output: Output) -> None:
    """The terminal hangs up (every later write to it fails) and its shell sends SIGHUP to the
    foreground job."""
    output.close()
    os.killpg(make.pid, signal.SIGHUP)


def _killed(make: subprocess.Popen[bytes], output: Output) -> None:
    """SIGKILL to make's whole process group: nothing in it gets to clean up."""
    os.killpg(make.pid, signal.SIGKILL)


def _make_killed(make: subprocess.Popen[bytes], output: Output) -> None:
    """SIGKILL to make alone: what it started is left without a parent and without a signal."""
    make.kill()


STOPS = [
    pytest.param(_service_manager, False, id="sigterm-then-sigkill-after-5s"),
    pytest.param(_terminal_closed, True, id="terminal-closed-sighup"),
    pytest.param(_killed, False, id="sigkill-to-the-process-group"),
    pytest.param(_make_killed, False, id="sigkill-to-make-alone"),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _get(url: str) -> tuple[int, dict[str, object]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.loads(response.read())


def _marked_processes(mark: str) -> dict[int, str]:
    """Live processes whose environment holds MARK=mark, with their command lines."""
    wanted = f"{MARK}={mark}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # gone meanwhile
            continue
    return {pid: command.decode(errors="replace") for pid, command in found.items()}


def _wait_until_gone(mark: str, port: int) -> None:
    deadline = time.monotonic() + STOP_SECONDS
    while (_marked_processes(mark) or not _port_is_free(port)) and time.monotonic() < deadline:
        time.sleep(0.5)


@pytest.fixture
def mark() -> Iterator[str]:
    value = secrets.token_hex(8)
    yield value
    for pid in _marked_processes(value):  # whatever a failed test left behind
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(("stop", "terminal"), STOPS)
def test_make_run_serves_the_demo_and_leaves_nothing_running(
    stop: Callable[[subprocess.Popen[bytes], Output], None],
    terminal: bool,
    module_scratch_database_name: str,
    mark: str,
) -> None:
    port = _free_port()
    database = settings.DATABASES["default"]
    keep = ("PATH", "HOME", "LANG")
    env = {key: os.environ[key] for key in keep if key in os.environ} | {
        "POSTGRES_DB": module_scratch_database_name,
        "POSTGRES_HOST": str(database["HOST"]),
        "POSTGRES_PORT": str(database["PORT"]),
        "POSTGRES_USER": str(database["USER"]),
        "POSTGRES_PASSWORD": str(database["PASSWORD"]),
        "RUN_PORT": str(port),
        MARK: mark,
    }
    output = Output(terminal=terminal)
    # A session of its own, as a terminal's or a service's: make leads its process group. `-o`:
    # the virtualenv this test runs in is the one to use, whatever pyproject.toml's date.
    make = subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "run"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output.child_fd,
        stderr=output.child_fd,
        start_new_session=True,
    )
    output.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert make.poll() is None, output.text()
            try:
                status, health = _get(f"{base}/api/health/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        _, artists = _get(f"{base}/api/artists/?limit=200")
        started = _marked_processes(mark)
    finally:
        stop(make, output)
        _wait_until_gone(mark, port)
        output.close()
        make.wait(timeout=STOP_SECONDS)

    assert status == 200
    assert health["spotify_mode"] == "demo"
    assert health["last_sync"]["status"] == "succeeded"  # type: ignore[index]
    assert artists["snapshot"]["source"] == "demo"  # type: ignore[index]
    assert 50 <= artists["count"] <= 100  # type: ignore[operator]
    text = output.text()
    assert f"http://127.0.0.1:{port}/" in text
    if not terminal:  # a terminal that hung up shows nothing more
        assert "Stopped." in text
    # The test sees what make run started (runserver's reloader child serves)...
    assert sum("runserver" in command for command in started.values()) >= 2
    assert any("qcluster" in command for command in started.values())
    # ...and none of it is left.
    assert _marked_processes(mark) == {}
    assert _port_is_free(port)
