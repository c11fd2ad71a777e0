"""The player page: markup without JavaScript, media behind the release check, script weight."""

from __future__ import annotations

import gzip
import re
import shutil
import uuid
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from series.episodes import services
from series.episodes.media import make_test_source
from series.episodes.media_views import media_urls
from series.episodes.models import IngestState, TrackKind
from series.models import Episode

REPO_ROOT = Path(__file__).resolve().parents[3]
STATIC = REPO_ROOT / "static"
HLS_LIGHT = STATIC / "vendor" / "hls.light.min.mjs"
SOCKET_IO = STATIC / "vendor" / "socket.io.esm.min.js"
#: Every script of the episode page, hls.js light included, gzip-compressed.
JS_BUDGET = 150 * 1024
#: `import … from "x"` and `import "x"` at the start of a line (dynamic import() is not one).
STATIC_IMPORT = re.compile(r"""^\s*import\s+(?:[^"';]*?\bfrom\s*)?["']([^"']+)["']""", re.M)

FR_VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nBonjour, inspectrice.\n"
EN_VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello, inspector.\n"
CHAPTERS_VTT = (
    "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nLe corps\n\n00:00:02.000 --> 00:00:04.000\nL'indice\n"
)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s 320x180 clip: enough for one HLS rung, the MP4, the poster and the sprites."""
    return make_test_source(tmp_path_factory.mktemp("player") / "source.mp4", 4, 320, 180)


class Tags(HTMLParser):
    """Start tags of a page, in order, with their attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def one(self, tag: str) -> dict[str, str | None]:
        found = self.all(tag)
        assert len(found) == 1, f"{len(found)} <{tag}> in the page"
        return found[0]


def ingest(app: Any, db: Any, episode_id: int, source: Path) -> None:
    """Run the real pipeline on the test clip for one episode."""
    with app.app_context():
        episode = db.session.get(Episode, episode_id)
        staged = services.staging_dir() / f"{uuid.uuid4().hex}.mp4"
        shutil.copyfile(source, staged)
        job = services.start_ingest(db.session, episode, staged, source.name)
        db.session.commit()
        services.run_ingest(job.id)
        db.session.refresh(job)
        assert job.state is IngestState.DONE, (job.error_code, job.error_message)


def attach_tracks(app: Any, db: Any, episode_id: int) -> None:
    with app.app_context():
        episode = db.session.get(Episode, episode_id)
        services.attach_track(db.session, episode, TrackKind.SUBTITLES, "fr", "Français", FR_VTT)
        services.attach_track(db.session, episode, TrackKind.SUBTITLES, "en", "English", EN_VTT)
        services.attach_track(
            db.session, episode, TrackKind.CHAPTERS, "fr", "Chapitres", CHAPTERS_VTT
        )
        db.session.commit()


def urls_of(app: Any, db: Any, episode_id: int) -> dict[str, Any]:
    """The media URLs the page and the API give for an episode."""
    with app.test_request_context():
        media = services.media_of(db.session, episode_id)
        assert media is not None
        return media_urls(media, services.tracks_of(db.session, episode_id))


def fetch(client: Any, url: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET, the response closed (files are streamed)."""
    response = client.get(url)
    try:
        return response.status_code, dict(response.headers), response.get_data()
    finally:
        response.close()


def every_file_url(client: Any, urls: dict[str, Any]) -> list[str]:
    """All the media URLs of an episode: files, the first rendition playlist and segment,
    and the text tracks."""
    found = [urls["hls"], urls["mp4"], urls["poster"], urls["thumbnails"]]
    found += [t["url"] for t in urls["tracks"]]
    status, _headers, body = fetch(client, urls["hls"])
    if status == 200:
        rung = urljoin(urls["hls"], _first_uri(body))
        found.append(rung)
        status, _headers, body = fetch(client, rung)
        assert status == 200
        found.append(urljoin(rung, _first_uri(body)))
    return found


def _first_uri(playlist: bytes) -> str:
    lines = playlist.decode().splitlines()
    return next(line for line in lines if line.strip() and not line.startswith("#"))


def test_an_episode_with_media_renders_the_video_with_poster_mp4_and_tracks(
    client, app, db, pilot, source
):
    ingest(app, db, pilot[1], source)
    attach_tracks(app, db, pilot[1])
    urls = urls_of(app, db, pilot[1])

    status, _headers, body = fetch(client, f"/episodes/{pilot[1]}")
    assert status == 200
    html = body.decode()
    page = Tags(html)
    player = next(attrs for attrs in page.all("div") if "data-player" in attrs)
    assert player["data-hls"] == urls["hls"]
    assert player["data-episode"] == str(pilot[1])
    assert player["data-audio-lang"] == "fr"
    video = page.one("video")
    assert {"controls", "playsinline"} <= set(video)
    assert video["preload"] == "metadata"
    assert video["poster"] == urls["poster"]
    assert video["crossorigin"] == "anonymous"
    assert (video["width"], video["height"]) == ("320", "180"), "reserves the frame's shape"
    source_tag = page.one("source")
    assert (source_tag["src"], source_tag["type"]) == (urls["mp4"], "video/mp4")
    tracks = [(t["kind"], t["srclang"], t["label"], t["src"]) for t in page.all("track")]
    assert tracks == [(t["kind"], t["lang"], t["label"], t["url"]) for t in urls["tracks"]]
    assert sorted((kind, lang) for kind, lang, _label, _src in tracks) == [
        ("chapters", "fr"),
        ("subtitles", "en"),
        ("subtitles", "fr"),
    ]
    # The interface speaks the audio's language: no subtitles by default.
    assert not any("default" in t for t in page.all("track"))
    assert f'href="{urls["mp4"]}"' in html, "a download link for browsers without <video>"

    scripts = [s.get("src") for s in page.all("script")]
    assert "/static/js/player.js" in [urlsplit(s or "").path for s in scripts]
    assert all(scripts), "inline scripts break the content security policy"
    assert all(s.get("type") == "module" for s in page.all("script"))
    assert "/static/css/player.css" in [
        urlsplit(link.get("href") or "").path for link in page.all("link")
    ]
    for tag, attrs in page.tags:
        assert "style" not in attrs, f"inline style on <{tag}>"
        assert not [a for a in attrs if a.startswith("on")], f"inline handler on <{tag}>"

    expected_types = {
        urls["hls"]: "application/vnd.apple.mpegurl",
        urls["mp4"]: "video/mp4",
        urls["poster"]: "image/jpeg",
        urls["thumbnails"]: "text/vtt",
    }
    for url in every_file_url(client, urls):
        status, headers, body = fetch(client, url)
        assert status == 200, url
        assert body, url
        assert headers["Cache-Control"] == "public, max-age=3600", url
        if url in expected_types:
            assert headers["Content-Type"].startswith(expected_types[url]), (url, headers)
    for track in urls["tracks"]:
        status, headers, body = fetch(client, track["url"])
        assert headers["Content-Type"].startswith("text/vtt")
        assert body.startswith(b"WEBVTT")


def test_english_interface_turns_english_subtitles_on_by_default(client, app, db, pilot, source):
    ingest(app, db, pilot[1], source)
    attach_tracks(app, db, pilot[1])
    status, _headers, body = fetch(client, f"/episodes/{pilot[1]}?lang=en")
    assert status == 200
    defaults = [
        (t["kind"], t["srclang"]) for t in Tags(body.decode()).all("track") if "default" in t
    ]
    assert defaults == [("subtitles", "en")]


def test_an_episode_without_media_says_the_video_is_coming(client, pilot):
    status, _headers, body = fetch(client, f"/episodes/{pilot[2]}")
    assert status == 200
    html = body.decode()
    assert "La vidéo de cet épisode arrive bientôt." in html
    assert "<video" not in html
    assert "data-player" not in html
    assert "player.js" not in html
    assert "player.css" not in html


def test_media_of_an_unreleased_episode_is_404_to_visitors_and_200_to_editors(
    client, app, db, pilot, source, auth, make_user
):
    ingest(app, db, pilot[6], source)
    attach_tracks(app, db, pilot[6])
    urls = urls_of(app, db, pilot[6])

    editor = make_user(role="editor")
    auth.login(editor.email)
    status, _headers, body = fetch(client, f"/episodes/{pilot[6]}")
    assert status == 200
    assert urls["poster"] in body.decode()
    files = every_file_url(client, urls)
    assert len(files) == 9  # 4 files, 3 tracks, a rendition playlist and a segment
    for url in files:
        status, headers, _body = fetch(client, url)
        assert status == 200, url
        # An editor's preview never lands in a shared cache.
        assert headers["Cache-Control"] == "private, no-store", url
    auth.logout()

    assert fetch(client, f"/episodes/{pilot[6]}")[0] == 404
    for url in files:
        assert fetch(client, url)[0] == 404, url
    viewer = make_user(role="viewer")
    auth.login(viewer.email)
    for url in files:
        assert fetch(client, url)[0] == 404, url


def test_a_guessed_media_url_is_404(client, app, db, pilot, source):
    ingest(app, db, pilot[1], source)
    urls = urls_of(app, db, pilot[1])
    token = urls["mp4"].split("/")[4]
    assert fetch(client, urls["mp4"])[0] == 200
    wrong = "A" * len(token)
    for url in (urls["mp4"], urls["hls"], urls["poster"]):
        assert fetch(client, url.replace(f"/{token}/", f"/{wrong}/"))[0] == 404, url
    # The right token under another episode, files the pipeline keeps for itself, escapes.
    assert fetch(client, urls["mp4"].replace(f"/{pilot[1]}/", f"/{pilot[2]}/"))[0] == 404
    base = urls["poster"].rsplit("/", 1)[0]
    assert fetch(client, f"{base}/scenes.json")[0] == 404
    assert fetch(client, f"{base}/../../../../pyproject.toml")[0] == 404


def test_a_track_of_an_unreleased_episode_is_404_to_a_visitor(
    client, app, db, pilot, source, auth, make_user
):
    ingest(app, db, pilot[6], source)
    attach_tracks(app, db, pilot[6])
    ingest(app, db, pilot[1], source)
    secret = urls_of(app, db, pilot[6])["tracks"]
    assert len(secret) == 3
    for track in secret:
        status, _headers, body = fetch(client, track["url"])
        assert status == 404, track
        assert b"Bonjour" not in body
        # Nor through a released episode's address.
        other = track["url"].replace(f"/episodes/{pilot[6]}/", f"/episodes/{pilot[1]}/")
        assert fetch(client, other)[0] == 404
    auth.login(make_user(role="editor").email)
    assert all(fetch(client, t["url"])[0] == 200 for t in secret)


def _static_path(url: str) -> Path:
    path = urlsplit(url).path
    assert path.startswith("/static/"), url
    return STATIC / path.removeprefix("/static/")


def _with_static_imports(files: set[Path]) -> set[Path]:
    """The files plus every module they import statically, followed to the end."""
    found, queue = set(files), list(files)
    while queue:
        module = queue.pop()
        for spec in STATIC_IMPORT.findall(module.read_text(encoding="utf-8")):
            target = _static_path(spec) if spec.startswith("/") else (module.parent / spec)
            target = target.resolve()
            if target not in found:
                found.add(target)
                queue.append(target)
    return found


def test_episode_page_javascript_fits_150_kb_gzip_with_hls_js(client, app, db, pilot, source):
    ingest(app, db, pilot[1], source)
    html = fetch(client, f"/episodes/{pilot[1]}")[2].decode()
    referenced = {_static_path(s["src"] or "") for s in Tags(html).all("script")}
    assert _static_path("/static/js/player.js") in referenced
    loaded = _with_static_imports(referenced)
    # hls.js is imported dynamically, only when HLS needs it: never by the page itself.
    assert HLS_LIGHT.resolve() not in loaded
    assert "import(" in (STATIC / "js" / "player.js").read_text(encoding="utf-8")
    assert SOCKET_IO.resolve() in loaded, "presence.js imports socket.io"
    files = loaded | {HLS_LIGHT.resolve()}
    missing = [str(f) for f in files if not f.exists()]
    assert not missing, f"run scripts/setup (static/vendor is filled from npm): {missing}"

    sizes = {f.name: len(gzip.compress(f.read_bytes(), compresslevel=6, mtime=0)) for f in files}
    total = sum(sizes.values())
    assert total <= JS_BUDGET, f"{total} bytes gzip > {JS_BUDGET}: {sizes}"
