"""A real OpenID Connect provider for the tests, and a browserless user to drive it.

``start_oidc_provider`` runs ``tests/support/oidc_provider.mjs`` (the npm package
``oidc-provider``) on 127.0.0.1 with a random free port. ``complete_login`` plays the user:
it opens an authorization URL, signs in on the provider's login page, accepts the consent
page and returns the redirect to the relying party (with ``code`` and ``state``) without
following it.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
PROVIDER_SCRIPT = Path(__file__).resolve().with_name("oidc_provider.mjs")
STARTUP_TIMEOUT = 20.0

__all__ = [
    "OidcLoginError",
    "OidcProvider",
    "complete_login",
    "start_oidc_provider",
]


class OidcLoginError(RuntimeError):
    """The provider did not lead the user back to the relying party."""


@dataclass
class OidcProvider:
    """A running provider. ``stop()`` (or leaving the ``with`` block) ends it."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    process: subprocess.Popen[str]
    _threads: list[threading.Thread] = field(default_factory=list, repr=False)
    _stderr: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=200), repr=False
    )

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def stderr_text(self) -> str:
        """What the provider wrote on stderr so far (last 200 lines)."""
        return "".join(self._stderr)

    def stop(self) -> None:
        """Terminate the provider, wait for it and release its pipes (idempotent)."""
        proc = self.process
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdin is not None:
            _close_quietly(proc.stdin)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                _close_quietly(stream)

    def __enter__(self) -> OidcProvider:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _close_quietly(stream: IO[str]) -> None:
    with contextlib.suppress(OSError):
        stream.close()


def _pump(stream: IO[str], sink: queue.Queue[str | None] | collections.deque[str]) -> None:
    """Copy lines from ``stream`` to ``sink`` until EOF (None marks EOF on a queue)."""
    try:
        for line in stream:
            if isinstance(sink, queue.Queue):
                sink.put(line)
            else:
                sink.append(line)
    except (OSError, ValueError):
        pass
    finally:
        if isinstance(sink, queue.Queue):
            sink.put(None)


def start_oidc_provider(
    redirect_uris: list[str],
    client_id: str = "experts-test",
    client_secret: str | None = None,
) -> OidcProvider:
    """Start the provider with one confidential ``web`` client and wait until it listens.

    The client uses the authorization code flow (``response_type=code``), authenticates at
    the token endpoint with ``client_secret_basic`` (registered method; oidc-provider accepts
    ``client_secret_post`` for it too) and must send one of ``redirect_uris`` (compared as
    exact strings; http on 127.0.0.1/localhost is fine). PKCE (S256) is optional.
    """
    if not redirect_uris:
        raise ValueError("start_oidc_provider needs at least one redirect URI")
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("OIDC test provider: `node` (Node.js >= 20) is not on PATH")
    if not (REPO_ROOT / "node_modules" / "oidc-provider" / "package.json").is_file():
        raise RuntimeError(
            "OIDC test provider: the npm package oidc-provider is missing from "
            f"{REPO_ROOT / 'node_modules'} (run `npm install` in {REPO_ROOT})"
        )
    if client_secret is None:
        client_secret = secrets.token_urlsafe(32)

    config = {
        "port": 0,
        "clients": [
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uris": list(redirect_uris),
            }
        ],
    }
    env = dict(os.environ, OIDC_PROVIDER_CONFIG=json.dumps(config))
    env.pop("NODE_OPTIONS", None)
    proc = subprocess.Popen(
        [node, str(PROVIDER_SCRIPT), "--exit-on-stdin-eof"],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    stdout_lines: queue.Queue[str | None] = queue.Queue()
    provider = OidcProvider(
        issuer="",
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=list(redirect_uris),
        process=proc,
    )
    for stream, sink in ((proc.stdout, stdout_lines), (proc.stderr, provider._stderr)):
        thread = threading.Thread(
            target=_pump, args=(stream, sink), name="oidc-provider-pipe", daemon=True
        )
        thread.start()
        provider._threads.append(thread)

    try:
        provider.issuer = _wait_ready(stdout_lines, provider)
    except BaseException:
        provider.stop()
        raise
    return provider


def _wait_ready(lines: queue.Queue[str | None], provider: OidcProvider) -> str:
    try:
        while True:
            line = lines.get(timeout=STARTUP_TIMEOUT)
            if line is None:
                provider.process.wait(timeout=5)
                for thread in provider._threads:
                    thread.join(timeout=5)
                raise RuntimeError(
                    "OIDC test provider exited before it was ready "
                    f"(exit code {provider.process.returncode}):\n{provider.stderr_text}"
                )
            if line.startswith("READY "):
                return line.split(" ", 1)[1].strip()
    except queue.Empty:
        raise RuntimeError(
            f"OIDC test provider not ready after {STARTUP_TIMEOUT:.0f} s:\n{provider.stderr_text}"
        ) from None


# ---------------------------------------------------------------------------------------
# The browserless user.


@dataclass
class _Form:
    action: str | None
    method: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type, value)


class _PageParser(HTMLParser):
    """Collects the forms of a page and its visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self.text: list[str] = []
        self._form: _Form | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = _Form(action=a.get("action"), method=a.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag in ("input", "button") and self._form is not None:
            default_type = "submit" if tag == "button" else "text"
            kind = a.get("type", default_type).lower()
            name = a.get("name")
            if name:
                self._form.fields.append((name, kind, a.get("value", "")))
        elif tag in ("script", "style", "summary", "details"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag in ("script", "style", "summary", "details") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.text.append(data.strip())


def _page_text(html: str) -> str:
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.text)


def complete_login(authorize_url: str, login: str = "alice", *, max_steps: int = 20) -> str:
    """Sign in as ``login`` through the provider's pages; return the final redirect URL.

    Starts a fresh session (no provider cookies), opens ``authorize_url``, submits the
    login form (``login`` = the given name, any password) and the consent form, and stops
    at the first redirect leaving the provider for the ``redirect_uri`` of the request.
    That URL is returned unfollowed: it carries ``code``, ``state`` and ``iss`` on success,
    or ``error``/``error_description`` if the provider refused the request after
    validating the redirect URI. Raises ``OidcLoginError`` (with the page text) when the
    provider shows an error page instead.
    """
    query = parse_qs(urlsplit(authorize_url).query)
    redirect_uri = query.get("redirect_uri", [None])[0]
    provider_origin = _origin(authorize_url)

    def is_final(location: str) -> bool:
        if redirect_uri is not None:
            return location == redirect_uri or location.startswith(
                (redirect_uri + "?", redirect_uri + "#", redirect_uri + "&")
            )
        return _origin(location) != provider_origin

    with requests.Session() as session:
        method, url, data = "GET", authorize_url, None
        for _ in range(max_steps):
            response = session.request(method, url, data=data, allow_redirects=False, timeout=10)
            with response:
                if response.is_redirect or response.status_code in (301, 302, 303, 307, 308):
                    location = urljoin(url, response.headers["Location"])
                    if is_final(location):
                        return location
                    method, url, data = "GET", location, None
                    continue
                body = response.text
                if response.status_code >= 400:
                    raise OidcLoginError(
                        f"OIDC provider error page (HTTP {response.status_code}) at {url}:\n"
                        f"{_page_text(body)}"
                    )
                parser = _PageParser()
                parser.feed(body)
                parser.close()
                forms = [f for f in parser.forms if f.action is not None or f.fields]
                if not forms:
                    raise OidcLoginError(
                        f"OIDC provider page without a form (HTTP {response.status_code}) at "
                        f"{url}:\n{_page_text(body)}"
                    )
                form = forms[0]
                method = "POST" if form.method == "post" else "GET"
                url = urljoin(url, form.action or url)
                data = _fill(form, login)
                if method == "GET":
                    url = requests.Request("GET", url, params=data).prepare().url or url
                    data = None
        raise OidcLoginError(
            f"OIDC login did not reach the redirect URI after {max_steps} steps (last: {url})"
        )


def _fill(form: _Form, login: str) -> dict[str, str]:
    data: dict[str, str] = {}
    submit_seen = False
    for name, kind, value in form.fields:
        if kind in ("submit", "image", "button"):
            if submit_seen or kind == "button":
                continue
            submit_seen = True
        elif kind in ("checkbox", "radio"):
            continue
        if name == "login":
            value = login
        elif name == "password":
            value = value or "secret"
        data[name] = value
    return data


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
