"""Place search: the offline gazetteer, and geopy's real BAN and Nominatim clients talking to
local peers that answer in each service's documented shape (no test leaves this machine)."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask

from community import build_gazetteer, gazetteer, geocoding
from core import counters
from core.config import ConfigError, load_config
from series.models import DEPARTEMENTS

# The gazetteer -----------------------------------------------------------------------------


def test_the_gazetteer_was_built_from_the_current_sources() -> None:
    assert build_gazetteer.up_to_date(build_gazetteer.current_sources()), "run scripts/setup"


def test_the_gazetteer_holds_the_communes_of_the_twelve_departements() -> None:
    places = gazetteer.places()
    assert 4000 <= len(places) <= 4600
    assert {place.departement_code for place in places} == set(DEPARTEMENTS)
    assert all(place.code[:2] == place.departement_code for place in places)
    assert all(42.7 < place.lat < 47.3 and -1.9 < place.lon < 2.7 for place in places)


@pytest.mark.parametrize(
    ("query", "name", "departement"),
    [
        ("chatellerault", "Châtellerault", "86"),
        ("st emilion", "Saint-Émilion", "33"),
        ("SAINT-ÉMILION", "Saint-Émilion", "33"),
        ("bordeaux", "Bordeaux", "33"),
        ("l’isle d’espagnac", "L'Isle-d'Espagnac", "16"),
        ("ste soulle", "Sainte-Soulle", "17"),
        ("st jean pied", "Saint-Jean-Pied-de-Port", "64"),
        ("86000", "Poitiers", "86"),
        ("17000", "La Rochelle", "17"),
        ("saint aubin 47", "Saint-Aubin", "47"),
    ],
)
def test_search_finds_a_commune_first(query: str, name: str, departement: str) -> None:
    first = gazetteer.search(query)[0]
    assert (first.name, first.departement_code) == (name, departement)


def test_search_matches_word_prefixes_most_populated_first() -> None:
    found = gazetteer.search("bordeaux", limit=5)
    assert found[0].name == "Bordeaux"
    assert all("Bordeaux" in place.name for place in found)
    prefixed = gazetteer.search("angoul")
    assert [p.name for p in prefixed[:2]] == ["Angoulême", "Angoulins"]


def test_search_without_a_match_is_empty() -> None:
    assert gazetteer.search("") == []
    assert gazetteer.search(" - ' ") == []
    assert gazetteer.search("zzyzx") == []
    assert gazetteer.search("75001") == []  # Paris is not in the region


def test_nearest_commune_of_poitiers() -> None:
    assert gazetteer.nearest(46.58, 0.34).name == "Poitiers"


@pytest.mark.parametrize(
    ("lat", "lon", "name"),
    [
        (45.649, 0.156, "Angoulême"),
        (46.159, -1.152, "La Rochelle"),
        (45.267, 1.771, "Tulle"),
        (46.171, 1.871, "Guéret"),
        (45.184, 0.721, "Périgueux"),
        (44.838, -0.579, "Bordeaux"),
        (43.890, -0.500, "Mont-de-Marsan"),
        (44.204, 0.616, "Agen"),
        (43.296, -0.370, "Pau"),
        (46.324, -0.465, "Niort"),
        (46.580, 0.340, "Poitiers"),
        (45.832, 1.261, "Limoges"),
    ],
)
def test_nearest_commune_in_each_departement(lat: float, lon: float, name: str) -> None:
    assert gazetteer.nearest(lat, lon).name == name


def test_nearest_agrees_with_looking_at_every_commune() -> None:
    places = gazetteer.places()
    for lat, lon in [(45.0, 0.0), (43.2, -1.2), (46.9, 0.1), (44.1, 1.1), (45.61, 2.3)]:
        expected = min(
            places,
            key=lambda p: (p.lat - lat) ** 2 + ((p.lon - lon) * gazetteer.LON_SCALE) ** 2,
        )
        assert gazetteer.nearest(lat, lon) == expected


def test_commune_at_a_point_refuses_points_outside_the_region() -> None:
    assert gazetteer.commune_at(46.5816, 0.3404) == gazetteer.get("86194")
    assert gazetteer.commune_at(46.466, -0.806) is None  # Fontenay-le-Comte, Vendée
    assert gazetteer.commune_at(48.853, 2.349) is None  # Paris
    assert gazetteer.commune_at(45.5, -4.0) is None  # the open Atlantic
    assert gazetteer.nearest(48.853, 2.349).departement_code in DEPARTEMENTS


# The offline default ------------------------------------------------------------------------


def test_geocoder_setting_is_checked() -> None:
    env = {"EXPERTS_ENV": "test", "SECRET_KEY": "x", "EXPERTS_INSTANCE_PATH": "/tmp/x"}
    assert load_config(env)["GEOCODER"] == "offline"
    with pytest.raises(ConfigError, match="GEOCODER"):
        load_config({**env, "GEOCODER": "google"})


def test_offline_geocoding_answers_from_the_gazetteer(app: Flask) -> None:
    with app.app_context():
        found = geocoding.geocode("  St-Émilion ")
        assert found[0].commune == "Saint-Émilion"
        assert found[0].departement_code == "33"
        assert found[0].source == "offline"
        assert geocoding.geocode("   ") == []
        # An address: the gazetteer knows its commune.
        address = geocoding.geocode("12 rue de la Paix, 86000 Poitiers")
        assert [r.commune for r in address] == ["Poitiers"]
        assert geocoding.geocode("Place du Marché, Coulon")[0].departement_code == "79"
        assert geocoding.geocode("1 rue de Rivoli, 75001 Paris") == []
        place = geocoding.reverse(46.5816, 0.3404)
        assert place is not None
        assert (place.commune, place.departement_code, place.commune_code) == (
            "Poitiers",
            "86",
            "86194",
        )
        assert geocoding.reverse(48.853, 2.349) is None


# Local peers standing in for the online services --------------------------------------------

Answer = Callable[[str, dict[str, str]], tuple[int, Any]]


@dataclass
class Seen:
    at: float
    path: str
    params: dict[str, str]
    user_agent: str


@dataclass
class Peer:
    """An HTTP server on 127.0.0.1 answering like an outside service; it records each request."""

    answer: Answer
    delay: float = 0.0
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query))
                agent = self.headers.get("User-Agent", "")
                peer.seen.append(Seen(time.monotonic(), parts.path, params, agent))
                time.sleep(peer.delay)
                status, body = peer.answer(parts.path.rstrip("/"), params)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and left

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path.rstrip("/") == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def peers() -> Iterator[Callable[..., Peer]]:
    started: list[Peer] = []

    def start(answer: Answer, delay: float = 0.0) -> Peer:
        started.append(Peer(answer, delay))
        return started[-1]

    yield start
    for peer in started:
        peer.stop()


# The BAN (api-adresse.data.gouv.fr): GeoJSON, as its documentation shows.


def ban_feature(label: str, lon: float, lat: float, citycode: str, city: str) -> dict:
    postcode = {"86194": "86000", "75102": "75002", "85092": "85200"}[citycode]
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "label": label,
            "score": 0.97,
            "housenumber": "12",
            "id": f"{citycode}_5790_00012",
            "name": label.split(f" {postcode}")[0],
            "postcode": postcode,
            "citycode": citycode,
            "x": 497245.2,
            "y": 6612370.5,
            "city": city,
            "context": f"{citycode[:2]}, …",
            "type": "housenumber",
            "importance": 0.65,
            "street": "Rue de la Paix",
        },
    }


def ban_answer(path: str, params: dict[str, str]) -> tuple[int, Any]:
    if path == "/search":
        features = [
            ban_feature("12 Rue de la Paix 75002 Paris", 2.3316, 48.8693, "75102", "Paris"),
            ban_feature("12 Rue de la Paix 86000 Poitiers", 0.3404, 46.5816, "86194", "Poitiers"),
        ]
        limit = int(params.get("limit", 5))
        return 200, {
            "type": "FeatureCollection",
            "version": "draft",
            "features": features[:limit],
            "attribution": "BAN",
            "licence": "ETALAB-2.0",
            "query": params["q"],
            "limit": limit,
        }
    if path == "/reverse":
        lat, lon = float(params["lat"]), float(params["lon"])
        if lon < -1.5:  # at sea: no address near
            features = []
        elif lon < -0.6:
            features = [ban_feature("3 Rue X 85200 Fontenay-le-Comte", lon, lat, "85092", "F")]
        else:
            features = [
                ban_feature("12 Rue de la Paix 86000 Poitiers", lon, lat, "86194", "Poitiers")
            ]
        return 200, {"type": "FeatureCollection", "version": "draft", "features": features}
    return 404, {"code": 404, "message": "Not found"}


def use_ban(app: Flask, peer: Peer, **settings: Any) -> None:
    app.config.update(GEOCODER="ban", GEOCODER_BAN_URL=peer.url, **settings)


def test_ban_through_geopy_keeps_the_region_and_caches(
    app: Flask, peers: Callable[..., Peer]
) -> None:
    peer = peers(ban_answer)
    use_ban(app, peer)
    with app.app_context():
        found = geocoding.geocode("12 rue de la Paix")
        assert found == [
            geocoding.GeoResult(
                label="12 Rue de la Paix 86000 Poitiers",
                lat=46.5816,
                lon=0.3404,
                commune="Poitiers",
                departement_code="86",
                source="ban",
                commune_code="86194",
            )
        ]  # Paris's Rue de la Paix is dropped
        assert peer.requests_to("/search")[0].params["q"] == "12 rue de la Paix"
        # The same query, typed differently, is answered from the cache.
        assert geocoding.geocode("12  Rue de la paix ") == found
        assert len(peer.requests_to("/search")) == 1


def test_ban_reverse_names_the_commune_or_refuses_outside(
    app: Flask, peers: Callable[..., Peer]
) -> None:
    peer = peers(ban_answer)
    use_ban(app, peer)
    with app.app_context():
        here = geocoding.reverse(46.58162, 0.34041)
        assert here is not None
        assert (here.commune, here.departement_code, here.source) == ("Poitiers", "86", "ban")
        asked = peer.requests_to("/reverse")[0].params
        assert (float(asked["lat"]), float(asked["lon"])) == (46.5816, 0.3404)
        assert geocoding.reverse(46.58158, 0.34039) == here  # about the same spot: cached
        assert len(peer.requests_to("/reverse")) == 1
        assert geocoding.reverse(46.466, -0.806) is None  # the BAN says Vendée
        # No address near (at sea, off Oléron): the gazetteer names the commune.
        offshore = geocoding.reverse(45.9, -1.52)
        assert offshore is not None
        assert offshore.source == "offline"
        assert offshore.departement_code == "17"


def test_ban_unreachable_falls_back_to_the_gazetteer(
    app: Flask, peers: Callable[..., Peer], caplog: pytest.LogCaptureFixture
) -> None:
    peer = peers(ban_answer)
    use_ban(app, peer)
    peer.stop()  # connection refused from now on
    with app.app_context(), caplog.at_level(logging.WARNING, logger="community.geocoding"):
        found = geocoding.geocode("chatellerault")
        assert [(r.commune, r.source) for r in found[:1]] == [("Châtellerault", "offline")]
        place = geocoding.reverse(46.5816, 0.3404)
        assert place is not None
        assert place.source == "offline"
    assert "geocoder ban failed" in caplog.text


def test_ban_failing_is_left_alone_for_a_while(app: Flask, peers: Callable[..., Peer]) -> None:
    peer = peers(lambda path, params: (500, {"code": 500, "message": "boom"}))
    use_ban(app, peer)
    with app.app_context():
        assert geocoding.geocode("poitiers")[0].source == "offline"
        assert geocoding.geocode("niort")[0].source == "offline"
    assert len(peer.seen) == 1


def test_ban_too_slow_falls_back_within_the_timeout(app: Flask, peers: Callable[..., Peer]) -> None:
    peer = peers(ban_answer, delay=2.0)
    use_ban(app, peer, GEOCODER_TIMEOUT=0.3)
    with app.app_context():
        started = time.monotonic()
        found = geocoding.geocode("limoges")
        assert time.monotonic() - started < 1.5
    assert (found[0].commune, found[0].source) == ("Limoges", "offline")


# Nominatim: its JSON (format=json, addressdetails=1), as its documentation shows.


def nominatim_place(name: str, lat: float, lon: float, departement: str, postcode: str) -> dict:
    return {
        "place_id": 101,
        "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
        "osm_type": "relation",
        "osm_id": 117858,
        "lat": str(lat),
        "lon": str(lon),
        "class": "boundary",
        "type": "administrative",
        "place_rank": 16,
        "importance": 0.6,
        "addresstype": "city",
        "name": name,
        "display_name": f"{name}, France métropolitaine, {postcode}, France",
        "address": {
            "city": name,
            "ISO3166-2-lvl6": f"FR-{departement}",
            "postcode": postcode,
            "country": "France",
            "country_code": "fr",
        },
        "boundingbox": [str(lat - 0.05), str(lat + 0.05), str(lon - 0.05), str(lon + 0.05)],
    }


def nominatim_answer(path: str, params: dict[str, str]) -> tuple[int, Any]:
    if path == "/search":
        return 200, [
            nominatim_place("Niort", 46.3239, -0.4588, "79", "79000"),
            nominatim_place("Paris", 48.8535, 2.3484, "75", "75001"),
        ]
    if path == "/reverse":
        return 200, nominatim_place(
            "Niort", float(params["lat"]), float(params["lon"]), "79", "79000"
        )
    return 404, {"error": "Not found"}


def test_nominatim_through_geopy_identifies_itself_and_keeps_the_region(
    app: Flask, peers: Callable[..., Peer]
) -> None:
    peer = peers(nominatim_answer)
    app.config.update(GEOCODER="nominatim", GEOCODER_NOMINATIM_URL=peer.url)
    with app.app_context():
        found = geocoding.geocode("niort")
        assert [(r.commune, r.departement_code, r.source) for r in found] == [
            ("Niort", "79", "nominatim")
        ]
        assert found[0].commune_code == "79191"
        here = geocoding.reverse(46.3239, -0.4588)
        assert here is not None
        assert here.commune == "Niort"
    search = peer.requests_to("/search")[0]
    assert search.user_agent == app.config["GEOCODER_USER_AGENT"]
    assert search.params["countrycodes"] == "fr"
    assert search.params["bounded"] == "1"
    assert search.params["addressdetails"] == "1"


def test_nominatim_is_asked_once_a_second_at_most(app: Flask, peers: Callable[..., Peer]) -> None:
    peer = peers(nominatim_answer)
    app.config.update(GEOCODER="nominatim", GEOCODER_NOMINATIM_URL=peer.url)
    with app.app_context():
        geocoding.geocode("niort")
        geocoding.reverse(46.32, -0.46)
        geocoding.geocode("niort centre")
        geocoding.geocode("niort")  # cached: no request
    times = [seen.at for seen in peer.seen]
    assert len(times) == 3
    assert all(later - earlier >= 0.95 for earlier, later in itertools.pairwise(times))


def test_nominatim_slot_is_shared_with_the_other_processes(
    app: Flask, peers: Callable[..., Peer]
) -> None:
    peer = peers(nominatim_answer)
    app.config.update(GEOCODER="nominatim", GEOCODER_NOMINATIM_URL=peer.url, GEOCODER_TIMEOUT=0.3)
    with app.app_context():
        assert counters.try_lock("geocoding:slot:nominatim", 5)  # another process asking
        assert geocoding.geocode("niort")[0].source == "offline"
        assert peer.seen == []
        counters.unlock("geocoding:slot:nominatim")
        # Waiting for a slot is neither an outage nor an answer to cache.
        assert geocoding.geocode("niort")[0].source == "nominatim"
    assert len(peer.seen) == 1


def test_ban_finding_nothing_in_the_region_lets_the_gazetteer_try(
    app: Flask, peers: Callable[..., Peer]
) -> None:
    peer = peers(lambda path, params: (200, {"type": "FeatureCollection", "features": []}))
    use_ban(app, peer)
    with app.app_context():
        found = geocoding.geocode("ste soulle")
    assert [(r.commune, r.source) for r in found] == [("Sainte-Soulle", "offline")]
    assert len(peer.seen) == 1
