"""Who may call each route: the authorisation policy, one line per endpoint.

tests/security/test_authorization.py reads every route of the URL map, calls it as each kind of
caller and compares the answers with this file; a route without a line here, or a line without
a route, fails the run. A line is `rule(ACCESS, **url_parameters)`:

- ACCESS says who gets through. The others are refused: 401 or 403, or a redirect to the login
  page for a visitor on a page; "hidden" accesses refuse with a 404 too (the resource is not
  shown to them: another partner's offer, an unreleased episode, someone else's token).
- URL parameters are literals or REFs, the resources tests/security/world.py makes (the seeded
  demo plus a few rows: an episode's media, a pending tip, a held stamp…).
- `methods=` gives a method its own access when it differs from the route's others (the POST
  of a page from its GET); `form=` and `headers=` go with the request (bodies are otherwise
  empty: the point is the authorisation answer, not the action's success).
- API tokens: every caller is tried with its session (and the CSRF token) and with a bearer
  token. Both are accepted alike (CONTRACT.md) unless the line says `tokens=False` (refused to
  a bearer token whoever holds it).

A route with several lines (a tuple) is tried once per line, e.g. a released and an unreleased
episode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ANONYMOUS = "anonymous"
VIEWER = "viewer"
RESIDENT = "resident"
PARTNER = "partner"
MODERATOR = "moderator"
EDITOR = "editor"
ADMIN = "admin"
#: A partner-role user of another partner than PARTNER's (the one that owns the demo offers).
OTHER_PARTNER = "other_partner"

ACTORS = (ANONYMOUS, VIEWER, RESIDENT, PARTNER, MODERATOR, EDITOR, ADMIN, OTHER_PARTNER)
#: The role each signed-in actor holds.
ROLES = {
    VIEWER: "viewer",
    RESIDENT: "resident",
    PARTNER: "partner",
    MODERATOR: "moderator",
    EDITOR: "editor",
    ADMIN: "admin",
    OTHER_PARTNER: "partner",
}


@dataclass(frozen=True)
class Access:
    """The actors let through; `hidden`: the others may be refused with a 404."""

    name: str
    allowed: frozenset[str]
    hidden: bool = False


def ROLE(*roles: str) -> Access:
    """Accounts holding one of the roles (admins hold every role)."""
    allowed = {actor for actor, role in ROLES.items() if role in roles or role == "admin"}
    return Access(f"ROLE({', '.join(roles)})", frozenset(allowed))


def owned_by(*owners: str, name: str = "OWNER") -> Access:
    """Only the resource's owners; any other account gets a 404 (it does not exist for them)."""
    return Access(name, frozenset(owners), hidden=True)


#: Everyone, visitors without an account included.
PUBLIC = Access("PUBLIC", frozenset(ACTORS))
#: Any account, whatever its role.
SIGNED_IN = Access("SIGNED_IN", frozenset(ACTORS) - {ANONYMOUS})
EDITORS = ROLE("editor")
#: Moderators and editors (the moderation pages).
STAFF = ROLE("moderator", "editor")
#: Partner accounts, each seeing its own partner's figures, offers and rewards.
PARTNERS = ROLE("partner")
#: A resource of PARTNER's partner: that partner and admins; the other partner gets a 404.
PARTNER_OWN = owned_by(PARTNER, ADMIN, name="PARTNER_OWN")
#: A resource of RESIDENT's (an API token, a clue found): nobody else, admins included.
OWNER = owned_by(RESIDENT)
#: A tip waiting for review: its author (RESIDENT) and the staff; a 404 for everyone else.
AUTHOR_OR_STAFF = owned_by(RESIDENT, MODERATOR, EDITOR, ADMIN, name="AUTHOR_OR_STAFF")
#: Anything of an episode before its release: editors (and admins) only, a 404 for the rest.
UNRELEASED = Access("UNRELEASED", EDITORS.allowed, hidden=True)


@dataclass(frozen=True)
class Ref:
    """A resource made by tests/security/world.py, by name."""

    name: str


Param = int | str | Ref


@dataclass(frozen=True)
class Rule:
    """How one route answers (see the module's docstring)."""

    access: Access
    params: Mapping[str, Param] = field(default_factory=dict)
    methods: Mapping[str, Access] = field(default_factory=dict)
    tokens: bool = True
    form: Mapping[str, Param] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)

    def access_for(self, method: str) -> Access:
        return self.methods.get(method, self.access)


def rule(
    access: Access,
    *,
    methods: Mapping[str, Access] | None = None,
    tokens: bool = True,
    form: Mapping[str, Param] | None = None,
    headers: Mapping[str, str] | None = None,
    **params: Param,
) -> Rule:
    return Rule(access, params, methods or {}, tokens, form or {}, headers or {})


# The world's resources (tests/security/world.py makes them).
RELEASED = Ref("released_episode")
UNRELEASED_EPISODE = Ref("unreleased_episode")
RELEASED_MEDIA = Ref("released_media_token")
UNRELEASED_MEDIA = Ref("unreleased_media_token")
RELEASED_TRACK = Ref("released_track")
UNRELEASED_TRACK = Ref("unreleased_track")
RELEASED_HOTSPOT = Ref("released_hotspot")
UNRELEASED_HOTSPOT = Ref("unreleased_hotspot")
INGEST_JOB = Ref("ingest_job")
EDITORS_UPLOAD = Ref("editors_upload")
OPEN_POLL = Ref("open_poll")
CLOSED_POLL = Ref("closed_poll")
UNRELEASED_POLL = Ref("unreleased_poll")
ENDING_OPTION = Ref("ending_option")
ENDING_TOKEN = Ref("ending_token")
CASTING_CALL = Ref("casting_call")
OFFER = Ref("partner_offer")
REWARD = Ref("partner_reward")
REWARD_CODE = Ref("partner_reward_code")
PLACE = Ref("filming_location")
HELD_STAMP = Ref("held_stamp")
TIP = Ref("published_tip")
TIP_PHOTO = Ref("published_tip_photo")
PENDING_TIP = Ref("pending_tip")
PENDING_PHOTO = Ref("pending_tip_photo")
MEMBER = Ref("member")
RESIDENTS_TOKEN = Ref("residents_token")
RESIDENTS_FIND = Ref("residents_find")
SHARED_NOTEBOOK = Ref("shared_notebook")
#: The OpenID Connect provider configured for the matrix (it does not answer: a 502).
OIDC = "matrix"

TUS = {"Tus-Resumable": "1.0.0"}

#: An episode's route: everyone once the episode is out, editors alone before.
EPISODE = (rule(PUBLIC, episode_id=RELEASED), rule(UNRELEASED, episode_id=UNRELEASED_EPISODE))
EPISODE_FILE = (
    rule(PUBLIC, episode_id=RELEASED, token=RELEASED_MEDIA, filename="poster.jpg"),
    rule(UNRELEASED, episode_id=UNRELEASED_EPISODE, token=UNRELEASED_MEDIA, filename="poster.jpg"),
)
EPISODE_TRACK = (
    rule(PUBLIC, episode_id=RELEASED, track_id=RELEASED_TRACK),
    rule(UNRELEASED, episode_id=UNRELEASED_EPISODE, track_id=UNRELEASED_TRACK),
)
HOTSPOT = (
    rule(PUBLIC, hotspot_id=RELEASED_HOTSPOT),
    rule(UNRELEASED, hotspot_id=UNRELEASED_HOTSPOT),
)
#: A poll about an unreleased episode is hidden like the episode.
POLL = (rule(PUBLIC, poll_id=OPEN_POLL), rule(UNRELEASED, poll_id=UNRELEASED_POLL))
#: A tip: published, everyone reads it; under review, its author and the staff alone.
TIP_PAGE = (rule(PUBLIC, tip_id=TIP), rule(AUTHOR_OR_STAFF, tip_id=PENDING_TIP))
TIP_PHOTO_FILE = (
    rule(PUBLIC, tip_id=TIP, name=TIP_PHOTO),
    rule(AUTHOR_OR_STAFF, tip_id=PENDING_TIP, name=PENDING_PHOTO),
)
#: Small actions on a tip (useful, still true, flag, comment): any account, once it is visible.
TIP_ACTION = (rule(SIGNED_IN, tip_id=TIP), rule(AUTHOR_OR_STAFF, tip_id=PENDING_TIP))

POLICY: dict[str, Rule | tuple[Rule, ...]] = {
    # ---- site, accounts, operations
    "home.index": rule(PUBLIC),
    "home.search": rule(PUBLIC),
    "accessibility.statement": rule(PUBLIC),
    "i18n.switch_language": rule(PUBLIC, lang="en"),
    "consent.audience": rule(PUBLIC),
    "feeds.episodes_feed": rule(PUBLIC),
    "feeds.sitemap": rule(PUBLIC),
    "feeds.robots": rule(PUBLIC),
    "api.openapi_document": rule(PUBLIC),
    "observability.healthz": rule(PUBLIC),
    # Prometheus scrapes it without an account; keep it off the public proxy.
    "observability.metrics": rule(PUBLIC),
    "accounts.login": rule(PUBLIC),
    "accounts.logout": rule(PUBLIC),
    "accounts.signup": rule(PUBLIC),
    "accounts.reset_request": rule(PUBLIC),
    "accounts.reset_password": rule(PUBLIC, token="not-a-reset-token"),
    "accounts.account": rule(SIGNED_IN),
    "privacy.download": rule(SIGNED_IN),
    "privacy.data_page": rule(SIGNED_IN),
    "privacy.delete_account": rule(SIGNED_IN, tokens=False),
    # A token must not make or revoke tokens: a leaked one would outlive its revocation.
    "accounts.create_token": rule(SIGNED_IN, tokens=False),
    "accounts.revoke_token": rule(OWNER, tokens=False, token_id=RESIDENTS_TOKEN),
    "oidc.login": rule(PUBLIC, name=OIDC),
    "oidc.callback": rule(PUBLIC, name=OIDC),
    # ---- catalogue and media (nothing of an episode before its release, editors aside)
    "series.seasons": rule(PUBLIC),
    "series.season": rule(PUBLIC, number=1),
    "series.episode": EPISODE,
    "series_api.seasons": rule(PUBLIC),
    "series_api.season_episodes": rule(PUBLIC, number=1),
    "series_api.episode": EPISODE,
    "media.episode_file": EPISODE_FILE,
    "media.track_file": EPISODE_TRACK,
    "media.hotspots_track": EPISODE,
    "media.hotspot_chapters": EPISODE,
    # ---- editors: schedule, masters, tracks, hotspots
    "editor.index": rule(EDITORS),
    "editor.season": rule(EDITORS, number=1),
    "editor.episode": rule(EDITORS, episode_id=RELEASED),
    "editor.schedule_episode": rule(EDITORS, episode_id=RELEASED),
    "editor.fallback_upload": rule(EDITORS, episode_id=RELEASED),
    "editor.add_track": rule(EDITORS, episode_id=RELEASED),
    "editor.ingest_api": rule(EDITORS, episode_id=RELEASED),
    "editor.job_api": rule(EDITORS, job_id=INGEST_JOB),
    "uploads.create": rule(EDITORS, headers=TUS),
    # An upload in progress is its uploader's alone (admins included: they start their own);
    # OPTIONS only tells the server's limits.
    "uploads.upload": rule(
        owned_by(EDITOR), methods={"OPTIONS": EDITORS}, headers=TUS, upload_id=EDITORS_UPLOAD
    ),
    "hotspot_editor.hotspots": rule(EDITORS, episode_id=RELEASED),
    "hotspot_api.list_hotspots": rule(EDITORS, episode_id=RELEASED),
    "hotspot_api.create": rule(EDITORS, episode_id=RELEASED),
    "hotspot_api.update": rule(EDITORS, hotspot_id=RELEASED_HOTSPOT),
    "hotspot_api.delete": rule(EDITORS, hotspot_id=RELEASED_HOTSPOT),
    "hotspot_api.offers": rule(EDITORS),
    # ---- audience of the hotspots (anonymous counts), and the partners' area
    "attribution.go": HOTSPOT,
    "attribution.impression": HOTSPOT,
    "partners.index": rule(PARTNERS),
    "partners.statistics_csv": rule(PARTNERS),
    "partners.edit_offer": rule(PARTNER_OWN, offer_id=OFFER),
    # ---- the clue game (guests play too) and the accusation
    "clues_api.claim": EPISODE,
    "clues_api.viewing": EPISODE,
    "clues_api.scene": EPISODE,
    "clues_api.scene_claim": EPISODE,
    "clues_api.my_clues": EPISODE,
    "clues_api.leaderboard_list": rule(PUBLIC),
    "clues_api.leaderboard_me": rule(PUBLIC),
    "clues_api.investigation": rule(PUBLIC, number=1),
    "clues_api.accusations": rule(PUBLIC, number=1),
    "clues_api.accuse": rule(PUBLIC, number=1),
    "clues_api.verify": rule(PUBLIC),
    "clues.notebook_page": rule(PUBLIC),
    "clues.notebook_settings": rule(PUBLIC),
    "clues.save_note": rule(OWNER, find_id=RESIDENTS_FIND),
    "clues.find_frame": rule(OWNER, find_id=RESIDENTS_FIND),
    "clues.shared_notebook": rule(PUBLIC, token=SHARED_NOTEBOOK),
    "clues.leaderboard_page": rule(PUBLIC),
    "clues.accusation_page": rule(PUBLIC, number=1),
    "clues.edit_investigation": rule(EDITORS, number=1),
    # ---- polls (voting needs an account), endings, casting calls
    "votes_api.list_polls": rule(PUBLIC),
    "votes_api.get_poll": POLL,
    "votes_api.audit_log": rule(PUBLIC, poll_id=CLOSED_POLL),
    "votes_api.verify_receipt": rule(PUBLIC, poll_id=CLOSED_POLL),
    "votes_api.vote": rule(SIGNED_IN, poll_id=OPEN_POLL),
    "votes_api.create_poll": rule(EDITORS),
    "votes_api.open_poll": rule(EDITORS, poll_id=OPEN_POLL),
    "votes_api.close_poll": rule(EDITORS, poll_id=OPEN_POLL),
    "votes.index": rule(PUBLIC),
    "votes.poll_page": POLL,
    "votes.audit_page": rule(PUBLIC, poll_id=CLOSED_POLL),
    "votes.vote": rule(SIGNED_IN, poll_id=OPEN_POLL),
    "votes.ending_file": rule(
        UNRELEASED, option_id=ENDING_OPTION, token=ENDING_TOKEN, filename="poster.jpg"
    ),
    "votes.editor_index": rule(EDITORS),
    "votes.editor_poll": rule(EDITORS, poll_id=OPEN_POLL),
    "casting.index": rule(PUBLIC),
    "casting.season_calls": rule(PUBLIC, number=1),
    "casting.call_page": rule(PUBLIC, methods={"POST": SIGNED_IN}, call_id=CASTING_CALL),
    "casting.withdraw": rule(SIGNED_IN, call_id=CASTING_CALL),
    "casting.editor_index": rule(EDITORS),
    "casting.new_call": rule(EDITORS),
    "casting.edit_call": rule(EDITORS, call_id=CASTING_CALL),
    "casting.call_signups": rule(EDITORS, call_id=CASTING_CALL),
    "casting.export_csv": rule(EDITORS, call_id=CASTING_CALL),
    "casting.mark_filmed": rule(EDITORS, call_id=CASTING_CALL),
    # ---- passport: everyone stamps (as a guest without an account), editors print posters
    "passport_api.list_locations": rule(PUBLIC),
    "passport_api.stamp": rule(PUBLIC),
    "passport.page": rule(PUBLIC),
    "passport.stamp_with_code": rule(PUBLIC),
    "passport.scan": rule(PUBLIC, location_id=PLACE),
    "passport.service_worker": rule(PUBLIC),
    "passport.manifest": rule(PUBLIC),
    "passport.editor_index": rule(EDITORS),
    "passport.poster": rule(EDITORS, location_id=PLACE),
    "passport.set_pin": rule(EDITORS, location_id=PLACE),
    "passport_share.page": rule(PUBLIC),
    "passport_share.image": rule(PUBLIC),
    "passport_review.index": rule(STAFF),
    "passport_review.review": rule(STAFF, stamp_id=HELD_STAMP),
    "passport_rewards.api_offers": rule(PUBLIC),
    "passport_rewards.claim": rule(PUBLIC, reward_id=REWARD),
    "passport_rewards.partner_index": rule(PARTNERS),
    "passport_rewards.deactivate": rule(PARTNER_OWN, reward_id=REWARD),
    "passport_rewards.check_code": rule(PARTNER_OWN, form={"code": REWARD_CODE}),
    "passport_rewards.redeem": rule(PARTNER_OWN, form={"code": REWARD_CODE}),
    # ---- tips board: any account posts and reacts; a tip under review is its author's and staff's
    "community.index": rule(PUBLIC),
    "community.tip": TIP_PAGE,
    "community.photo": TIP_PHOTO_FILE,
    "community.new_tip": rule(SIGNED_IN),
    "community.helpful": TIP_ACTION,
    "community.still_true": TIP_ACTION,
    "community.flag": TIP_ACTION,
    "community.comment": TIP_ACTION,
    # The author alone may appeal; others are told so by a message on the tip's page.
    "community.appeal": TIP_ACTION,
    "community.follow": rule(SIGNED_IN, code="86"),
    "community.followed_tips": rule(SIGNED_IN),
    "community_api.list_tips": rule(PUBLIC),
    "community_api.get_tip": TIP_PAGE,
    "community_api.post_tip": rule(SIGNED_IN),
    "community_api.helpful": TIP_ACTION,
    "community_api.confirm": TIP_ACTION,
    "community_api.flag": TIP_ACTION,
    "community_moderation.public_log": rule(PUBLIC),
    "community_moderation.queue": rule(STAFF),
    "community_moderation.decide": rule(STAFF),
    "community_moderation.members": rule(STAFF),
    "community_moderation.member_standing": rule(STAFF, user_id=MEMBER),
}
