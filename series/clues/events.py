"""Socket.IO rooms of the clue game: live leaderboards.

`join {"leaderboard": N}` follows season N's ranking (0: the overall one), and
`join {"leaderboard-episode": ID}` an episode's; the current top is sent on joining, then a
`leaderboard` event whenever the top changes (series.clues.leaderboard.changed).
"""

from __future__ import annotations

from flask_login import current_user
from flask_socketio import emit

from core.clock import now
from core.db import db
from core.realtime import room_kind
from series import services as catalogue
from series.clues import leaderboard


def _send_top(scope: leaderboard.Scope) -> None:
    rows = leaderboard.standings(db.session, scope, now())
    emit(
        "leaderboard",
        scope.describe() | {"entries": leaderboard.public_entries(rows, leaderboard.TOP)},
    )


def _season_scope(number: int) -> leaderboard.Scope:
    return leaderboard.OVERALL if number == 0 else leaderboard.Scope("season", number)


@room_kind("leaderboard", on_join=lambda n: _send_top(_season_scope(n)))
def may_follow_leaderboard(number: int) -> bool:
    """The overall ranking (0) or an existing season's."""
    return number == 0 or catalogue.get_season(db.session, number) is not None


@room_kind(
    "leaderboard-episode", on_join=lambda ident: _send_top(leaderboard.Scope("episode", ident))
)
def may_follow_episode_leaderboard(episode_id: int) -> bool:
    """An episode's ranking, once the caller may see the episode."""
    return catalogue.get_visible_episode(db.session, episode_id, current_user, now()) is not None
