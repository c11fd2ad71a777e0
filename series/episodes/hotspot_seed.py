"""Demo partners, offers (real products, recipes and places of the Vienne) and hotspots."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.accounts.models import User
from series.episodes.hotspot_kinds import public_kinds
from series.episodes.hotspot_models import Hotspot, Offer, Partner, PartnerMember
from series.models import Episode, Season

PARTNERS = [
    ("Office de tourisme Grand Poitiers", "office_de_tourisme", "https://visit-poitiers.fr/"),
    ("Saveurs du Poitou (épicerie fine)", "entreprise", "https://www.tourisme-vienne.com/"),
]

#: (partner index, kind, title, text, merchant, price in cents, url, address, opening hours)
OFFERS = [
    (
        1,
        "product",
        "Chabichou du Poitou AOP",
        "Petit fromage de chèvre en forme de bonde, AOP depuis 1990.",
        "Saveurs du Poitou",
        450,
        "https://www.tourisme-vienne.com/",
        "Marché Notre-Dame, Poitiers",
        "mardi–samedi 8 h–13 h",
    ),
    (
        1,
        "product",
        "Broyé du Poitou",
        "La grande galette au beurre qu'on casse d'un coup de poing au milieu de la table.",
        "Saveurs du Poitou",
        690,
        "https://www.tourisme-vienne.com/",
        "",
        "",
    ),
    (
        1,
        "product",
        "Macarons de Montmorillon",
        "Macarons aux amandes de la Cité de l'écrit, recette du XIXe siècle.",
        "Saveurs du Poitou",
        820,
        "https://www.tourisme-vienne.com/",
        "Montmorillon",
        "",
    ),
    (
        0,
        "recipe",
        "Le farci poitevin",
        "Chou, oseille, blettes et lard, cuits dans un filet : la recette des dimanches.",
        "Office de tourisme Grand Poitiers",
        None,
        "https://visit-poitiers.fr/",
        "",
        "",
    ),
    (
        0,
        "recipe",
        "Le tourteau fromager",
        "Le gâteau au fromage de chèvre à la croûte noire, spécialité du Poitou.",
        "Office de tourisme Grand Poitiers",
        None,
        "https://visit-poitiers.fr/",
        "",
        "",
    ),
    (
        0,
        "place",
        "Église Notre-Dame-la-Grande",
        "Façade romane sculptée du XIIe siècle, mise en couleurs les soirs d'été.",
        "Office de tourisme Grand Poitiers",
        None,
        "https://visit-poitiers.fr/",
        "Place Charles-de-Gaulle, 86000 Poitiers",
        "tous les jours 9 h–19 h",
    ),
    (
        0,
        "place",
        "Cité médiévale de Chauvigny",
        "Cinq châteaux sur un éperon au-dessus de la Vienne, et un spectacle de rapaces.",
        "Office de tourisme Grand Poitiers",
        None,
        "https://visit-poitiers.fr/",
        "Ville haute, 86300 Chauvigny",
        "avril–octobre",
    ),
    (
        0,
        "place",
        "Abbaye de Saint-Savin-sur-Gartempe",
        "Les peintures murales romanes de la voûte, inscrites au patrimoine mondial de l'UNESCO.",
        "Office de tourisme Grand Poitiers",
        None,
        "https://visit-poitiers.fr/",
        "Place de la Libération, 86310 Saint-Savin",
        "février–décembre",
    ),
]

#: Per pilot episode: (kind, offer title, start, end, keyframes, label, pause_on_show)
EPISODE_HOTSPOTS: dict[int, list[tuple[str, str, float, float, list[dict[str, float]], str]]] = {
    1: [
        (
            "product",
            "Broyé du Poitou",
            2.0,
            8.0,
            [
                {"t": 2.0, "x": 10, "y": 55, "w": 18, "h": 20},
                {"t": 8.0, "x": 30, "y": 50, "w": 18, "h": 20},
            ],
            "Le broyé sur la table",
        ),
        (
            "place",
            "Église Notre-Dame-la-Grande",
            10.0,
            16.0,
            [{"t": 10.0, "x": 60, "y": 15, "w": 30, "h": 40}],
            "La façade de Notre-Dame",
        ),
    ],
    2: [
        (
            "product",
            "Chabichou du Poitou AOP",
            3.0,
            9.0,
            [
                {"t": 3.0, "x": 20, "y": 60, "w": 15, "h": 15},
                {"t": 9.0, "x": 40, "y": 55, "w": 15, "h": 15},
            ],
            "Le chabichou du marché",
        ),
        (
            "place",
            "Église Notre-Dame-la-Grande",
            12.0,
            20.0,
            [{"t": 12.0, "x": 55, "y": 10, "w": 35, "h": 45}],
            "Notre-Dame-la-Grande",
        ),
    ],
    3: [
        (
            "product",
            "Macarons de Montmorillon",
            2.0,
            7.0,
            [{"t": 2.0, "x": 65, "y": 60, "w": 15, "h": 15}],
            "Les macarons de Montmorillon",
        ),
        (
            "recipe",
            "Le tourteau fromager",
            9.0,
            15.0,
            [{"t": 9.0, "x": 15, "y": 40, "w": 25, "h": 25}],
            "Le tourteau fromager",
        ),
    ],
    4: [
        (
            "place",
            "Cité médiévale de Chauvigny",
            4.0,
            12.0,
            [
                {"t": 4.0, "x": 10, "y": 10, "w": 40, "h": 35},
                {"t": 12.0, "x": 25, "y": 10, "w": 40, "h": 35},
            ],
            "La cité médiévale",
        ),
        (
            "recipe",
            "Le farci poitevin",
            14.0,
            20.0,
            [{"t": 14.0, "x": 50, "y": 50, "w": 20, "h": 20}],
            "Le farci poitevin",
        ),
    ],
    5: [
        (
            "place",
            "Abbaye de Saint-Savin-sur-Gartempe",
            3.0,
            12.0,
            [{"t": 3.0, "x": 20, "y": 5, "w": 60, "h": 35}],
            "La voûte peinte de Saint-Savin",
        ),
    ],
    6: [
        (
            "product",
            "Broyé du Poitou",
            5.0,
            11.0,
            [{"t": 5.0, "x": 40, "y": 60, "w": 18, "h": 20}],
            "Un dernier broyé",
        ),
    ],
}


def seed_offers_and_hotspots(session: Session) -> list[str]:
    """Partners, their offers and the pilot's public hotspots, when missing."""
    created: list[str] = []
    partners = []
    for name, kind, website in PARTNERS:
        partner = session.scalar(sa.select(Partner).where(Partner.name == name))
        if partner is None:
            partner = Partner(name=name, kind=kind, website=website)
            session.add(partner)
            created.append(f"partner {name}")
        partners.append(partner)
    session.flush()
    member = session.scalar(sa.select(User).where(User.email == "partenaire@experts.example"))
    if (
        member is not None
        and session.scalar(sa.select(PartnerMember).where(PartnerMember.user_id == member.id))
        is None
    ):
        session.add(PartnerMember(partner_id=partners[0].id, user_id=member.id))
    offers: dict[str, Offer] = {}
    for index, kind, title, text, merchant, price, url, address, hours in OFFERS:
        offer = session.scalar(sa.select(Offer).where(Offer.title == title))
        if offer is None:
            offer = Offer(
                partner_id=partners[index].id,
                kind=kind,
                title=title,
                text=text,
                merchant=merchant,
                price_cents=price,
                url=url,
                address=address,
                opening_hours=hours,
            )
            session.add(offer)
            created.append(f"offer {title}")
        offers[title] = offer
    session.flush()
    pilot = session.scalars(
        sa.select(Episode).join(Season).where(Season.number == 1).order_by(Episode.number)
    ).all()
    for episode in pilot:
        if session.scalar(
            sa.select(Hotspot.id)
            .where(Hotspot.episode_id == episode.id, Hotspot.kind.in_(public_kinds()))
            .limit(1)
        ):
            continue
        for kind, offer_title, start, end, keyframes, label in EPISODE_HOTSPOTS[episode.number]:
            session.add(
                Hotspot(
                    episode_id=episode.id,
                    kind=kind,
                    start_s=start,
                    end_s=end,
                    keyframes=keyframes,
                    label=label,
                    accessible_label=label,
                    action="card",
                    offer_id=offers[offer_title].id,
                )
            )
        created.append(f"hotspots 1x{episode.number}")
    session.flush()
    return created
