"""What an unreleased episode hides, made on top of the authorisation matrix's world
(tests/security/world.py): the secrets tests/security/test_spoilers.py looks for in every answer.

- the pilot's finale (its title is secret) and the upcoming episode 4 (announced, title public)
  get media (HLS master and rung playlists, a segment, the MP4, poster, thumbnails), subtitles
  and chapters whose words are theirs alone, a public hotspot and a clue at telltale positions;
- the seeded clues of the unreleased episodes keep their answers (titles and texts);
- polls whose results are not published: the finale's ending poll (hidden with its episode),
  an open site poll counted at close, and a closed one whose results are never published, both
  with ballots.

Every secret is a string a leak would carry whole: a title, a media token or path, a caption
line, a label, a coordinate, a clue's answer, a ballot's commitment.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.clock import now
from series.episodes.hotspot_models import Hotspot
from series.episodes.models import EpisodeMedia, Track, TrackKind
from series.episodes.services import media_root
from series.models import Episode
from series.votes import services as polls
from series.votes.models import Ballot, Poll, PollScope, ResultsShown
from series.votes.seed import ENDING_QUESTION, ENDINGS
from tests.security.world import JPEG

RUNG = "spoilrung"


@dataclass
class Secrets:
    """What must never reach a visitor or a viewer before the release."""

    #: Name -> a string no answer may carry.
    needles: dict[str, str] = field(default_factory=dict)
    #: The unreleased episodes' ids.
    unreleased: list[int] = field(default_factory=list)
    #: URLs of the unreleased media (every file, the tracks): each must be refused.
    media_urls: list[str] = field(default_factory=list)
    #: Polls whose counts are not public, and their options' ids.
    hidden_polls: dict[int, set[int]] = field(default_factory=dict)
    #: Queries a visitor might try in the search boxes.
    queries: list[str] = field(default_factory=list)
    #: URLs where an editor sees each kind of secret: proof the secrets are real.
    editor_checks: list[tuple[str, str]] = field(default_factory=list)


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def _media_files(episode: Episode, tag: str) -> dict[str, bytes | str]:
    """An episode's media folder, as the pipeline lays it out, with telltale names."""
    return {
        "hls/master.m3u8": (
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n"
            f"{RUNG}{tag}/index.m3u8\n"
        ),
        f"hls/{RUNG}{tag}/index.m3u8": (
            "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n"
            f"segment-{tag}-000.ts\n#EXT-X-ENDLIST\n"
        ),
        f"hls/{RUNG}{tag}/segment-{tag}-000.ts": b"G" + b"\0" * 187,
        f"mp4/mp4{tag}.mp4": b"\0\0\0\x18ftypmp42" + b"\0" * 12,
        "poster.jpg": JPEG,
        "sprites.vtt": f"WEBVTT\n\n00:00.000 --> 00:05.000\nsprites-{tag}.jpg#xywh=0,0,160,90\n",
        f"sprites-{tag}.jpg": JPEG,
    }


def _give_media(session: Session, episode: Episode, tag: str) -> EpisodeMedia:
    media = EpisodeMedia(
        episode_id=episode.id,
        directory=f"episodes/{episode.id}/{tag}",
        duration_s=24.0,
        width=640,
        height=360,
        has_audio=True,
        renditions=[{"name": f"{RUNG}{tag}", "width": 640, "height": 360, "bitrate": 800}],
        mp4_name=f"mp4{tag}",
        scenes=[3.0, 9.0],
    )
    session.add(media)
    for name, data in _media_files(episode, tag).items():
        _write(media_root() / media.directory / name, data)
    return media


def _ballots(session: Session, poll: Poll, counts: list[int], at: dt.datetime) -> list[str]:
    """Ballots of deleted accounts (no user needed), `counts[i]` for the i-th option."""
    made = []
    for option, count in zip(poll.options, counts, strict=True):
        for _ in range(count):
            commitment = polls.commitment_of(poll.id, option.id, secrets.token_hex(16))
            session.add(
                Ballot(
                    poll_id=poll.id,
                    option_id=option.id,
                    user_id=None,
                    key=str(uuid.uuid4()),
                    commitment=commitment,
                    cast_at=at,
                )
            )
            made.append(commitment)
    return made


def make_secrets(session: Session, pilot: dict[int, int]) -> Secrets:
    """The finale's and episode 4's secrets, and polls with unpublished results (flushes)."""
    at = now()
    found = Secrets()
    finale = session.get(Episode, pilot[6])
    upcoming = session.get(Episode, pilot[4])
    assert finale is not None
    assert upcoming is not None
    assert finale.title_secret
    assert not upcoming.title_secret
    found.unreleased = [e for n, e in sorted(pilot.items()) if n >= 4]
    for episode_id in found.unreleased:
        episode = session.get(Episode, episode_id)
        assert episode is not None
        assert not episode.is_released(at)
    found.needles["secret title"] = finale.title
    found.queries += [finale.title, finale.title.split()[-1]]

    for episode, tag in ((finale, f"final{secrets.token_hex(4)}"), (upcoming, "ep4preview")):
        media = _give_media(session, episode, tag)
        found.needles[f"media folder of {episode.number}"] = media.directory
        found.needles[f"media token of {episode.number}"] = tag
        found.needles[f"rendition of {episode.number}"] = f"{RUNG}{tag}"
        found.needles[f"MP4 of {episode.number}"] = f"mp4{tag}"
        for name in _media_files(episode, tag):
            found.media_urls.append(f"/media/episodes/{episode.id}/{tag}/{name}")
            # The right token and file under a released episode's address: still nothing.
            found.media_urls.append(f"/media/episodes/{pilot[1]}/{tag}/{name}")
        subtitles = f"Réplique du final numéro {episode.number} : c'était le gardien"
        chapter = f"Chapitre secret {episode.number} : la révélation"
        tracks = [
            Track(
                episode_id=episode.id,
                kind=TrackKind.SUBTITLES,
                lang="fr",
                label="Français",
                content=f"WEBVTT\n\n00:01.000 --> 00:04.000\n{subtitles}\n",
            ),
            Track(
                episode_id=episode.id,
                kind=TrackKind.CHAPTERS,
                lang="fr",
                label="Chapitres",
                content=f"WEBVTT\n\n00:00.000 --> 00:24.000\n{chapter}\n",
            ),
        ]
        session.add_all(tracks)
        found.needles[f"subtitles of {episode.number}"] = subtitles
        found.needles[f"chapter of {episode.number}"] = chapter

        public_label = f"Le médaillon sous l'horloge ({episode.number})"
        clue_answer = f"Le carnet du gardien, page {episode.number}, avoue tout"
        clue_title = f"L'aveu du gardien ({episode.number})"
        x, y = f"{13.5791 + episode.number:.4f}", f"{24.6813 + episode.number:.4f}"
        cx, cy = f"{31.4159 + episode.number:.4f}", f"{27.1828 + episode.number:.4f}"
        session.add_all(
            [
                Hotspot(
                    episode_id=episode.id,
                    kind="place",
                    start_s=2.0,
                    end_s=9.0,
                    keyframes=[{"t": 2.0, "x": float(x), "y": float(y), "w": 10.0, "h": 10.0}],
                    label=public_label,
                    accessible_label=public_label,
                ),
                Hotspot(
                    episode_id=episode.id,
                    kind="clue",
                    start_s=3.0,
                    end_s=8.0,
                    keyframes=[{"t": 3.0, "x": float(cx), "y": float(cy), "w": 9.0, "h": 9.0}],
                    label=f"Le tiroir entrouvert ({episode.number})",
                    data={"title": clue_title, "text": clue_answer, "points": 100},
                ),
            ]
        )
        found.needles[f"hotspot label of {episode.number}"] = public_label
        found.needles[f"hotspot x of {episode.number}"] = x
        found.needles[f"hotspot y of {episode.number}"] = y
        found.needles[f"clue x of {episode.number}"] = cx
        found.needles[f"clue y of {episode.number}"] = cy
        found.needles[f"clue title of {episode.number}"] = clue_title
        found.needles[f"clue answer of {episode.number}"] = clue_answer
        found.queries += [public_label, clue_title]
    session.flush()

    # The seeded clues of the unreleased episodes: their answers.
    for hotspot in session.scalars(
        sa.select(Hotspot).where(Hotspot.episode_id.in_(found.unreleased), Hotspot.kind == "clue")
    ):
        for key in ("title", "text"):
            if hotspot.data.get(key):
                found.needles[f"seeded clue {hotspot.id} {key}"] = str(hotspot.data[key])

    # Polls: the finale's ending poll is hidden with its episode (question, endings, counts).
    ending = session.scalar(sa.select(Poll).where(Poll.question == ENDING_QUESTION))
    assert ending is not None
    assert ending.episode_id == finale.id
    found.needles["ending poll question"] = ENDING_QUESTION
    for number, (_label, text) in enumerate(ENDINGS):
        found.needles[f"ending {number + 1}"] = text
    found.hidden_polls[ending.id] = {o.id for o in ending.options}
    at_close = polls.create_poll(
        session,
        question="Qui sera l'invité du final ?",
        options=["Une chanteuse", "Un chef étoilé"],
        scope=PollScope.SITE,
        results=ResultsShown.AT_CLOSE,
        opens_at=at - dt.timedelta(days=1),
        closes_at=at + dt.timedelta(days=6),
    )
    never = polls.create_poll(
        session,
        question="Faut-il une saison 2 en Corrèze ?",
        options=["Oui", "Non"],
        scope=PollScope.SITE,
        results=ResultsShown.NEVER,
        opens_at=at - dt.timedelta(days=6),
        closes_at=at - dt.timedelta(days=1),
    )
    session.flush()
    for poll, counts in ((at_close, [3, 8]), (never, [5, 2])):
        found.hidden_polls[poll.id] = {o.id for o in poll.options}
        for number, commitment in enumerate(_ballots(session, poll, counts, at)):
            found.needles[f"ballot {number} of poll {poll.id}"] = commitment
    session.flush()

    found.editor_checks = [
        (f"/episodes/{finale.id}", found.needles["secret title"]),
        (f"/media/episodes/{finale.id}/{found.needles['media token of 6']}/hls/master.m3u8", RUNG),
        (f"/media/episodes/{upcoming.id}/hotspots.vtt", found.needles["hotspot x of 4"]),
        (f"/api/v1/polls/{at_close.id}", '"total":11'),
    ]
    return found
