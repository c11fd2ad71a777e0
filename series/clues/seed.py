"""Demo clue game of the pilot: clues and scene regions in every episode, and the whodunit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from series.clues import accusation
from series.episodes.hotspot_kinds import ClueKind
from series.episodes.hotspot_models import Hotspot
from series.models import Episode, Season


def _box(t: float, x: float, y: float, w: float = 12, h: float = 14) -> dict[str, float]:
    return {"t": t, "x": x, "y": y, "w": w, "h": h}


#: Per pilot episode (the demo clips last 24 s): clues (neutral label, title, text, points,
#: start, end, keyframes) and scene regions with nothing to find (label, start, end, box).
CLUES: dict[int, list[tuple[str, str, str, int, float, float, list[dict[str, float]]]]] = {
    1: [
        (
            "Le sol près du fauteuil",
            "Un ticket de la nocturne",
            "Daté de la veille, tamponné « Nocturne » : l'ingénieur n'avait rien à faire au "
            "parc ce soir-là.",
            100,
            4.0,
            12.0,
            [_box(4.0, 70, 64), _box(12.0, 76, 66)],
        ),
        (
            "L'étagère du fond",
            "Une clé USB sans étiquette",
            "Elle contient les plans d'une attraction qui n'existe pas encore.",
            150,
            15.0,
            22.0,
            [_box(15.0, 18, 18)],
        ),
    ],
    2: [
        (
            "L'étal du fromager",
            "Un reçu du marché",
            "Deux chabichous et un broyé, payés en liquide à 7 h 02 : trop tôt pour un touriste.",
            100,
            5.0,
            11.0,
            [_box(5.0, 62, 58), _box(11.0, 66, 60)],
        ),
        (
            "Le portail de l'église",
            "Une carte postale de Notre-Dame",
            "Au dos, une seule phrase : « Sous la façade, tout est écrit ».",
            100,
            14.0,
            21.0,
            [_box(14.0, 30, 12)],
        ),
    ],
    3: [
        (
            "La pile de livres",
            "Un livre annoté",
            "Un ex-libris au nom d'un ancien technicien du parc, souligné deux fois.",
            120,
            3.0,
            10.0,
            [_box(3.0, 12, 60)],
        ),
        (
            "La vitrine",
            "Une photo déchirée",
            "La moitié d'une équipe d'attraction, en 1997. L'autre moitié manque.",
            100,
            12.0,
            20.0,
            [_box(12.0, 72, 20), _box(20.0, 70, 26)],
        ),
    ],
    4: [
        (
            "Le perchoir",
            "Une plume de faucon teinte",
            "Teinte en bleu : la couleur des badges du personnel technique.",
            100,
            6.0,
            14.0,
            [_box(6.0, 75, 10)],
        ),
        (
            "Le chemin de ronde",
            "Un badge magnétique",
            "Badge d'accès aux coulisses, désactivé… la veille du malaise.",
            150,
            16.0,
            23.0,
            [_box(16.0, 40, 70)],
        ),
    ],
    5: [
        (
            "Le pupitre du chœur",
            "Une partition raturée",
            "Les notes forment un code : celui d'un casier du parc.",
            120,
            4.0,
            12.0,
            [_box(4.0, 55, 62)],
        ),
        (
            "Le bas de la fresque",
            "Une empreinte de chaussure",
            "Des chaussures de sécurité, pointure 44, avec de la poussière de projecteur.",
            100,
            14.0,
            22.0,
            [_box(14.0, 20, 75)],
        ),
    ],
    6: [
        (
            "Le boîtier électrique",
            "Un disjoncteur forcé",
            "Coupé à la main : le courant n'a pas sauté tout seul.",
            150,
            3.0,
            11.0,
            [_box(3.0, 80, 40)],
        ),
        (
            "Le bord du lac",
            "Un gant de travail",
            "Brodé des initiales K. H.",
            200,
            13.0,
            21.0,
            [_box(13.0, 10, 55)],
        ),
    ],
}

#: Scene regions of every pilot episode: parts of the decor with nothing to find.
SCENES: list[tuple[str, float, float, dict[str, float]]] = [
    ("Le visage de Margaux", 0.0, 24.0, _box(0.0, 40, 15, 14, 20)),
    ("Les mains de Julien", 0.0, 24.0, _box(0.0, 45, 55, 12, 14)),
    ("La porte", 0.0, 24.0, _box(0.0, 2, 20, 10, 45)),
]

SUSPECTS = [
    ("nadia", "Nadia Belkacem, la médiatrice scientifique"),
    ("louis", "Louis Garnier, le guide-conférencier"),
    ("solene", "Solène Prieur, la libraire"),
    ("thierry", "Thierry Vasseur, le fauconnier"),
    ("karim", "Karim Haddad, le technicien d'attractions"),
]
MOTIVES = [
    ("jalousie", "La jalousie"),
    ("heritage", "Un héritage"),
    ("secret", "Un secret industriel"),
    ("vengeance", "Une vieille vengeance"),
    ("assurance", "L'argent d'une assurance"),
]
PLACES = [
    ("salle-4d", "La salle de projection dynamique"),
    ("marche", "Le marché Notre-Dame"),
    ("cite-ecrit", "La Cité de l'écrit"),
    ("donjon", "Le donjon de Chauvigny"),
    ("abbaye", "L'abbaye de Saint-Savin"),
]
SOLUTION = {"suspect": "karim", "motive": "secret", "place": "salle-4d"}


def _options(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"key": key, "label": label} for key, label in pairs]


def seed_clue_game(session: Session, now: dt.datetime) -> list[str]:
    """The pilot's clues, scene regions and investigation, where missing."""
    created: list[str] = []
    pilot = session.scalar(sa.select(Season).where(Season.number == 1))
    if pilot is None:
        return created
    episodes: list[Episode] = list(pilot.episodes)
    for episode in episodes:
        has_clue = session.scalar(
            sa.select(Hotspot.id)
            .where(Hotspot.episode_id == episode.id, Hotspot.kind == ClueKind.name)
            .limit(1)
        )
        if has_clue:
            continue
        for label, title, text, points, start, end, frames in CLUES[episode.number]:
            session.add(
                Hotspot(
                    episode_id=episode.id,
                    kind=ClueKind.name,
                    start_s=start,
                    end_s=end,
                    keyframes=frames,
                    label=label,
                    accessible_label=label,
                    action="card",
                    data={"title": title, "text": text, "points": points},
                )
            )
        for label, start, end, box in SCENES:
            session.add(
                Hotspot(
                    episode_id=episode.id,
                    kind="scene",
                    start_s=start,
                    end_s=end,
                    keyframes=[box],
                    label=label,
                    accessible_label=label,
                    action="card",
                    data={},
                )
            )
        created.append(f"clues 1x{episode.number}")
    session.flush()
    if accusation.investigation_of(session, pilot) is None:
        accusation.set_up(
            session,
            pilot,
            {
                "suspects": _options(SUSPECTS),
                "motives": _options(MOTIVES),
                "places": _options(PLACES),
            },
            SOLUTION,
            now,
        )
        created.append("pilot investigation")
    return created
