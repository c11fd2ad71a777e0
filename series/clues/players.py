"""Who is playing: the signed-in account, or a guest known by a random token in a cookie.

A visitor can play without an account. Their first claim (or viewing) creates a guest player
and sets the `enquete` cookie, an HttpOnly random token whose SHA-256 alone is stored. When
the visitor later signs in or signs up, everything the guest earned moves into the account
(merge_guest_into): finds, viewings, notes and the accusation; nothing is lost.
"""

from __future__ import annotations

import logging
import secrets

import sqlalchemy as sa
from flask import Flask, Response, g
from flask_login import current_user
from sqlalchemy.orm import Session

from core.accounts.models import User
from core.db import conflict_insert, db
from core.guests import GuestCookie
from series.clues.models import Accusation, ClueFind, EpisodeViewing, Player

logger = logging.getLogger(__name__)

GUEST_COOKIE = "enquete"
COOKIE = GuestCookie(GUEST_COOKIE)
_ADJECTIVES = ("Fin", "Discret", "Malin", "Curieux", "Patient", "Vif", "Rusé", "Attentif")
_ANIMALS = ("Hibou", "Renard", "Lynx", "Héron", "Blaireau", "Faucon", "Loutre", "Chamois")


def guest_pseudonym() -> str:
    """A public name for a guest: 'Renard malin 417'."""
    animal, adjective = secrets.choice(_ANIMALS), secrets.choice(_ADJECTIVES)
    return f"{animal} {adjective.lower()} {secrets.randbelow(900) + 100}"


def player_for_user(session: Session, user: User) -> Player:
    """The account's player, created on first use (safe under concurrent first claims)."""
    session.execute(
        conflict_insert(session, Player)
        .values(user_id=user.id, pseudonym=user.display_name[:80], listed=True)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    player = session.scalar(sa.select(Player).where(Player.user_id == user.id))
    assert player is not None
    return player


def guest_player(session: Session) -> Player | None:
    """The guest player of this request's cookie, if it exists."""
    token_hash = COOKIE.token_hash()
    if token_hash is None:
        return None
    return session.scalar(sa.select(Player).where(Player.guest_token_hash == token_hash))


def new_guest(session: Session) -> Player:
    """A new guest player; its token goes in this request's response cookie."""
    player = Player(guest_token_hash=COOKIE.issue(), pseudonym=guest_pseudonym())
    session.add(player)
    session.flush()
    logger.info("guest player %s created", player.id)
    return player


def current_player(create: bool = False) -> Player | None:
    """The caller's player: their account's, else their guest cookie's (made when `create`)."""
    if current_user.is_authenticated:
        if not create:
            return db.session.scalar(sa.select(Player).where(Player.user_id == current_user.id))
        return player_for_user(db.session, current_user)
    player = guest_player(db.session)
    if player is None and create:
        player = new_guest(db.session)
    return player


def merge_guest_into(session: Session, guest: Player, target: Player) -> int:
    """Move a guest's finds, viewings, notes and accusation into another player; delete it.

    Where both found the same clue, the earlier find (lower rank) is kept. Returns the
    number of finds moved.
    """
    moved = 0
    mine = {
        f.hotspot_id: f
        for f in session.scalars(sa.select(ClueFind).where(ClueFind.player_id == target.id))
    }
    for find in session.scalars(sa.select(ClueFind).where(ClueFind.player_id == guest.id)).all():
        kept = mine.get(find.hotspot_id)
        if kept is None:
            find.player_id = target.id
            moved += 1
        elif find.rank < kept.rank:
            find.note = find.note or kept.note
            session.delete(kept)
            session.flush()
            find.player_id = target.id
            moved += 1
        else:
            kept.note = kept.note or find.note
            session.delete(find)
    viewed = {
        v.episode_id: v
        for v in session.scalars(
            sa.select(EpisodeViewing).where(EpisodeViewing.player_id == target.id)
        )
    }
    for viewing in session.scalars(
        sa.select(EpisodeViewing).where(EpisodeViewing.player_id == guest.id)
    ).all():
        other = viewed.get(viewing.episode_id)
        if other is None:
            viewing.player_id = target.id
        else:
            other.opened_at = min(other.opened_at, viewing.opened_at)
            session.delete(viewing)
    accused = set(
        session.scalars(sa.select(Accusation.season_id).where(Accusation.player_id == target.id))
    )
    for accusation in session.scalars(
        sa.select(Accusation).where(Accusation.player_id == guest.id)
    ).all():
        if accusation.season_id in accused:
            session.delete(accusation)  # the account's own accusation stands
        else:
            accusation.player_id = target.id
    session.flush()
    session.delete(guest)
    session.flush()
    logger.info("guest player %s merged into player %s (%d finds)", guest.id, target.id, moved)
    return moved


def _on_login(user: User) -> None:
    """A guest who signs in or signs up keeps what they found."""
    guest = guest_player(db.session)
    if guest is not None:
        merge_guest_into(db.session, guest, player_for_user(db.session, user))
        g.guest_merged = True


def _refresh_rankings(response: Response) -> Response:
    if g.get("guest_merged"):
        from series.clues.leaderboard import invalidate

        invalidate()  # after the view's commit: rankings now count the account
    return response


def init_players(app: Flask) -> None:
    """Merge guests at sign-in, and write the guest cookie after requests that made one."""
    COOKIE.install(app, _on_login)
    app.after_request(_refresh_rankings)
