"""Running at scale on one machine: several server processes (and job workers) under one
command, and the nginx configuration in front of them (deploy/nginx/experts.conf).

`experts serve --workers N` starts N ordinary `experts serve` processes on consecutive ports
and watches them: SIGTERM or SIGINT is passed on to every one, and when one of them stops on
its own the others are stopped too and the command fails with the reason, so the service
manager (systemd, a container runtime) sees the failure and restarts the whole set.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from core.config import PROJECT_ROOT

logger = logging.getLogger(__name__)

#: The sample configuration, with @PLACEHOLDERS@ filled by `render_nginx_config`.
NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "experts.conf"
#: Where nginx sends media bytes from once the application has allowed them (`internal`).
DEFAULT_ACCEL_PREFIX = "/protected-media/"
#: Seconds a stopped process has to exit before it is killed.
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Child:
    """One supervised process: what it is called in messages, and its command line."""

    name: str
    command: list[str]
    #: Environment variables left out of this child's environment.
    unset: tuple[str, ...] = ()


def cluster(host: str, port: int, workers: int, job_workers: int = 0) -> list[Child]:
    """The processes of `experts serve --workers N`: servers on port, port + 1, … and workers."""
    experts = [sys.executable, "-m", "core.cli"]
    servers = [
        Child(f"server on port {p}", [*experts, "serve", "--host", host, "--port", str(p)])
        for p in range(port, port + workers)
    ]
    # `serve` switched this process to gevent; a worker runs plain threads, as when started alone.
    jobs = [
        Child(f"job worker {i + 1}", [*experts, "worker"], unset=("EXPERTS_ASYNC_MODE",))
        for i in range(job_workers)
    ]
    return servers + jobs


def supervise(children: list[Child], poll_interval: float = 0.2) -> str | None:
    """Run the processes until a signal (None) or until one exits on its own (the reason)."""
    running: list[tuple[Child, subprocess.Popen[bytes]]] = []
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    handled = (signal.SIGTERM, signal.SIGINT)
    previous = {signum: signal.signal(signum, on_signal) for signum in handled}
    reason = None
    try:
        for child in children:
            env = {k: v for k, v in os.environ.items() if k not in child.unset}
            running.append((child, subprocess.Popen(child.command, env=env)))
            logger.info("%s started", child.name)
        while not received and reason is None:
            for child, process in running:
                code = process.poll()
                if code is not None:
                    reason = f"{child.name} exited with code {code}; the others were stopped"
                    break
            else:
                time.sleep(poll_interval)
    finally:
        _stop([process for _child, process in running])
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        logger.info("stopped on signal %s", signal.Signals(received[0]).name)
    return reason


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every live process, then SIGKILL whichever outlives the timeout."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def render_nginx_config(
    *,
    servers: list[str],
    listen: str,
    server_name: str,
    static_root: Path,
    media_root: Path,
    accel_prefix: str = DEFAULT_ACCEL_PREFIX,
    template: str | None = None,
) -> str:
    """The sample configuration for these upstream addresses (host:port) and folders."""
    text = NGINX_TEMPLATE.read_text() if template is None else template
    prefix = "/" + accel_prefix.strip("/") + "/"
    values = {
        "UPSTREAM_SERVERS": "\n".join(f"    server {address};" for address in servers),
        "LISTEN": listen,
        "SERVER_NAME": server_name,
        "STATIC_ROOT": str(static_root).rstrip("/"),
        "MEDIA_ROOT": str(media_root).rstrip("/"),
        "MEDIA_ACCEL_PREFIX": prefix,
    }
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    left = sorted(set(re.findall(r"@([A-Z_]+)@", text)))
    if left:
        raise ValueError(f"placeholders without a value: {', '.join(left)}")
    return text
