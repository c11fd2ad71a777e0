"""An editor publishes a master from the browser: the upload survives dropped connections.

One `experts serve` process (demo-seeded) serves the module; the ingest job runs in its
embedded job thread and reports its progress over Socket.IO.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, Route, expect

from series.episodes.media import make_test_source
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.pages import log_in
from tests.support.live import LiveEnvironment

pytestmark = pytest.mark.e2e

EDITOR = "editrice@experts.example"
CHUNK = 256 * 1024


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10 s 640x360 master with sound (~2.4 MB): about ten chunks, a few seconds to ingest."""
    return make_test_source(tmp_path_factory.mktemp("master") / "pilote-master.mp4", 10, 640, 360)


@pytest.fixture(scope="module")
def episode_id(live: LiveEnvironment, live_server: str) -> int:
    """The id of the pilot's episode 4 (unreleased: only editors see it)."""
    token = live.experts("users", "token", EDITOR).stdout.strip()
    response = requests.get(
        f"{live_server}/api/v1/seasons/1/episodes",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()
    return next(int(e["id"]) for e in response.json() if e["number"] == 4)


def test_upload_resumes_after_network_drops_and_the_ingest_is_followed_live(
    page: Page, live_server: str, episode_id: int, master: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server, EDITOR)
    page.goto(f"{live_server}/edition/episodes/{episode_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Épisode 4")

    source = master.read_bytes()
    received = bytearray(len(source))  # what the server was sent, placed at its offsets
    patches: list[int] = []
    heads: list[int] = []
    context = page.context

    def network(route: Route) -> None:
        request = route.request
        if request.method == "HEAD":
            heads.append(len(patches))
        if request.method != "PATCH":
            route.continue_()
            return
        patches.append(int(request.headers["upload-offset"]))
        if len(patches) == 3:
            # The connection resets under a chunk: nothing of it reaches the server.
            route.abort("connectionreset")
            return
        if len(patches) == 6:
            # The network goes away for a while (the test brings it back below).
            context.set_offline(True)
            route.abort("internetdisconnected")
            return
        body = request.post_data_buffer or b""
        offset = patches[-1]
        received[offset : offset + len(body)] = body
        route.continue_()

    page.route("**/api/v1/uploads/*", network)
    uploader = page.locator("[data-uploader]")
    # Small chunks so that the file takes several requests (the attribute is read on submit).
    uploader.evaluate(f"(node) => {{ node.dataset.chunkSize = '{CHUNK}'; }}")
    page.get_by_label("Fichier vidéo (master)").set_input_files(str(master))
    page.get_by_role("button", name="Envoyer le fichier").click()

    status = page.locator("[data-status]")
    expect(page.get_by_role("button", name="Annuler l'envoi")).to_be_visible()
    expect(status).to_contain_text("nouvelle tentative", timeout=15_000)
    # Wait for the offline period, and for at least one retry to fail while offline.
    deadline = time.monotonic() + 20
    while len(patches) < 6 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert len(patches) >= 6, patches
    page.wait_for_timeout(2500)
    context.set_offline(False)

    ingest = page.locator("[data-ingest-status]")
    expect(ingest).to_contain_text("Terminé", timeout=60_000)
    expect(page.locator("[data-ingest-bar]")).to_have_attribute("value", "100")
    panel = page.locator("[data-ingest]")
    assert int(panel.get_attribute("data-live-events") or 0) >= 1, "no progress over Socket.IO"
    job_id = panel.get_attribute("data-job-id")
    row = page.locator(f'tr[data-job-id="{job_id}"]')
    expect(row).to_contain_text("Terminé")
    expect(row).to_contain_text("pilote-master.mp4")
    expect(page.locator("[data-error]")).to_be_hidden()
    expect(page.get_by_role("button", name="Annuler l'envoi")).to_be_hidden()
    expect(status).to_have_text("Fichier envoyé (2,3 Mo).")
    expect(page.locator("[data-bar]")).to_have_attribute("value", "100")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#televersement").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "editor_upload_live_done.png"), full_page=True)

    # Every chunk was resent from where the server stood; what it got is the file, byte for byte.
    assert patches[:3] == [0, CHUNK, 2 * CHUNK], patches
    assert patches[3] == 2 * CHUNK, "after the reset, the client resumes at the server's offset"
    assert len(heads) >= 2, "the client asked the server for its offset after each drop"
    assert hashlib.sha256(bytes(received)).hexdigest() == hashlib.sha256(source).hexdigest()
    # Nothing is left to resume.
    assert (
        page.evaluate(
            "() => Object.keys(localStorage).filter((k) => k.startsWith('tus-upload:')).length"
        )
        == 0
    )
    assert errors == []

    page.get_by_role("link", name="Afficher le média").click()
    page.wait_for_load_state("load")
    media = page.locator("#media")
    expect(media).to_contain_text("0:10")
    expect(media).to_contain_text("360p")


def test_a_refused_file_is_explained(
    page: Page, live_server: str, episode_id: int, tmp_path: Path
) -> None:
    text = tmp_path / "script.mp4"
    text.write_text("INT. FUTUROSCOPE — NUIT\n" * 200)
    log_in(page, live_server, EDITOR)
    page.goto(f"{live_server}/edition/episodes/{episode_id}")
    expect(page.get_by_role("button", name="Annuler l'envoi")).to_be_hidden()
    page.get_by_label("Fichier vidéo (master)").set_input_files(str(text))
    with page.expect_response(lambda r: r.url.endswith("/ingest")) as answered:
        page.get_by_role("button", name="Envoyer le fichier").click()
    assert answered.value.status == 422
    expect(page.locator("[data-progress]")).to_be_hidden()
    alert = page.locator("[data-error]")
    expect(alert).to_be_visible()
    expect(alert).to_have_text("Fichier refusé : Ce fichier n'est pas une vidéo lisible.")
    expect(alert).to_have_attribute("role", "alert")


def test_a_reload_resumes_from_the_server_offset_and_cancel_deletes_the_upload(
    page: Page, live_server: str, episode_id: int, master: Path
) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" while uploading
    log_in(page, live_server, EDITOR)
    page.goto(f"{live_server}/edition/episodes/{episode_id}")
    patches: list[int] = []
    methods: list[str] = []
    allowed = {"patches": 3}

    def network(route: Route) -> None:
        methods.append(route.request.method)
        if route.request.method == "PATCH":
            patches.append(int(route.request.headers["upload-offset"]))
            if len(patches) > allowed["patches"]:
                route.abort("connectionreset")
                return
        route.continue_()

    page.route(re.compile(r"/api/v1/uploads(/[0-9a-f]+)?$"), network)
    page.locator("[data-uploader]").evaluate(f"(n) => {{ n.dataset.chunkSize = '{CHUNK}'; }}")
    page.get_by_label("Fichier vidéo (master)").set_input_files(str(master))
    page.get_by_role("button", name="Envoyer le fichier").click()
    expect(page.locator("[data-status]")).to_contain_text("nouvelle tentative")
    assert methods[0] == "POST"

    # The editor reloads the page: the upload is remembered in the browser.
    page.reload()
    note = page.locator("[data-resume-note]")
    expect(note).to_contain_text("Envoi interrompu de « pilote-master.mp4 »")
    methods.clear()
    patches.clear()
    allowed["patches"] = 1
    page.locator("[data-uploader]").evaluate(f"(n) => {{ n.dataset.chunkSize = '{CHUNK}'; }}")
    page.get_by_label("Fichier vidéo (master)").set_input_files(str(master))
    expect(note).to_contain_text("reprendra là où il s'était arrêté")
    page.get_by_role("button", name="Envoyer le fichier").click()
    expect(page.locator("[data-status]")).to_contain_text("nouvelle tentative")
    assert methods[:2] == ["HEAD", "PATCH"], methods  # no new upload: it asks where it stood
    assert patches[0] == 3 * CHUNK
    location = page.evaluate(
        "() => JSON.parse(localStorage.getItem(Object.keys(localStorage)"
        ".find((k) => k.startsWith('tus-upload:')))).url"
    )

    with page.expect_request(lambda r: r.method == "DELETE") as deleted:
        page.get_by_role("button", name="Annuler l'envoi").click()
    assert deleted.value.url == location
    expect(page.locator("[data-status]")).to_have_text("Envoi annulé.")
    expect(page.get_by_role("button", name="Annuler l'envoi")).to_be_hidden()
    expect(page.get_by_role("button", name="Envoyer le fichier")).to_be_enabled()
    page.wait_for_timeout(300)
    gone = page.request.head(location, headers={"Tus-Resumable": "1.0.0"})
    assert gone.status == 404
    assert (
        page.evaluate(
            "() => Object.keys(localStorage).filter((k) => k.startsWith('tus-upload:')).length"
        )
        == 0
    )
