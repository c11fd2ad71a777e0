"""Demo tips around the pilot's filming locations (Futuroscope, Coulon) and a few elsewhere, by
the demo resident (an ambassador) and a new member whose tip waits for review."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from community import geo, words
from community.models import CommunityMember, Tip, TipCategory, TipStatus
from core.accounts.models import User
from passport.models import FilmingLocation

#: title, category, lat, lon, place, commune, département, filming location slug, text
TIPS: list[tuple[str, TipCategory, float, float, str, str, str, str | None, str]] = [
    (
        "Le marché de Notre-Dame, le samedi matin",
        TipCategory.PRODUIT_LOCAL,
        46.5838,
        0.3458,
        "Place Charles-de-Gaulle",
        "Poitiers",
        "86",
        "futuroscope",
        "Au pied de **Notre-Dame-la-Grande** : fromages de chèvre du Poitou, *broyé* et "
        "légumes des maraîchers du Clain. Venez avant 10 h, ensuite c'est la foule.",
    ),
    (
        "Les bords du Clain à vélo jusqu'au Futuroscope",
        TipCategory.NATURE,
        46.6506,
        0.3720,
        "Voie verte du Clain",
        "Chasseneuil-du-Poitou",
        "86",
        "futuroscope",
        "Une voie verte plate et ombragée relie Poitiers au parc : 12 km sans voiture.\n\n"
        "- location de vélos en gare de Poitiers\n- pique-nique au bord de l'eau",
    ),
    (
        "Balade en barque dans la Venise verte",
        TipCategory.VISITE,
        46.3230,
        -0.5860,
        "Embarcadère du quai Louis-Tardy",
        "Coulon",
        "79",
        "coulon",
        "Prenez une barque *avec batelier* : il raconte le marais, les conches et les "
        "frênes têtards mieux que n'importe quel guide. Une heure suffit.",
    ),
    (
        "Mogettes et jambon au bord de la Sèvre",
        TipCategory.RESTAURANT,
        46.3236,
        -0.5848,
        "Quai Louis-Tardy",
        "Coulon",
        "79",
        "coulon",
        "Le plat du marais : mogettes (haricots blancs) au beurre et jambon de pays, "
        "servis en terrasse face aux barques. Réservez le dimanche.",
    ),
    (
        "L'angélique confite de Niort",
        TipCategory.PRODUIT_LOCAL,
        46.3237,
        -0.4588,
        "Halles de Niort",
        "Niort",
        "79",
        None,
        "La spécialité verte du marais poitevin, confite ou en liqueur. Aux halles, "
        "les producteurs la font goûter.",
    ),
    (
        "Le miroir d'eau tôt le matin",
        TipCategory.VISITE,
        44.8417,
        -0.5697,
        "Place de la Bourse",
        "Bordeaux",
        "33",
        "place-de-la-bourse",
        "Avant 8 h, sans personne : la Bourse se reflète entière. Parfait pour la photo "
        "de la scène de l'épisode.",
    ),
    (
        "Le marché des Capucins, « le ventre de Bordeaux »",
        TipCategory.PRODUIT_LOCAL,
        44.8296,
        -0.5660,
        "Place des Capucins",
        "Bordeaux",
        "33",
        None,
        "Huîtres du bassin et vin blanc au comptoir le samedi matin, canelés à emporter.",
    ),
    (
        "La plage du Port-Vieux en famille",
        TipCategory.NATURE,
        43.4830,
        -1.5660,
        "Plage du Port-Vieux",
        "Biarritz",
        "64",
        "rocher-de-la-vierge",
        "Petite crique abritée des vagues, à deux pas du Rocher de la Vierge : la seule "
        "plage de Biarritz où les enfants nagent tranquilles.",
    ),
    (
        "Le quartier de la Boucherie",
        TipCategory.VISITE,
        45.8297,
        1.2580,
        "Rue de la Boucherie",
        "Limoges",
        "87",
        "limoges-benedictins",
        "Maisons à colombages et chapelle Saint-Aurélien, patron des bouchers. "
        "À dix minutes à pied de la gare des Bénédictins.",
    ),
    (
        "Les châteaux de la vallée de la Dordogne en canoë",
        TipCategory.SORTIE,
        44.8247,
        1.1830,
        "La Roque-Gageac",
        "La Roque-Gageac",
        "24",
        None,
        "Descendre la Dordogne en canoë de Cénac à Beynac : Castelnaud, Marqueyssac et "
        "Beynac défilent depuis l'eau.",
    ),
]

#: An event in three weeks, a tip not confirmed for more than a year.
EVENT = (
    "Fête de la mogette",
    TipCategory.EVENEMENT,
    46.3242,
    -0.5839,
    "Place de l'Église",
    "Coulon",
    "79",
    "coulon",
    "Dégustation, concours de cuisine et bal le samedi soir.",
)
STALE = (
    "Crêperie du port (à vérifier)",
    TipCategory.RESTAURANT,
    45.9396,
    -0.9616,
    "Port de plaisance",
    "Rochefort",
    "17",
    "corderie-royale",
    "Une crêperie sur le port de plaisance, face à la Corderie royale.",
)
PENDING = (
    "Un parking gratuit près du Futuroscope",
    TipCategory.PRATIQUE,
    46.6640,
    0.3650,
    "Parking relais",
    "Chasseneuil-du-Poitou",
    "86",
    "futuroscope",
    "Garez-vous au parking relais et prenez la navette : gratuit et sans bouchon.",
)


def _tip(
    row: tuple[str, TipCategory, float, float, str, str, str, str | None, str],
    author: User,
    places: dict[str, int],
    at: dt.datetime,
    status: TipStatus = TipStatus.PUBLISHED,
) -> Tip:
    title, category, lat, lon, place, commune, dep, slug, body = row
    return Tip(
        author_id=author.id,
        title=title,
        body=body,
        category=category,
        status=status,
        lat=lat,
        lon=lon,
        cell=geo.cell_of(lat, lon),
        place_label=place,
        commune=commune,
        departement_code=dep,
        location_id=places.get(slug) if slug else None,
        search_text=words.search_text(title, body, commune, place),
        created_at=at,
        updated_at=at,
        confirmed_at=at,
        published_at=at if status == TipStatus.PUBLISHED else None,
    )


def seed_tips(session: Session, now: dt.datetime) -> list[str]:
    """Create the demo tips once (idempotent: nothing when tips exist)."""
    if session.scalar(sa.select(sa.func.count()).select_from(Tip)):
        return []
    users = {u.email: u for u in session.scalars(sa.select(User))}
    resident = users.get("habitante@experts.example")
    newcomer = users.get("hugo@experts.example")
    if resident is None or newcomer is None:
        return []
    rows = session.execute(sa.select(FilmingLocation.slug, FilmingLocation.id))
    places: dict[str, int] = {slug: location_id for slug, location_id in rows}  # noqa: C416
    session.add(
        CommunityMember(
            user_id=resident.id,
            trust_level=2,
            tips_read=60,
            days_visited=12,
            approved_posts=len(TIPS),
            badge="ambassador",
        )
    )
    for number, row in enumerate(TIPS):
        session.add(_tip(row, resident, places, now - dt.timedelta(days=3 * number + 1)))
    event = _tip(EVENT, resident, places, now - dt.timedelta(days=2))
    event.starts_on = (now + dt.timedelta(days=21)).date()
    event.ends_on = (now + dt.timedelta(days=22)).date()
    session.add(event)
    session.add(_tip(STALE, resident, places, now - dt.timedelta(days=420)))
    session.add(_tip(PENDING, newcomer, places, now - dt.timedelta(hours=5), TipStatus.PENDING))
    session.flush()
    return [f"tip {row[0]}" for row in (*TIPS, EVENT, STALE, PENDING)]
