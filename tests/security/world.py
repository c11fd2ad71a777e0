"""The world the authorisation matrix runs in: the seeded demo, one account per kind of caller
(tests/security/policy.py's ACTORS, each with a session and an API token), and the resources
the policy's parameters name, made where the demo has none (an episode's media files, a tip
under review, a held stamp, a claimed reward code…)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from community import geo
from community.models import Tip, TipCategory, TipPhoto, TipStatus
from community.services import PHOTO_FOLDER
from core.accounts.models import ApiToken
from core.clock import now
from passport.models import FilmingLocation, Passport, Stamp, StampMethod, StampStatus
from passport.reward_models import Reward, RewardClaim
from series.clues import notebook, players
from series.clues.models import ClueFind
from series.episodes import uploads
from series.episodes.hotspot_models import Hotspot, Offer, Partner, PartnerMember
from series.episodes.hotspot_seed import PARTNERS
from series.episodes.models import EpisodeMedia, IngestJob, IngestState, Track, TrackKind
from series.episodes.services import media_root
from series.models import Episode
from series.votes import services as polls
from series.votes.models import CastingCall, EndingMedia, Poll, PollScope
from series.votes.seed import ENDING_QUESTION, SITE_QUESTION
from tests.conftest import AuthActions, csrf_token
from tests.security.policy import (
    ACTORS,
    ANONYMOUS,
    EDITOR,
    OTHER_PARTNER,
    PARTNER,
    RESIDENT,
    VIEWER,
)
from tests.security.policy import ROLES as ACTOR_ROLES

#: A JPEG's first bytes: enough for files that are served, never decoded.
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 60
REWARD_CODE = "EXP-2345-6789"


@dataclass(frozen=True)
class Actor:
    """A kind of caller: its session cookie (with a CSRF token in it) and its API token."""

    name: str
    session_cookie: str
    csrf_token: str
    api_token: str | None


@dataclass
class World:
    actors: dict[str, Actor]
    #: Resources by the names of the policy's REFs.
    resources: dict[str, Any]
    #: Puts back what a request may delete outside the database (the upload's files).
    repair: Callable[[], None]


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _media(session: Any, episode: Episode) -> tuple[EpisodeMedia, Track]:
    """Media rows and a poster file for an episode, and a subtitles track."""
    media = EpisodeMedia(
        episode_id=episode.id,
        directory=f"episodes/{episode.id}/matrix{episode.id}",
        duration_s=30.0,
        width=640,
        height=360,
        has_audio=False,
        renditions=[],
        mp4_name="360p",
    )
    track = Track(
        episode_id=episode.id,
        kind=TrackKind.SUBTITLES,
        lang="fr",
        label="Français",
        content="WEBVTT\n\n00:00.000 --> 00:01.000\nBonjour\n",
    )
    session.add_all([media, track])
    session.flush()
    _write(media_root() / media.directory / "poster.jpg", JPEG)
    return media, track


def _hotspot_with_link(session: Any, episode_ids: list[int]) -> int:
    """A public hotspot whose offer has a web address (/go redirects there)."""
    found = session.scalar(
        sa.select(Hotspot.id)
        .join(Offer, Hotspot.offer_id == Offer.id)
        .where(Hotspot.episode_id.in_(episode_ids), Offer.url.is_not(None))
        .order_by(Hotspot.id)
        .limit(1)
    )
    assert found is not None
    return int(found)


def _pending_tip(session: Any, author_id: int) -> Tip:
    lat, lon = 46.3230, -0.5860
    tip = Tip(
        author_id=author_id,
        title="Le lavoir de Coulon",
        body="Un lavoir de pierre au bord de la Sèvre.",
        category=TipCategory.VISITE,
        status=TipStatus.PENDING,
        lat=lat,
        lon=lon,
        cell=geo.cell_of(lat, lon),
        commune="Coulon",
        departement_code="79",
    )
    session.add(tip)
    session.flush()
    return tip


def _photo(session: Any, tip: Tip) -> str:
    """A photo of the tip (rows and files); its file name."""
    name = f"matrix-{tip.id}.jpg"
    session.add(
        TipPhoto(
            tip_id=tip.id,
            path=name,
            thumb_path=f"matrix-{tip.id}-t.jpg",
            content_type="image/jpeg",
            width=1,
            height=1,
        )
    )
    _write(media_root() / PHOTO_FOLDER / str(tip.id) / name, JPEG)
    return name


def _partner(session: Any, name: str) -> Partner:
    partner = session.scalar(sa.select(Partner).where(Partner.name == name))
    assert partner is not None
    return partner


def make_resources(session: Any, users: dict[str, Any], pilot: dict[int, int]) -> dict[str, Any]:
    """What the policy's parameters name, from the demo or made here (flushes)."""
    released = session.get(Episode, pilot[2])
    unreleased = session.get(Episode, pilot[5])
    assert released is not None
    assert unreleased is not None
    assert released.is_released(now())
    assert not unreleased.is_released(now())
    released_media, released_track = _media(session, released)
    unreleased_media, unreleased_track = _media(session, unreleased)
    resident = users[RESIDENT]

    # PARTNER acts for the demo's tourist office (its offers and rewards), OTHER_PARTNER for
    # the grocer; a guest's passport holds a code claimed from the office and a held stamp.
    office = _partner(session, PARTNERS[0][0])
    session.add(PartnerMember(partner_id=office.id, user_id=users[PARTNER].id))
    other = _partner(session, PARTNERS[1][0])
    session.add(PartnerMember(partner_id=other.id, user_id=users[OTHER_PARTNER].id))
    reward = session.scalar(sa.select(Reward).where(Reward.partner_id == office.id).limit(1))
    assert reward is not None
    guest = Passport(guest_token_hash="matrix-guest-passport")
    session.add(guest)
    session.flush()
    session.add(RewardClaim(reward_id=reward.id, passport_id=guest.id, code=REWARD_CODE))
    place = session.scalar(sa.select(FilmingLocation).order_by(FilmingLocation.id).limit(1))
    assert place is not None
    held = Stamp(
        passport_id=guest.id,
        location_id=place.id,
        method=StampMethod.GPS,
        status=StampStatus.HELD,
        distance_band="0-50",
        taken_at=now(),
    )
    session.add(held)

    # Polls: the demo's open one, its ending poll (about the unreleased finale), a closed one.
    open_poll = session.scalar(sa.select(Poll).where(Poll.question == SITE_QUESTION))
    ending_poll = session.scalar(sa.select(Poll).where(Poll.question == ENDING_QUESTION))
    assert open_poll is not None
    assert ending_poll is not None
    closed_poll = polls.create_poll(
        session,
        question="Quel monument pour l'affiche ?",
        options=["Le Futuroscope", "Notre-Dame-la-Grande"],
        scope=PollScope.SITE,
        opens_at=now() - dt.timedelta(days=3),
        closes_at=now() - dt.timedelta(days=1),
    )
    option = ending_poll.options[0]
    ending = EndingMedia(
        option_id=option.id,
        directory=f"endings/{option.id}/matrixending",
        duration_s=5.0,
        width=640,
        height=360,
        renditions=[],
        mp4_name="360p",
    )
    session.add(ending)
    _write(media_root() / ending.directory / "poster.jpg", JPEG)

    # Tips: a published one of the demo, one of RESIDENT's under review, each with a photo.
    tip = session.scalar(
        sa.select(Tip).where(Tip.status == TipStatus.PUBLISHED).order_by(Tip.id).limit(1)
    )
    assert tip is not None
    assert tip.author_id != resident.id
    pending = _pending_tip(session, resident.id)

    # RESIDENT's own: an API token, a clue found (with its frame), a shared notebook.
    token_id = session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == resident.id))
    player = players.player_for_user(session, resident)
    clue = session.scalar(
        sa.select(Hotspot).where(Hotspot.episode_id == released.id, Hotspot.kind == "clue")
    )
    assert clue is not None
    assert token_id is not None
    find = ClueFind(
        player_id=player.id,
        hotspot_id=clue.id,
        episode_id=released.id,
        season_id=released.season_id,
        rank=1,
        points=100,
        t=5.0,
        x=50.0,
        y=50.0,
    )
    session.add(find)
    session.flush()
    _write(media_root() / "finds" / released_media.token / f"{find.id}-5000.jpg", JPEG)
    share = notebook.share(session, player, True)

    job = IngestJob(
        episode_id=released.id,
        source_path="staging/master.mp4",
        original_name="master.mp4",
        state=IngestState.DONE,
        created_by_id=users[EDITOR].id,
    )
    session.add(job)
    session.flush()
    call = session.scalar(sa.select(CastingCall.id).order_by(CastingCall.id).limit(1))
    return {
        "released_episode": released.id,
        "unreleased_episode": unreleased.id,
        "released_media_token": released_media.token,
        "unreleased_media_token": unreleased_media.token,
        "released_track": released_track.id,
        "unreleased_track": unreleased_track.id,
        "released_hotspot": _hotspot_with_link(session, [pilot[n] for n in (1, 2, 3)]),
        "unreleased_hotspot": _hotspot_with_link(session, [pilot[n] for n in (4, 5, 6)]),
        "ingest_job": job.id,
        "open_poll": open_poll.id,
        "closed_poll": closed_poll.id,
        "unreleased_poll": ending_poll.id,
        "ending_option": option.id,
        "ending_token": ending.token,
        "casting_call": call,
        "partner_offer": office.offers[0].id,
        "partner_reward": reward.id,
        "partner_reward_code": REWARD_CODE,
        "filming_location": place.id,
        "held_stamp": held.id,
        "published_tip": tip.id,
        "published_tip_photo": _photo(session, tip),
        "pending_tip": pending.id,
        "pending_tip_photo": _photo(session, pending),
        "member": users[VIEWER].id,
        "residents_token": token_id,
        "residents_find": find.id,
        "shared_notebook": share,
    }


def build_world(
    app: Flask,
    db: Any,
    make_user: Callable[..., Any],
    make_token: Callable[[Any], str],
    pilot: dict[int, int],
) -> World:
    """Accounts signed in (a session each), their tokens, and the resources, committed."""
    users = {
        name: make_user(f"{name}@matrix.example", role=ACTOR_ROLES[name], display_name=name)
        for name in ACTORS
        if name != ANONYMOUS
    }
    tokens = {name: make_token(user) for name, user in users.items()}
    with app.app_context():
        merged = {name: db.session.merge(user) for name, user in users.items()}
        resources = make_resources(db.session, merged, pilot)
        db.session.commit()
        upload = uploads.create_upload(merged[EDITOR].id, 1000, "master.mp4")
        resources["editors_upload"] = upload.id
    actors = {}
    for name in ACTORS:
        client = app.test_client()
        if name != ANONYMOUS:
            response = AuthActions(client).login(f"{name}@matrix.example")
            assert response.status_code == 302, f"{name} could not sign in"
        token = csrf_token(client)
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        assert cookie is not None
        actors[name] = Actor(name, cookie.value, token, tokens.get(name))

    def repair() -> None:
        with app.app_context():
            if not upload.meta_path.exists():
                upload.part_path.touch()
                upload.save()

    return World(actors, resources, repair)
