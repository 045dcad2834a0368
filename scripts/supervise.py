"""`make run`'s servers, run so that none outlives `make run`, however it is stopped.

    python scripts/supervise.py -- COMMAND [ARG ...] [-- COMMAND [ARG ...] ...]

`make run` is stopped by Ctrl-C (SIGINT to the terminal's foreground process group), by a closing
terminal (SIGHUP to that group, whose terminal then fails every write), by a service manager
(SIGTERM to make, which passes it on; then SIGKILL, maybe to the whole group) or by `kill -9`. A
process cannot clean up after its own SIGKILL, so this runs as two processes:

- the *holder* (this process, exec'd by scripts/run-local) stays in `make run`'s process group, as
  make's child: it gets whatever signal `make run` gets, and notices when make is gone;
- the *guard*, in a session of its own that no terminal signal and no kill aimed at `make run`'s
  group reaches, starts each server in a process group of its own (so runserver's reloader child
  and qcluster's workers are stopped with their leader) and stops them all as soon as its
  lifeline, a pipe that only the holder can write to, reads end of file: when the holder closes
  it on a signal or when its parent died, and when the kernel closes it because the holder was
  killed, SIGKILL included. One mechanism, whichever way the holder goes.

Whichever server stops first (a crash, a port in use) stops the others. A bash trap (the previous
design) dies with bash on SIGKILL, and under `set -e` gave up at its first write to a closed
terminal; Linux's PR_SET_PDEATHSIG is not portable and would not reach runserver's reloader child.
Under nohup (SIGHUP ignored) the servers keep running without a terminal or a parent, as asked.
"""

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

GUARD = "--guard"
USAGE = "usage: supervise.py -- COMMAND [ARG ...] [-- COMMAND [ARG ...] ...]"
# qcluster lets the task in hand (a sync) finish before it stops; runserver stops at once.
GRACE_SECONDS = 20.0
KILL_AFTER_SECONDS = 1.0
POLL_SECONDS = 0.2


def main(argv: Sequence[str]) -> int:
    if argv[:1] == [GUARD]:
        return guard(commands=commands_parse(args=argv[1:]))
    commands_parse(args=argv)  # a usage error shows here, not in the guard
    return hold(args=argv)


def commands_parse(*, args: Sequence[str]) -> list[list[str]]:
    commands: list[list[str]] = []
    for arg in args:
        if arg == "--":
            commands.append([])
        elif commands:
            commands[-1].append(arg)
        else:
            raise SystemExit(USAGE)
    if not commands or not all(commands):
        raise SystemExit(USAGE)
    return commands


def hold(*, args: Sequence[str]) -> int:
    detached = signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    parent = os.getppid()
    stop_signals = stop_signals_catch(signals=stop_signals_for(detached=detached))
    lifeline, lifeline_end = os.pipe()
    guard_process = subprocess.Popen(  # noqa: S603 (our own script, with the caller's commands)
        [sys.executable, os.path.abspath(__file__), GUARD, *args],
        stdin=lifeline,
        start_new_session=True,
    )
    os.close(lifeline)
    while (
        not stop_signals and guard_process.poll() is None and (detached or os.getppid() == parent)
    ):
        time.sleep(POLL_SECONDS)
    os.close(lifeline_end)
    return guard_process.wait()


def guard(*, commands: list[list[str]]) -> int:
    # Only sent here by hand, but then they mean the same: stop.
    stop_signals = stop_signals_catch(signals=stop_signals_for(detached=False))
    servers: list[subprocess.Popen[bytes]] = []
    exit_code = 0
    try:
        for command in commands:
            servers.append(
                subprocess.Popen(  # noqa: S603 (the commands scripts/run-local gives)
                    command, stdin=subprocess.DEVNULL, process_group=0
                )
            )
        while not stop_signals:
            if stopped := [
                (command, server)
                for command, server in zip(commands, servers, strict=True)
                if server.poll() is not None
            ]:
                command, server = stopped[0]
                say(f"\n{' '.join(command)} exited ({server.returncode}).")
                exit_code = 1
                break
            ready, _, _ = select.select([sys.stdin.fileno()], [], [], POLL_SECONDS)
            if ready and not os.read(sys.stdin.fileno(), 512):
                break
    finally:
        servers_stop(servers=servers)
    return exit_code


def servers_stop(*, servers: Sequence[subprocess.Popen[bytes]]) -> None:
    say("\nStopping the web server and the worker...")
    # The leaders first, so that each stops what it started in its own way.
    for server in servers:
        if server.poll() is None:
            server.terminate()
    deadline = time.monotonic() + GRACE_SECONDS
    for server in servers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=max(0.0, deadline - time.monotonic()))
    # Then whatever is left in their groups: a leader that hung, children that outlived it.
    groups = [server.pid for server in servers]
    groups_signal(groups=groups, signum=signal.SIGTERM)
    deadline = time.monotonic() + KILL_AFTER_SECONDS
    while any(group_alive(pgid=pgid) for pgid in groups) and time.monotonic() < deadline:
        time.sleep(0.05)
    groups_signal(groups=groups, signum=signal.SIGKILL)
    for server in servers:
        server.wait()
    say("Stopped.")


def stop_signals_for(*, detached: bool) -> list[signal.Signals]:
    return [signal.SIGINT, signal.SIGTERM] + ([] if detached else [signal.SIGHUP])


def stop_signals_catch(*, signals: Sequence[signal.Signals]) -> list[int]:
    """The signals received from now on, in a list that the caller polls."""
    received: list[int] = []

    def receive(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    for signum in signals:
        signal.signal(signum, receive)
    return received


def groups_signal(*, groups: Sequence[int], signum: signal.Signals) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signum)


def group_alive(*, pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def say(message: str) -> None:
    """Write to stdout unless it is gone (a closed terminal, a dead reader): stopping goes on."""
    with contextlib.suppress(OSError):
        os.write(sys.stdout.fileno(), f"{message}\n".encode())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
