"""The clue game's part of an account's data (core.accounts.privacy): export and deletion.

A deleted account's player is not deleted: its finds hold ranks (second finder, third…) and
leaderboard places that other players' points and positions rest on. The player is detached
from the account instead, like a guest nobody holds the cookie of, under a new random name;
what only its owner wrote or did (notes, the episodes opened, the shared notebook) goes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.accounts.models import User
from series.clues import leaderboard
from series.clues.accusation import label_of
from series.clues.models import Accusation, ClueFind, EpisodeViewing, Investigation, Player
from series.clues.players import guest_pseudonym
from series.episodes.hotspot_models import Hotspot
from series.models import Episode, Season


def _player_of(session: Session, user: User) -> Player | None:
    return session.scalar(sa.select(Player).where(Player.user_id == user.id))


def _finds(session: Session, player: Player) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(ClueFind, Hotspot.label, Episode.number, Episode.title, Season.number)
        .join(Hotspot, Hotspot.id == ClueFind.hotspot_id)
        .join(Episode, Episode.id == ClueFind.episode_id)
        .join(Season, Season.id == ClueFind.season_id)
        .where(ClueFind.player_id == player.id)
        .order_by(ClueFind.found_at, ClueFind.id)
    )
    return [
        {
            "season": season,
            "episode": episode,
            "episode_title": title,
            "clue": label,
            "rank": find.rank,
            "points": find.points,
            "method": find.method,
            "found_at": find.found_at,
            "note": find.note,
        }
        for find, label, episode, title, season in rows
    ]


def _accusations(session: Session, player: Player) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(Accusation, Season.number, Investigation)
        .join(Season, Season.id == Accusation.season_id)
        .outerjoin(Investigation, Investigation.season_id == Accusation.season_id)
        .where(Accusation.player_id == player.id)
        .order_by(Season.number)
    )
    out = []
    for accusation, season, investigation in rows:
        choice = {
            part: label_of(investigation, part, getattr(accusation, part))
            if investigation is not None
            else getattr(accusation, part)
            for part in ("suspect", "motive", "place")
        }
        out.append(
            {"season": season}
            | choice
            | {"commitment": accusation.commitment, "submitted_at": accusation.submitted_at}
        )
    return out


def _viewings(session: Session, player: Player) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(EpisodeViewing.opened_at, Episode.number, Episode.title, Season.number)
        .join(Episode, Episode.id == EpisodeViewing.episode_id)
        .join(Season, Season.id == Episode.season_id)
        .where(EpisodeViewing.player_id == player.id)
        .order_by(EpisodeViewing.opened_at)
    )
    return [
        {"season": season, "episode": episode, "episode_title": title, "opened_at": opened_at}
        for opened_at, episode, title, season in rows
    ]


def export_clue_game(session: Session, user: User) -> dict[str, Any]:
    """The account's player, finds with their notes, accusations and episodes opened."""
    player = _player_of(session, user)
    if player is None:
        return {}
    return {
        "player": {
            "public_name": player.public_name,
            "listed": player.listed,
            "notebook_shared": player.share_token is not None,
            "created_at": player.created_at,
        },
        "finds": _finds(session, player),
        "accusations": _accusations(session, player),
        "episodes_opened": _viewings(session, player),
    }


def erase_clue_game(session: Session, user: User, now: dt.datetime) -> None:
    """Detach the account's player: finds and accusations stay, anonymous; notes go."""
    player = _player_of(session, user)
    if player is None:
        return
    session.execute(sa.delete(EpisodeViewing).where(EpisodeViewing.player_id == player.id))
    session.execute(sa.update(ClueFind).where(ClueFind.player_id == player.id).values(note=""))
    player.user = None
    # The check constraint wants an account or a guest: a guest whose token nobody holds.
    player.guest_token_hash = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
    player.pseudonym = guest_pseudonym()
    player.share_token = None
    session.flush()
    leaderboard.invalidate()  # the rankings show the new name
