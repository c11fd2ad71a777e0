"""Deployment at scale: `experts serve --workers 2` behind nginx with the sample configuration
(deploy/nginx/experts.conf), one database, one Redis.

The live test starts the real thing: nginx (sticky sessions, WebSocket upgrade, static files,
media through X-Accel-Redirect) in front of two server processes, and shows a vote made
through one process reaching a Socket.IO client held by the other.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from flask import Flask, request

from core.deploy import Child, render_nginx_config, supervise
from tests.conftest import service_missing
from tests.support.live import REPO_ROOT, LiveEnvironment, free_port, live_environment

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# Run in the deployment: migrations, the demo, two voters with API tokens, and media files for
# one released and one unreleased episode (written where MEDIA_ROOT is, as an ingest would).
SETUP = """
import json, secrets
import sqlalchemy as sa
from core.app import create_app
from core.clock import now
from core.db import db
from core.migrate import upgrade
from core.seed import seed_demo
from core.accounts.services import create_user, issue_api_token
from series.episodes import services as media_services
from series.episodes.models import EpisodeMedia
from series.models import Episode

# Cheap password hashes for the demo accounts (nobody signs in with a password here): the
# default argon2 cost of eight accounts is most of the seed's time on a busy machine.
app = create_app({"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 64})
with app.app_context():
    upgrade()
    seed_demo(media=False)
    tokens = []
    for i in (1, 2):
        user = create_user(db.session, f"voter-{i}@example.org", None, display_name=f"V{i}")
        tokens.append(issue_api_token(db.session, user, "deployment test")[1])
    at = now()
    episodes = db.session.scalars(sa.select(Episode).order_by(Episode.id)).all()
    released = next(e for e in episodes if e.is_released(at))
    unreleased = next(e for e in episodes if not e.is_released(at))
    media = {}
    for episode in (released, unreleased):
        directory = f"episodes/{episode.id}/{secrets.token_urlsafe(12)}"
        folder = media_services.media_root() / directory / "hls"
        folder.mkdir(parents=True)
        (folder / "master.m3u8").write_text(f"#EXTM3U\\n# episode {episode.id}\\n")
        db.session.add(EpisodeMedia(
            episode_id=episode.id, directory=directory, duration_s=10, width=640, height=360,
            has_audio=True, renditions=[{"name": "360p"}], mp4_name="360p", scenes=[],
        ))
        media[episode.id] = directory
    db.session.commit()
    print(json.dumps({
        "tokens": tokens, "released": released.id, "unreleased": unreleased.id,
        "media": media, "media_root": str(media_services.media_root()),
    }))
"""


@dataclass
class Deployment:
    """nginx's address, the two processes' addresses, and what SETUP made."""

    url: str
    servers: list[str]
    setup: dict[str, Any]


def _main_config(tmp: Path, site: Path) -> str:
    """A self-contained nginx.conf around the sample site (its own pid, logs and temp files)."""
    # The master runs as this user; workers as root when we are root (the test's media folder
    # is private to us), else as ourselves (nginx ignores `user` then).
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {tmp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
daemon off;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {tmp / "access.log"};
{temp}
    include {site};
}}
"""


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited ({process.returncode}): {log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer: {log.read_text()[-3000:]}")


def _two_free_ports() -> int:
    """A port P with P + 1 free as well (`--workers 2` uses consecutive ports)."""
    for _attempt in range(20):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


def _start(live: LiveEnvironment, command: list[str], name: str) -> subprocess.Popen[bytes]:
    log = (live.instance / f"{name}.log").open("wb")
    process = subprocess.Popen(
        command, env=live.env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    live.processes.append(process)
    return process


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, live_redis_url: str
) -> Iterator[Deployment]:
    if not Path(NGINX).exists():
        service_missing("nginx (WITH_BROWSER=1 scripts/setup installs it)")
    tmp = tmp_path_factory.mktemp("deployment")
    with live_environment(
        tmp, live_redis_url, os.environ.get("DATABASE_URL"), worker=False, seed=False
    ) as live:
        live.env.update(
            {
                "TRUST_PROXY": "1",
                "MEDIA_ACCEL_PREFIX": "/protected-media/",
                "EXPERTS_SERVED_BY_HEADER": "1",
            }
        )
        setup = json.loads(live.experts_python(SETUP).stdout)
        port = _two_free_ports()
        servers = [f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"]
        cluster = _start(
            live,
            [sys.executable, "-m", "core.cli", "serve", "--workers", "2", "--port", str(port)],
            "cluster",
        )
        nginx_dir = tmp / "nginx"
        nginx_dir.mkdir()
        listen = free_port()
        site = nginx_dir / "experts.conf"
        site.write_text(
            render_nginx_config(
                servers=[url.removeprefix("http://") for url in servers],
                listen=f"127.0.0.1:{listen}",
                server_name="localhost",
                static_root=REPO_ROOT / "static",
                media_root=Path(setup["media_root"]),
            )
        )
        main = nginx_dir / "nginx.conf"
        main.write_text(_main_config(nginx_dir, site))
        errors = nginx_dir / "error.log"
        options = ["-c", str(main), "-p", str(nginx_dir), "-e", str(errors)]
        checked = subprocess.run(
            [NGINX, "-t", *options],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr
        # The servers first: nginx would count a refused connection as a failure of the server.
        for url in servers:
            _wait_for(url + "/healthz", cluster, live.instance / "cluster.log")
        nginx = _start(
            live,
            [NGINX, *options],
            "nginx",
        )
        _wait_for(f"http://127.0.0.1:{listen}/healthz", nginx, errors, timeout=10)
        try:
            yield Deployment(f"http://127.0.0.1:{listen}", servers, setup)
        finally:
            nginx.send_signal(signal.SIGQUIT)  # graceful: let the workers end
            nginx.wait(timeout=10)


def _route_cookies(deployment: Deployment) -> dict[str, str]:
    """A value of nginx's routing cookie for each server process, found by asking nginx."""
    found: dict[str, str] = {}
    for i in range(64):
        key = f"route-{i}"
        answer = requests.get(
            deployment.url + "/healthz", cookies={"experts_route": key}, timeout=5
        )
        served_by = answer.headers["X-Served-By"]
        found.setdefault(served_by.rsplit(":", 1)[1], key)
        if len(found) == len(deployment.servers):
            return found
    raise AssertionError(f"the hash sent every key to {list(found)}")


def _pinned_session(cookie: str) -> requests.Session:
    session = requests.Session()
    session.cookies.set("experts_route", cookie)
    return session


def _port(url: str) -> str:
    return url.rsplit(":", 1)[1]


def _tally_with_total(events: queue.Queue[dict[str, Any]], total: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        event = events.get(timeout=max(deadline - time.monotonic(), 0.1))
        if event.get("total") == total:
            return event
    raise AssertionError(f"no tally with total {total}")


@pytest.mark.live
def test_a_vote_through_one_process_reaches_a_client_of_the_other(deployment: Deployment):
    first, second = (_port(url) for url in deployment.servers)
    routes = _route_cookies(deployment)
    # Sticky: the same cookie lands on the same process every time.
    for port, key in routes.items():
        seen = {
            requests.get(
                deployment.url + "/healthz", cookies={"experts_route": key}, timeout=5
            ).headers["X-Served-By"]
            for _ in range(5)
        }
        assert {s.rsplit(":", 1)[1] for s in seen} == {port}
    token_a, token_b = deployment.setup["tokens"]
    polls = requests.get(deployment.url + "/api/v1/polls?state=open", timeout=5).json()
    poll = next(p for p in polls if p["scope"] == "site")
    option = poll["options"][0]["id"]

    on_a: queue.Queue[dict[str, Any]] = queue.Queue()
    on_b: queue.Queue[dict[str, Any]] = queue.Queue()
    # A: through nginx to the first process; polling first, then the WebSocket upgrade.
    client_a = socketio.Client(http_session=_pinned_session(routes[first]))
    # B: through nginx to the second process, long-polling only (every request must stick).
    client_b = socketio.Client(http_session=_pinned_session(routes[second]))
    client_a.on("tally", on_a.put)
    client_b.on("tally", on_b.put)
    try:
        # websocket-client sends the Origin header of the WebSocket itself; Socket.IO checks it
        # against the Host that nginx passes on.
        client_a.connect(deployment.url, auth={"token": token_a}, wait_timeout=10)
        client_b.connect(
            deployment.url,
            headers={"Origin": deployment.url},  # as a browser sends it
            auth={"token": token_b},
            transports=["polling"],
            wait_timeout=10,
        )
        assert client_a.transport() == "websocket"
        assert client_b.transport() == "polling"
        # Each Engine.IO session lives in one process only: the other does not know it.
        pairs = ((client_a, deployment.servers[1]), (client_b, deployment.servers[0]))
        for client, elsewhere in pairs:
            stray = requests.get(
                f"{elsewhere}/socket.io/",
                params={"EIO": "4", "transport": "polling", "sid": client.eio.sid},
                timeout=5,
            )
            assert stray.status_code == 400
        assert client_a.call("join", {"poll": poll["id"]}, timeout=10) == {"ok": True}
        assert client_b.call("join", {"poll": poll["id"]}, timeout=10) == {"ok": True}
        before = on_b.get(timeout=10)["total"]
        assert on_a.get(timeout=10)["total"] == before

        # A vote over HTTP, answered by the first process...
        vote = requests.post(
            f"{deployment.url}/api/v1/polls/{poll['id']}/votes",
            json={"option": option, "key": str(uuid.uuid4())},
            headers={"Authorization": f"Bearer {token_a}"},
            cookies={"experts_route": routes[first]},
            timeout=10,
        )
        assert vote.status_code == 201, vote.text
        assert _port(vote.headers["X-Served-By"]) == first
        # ...reaches B, held by the second process, over long-polling.
        tally = _tally_with_total(on_b, before + 1)
        assert tally["poll"] == poll["id"]
        assert tally["counts"][str(option)] >= 1
        assert _tally_with_total(on_a, before + 1)["counts"] == tally["counts"]

        # And the other way: a vote over Socket.IO on the second process reaches A's WebSocket.
        ack = client_b.call(
            "vote", {"poll": poll["id"], "option": option, "key": str(uuid.uuid4())}, timeout=10
        )
        assert ack["status"] == 201
        assert _tally_with_total(on_a, before + 2)["counts"][str(option)] == (
            tally["counts"][str(option)] + 1
        )
        assert client_b.transport() == "polling"
        assert client_b.connected
    finally:
        client_a.disconnect()
        client_b.disconnect()


@pytest.mark.live
def test_nginx_serves_static_files_and_media_only_after_the_app_allows_them(
    deployment: Deployment,
):
    static = requests.get(deployment.url + "/static/css/site.css", timeout=5)
    assert static.status_code == 200
    assert static.content == (REPO_ROOT / "static/css/site.css").read_bytes()
    assert static.headers["Content-Type"].startswith("text/css")
    assert static.headers["Cache-Control"] == "no-cache"
    assert static.headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Served-By" not in static.headers  # nginx answered, not a server process
    module = requests.get(deployment.url + "/static/vendor/hls.light.min.mjs", timeout=5)
    assert module.status_code == 200
    assert module.headers["Content-Type"] == "text/javascript"  # a module needs a JS type
    assert requests.get(deployment.url + "/static/js/player.js", timeout=5).headers[
        "Content-Type"
    ] in ("application/javascript", "text/javascript")
    again = requests.get(
        deployment.url + "/static/css/site.css",
        headers={"If-None-Match": static.headers["ETag"]},
        timeout=5,
    )
    assert again.status_code == 304

    setup = deployment.setup
    released, unreleased = setup["released"], setup["unreleased"]
    media = requests.get(
        f"{deployment.url}/media/{setup['media'][str(released)]}/hls/master.m3u8", timeout=5
    )
    assert media.status_code == 200
    assert media.text == f"#EXTM3U\n# episode {released}\n"
    assert media.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert media.headers["Cache-Control"] == "public, max-age=3600"
    assert "X-Accel-Redirect" not in media.headers
    # The spoiler rule holds: the unreleased episode's file exists but nobody gets it.
    hidden = f"{setup['media'][str(unreleased)]}/hls/master.m3u8"
    assert (Path(setup["media_root"]) / hidden).exists()
    assert requests.get(f"{deployment.url}/media/{hidden}", timeout=5).status_code == 404
    # nginx's media location is internal, and MEDIA_ROOT is served nowhere else.
    for path in (f"/protected-media/{hidden}", f"/static/../media/{hidden}"):
        assert requests.get(deployment.url + path, timeout=5).status_code == 404
    # Metrics stay on the processes' own ports.
    assert requests.get(deployment.url + "/metrics", timeout=5).status_code == 404
    assert requests.get(deployment.servers[0] + "/metrics", timeout=5).status_code == 200


@pytest.mark.live
def test_pages_get_the_routing_cookie_and_the_app_sees_the_client_through_the_proxy(
    deployment: Deployment,
):
    page = requests.get(deployment.url + "/", timeout=10)
    assert page.status_code == 200
    assert page.cookies.get("experts_route")
    # With it, the browser's next requests (its Socket.IO connection among them) all go to one
    # process, and the cookie is not set again.
    cookies = {"experts_route": page.cookies["experts_route"]}
    answers = [requests.get(deployment.url + "/", cookies=cookies, timeout=10) for _ in range(4)]
    assert len({answer.headers["X-Served-By"] for answer in answers}) == 1
    assert all("experts_route" not in answer.cookies for answer in answers)
    # Socket.IO answers never set it (scripts going straight there are routed by address).
    handshake = requests.get(
        deployment.url + "/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=5
    )
    assert handshake.status_code == 200
    assert "experts_route" not in handshake.cookies
    # Absolute links use the host the client asked for (Host and X-Forwarded-Host kept).
    feed = requests.get(deployment.url + "/flux.atom", timeout=5)
    assert f"{deployment.url}/" in feed.text


def _probe(app: Flask) -> Any:
    @app.route("/_test/client")
    def client_seen() -> dict[str, str]:
        return {"address": request.remote_addr or "", "url": request.url_root}

    return app.test_client()


FORWARDED = {
    "X-Forwarded-For": "203.0.113.9, 198.51.100.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "experts.example",
}


def test_with_trust_proxy_the_app_believes_the_last_proxy_only(app_config):
    app_config["TRUST_PROXY"] = 1
    from core.app import create_app

    seen = _probe(create_app(app_config)).get("/_test/client", headers=FORWARDED).get_json()
    # The address nginx saw (the last one), not what the client wrote before it.
    assert seen == {"address": "198.51.100.7", "url": "https://experts.example/"}


def test_without_trust_proxy_forwarded_headers_are_ignored(app):
    seen = _probe(app).get("/_test/client", headers=FORWARDED).get_json()
    assert seen == {"address": "127.0.0.1", "url": "http://localhost/"}


def test_trust_proxy_must_be_a_count():
    from core.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="TRUST_PROXY"):
        load_config({"TRUST_PROXY": "yes", "SECRET_KEY": "x", "EXPERTS_INSTANCE_PATH": "/tmp/x"})
    assert load_config({"TRUST_PROXY": "2", "SECRET_KEY": "x"})["TRUST_PROXY"] == 2


def test_the_processes_share_redis_or_refuse_to_start(runner, app):
    app.config["REDIS_URL"] = None
    result = runner.invoke("serve", "--workers", "2")
    assert result.exit_code == 1
    assert "--workers above 1 and --job-workers need REDIS_URL" in result.output


def test_the_supervisor_stops_everything_when_one_process_dies():
    sleeper = Child("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    failing = Child("failing", [sys.executable, "-c", "import time; time.sleep(0.3); exit(3)"])
    started = time.monotonic()
    reason = supervise([sleeper, failing], poll_interval=0.05)
    assert reason == "failing exited with code 3; the others were stopped"
    assert time.monotonic() - started < 5


def test_the_supervisor_passes_sigterm_on_and_exits(tmp_path: Path):
    pids = tmp_path / "pids"
    code = f"""
import os, sys
from core.deploy import Child, supervise
child = Child("sleeper", [sys.executable, "-c",
    "import os, time; open({str(pids)!r}, 'a').write(str(os.getpid()) + chr(10)); time.sleep(60)"])
print(supervise([child, child], poll_interval=0.05))
"""
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not pids.exists() or len(pids.read_text().split()) < 2):
        time.sleep(0.05)
    children = [int(pid) for pid in pids.read_text().split()]
    assert len(children) == 2
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert out.strip() == "None"  # stopped by the signal, not by a failure
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_the_sample_configuration_has_no_placeholder_left_unfilled():
    text = render_nginx_config(
        servers=["127.0.0.1:5000", "127.0.0.1:5001"],
        listen="80",
        server_name="experts.example",
        static_root=Path("/srv/experts/static"),
        media_root=Path("/srv/experts/media"),
    )
    assert "@" not in text
    assert "    server 127.0.0.1:5001;" in text
    assert "hash $experts_route consistent;" in text
    assert "alias /srv/experts/media/;" in text
    with pytest.raises(ValueError, match="FOO"):
        render_nginx_config(
            servers=[],
            listen="80",
            server_name="_",
            static_root=Path("/s"),
            media_root=Path("/m"),
            template="@FOO@",
        )


def test_nginx_config_prints_the_sample_for_this_deployment(runner, app):
    app.config.update(TRUST_PROXY=0, MEDIA_ACCEL_PREFIX=None, REDIS_URL="redis://redis.internal")
    result = runner.invoke("nginx-config", "--workers", "3", "--port", "6000", "--listen", "8080")
    assert result.exit_code == 0, result.output
    config = result.stdout
    assert [line.strip() for line in config.splitlines() if "server 127.0.0.1:" in line] == [
        "server 127.0.0.1:6000;",
        "server 127.0.0.1:6001;",
        "server 127.0.0.1:6002;",
    ]
    assert "listen 8080;" in config
    assert f"alias {Path(app.config['MEDIA_ROOT']).resolve()}/;" in config
    assert "location /protected-media/ {\n        internal;" in config
    # What the servers still lack is said on stderr.
    assert "TRUST_PROXY=1, MEDIA_ACCEL_PREFIX=/protected-media/" in result.stderr
