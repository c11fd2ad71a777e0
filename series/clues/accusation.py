"""The season's accusation: one sealed choice per player, revealed and scored after the finale.

Sealing is a hash commitment. On submission the player gets a receipt with a random nonce and

    commitment = SHA-256("experts-na:accusation:v1:<season>:<suspect>:<motive>:<place>:<nonce>")

The public ledger lists every commitment in submission order with a hash chain over them
(`chain = SHA-256(previous chain + commitment)`), so none can be added, dropped or reordered
unseen. After the reveal the ledger also opens each commitment (choice and nonce, never the
player) and the editors' solution, itself committed the same way when it was set: anyone can
recompute the hashes, and a player can check with their receipt that their own choice was
counted as they made it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import conflict_insert
from core.errors import ApiError
from core.i18n import lazy_gettext as _l
from series.clues import scoring
from series.clues.models import Accusation, Investigation, Player
from series.models import Episode, Season

logger = logging.getLogger(__name__)

PARTS = ("suspect", "motive", "place")
#: After the finale's release, the season's clue ranking stays open this long, then is final.
RANKING_OPEN_AFTER_FINALE = dt.timedelta(days=7)
KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def commitment(kind: str, season_number: int, choice: dict[str, str], nonce: str) -> str:
    """The SHA-256 seal of a choice ("accusation" or "solution")."""
    text = ":".join(
        ["experts-na", kind, "v1", str(season_number), *(choice[p] for p in PARTS), nonce]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def investigation_of(session: Session, season: Season) -> Investigation | None:
    """The season's investigation, if the editors set one up."""
    return session.scalar(sa.select(Investigation).where(Investigation.season_id == season.id))


def finale_of(season: Season) -> Episode | None:
    """The season's last episode."""
    return max(season.episodes, key=lambda e: e.number, default=None)


def deadline_of(investigation: Investigation) -> dt.datetime | None:
    """The last moment to accuse: set by the editors, else the finale's release."""
    if investigation.deadline_at is not None:
        return investigation.deadline_at
    finale = finale_of(investigation.season)
    return finale.publish_at if finale else None


def is_revealed(investigation: Investigation, now: dt.datetime) -> bool:
    """Accusations open once the finale is out, the deadline passed and a solution exists."""
    finale = finale_of(investigation.season)
    deadline = deadline_of(investigation)
    return bool(
        investigation.solution
        and finale is not None
        and finale.is_released(now)
        and deadline is not None
        and deadline <= now
    )


def closes_at(investigation: Investigation | None, season: Season) -> dt.datetime | None:
    """When the season's ranking becomes final (None: not scheduled yet)."""
    if investigation is not None and investigation.closes_at is not None:
        return investigation.closes_at
    finale = finale_of(season)
    if finale is None or finale.publish_at is None:
        return None
    return finale.publish_at + RANKING_OPEN_AFTER_FINALE


def options(investigation: Investigation, part: str) -> list[dict[str, str]]:
    """The suspects, motives or places to choose from."""
    return list(getattr(investigation, part + "s") or [])


def label_of(investigation: Investigation, part: str, key: str) -> str:
    return next((o["label"] for o in options(investigation, part) if o["key"] == key), key)


def _clean_options(raw: Any, part: str) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not 2 <= len(raw) <= 12:
        raise ApiError(422, "invalid_" + part, _l("Entre 2 et 12 choix par liste."), field=part)
    seen: set[str] = set()
    cleaned = []
    for item in raw:
        key = item.get("key") if isinstance(item, dict) else None
        label = item.get("label") if isinstance(item, dict) else None
        if not isinstance(key, str) or not KEY.match(key) or key in seen:
            raise ApiError(422, "invalid_" + part, _l("Clés distinctes en minuscules."), field=part)
        if not isinstance(label, str) or not 1 <= len(label.strip()) <= 120:
            raise ApiError(
                422, "invalid_" + part, _l("Libellés de 1 à 120 caractères."), field=part
            )
        seen.add(key)
        cleaned.append({"key": key, "label": label.strip()})
    return cleaned


def set_up(
    session: Session,
    season: Season,
    lists: dict[str, Any],
    solution: dict[str, str] | None,
    now: dt.datetime,
    deadline_at: dt.datetime | None = None,
) -> Investigation:
    """Create or change the season's lists and sealed solution (until the deadline)."""
    investigation = investigation_of(session, season)
    if investigation is None:
        investigation = Investigation(season_id=season.id, season=season)
        session.add(investigation)
    else:
        deadline = deadline_of(investigation)
        if deadline is not None and deadline <= now:
            raise ApiError(
                409, "investigation_closed", _l("L'échéance est passée : l'enquête est scellée.")
            )
    for part in PARTS:
        cleaned = _clean_options(lists.get(part + "s"), part + "s")
        if investigation.id is not None:
            # A choice someone already accused with cannot disappear from under their seal.
            used = set(
                session.scalars(
                    sa.select(getattr(Accusation, part))
                    .where(Accusation.season_id == season.id)
                    .distinct()
                )
            )
            if used - {o["key"] for o in cleaned}:
                raise ApiError(
                    409,
                    "option_in_use",
                    _l("Un choix déjà retenu dans une accusation ne peut pas être retiré."),
                    field=part + "s",
                )
        setattr(investigation, part + "s", cleaned)
    investigation.deadline_at = deadline_at
    if solution is not None:
        if any(solution.get(p) not in {o["key"] for o in options(investigation, p)} for p in PARTS):
            raise ApiError(
                422, "invalid_solution", _l("La solution doit venir des listes."), field="solution"
            )
        choice = {p: solution[p] for p in PARTS}
        if choice != investigation.solution:
            investigation.solution = choice
            investigation.solution_nonce = secrets.token_hex(16)
            investigation.solution_commitment = commitment(
                "solution", season.number, choice, investigation.solution_nonce
            )
    session.flush()
    logger.info("investigation of season %s set up", season.number)
    return investigation


def accusation_of(session: Session, season: Season, player: Player) -> Accusation | None:
    return session.scalar(
        sa.select(Accusation).where(
            Accusation.season_id == season.id, Accusation.player_id == player.id
        )
    )


def submit_accusation(
    session: Session,
    investigation: Investigation,
    player: Player,
    choice: Any,
    now: dt.datetime,
) -> Accusation:
    """Seal a player's one accusation before the deadline (409 for a second one)."""
    season = investigation.season
    deadline = deadline_of(investigation)
    first = min(season.episodes, key=lambda e: e.number, default=None)
    if first is None or not first.is_released(now) or deadline is None:
        raise ApiError(403, "not_open", _l("Les accusations ne sont pas encore ouvertes."))
    if now >= deadline:
        raise ApiError(
            403, "deadline_passed", _l("Trop tard : les accusations sont closes depuis le final.")
        )
    if not isinstance(choice, dict) or any(
        choice.get(p) not in {o["key"] for o in options(investigation, p)} for p in PARTS
    ):
        raise ApiError(
            422,
            "invalid_choice",
            _l("Choisissez un suspect, un mobile et un lieu dans les listes."),
        )
    picked = {p: str(choice[p]) for p in PARTS}
    nonce = secrets.token_hex(16)
    seal = commitment("accusation", season.number, picked, nonce)
    inserted = session.scalar(
        conflict_insert(session, Accusation)
        .values(
            season_id=season.id,
            player_id=player.id,
            nonce=nonce,
            commitment=seal,
            submitted_at=now,
            **picked,
        )
        .on_conflict_do_nothing(index_elements=["season_id", "player_id"])
        .returning(Accusation.id)
    )
    if inserted is None:
        raise ApiError(
            409,
            "already_accused",
            _l("Vous avez déjà déposé votre accusation pour cette saison : elle est scellée."),
        )
    accusation = session.get(Accusation, inserted)
    assert accusation is not None
    logger.info("accusation %s sealed for season %s", accusation.id, season.number)
    return accusation


def points_of(accusation: Accusation, investigation: Investigation, now: dt.datetime) -> int | None:
    """The accusation's points once revealed (None before)."""
    if not is_revealed(investigation, now):
        return None
    assert investigation.solution is not None
    choice = {p: getattr(accusation, p) for p in PARTS}
    return scoring.accusation_points(choice, investigation.solution)


def by_commitment(session: Session, investigation: Investigation, seal: str) -> Accusation | None:
    """The season's accusation with this seal, if the ledger holds it."""
    return session.scalar(
        sa.select(Accusation).where(
            Accusation.season_id == investigation.season_id, Accusation.commitment == seal
        )
    )


def receipt(accusation: Accusation, season_number: int) -> dict[str, Any]:
    """What the player keeps to check their accusation after the reveal."""
    return {
        "season": season_number,
        "suspect": accusation.suspect,
        "motive": accusation.motive,
        "place": accusation.place,
        "nonce": accusation.nonce,
        "commitment": accusation.commitment,
        "submitted_at": accusation.submitted_at.isoformat(),
        "formula": "sha256('experts-na:accusation:v1:' + season + ':' + suspect + ':' + motive"
        " + ':' + place + ':' + nonce)",
    }


def verify_receipt(data: Any) -> bool:
    """Whether a receipt's commitment matches its choice and nonce."""
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) for k in (*PARTS, "nonce", "commitment")
    ):
        return False
    season = data.get("season")
    if not isinstance(season, int) or isinstance(season, bool):
        return False
    expected = commitment("accusation", season, {p: data[p] for p in PARTS}, data["nonce"])
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
    return secrets.compare_digest(expected.encode(), data["commitment"].encode())


def ledger(session: Session, investigation: Investigation, now: dt.datetime) -> dict[str, Any]:
    """The public record: commitments and their chain; openings and solution once revealed."""
    season = investigation.season
    rows: Sequence[Accusation] = session.scalars(
        sa.select(Accusation)
        .where(Accusation.season_id == season.id)
        .order_by(Accusation.submitted_at, Accusation.id)
    ).all()
    revealed = is_revealed(investigation, now)
    chain = hashlib.sha256(f"experts-na:ledger:v1:{season.number}".encode()).hexdigest()
    entries = []
    for row in rows:
        chain = hashlib.sha256((chain + row.commitment).encode()).hexdigest()
        entry: dict[str, Any] = {"commitment": row.commitment, "chain": chain}
        if revealed:
            entry |= {p: getattr(row, p) for p in PARTS} | {
                "nonce": row.nonce,
                "points": points_of(row, investigation, now),
            }
        entries.append(entry)
    deadline = deadline_of(investigation)
    out: dict[str, Any] = {
        "season": season.number,
        "deadline": deadline.isoformat() if deadline else None,
        "revealed": revealed,
        "solution_commitment": investigation.solution_commitment,
        "count": len(entries),
        "chain_head": chain,
        "entries": entries,
    }
    if revealed:
        out["solution"] = dict(investigation.solution or {}) | {
            "nonce": investigation.solution_nonce
        }
    return out


def revealed_points(
    session: Session, now: dt.datetime, season_id: int | None = None
) -> dict[int, int]:
    """Player id -> accusation points over revealed seasons (one season, or all)."""
    query = sa.select(Investigation)
    if season_id is not None:
        query = query.where(Investigation.season_id == season_id)
    totals: dict[int, int] = {}
    for investigation in session.scalars(query).all():
        if not is_revealed(investigation, now):
            continue
        assert investigation.solution is not None
        rows = session.execute(
            sa.select(Accusation.player_id, *(getattr(Accusation, p) for p in PARTS)).where(
                Accusation.season_id == investigation.season_id
            )
        )
        for player_id, *picked in rows:
            points = scoring.accusation_points(
                dict(zip(PARTS, picked, strict=True)), investigation.solution
            )
            totals[player_id] = totals.get(player_id, 0) + points
    return totals
