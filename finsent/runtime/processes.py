"""Process helpers: detached spawning, liveness that survives pid reuse, stopping, ports, log tails."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

__all__ = [
    "ensure_traversable",
    "free_port",
    "pid_alive",
    "port_is_free",
    "process_create_time",
    "spawn_detached",
    "stop_process",
    "tail",
]

# `sh` forks the command into the background and prints its pid, then exits: the service is
# re-parented away from us, so `finsent up` can return while it keeps running.
_SPAWN_SCRIPT = '"$@" </dev/null >>"$FINSENT_SPAWN_LOG" 2>&1 & echo $!'


def spawn_detached(
    cmd: Sequence[str],
    log_path: Path,
    *,
    user: pwd.struct_passwd | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``cmd`` as a detached daemon in its own session, output appended to ``log_path``.

    Args:
        cmd: the program and its arguments.
        log_path: file receiving stdout and stderr (created; owned by ``user`` when given).
        user: run as this system user (needed for PostgreSQL when finsent runs as root).
        env: environment of the daemon (default: ours).
        cwd: working directory of the daemon.

    Returns:
        The daemon's pid (the program itself, not a wrapper).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.touch(exist_ok=True)
    if user is not None:
        os.chown(log_path, user.pw_uid, user.pw_gid)
    full_env = dict(os.environ if env is None else env)
    full_env["FINSENT_SPAWN_LOG"] = str(log_path)
    extra: dict[str, object] = {}
    if user is not None:
        extra = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        full_env["HOME"] = user.pw_dir
    done = subprocess.run(
        ["/bin/sh", "-c", _SPAWN_SCRIPT, "sh", *cmd],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        start_new_session=True,
        timeout=30,
        check=False,
        **extra,  # type: ignore[call-overload]  # user/group keywords exist on POSIX
    )
    if done.returncode != 0 or not done.stdout.strip().isdigit():
        raise OSError(f"could not spawn {cmd[0]}: {done.stderr.strip() or done.stdout.strip()}")
    return int(done.stdout.strip())


def process_create_time(pid: int) -> float | None:
    """Creation time of a live process (used to tell a recycled pid from ours)."""
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def pid_alive(pid: int | None, create_time: float | None = None) -> bool:
    """Whether ``pid`` runs (zombies count as dead) and, if given, started at ``create_time``."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return create_time is None or abs(proc.create_time() - create_time) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def stop_process(pid: int, *, first_signal: int = signal.SIGTERM, timeout_s: float = 15.0) -> str:
    """Stop a process: ``first_signal``, wait up to ``timeout_s``, then SIGKILL.

    Returns:
        ``"stopped"``, ``"killed"`` or ``"not running"``.
    """
    if not pid_alive(pid):
        return "not running"
    try:
        os.kill(pid, first_signal)
    except ProcessLookupError:
        return "not running"
    if _wait_gone(pid, timeout_s):
        return "stopped"
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return "stopped"
    _wait_gone(pid, 5.0)
    return "killed"


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            # Reap it if it is our own child; otherwise this raises and we poll.
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


def port_is_free(port: int, host: str = "127.0.0.1", *, reuse_addr: bool = False) -> bool:
    """Whether a TCP port can be bound on ``host`` right now.

    Args:
        port: the port.
        host: the address.
        reuse_addr: probe as a server does (``SO_REUSEADDR``): connections of a server that just
            died linger in TIME_WAIT for a minute and must not make its own port look taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if reuse_addr:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port the OS considers free on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file ('' when it does not exist)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def ensure_traversable(path: Path) -> list[Path]:
    """Give 'others' search (x) permission on every ancestor of ``path`` that lacks it.

    PostgreSQL refuses to run as root, so as root we run it as a dedicated user; that user must
    be able to reach its data directory. Only the execute bit is added (no read), and only where
    missing.

    Returns:
        The directories whose mode was changed.
    """
    changed = []
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)
            changed.append(parent)
    return changed
