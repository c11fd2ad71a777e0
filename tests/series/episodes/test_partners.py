"""The partner area: access, a partner's own offers only, and its audience figures."""

from __future__ import annotations

import csv
import datetime as dt
import html as htmllib
import io
import re
from typing import Any

import pytest
import sqlalchemy as sa

from core.seed import DEMO_PASSWORD
from series.episodes.hotspot_models import (
    Hotspot,
    HotspotDailyStat,
    Offer,
    Partner,
    PartnerMember,
)
from tests.conftest import csrf_token

OFFICE = "Office de tourisme Grand Poitiers"
SAVEURS = "Saveurs du Poitou (épicerie fine)"


def partner_id(db: Any, name: str) -> int:
    return db.session.scalar(sa.select(Partner.id).where(Partner.name == name))


def offer(db: Any, title: str) -> Offer:
    found = db.session.scalar(sa.select(Offer).where(Offer.title == title))
    assert found is not None
    return found


def hotspot(db: Any, episode_id: int, offer_title: str) -> Hotspot:
    found = db.session.scalar(
        sa.select(Hotspot)
        .join(Offer, Hotspot.offer_id == Offer.id)
        .where(Hotspot.episode_id == episode_id, Offer.title == offer_title)
    )
    assert found is not None
    return found


def offer_form(**changes: str) -> dict[str, str]:
    data = {
        "title": "Le farci poitevin",
        "text": "Chou, oseille, blettes et lard.",
        "merchant": "Office de tourisme Grand Poitiers",
        "price": "",
        "url": "https://visit-poitiers.fr/farci",
        "address": "",
        "opening_hours": "",
    }
    data.update(changes)
    return data


@pytest.fixture
def partner(client, auth, pilot) -> None:
    """Signed in as the seeded member of the Office de tourisme."""
    auth.login("partenaire@experts.example", DEMO_PASSWORD)


@pytest.fixture
def admin(client, auth, pilot) -> None:
    auth.login("admin@experts.example", DEMO_PASSWORD)


def visit(app: Any, hotspot_id: int, impressions: int = 0, clicks: int = 0) -> None:
    """Anonymous activity from another browser."""
    other = app.test_client()
    token = csrf_token(other)
    for _ in range(impressions):
        response = other.post(
            f"/api/v1/hotspots/{hotspot_id}/impressions",
            json={"visible_ms": 1500},
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 202
    for _ in range(clicks):
        assert other.get(f"/go/{hotspot_id}").status_code == 302


def read_csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def table_rows(html: str) -> dict[str, list[str]]:
    """Rows of the figures table: first cell text -> the other cells' texts."""
    table = re.search(r'<table class="table partner-table figures-table">.*?</table>', html, re.S)
    assert table is not None
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(0), re.S):
        cells = [
            " ".join(htmllib.unescape(re.sub(r"<[^>]+>", "", c)).split())
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        rows[cells[0]] = cells[1:]
    return rows


# ---------------------------------------------------------------- access


def test_anonymous_visitors_are_sent_to_login(client, pilot):
    for path in ("/partenaires", "/partenaires/statistiques.csv", "/partenaires/offres/1"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/connexion" in response.headers["Location"]


def test_viewers_are_forbidden(client, auth, make_user, pilot, db):
    viewer = make_user(role="viewer")
    auth.login(viewer.email)
    office_offer = offer(db, "Le farci poitevin")
    for path in (
        "/partenaires",
        "/partenaires/statistiques.csv",
        f"/partenaires/offres/{office_offer.id}",
    ):
        assert client.get(path).status_code == 403
    response = client.post(
        f"/partenaires/offres/{office_offer.id}",
        data={**offer_form(title="Piraté"), "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 403
    assert offer(db, "Le farci poitevin").title == "Le farci poitevin"


def test_a_partner_account_without_partner_is_forbidden(client, auth, make_user, pilot):
    user = make_user(role="partner")
    auth.login(user.email)
    response = client.get("/partenaires")
    assert response.status_code == 403
    assert "aucun partenaire" in response.get_data(as_text=True)


# ---------------------------------------------------------------- offers


def test_a_partner_sees_only_its_own_offers(client, partner, db):
    response = client.get("/partenaires")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert OFFICE in html
    for title in ("Le farci poitevin", "Église Notre-Dame-la-Grande", "Cité médiévale"):
        assert title in html
    for title in ("Chabichou", "Broyé du Poitou", "Macarons de Montmorillon"):
        assert title not in html
    assert f'href="/partenaires/offres/{offer(db, "Le farci poitevin").id}"' in html
    assert f"/partenaires/offres/{offer(db, 'Broyé du Poitou').id}" not in html
    assert 'name="partenaire"' not in html  # no selector for a partner


def test_a_partner_edits_its_own_offer(client, partner, db):
    farci = offer(db, "Le farci poitevin")
    page = client.get(f"/partenaires/offres/{farci.id}")
    assert page.status_code == 200
    assert 'value="Le farci poitevin"' in page.get_data(as_text=True)
    response = client.post(
        f"/partenaires/offres/{farci.id}",
        data={
            **offer_form(
                title="Le farci poitevin (recette)",
                price="12,50",
                url="https://visit-poitiers.fr/recettes/farci?src=serie#ingredients",
                address="Place Charles-de-Gaulle, 86000 Poitiers",
                opening_hours="tous les jours",
            ),
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/partenaires"
    db.session.expire_all()
    saved = db.session.get(Offer, farci.id)
    assert saved.title == "Le farci poitevin (recette)"
    assert saved.price_cents == 1250
    assert saved.url == "https://visit-poitiers.fr/recettes/farci?src=serie#ingredients"
    assert saved.address == "Place Charles-de-Gaulle, 86000 Poitiers"
    assert saved.opening_hours == "tous les jours"
    html = client.get("/partenaires").get_data(as_text=True)
    assert "Offre « Le farci poitevin (recette) » enregistrée." in html
    assert "12,50" in html


def test_another_partners_offer_is_404(client, partner, db):
    broye = offer(db, "Broyé du Poitou")
    assert client.get(f"/partenaires/offres/{broye.id}").status_code == 404
    response = client.post(
        f"/partenaires/offres/{broye.id}",
        data={
            **offer_form(title="Piraté", url="https://evil.example/"),
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 404
    assert "Broyé" not in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Offer, broye.id).title == "Broyé du Poitou"
    assert db.session.get(Offer, broye.id).url == "https://www.tourisme-vienne.com/"
    assert client.get("/partenaires/offres/99999999").status_code == 404


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("javascript:alert(1)", "Seules les adresses web commençant par http:// ou https://"),
        ("JAVASCRIPT:alert(1)", "Seules les adresses web commençant par http:// ou https://"),
        ("ftp://files.example/tarifs.pdf", "Seules les adresses web commençant par http://"),
        ("data:text/html,x", "Seules les adresses web commençant par http:// ou https://"),
        ("www.visit-poitiers.fr", "Adresse incomplète : elle doit commencer par https://"),
        ("visit-poitiers.fr/farci", "Adresse incomplète : elle doit commencer par https://"),
        ("//evil.example/", "Adresse incomplète : elle doit commencer par https://"),
        ("https://visit poitiers.fr/", "Adresse web invalide"),
        ("https:///chemin", "Adresse web invalide"),
    ],
)
def test_invalid_urls_are_refused_with_a_clear_message(client, partner, db, url, message):
    farci = offer(db, "Le farci poitevin")
    response = client.post(
        f"/partenaires/offres/{farci.id}",
        data={**offer_form(url=url), "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 422
    html = htmllib.unescape(response.get_data(as_text=True))
    assert message in html
    assert 'aria-invalid="true"' in html
    assert "Erreur : " in html  # the page title says the form failed
    db.session.expire_all()
    assert db.session.get(Offer, farci.id).url == "https://visit-poitiers.fr/"


def test_an_invalid_price_is_refused(client, partner, db):
    farci = offer(db, "Le farci poitevin")
    response = client.post(
        f"/partenaires/offres/{farci.id}",
        data={**offer_form(price="douze euros"), "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 422
    assert "Prix invalide" in response.get_data(as_text=True)


def test_the_url_of_an_offer_opened_directly_cannot_be_emptied(client, partner, db, pilot, app):
    notre_dame = hotspot(db, pilot[1], "Église Notre-Dame-la-Grande")
    with app.app_context():
        db.session.get(Hotspot, notre_dame.id).action = "url"
        db.session.commit()
    place = offer(db, "Église Notre-Dame-la-Grande")
    response = client.post(
        f"/partenaires/offres/{place.id}",
        data={
            **offer_form(title=place.title, url=""),
            "csrf_token": csrf_token(client),
        },
    )
    assert response.status_code == 422
    assert "ne peut pas être vidée" in response.get_data(as_text=True)
    # An offer no zone opens directly may lose its URL.
    farci = offer(db, "Le farci poitevin")
    response = client.post(
        f"/partenaires/offres/{farci.id}",
        data={**offer_form(url=""), "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Offer, farci.id).url is None


# ---------------------------------------------------------------- figures


@pytest.fixture
def activity(app, db, pilot) -> dict[str, int]:
    """Anonymous impressions and clicks on both partners' hotspots; returns hotspot ids."""
    ids = {
        "nd1": hotspot(db, pilot[1], "Église Notre-Dame-la-Grande").id,
        "nd2": hotspot(db, pilot[2], "Église Notre-Dame-la-Grande").id,
        "tourteau": hotspot(db, pilot[3], "Le tourteau fromager").id,
        "chauvigny": hotspot(db, pilot[4], "Cité médiévale de Chauvigny").id,
        "broye": hotspot(db, pilot[1], "Broyé du Poitou").id,
    }
    visit(app, ids["nd1"], impressions=3, clicks=1)
    visit(app, ids["nd2"], impressions=2)
    visit(app, ids["broye"], impressions=5, clicks=4)
    # Episode 4 is not out: only an editor's preview could have put figures here.
    with app.app_context():
        db.session.add(
            HotspotDailyStat(
                hotspot_id=ids["chauvigny"], day=dt.date(2026, 11, 1), impressions=7, clicks=2
            )
        )
        db.session.commit()
    return ids


def test_the_csv_has_the_right_numbers(client, partner, activity):
    rows = read_csv(client.get("/partenaires/statistiques.csv"))
    assert list(rows[0]) == [
        "saison",
        "episode",
        "titre_episode",
        "zone_id",
        "zone",
        "offre",
        "impressions",
        "clics",
        "taux_de_clic_pct",
    ]
    got = [
        (
            r["saison"],
            r["episode"],
            r["zone_id"],
            r["impressions"],
            r["clics"],
            r["taux_de_clic_pct"],
        )
        for r in rows
    ]
    assert got == [
        ("1", "1", str(activity["nd1"]), "3", "1", "33.33"),
        ("1", "2", str(activity["nd2"]), "2", "0", "0.00"),
        ("1", "3", str(activity["tourteau"]), "0", "0", ""),
    ]
    assert rows[0]["zone"] == "La façade de Notre-Dame"
    assert rows[0]["offre"] == "Église Notre-Dame-la-Grande"
    # The other partner's hotspots and the unreleased episode never appear.
    assert str(activity["broye"]) not in {r["zone_id"] for r in rows}
    assert str(activity["chauvigny"]) not in {r["zone_id"] for r in rows}


def test_the_chart_and_its_table_show_the_numbers(client, partner, activity):
    html = client.get("/partenaires").get_data(as_text=True)
    svg = re.search(r"<svg [^>]*>.*?</svg>", html, re.S)
    assert svg is not None
    assert 'role="img"' in svg.group(0)
    assert re.search(r'<title id="chart-title">[^<]+</title>', svg.group(0))
    assert 'aria-labelledby="chart-title chart-desc"' in svg.group(0)
    desc = htmllib.unescape(re.search(r"<desc[^>]*>(.*?)</desc>", svg.group(0), re.S).group(1))
    assert "S1 É1 : impressions 3, clics 1." in desc
    rows = table_rows(html)
    assert rows["La façade de Notre-Dame (Église Notre-Dame-la-Grande)"][:2] == ["3", "1"]
    assert rows["La façade de Notre-Dame (Église Notre-Dame-la-Grande)"][2].startswith("33,3")
    assert rows["Notre-Dame-la-Grande (Église Notre-Dame-la-Grande)"][:2] == ["2", "0"]
    assert rows["Le tourteau fromager (Le tourteau fromager)"] == ["0", "0", "—"]
    episode_one = next(k for k in rows if k.startswith("S1 É1"))
    assert rows[episode_one][:2] == ["3", "1"]
    assert rows["Total"][:2] == ["5", "1"]
    assert rows["Total"][2].startswith("20,0")
    assert "Broyé" not in html
    assert "La cité médiévale" not in html  # episode 4 is not out: no figures
    assert 'href="/partenaires/statistiques.csv"' in html


def test_the_csv_filters_days(client, partner, app, db, pilot):
    nd1 = hotspot(db, pilot[1], "Église Notre-Dame-la-Grande").id
    with app.app_context():
        for day, impressions, clicks in ((1, 10, 1), (2, 20, 2), (3, 40, 4)):
            db.session.add(
                HotspotDailyStat(
                    hotspot_id=nd1,
                    day=dt.date(2026, 10, day),
                    impressions=impressions,
                    clicks=clicks,
                )
            )
        db.session.commit()

    def nd1_row(query: str) -> tuple[str, str]:
        rows = read_csv(client.get(f"/partenaires/statistiques.csv{query}"))
        row = next(r for r in rows if r["zone_id"] == str(nd1))
        return row["impressions"], row["clics"]

    assert nd1_row("") == ("70", "7")
    assert nd1_row("?du=2026-10-02&au=2026-10-02") == ("20", "2")
    assert nd1_row("?du=2026-10-02") == ("60", "6")
    assert nd1_row("?au=2026-10-02") == ("30", "3")
    assert nd1_row("?du=2026-11-01") == ("0", "0")
    response = client.get("/partenaires/statistiques.csv?du=2026-10-02&au=2026-10-02")
    assert "du-2026-10-02-au-2026-10-02" in response.headers["Content-Disposition"]
    assert client.get("/partenaires/statistiques.csv?du=02/10/2026").status_code == 400
    assert (
        client.get("/partenaires/statistiques.csv?du=2026-10-03&au=2026-10-01").status_code == 400
    )
    page = client.get("/partenaires?du=2026-10-02&au=2026-10-02")
    assert page.status_code == 200
    assert table_rows(page.get_data(as_text=True))["Total"][:2] == ["20", "2"]
    assert 'href="/partenaires/statistiques.csv?du=2026-10-02&amp;au=2026-10-02"' in (
        page.get_data(as_text=True)
    )
    bad = client.get("/partenaires?du=demain")
    assert bad.status_code == 422
    assert "Date invalide" in bad.get_data(as_text=True)


def test_admins_pick_any_partner_and_see_unreleased_figures(client, admin, db, activity):
    html = client.get("/partenaires").get_data(as_text=True)
    assert '<select id="partenaire" name="partenaire">' in html
    assert OFFICE in html
    assert htmllib.escape(SAVEURS) in html or SAVEURS in html
    saveurs = partner_id(db, SAVEURS)
    page = client.get(f"/partenaires?partenaire={saveurs}").get_data(as_text=True)
    assert "Broyé du Poitou" in page
    rows = read_csv(client.get(f"/partenaires/statistiques.csv?partenaire={saveurs}"))
    broye = next(r for r in rows if r["zone_id"] == str(activity["broye"]))
    assert (broye["impressions"], broye["clics"], broye["taux_de_clic_pct"]) == ("5", "4", "80.00")
    office = read_csv(
        client.get(f"/partenaires/statistiques.csv?partenaire={partner_id(db, OFFICE)}")
    )
    chauvigny = next(r for r in office if r["zone_id"] == str(activity["chauvigny"]))
    assert (chauvigny["impressions"], chauvigny["clics"]) == ("7", "2")
    # Admins may edit any partner's offer.
    broye_offer = offer(db, "Broyé du Poitou")
    assert client.get(f"/partenaires/offres/{broye_offer.id}").status_code == 200


def test_a_partner_cannot_read_another_partners_figures(client, partner, db, activity):
    saveurs = partner_id(db, SAVEURS)
    rows = read_csv(client.get(f"/partenaires/statistiques.csv?partenaire={saveurs}"))
    assert str(activity["broye"]) not in {r["zone_id"] for r in rows}
    assert "Broyé" not in client.get(f"/partenaires?partenaire={saveurs}").get_data(as_text=True)


def test_a_second_partner_sees_its_own_area(client, auth, make_user, app, db, activity):
    user = make_user(role="partner")
    with app.app_context():
        db.session.add(PartnerMember(partner_id=partner_id(db, SAVEURS), user_id=user.id))
        db.session.commit()
    auth.login(user.email)
    html = client.get("/partenaires").get_data(as_text=True)
    assert "Broyé du Poitou" in html
    assert "Le farci poitevin" not in html
    assert client.get(f"/partenaires/offres/{offer(db, 'Le farci poitevin').id}").status_code == 404
    rows = read_csv(client.get("/partenaires/statistiques.csv"))
    assert {r["zone_id"] for r in rows} >= {str(activity["broye"])}
    assert str(activity["nd1"]) not in {r["zone_id"] for r in rows}


def test_spreadsheet_formulas_are_neutralised_in_the_csv(client, partner, app, db, pilot):
    with app.app_context():
        found = db.session.get(Hotspot, hotspot(db, pilot[1], "Église Notre-Dame-la-Grande").id)
        found.label = '=HYPERLINK("https://evil.example")'
        db.session.commit()
    rows = read_csv(client.get("/partenaires/statistiques.csv"))
    assert rows[0]["zone"] == '\'=HYPERLINK("https://evil.example")'
