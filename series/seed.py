"""Demo content of the catalogue: the 12 seasons and the pilot's six episodes."""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from series import services
from series.models import Episode, Extra, GuestStar, Season

logger = logging.getLogger(__name__)

#: number -> (département code, working title). Season 1 is the pilot.
SEASONS: list[tuple[int, str, str]] = [
    (1, "86", "Meurtre au Futuroscope"),
    (2, "79", "Brouillard sur le Marais poitevin"),
    (3, "17", "Coup de tabac à Rochefort"),
    (4, "16", "Double fond à Cognac"),
    (5, "87", "Porcelaine brisée"),
    (6, "23", "La Tapisserie disparue"),
    (7, "19", "Rouge Collonges"),
    (8, "24", "Le Secret de la grotte"),
    (9, "47", "Pruneaux et faux-semblants"),
    (10, "33", "Sable trouble au Pilat"),
    (11, "40", "Vague à l'âme à Hossegor"),
    (12, "64", "Dernière marée à Biarritz"),
]

PILOT_SYNOPSIS = (
    "Un ingénieur du parc est retrouvé inanimé dans une salle de projection dynamique. "
    "Margaux Lacoste, capitaine bordelaise, et Julien Ferrand, ancien Parisien installé à "
    "Chauvigny, remontent la piste à travers la Vienne."
)

#: The pilot's episodes: (title, synopsis, guest name, guest's real-life role, words).
PILOT_EPISODES: list[tuple[str, str, str, str, str]] = [
    (
        "Arrivée en 4D",
        "Un malaise en pleine séance : Margaux débarque au Futuroscope, Julien connaît déjà "
        "tout le monde.",
        "Nadia Belkacem",
        "médiatrice scientifique à Chasseneuil-du-Poitou",
        "Ici on vient pour le parc, on reste pour la vallée du Clain.",
    ),
    (
        "Panique à Poitiers",
        "Une piste mène au marché Notre-Dame et à une façade romane trop bien connue.",
        "Louis Garnier",
        "guide-conférencier à Poitiers",
        "Levez les yeux devant Notre-Dame-la-Grande : toute la ville est là.",
    ),
    (
        "La Cité de l'écrit",
        "À Montmorillon, un vieux livre annoté cache un nom.",
        "Solène Prieur",
        "libraire à Montmorillon",
        "Venez un jour de foire aux livres, prenez le temps de vous perdre.",
    ),
    (
        "Le Donjon de Chauvigny",
        "Julien joue à domicile : les rapaces de la cité médiévale ont vu quelque chose.",
        "Thierry Vasseur",
        "fauconnier à Chauvigny",
        "Le spectacle de rapaces, c'est au pied des cinq châteaux.",
    ),
    (
        "Fausse note à Saint-Savin",
        "Sous les fresques de l'abbaye, un témoin change sa version.",
        "Agathe Roux",
        "cheffe de chœur à Saint-Savin",
        "La voûte peinte la plus célèbre de France, et elle est chez nous.",
    ),
    (
        "Dernière séance",
        "Retour au parc pour la confrontation finale. Qui a coupé le courant ?",
        "Karim Haddad",
        "technicien d'attractions à Jaunay-Marigny",
        "Le soir, le spectacle nocturne sur le lac vaut le détour.",
    ),
]


def seed_catalogue(session: Session, now: dt.datetime) -> list[str]:
    """Create what is missing; never changes what exists (running twice changes nothing)."""
    created: list[str] = []
    existing = {s.number: s for s in session.scalars(sa.select(Season))}
    for number, code, title in SEASONS:
        if number not in existing:
            season = Season(number=number, departement_code=code, title=title)
            session.add(season)
            existing[number] = season
            created.append(f"season {number}")
    session.flush()
    pilot = existing[1]
    if not pilot.synopsis:
        pilot.synopsis = PILOT_SYNOPSIS
    have = {e.number for e in pilot.episodes}
    for index, (title, synopsis, guest, role, words) in enumerate(PILOT_EPISODES, start=1):
        if index in have:
            continue
        episode = Episode(season=pilot, number=index, title=title, synopsis=synopsis)
        episode.guest_stars.append(
            GuestStar(name=guest, real_life_role=role, ambassador_text=words)
        )
        session.add(episode)
        created.append(f"episode 1x{index}")
    session.flush()
    if pilot.premiere_at is None:
        # Three episodes out, three to come: the demo shows both states.
        local = (now - dt.timedelta(weeks=2, days=1)).astimezone(services.RELEASE_TIMEZONE)
        premiere = local.replace(hour=18, minute=0, second=0, microsecond=0)
        services.schedule_season(pilot, premiere)
        pilot.episodes[-1].title_secret = True
        created.append("pilot schedule")
    if session.scalar(sa.select(Extra.id).where(Extra.season_id == pilot.id).limit(1)) is None:
        first, second = pilot.episodes[0], pilot.episodes[1]
        session.add_all(
            [
                Extra(
                    season=pilot,
                    kind="betisier",
                    title="Bêtisier : la 4D a gagné",
                    description="Julien contre le fauteuil dynamique, douze prises.",
                    publish_at=first.publish_at,
                ),
                Extra(
                    season=pilot,
                    episode=second,
                    kind="coulisses",
                    title="Coulisses : tourner au marché Notre-Dame",
                    description="Une matinée de tournage entre les étals, caméra à l'épaule.",
                    publish_at=second.publish_at,
                ),
                Extra(
                    season=pilot,
                    episode=pilot.episodes[-1],
                    kind="coulisses",
                    title="Coulisses du final",
                    description="Secret jusqu'à la sortie.",
                    publish_at=pilot.episodes[-1].publish_at,
                ),
            ]
        )
        created.append("pilot extras")
    return created
