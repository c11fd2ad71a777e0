"""Demo filming locations: real places across the 12 départements (coordinates WGS84, from the
issue's verified list), linked to the pilot's episodes where it fits."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from passport.models import FilmingLocation, LocationEpisode
from passport.services import new_code_secret
from series.models import Episode, Season

#: slug, name, lat, lon, radius (m), département, remembrance, pilot episode, text
PLACES: list[tuple[str, str, float, float, int, str, bool, int | None, str]] = [
    (
        "futuroscope",
        "Futuroscope",
        46.6692,
        0.3689,
        400,
        "86",
        False,
        1,
        "Le parc où tout commence : la scène du Kinémax et la poursuite dans les allées.",
    ),
    (
        "limoges-benedictins",
        "Gare de Limoges-Bénédictins",
        45.8361,
        1.2675,
        150,
        "87",
        False,
        None,
        "Le beffroi de la gare, où Margaux attend un témoin qui ne viendra pas.",
    ),
    (
        "oradour-sur-glane",
        "Village martyr d'Oradour-sur-Glane",
        45.9292,
        1.0400,
        300,
        "87",
        True,
        None,
        "Lieu de mémoire du massacre du 10 juin 1944. Visite dans le recueillement.",
    ),
    (
        "corderie-royale",
        "Corderie royale, Rochefort",
        45.9408,
        -0.9558,
        200,
        "17",
        False,
        None,
        "Les quais de l'arsenal et la longue façade de la Corderie.",
    ),
    (
        "rocher-de-la-vierge",
        "Rocher de la Vierge, Biarritz",
        43.4842,
        -1.5703,
        150,
        "64",
        False,
        None,
        "La passerelle Eiffel et l'océan, pour une filature sous les embruns.",
    ),
    (
        "lascaux",
        "Lascaux",
        45.0536,
        1.1700,
        300,
        "24",
        False,
        None,
        "Le centre international de l'art pariétal, à Montignac.",
    ),
    (
        "collonges-la-rouge",
        "Collonges-la-Rouge",
        45.0611,
        1.6550,
        250,
        "19",
        False,
        None,
        "Le village de grès rouge, ses tours et sa halle.",
    ),
    (
        "pont-canal-agen",
        "Pont-canal d'Agen",
        44.2078,
        0.6053,
        150,
        "47",
        False,
        None,
        "Le canal de Garonne enjambe la Garonne sur 539 mètres.",
    ),
    (
        "aubusson",
        "Aubusson",
        45.9569,
        2.1683,
        400,
        "23",
        False,
        None,
        "La cité de la tapisserie, au bord de la Creuse.",
    ),
    (
        "coulon",
        "Coulon, Marais poitevin",
        46.3242,
        -0.5839,
        300,
        "79",
        False,
        3,
        "L'embarcadère de la Venise verte, d'où partent les plates.",
    ),
    (
        "lac-hossegor",
        "Lac d'Hossegor",
        43.6708,
        -1.4289,
        400,
        "40",
        False,
        None,
        "Le lac marin et ses villas basco-landaises.",
    ),
    (
        "place-de-la-bourse",
        "Place de la Bourse, Bordeaux",
        44.8413,
        -0.5695,
        150,
        "33",
        False,
        None,
        "Le miroir d'eau, où l'inspectrice bordelaise a ses habitudes.",
    ),
    (
        "cognac",
        "Cognac",
        45.6958,
        -0.3292,
        400,
        "16",
        False,
        None,
        "Les quais de la Charente et les chais.",
    ),
]
#: The Dune du Pilat, about 2.7 km long north to south and 500 m wide: an outline around the
#: issue's centre (44.589, -1.214) instead of a radius (approximate, from those two figures).
PILAT = (
    "dune-du-pilat",
    "Dune du Pilat",
    44.589,
    -1.214,
    "33",
    [[44.6011, -1.2140], [44.6011, -1.2100], [44.5769, -1.2140], [44.5769, -1.2180]],
    "La plus haute dune d'Europe, face au banc d'Arguin.",
)


def seed_locations(session: Session) -> list[str]:
    """Create the demo locations that are missing (idempotent)."""
    created: list[str] = []
    have = set(session.scalars(sa.select(FilmingLocation.slug)))
    pilot = {
        e.number: e.id
        for e in session.scalars(sa.select(Episode).join(Season).where(Season.number == 1))
    }
    for slug, name, lat, lon, radius, dep, remembrance, episode, text in PLACES:
        if slug in have:
            continue
        place = FilmingLocation(
            slug=slug,
            name=name,
            lat=lat,
            lon=lon,
            radius_m=radius,
            departement_code=dep,
            remembrance=remembrance,
            text=text,
            code_secret=new_code_secret(),
        )
        if episode and episode in pilot:
            place.episodes = [LocationEpisode(episode_id=pilot[episode])]
        session.add(place)
        created.append(f"location {slug}")
    slug, name, lat, lon, dep, outline, text = PILAT
    if slug not in have:
        session.add(
            FilmingLocation(
                slug=slug,
                name=name,
                lat=lat,
                lon=lon,
                radius_m=150,
                polygon=outline,
                departement_code=dep,
                text=text,
                code_secret=new_code_secret(),
            )
        )
        created.append(f"location {slug}")
    session.flush()
    return created
