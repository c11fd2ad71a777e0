"""The application factory."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from core.config import PROJECT_ROOT, load_config
from core.db import MAX_INT
from core.extensions import db, limiter


def create_app(config_override: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; never migrates, seeds or queries the database."""
    config = load_config()
    if config_override:
        config.update(config_override)
    app = Flask(
        "core",
        instance_path=config["INSTANCE_PATH"],
        static_folder=str(PROJECT_ROOT / "static"),
        static_url_path="/static",
    )
    app.config.update(config)
    app.json = StrictJSONProvider(app)
    # Before any route is added: the rules take their converters when they are added.
    app.url_map.converters["int"] = BoundedIntegerConverter

    from core import delivery, errors, i18n, jobs, observability, realtime, security, templating
    from core.accounts import auth, oidc

    db.init_app(app)
    delivery.init_delivery(app)  # first after_request hook: runs last, on the final body
    i18n.init_i18n(app)
    auth.init_auth(app)
    limiter.init_app(app)
    errors.init_errors(app)
    security.init_security(app)
    templating.init_templating(app)
    observability.init_observability(app)
    jobs.init_jobs(app)
    # Handlers declared with @socketio.on before init_app are kept for every app; declared
    # after, they would reach only the first app's server.
    _register_event_handlers()
    realtime.init_realtime(app)
    _trust_proxies(app)
    oidc.init_oidc(app)

    for blueprint in _blueprints():
        app.register_blueprint(blueprint)
    _init_domains(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind nginx, take the client's address, scheme and host from its X-Forwarded-* headers.

    Wrapped after Socket.IO so its requests (connect handlers, rate limits) see them too.
    """
    proxies = int(app.config.get("TRUST_PROXY") or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The sample nginx configuration sets these three; X-Forwarded-Port is not trusted.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


class StrictJSONProvider(DefaultJSONProvider):
    """Request bodies whose strings are text: JSON may escape half a UTF-16 pair ("\\ud800"),
    which no UTF-8 text holds, so hashing or storing it would fail; and arrays nested past the
    parser's recursion limit. Such a body is refused like invalid JSON (a ValueError:
    `get_json` answers 400, or None when silent)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
            lone_surrogate = _has_lone_surrogate(value)
        except RecursionError:
            raise ValueError("JSON text nested too deeply") from None
        if lone_surrogate:
            raise ValueError("JSON text holds an unpaired UTF-16 surrogate")
        return value


def _digits_up_to(limit: int) -> str:
    """A regular expression of the decimal numbers from 0 to `limit` (no leading zero)."""
    digits = str(limit)
    size = len(digits)
    choices = ["0", rf"[1-9]\d{{0,{size - 2}}}"]  # the shorter numbers
    for i, digit in enumerate(digits):
        low, high = (1 if i == 0 else 0), int(digit) - 1
        if high >= low:
            rest = rf"\d{{{size - i - 1}}}" if size - i - 1 else ""
            choices.append(f"{digits[:i]}[{low}-{high}]{rest}")
    choices.append(digits)
    return "(?:" + "|".join(choices) + ")"


class BoundedIntegerConverter(IntegerConverter):
    """`<int:…>` up to the largest INTEGER column value: a larger one in a URL matches no
    route at all (a 404, for every method) instead of failing in the database driver (a 500).
    The bound is in the pattern: a value refused after matching would make Werkzeug answer
    405 when a route of another method has the same path."""

    regex = _digits_up_to(MAX_INT)

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


def _init_domains(app: Flask) -> None:
    """Domain hooks that need the app (request hooks, signals)."""
    from passport.guests import init_guests
    from series.clues.players import init_players

    init_players(app)
    init_guests(app)


def _register_event_handlers() -> None:
    """Import the Socket.IO handlers of every domain (they register room kinds)."""
    import series.clues.events
    import series.episodes.events
    import series.events
    import series.votes.events  # noqa: F401


def _blueprints() -> list[Any]:
    """Every blueprint, in one explicit list."""
    from community.api import bp as community_api
    from community.moderation_views import bp as community_moderation
    from community.views import bp as community
    from core.accessibility import bp as accessibility
    from core.accounts.privacy_views import bp as privacy
    from core.accounts.views import bp as accounts
    from core.api import bp as api
    from core.consent import bp as consent
    from core.home import bp as home
    from core.observability import bp as observability
    from passport.api import bp as passport_api
    from passport.review import bp as passport_review
    from passport.reward_views import bp as passport_rewards
    from passport.share import bp as passport_share
    from passport.views import bp as passport
    from series.api import bp as series_api
    from series.clues.api import bp as clues_api
    from series.clues.views import bp as clues
    from series.episodes.attribution_views import bp as attribution
    from series.episodes.editor import bp as editor
    from series.episodes.hotspot_api import bp as hotspot_api
    from series.episodes.hotspot_editor import bp as hotspot_editor
    from series.episodes.media_views import bp as media
    from series.episodes.partners import bp as partners
    from series.episodes.uploads import bp as uploads
    from series.feeds import bp as feeds
    from series.views import bp as series
    from series.votes.api import bp as votes_api
    from series.votes.casting_views import bp as casting
    from series.votes.views import bp as votes

    return [
        home,
        accounts,
        privacy,
        observability,
        api,
        series,
        series_api,
        media,
        editor,
        hotspot_api,
        hotspot_editor,
        uploads,
        feeds,
        consent,
        accessibility,
        attribution,
        partners,
        clues_api,
        clues,
        votes_api,
        votes,
        casting,
        passport_api,
        passport,
        passport_rewards,
        passport_review,
        community_api,
        community,
        community_moderation,
        passport_share,
    ]
