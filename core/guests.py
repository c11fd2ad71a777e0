"""Visitors known without an account: a random token in an HttpOnly cookie, only its hash stored.

The clue game (`enquete` cookie) and the passport (`passeport` cookie) both let a visitor play
before signing up. A `GuestCookie` reads the token of a request, issues a new one (written to
the response after the view), and at sign-in calls the domain's merge, then drops the cookie:
what the guest earned moves into the account and the token is no longer needed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from flask import Flask, Response, g, has_request_context, request
from flask_login import user_logged_in

from core.accounts.models import User
from core.security import cookie_flags

#: A year: a tourist's passport outlives a holiday.
GUEST_COOKIE_MAX_AGE = 365 * 24 * 3600


def digest(token: str) -> str:
    """What is stored of a guest token: its SHA-256 (a leaked table names no cookie)."""
    return hashlib.sha256(token.encode()).hexdigest()


class GuestCookie:
    """One kind of guest, known by the cookie `name`."""

    def __init__(self, name: str, max_age: int = GUEST_COOKIE_MAX_AGE) -> None:
        self.name = name
        self.max_age = max_age
        self._new = f"guest_cookie_new_{name}"
        self._drop = f"guest_cookie_drop_{name}"

    def token_hash(self) -> str | None:
        """The hash of this request's guest token; None without a (plausible) cookie."""
        token = request.cookies.get(self.name) if has_request_context() else None
        if not token or len(token) > 100:
            return None
        return digest(token)

    def issue(self) -> str:
        """A new guest token, set on this request's response; returns its hash to store."""
        token = secrets.token_urlsafe(24)
        setattr(g, self._new, token)
        return digest(token)

    def forget(self) -> None:
        """Drop the cookie in this request's response (its guest was merged into an account)."""
        setattr(g, self._drop, True)

    def install(self, app: Flask, on_login: Callable[[User], None]) -> None:
        """At sign-in or sign-up, call `on_login` (the merge) and drop the cookie; after each
        request, write a token issued during it."""

        def signed_in(sender: Flask, user: User, **extra: object) -> None:
            if not has_request_context():
                return
            on_login(user)
            if self.name in request.cookies:
                self.forget()

        def write(response: Response) -> Response:
            # Also on a refused request: what it kept belongs to the guest it made.
            token = g.get(self._new)
            if token:
                response.set_cookie(
                    self.name, token, max_age=self.max_age, path="/", **cookie_flags()
                )
            if g.get(self._drop):
                response.delete_cookie(self.name, path="/", **cookie_flags())
            return response

        user_logged_in.connect(signed_in, app, weak=False)  # a closure: keep it alive
        app.after_request(write)
