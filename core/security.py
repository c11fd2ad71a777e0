"""Security headers on every response, and the flags every cookie of the app carries.

The Content-Security-Policy allows nothing but the platform itself: no inline script, no inline
style, no `eval`. Pages keep their data in `<script type="application/json">` blocks (never
run) and their behaviour in static/js/. The only outside origin is the map tile server when
PASSPORT_TILE_URL names one (ARCHITECTURE.md: the tile URL is configuration).

A view whose feature truly needs more declares it with `@extend_csp(directive=[sources])`,
with a comment saying which feature and why; none does today.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request

F = TypeVar("F", bound=Callable[..., Any])

#: Why each source is there (README, "Security headers", says it for operators):
BASE_POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),  # ES modules of static/js and static/vendor, nothing inline
    "style-src": ("'self'",),  # static/css and Leaflet's stylesheet; scripts set element.style
    # data: Leaflet blanks a tile still loading when it drops it (a 1×1 GIF data URI).
    # The tile host of PASSPORT_TILE_URL is added by build_policy.
    "img-src": ("'self'", "data:"),
    # blob: hls.js plays HLS through Media Source Extensions, attached as a blob: URL.
    "media-src": ("'self'", "blob:"),
    # 'self' covers the Socket.IO WebSocket on the same host and port (CSP Level 3).
    "connect-src": ("'self'",),
    "worker-src": ("'self'",),  # the passport's service worker; hls.js light runs no worker
    "manifest-src": ("'self'",),
    "font-src": ("'self'",),
    "frame-src": ("'none'",),
    "object-src": ("'none'",),
    "base-uri": ("'none'",),
    # Every form posts here and is redirected here (Chromium checks the redirects too);
    # OpenID Connect starts from a link, not a form.
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}

#: Powerful features: the passport and the tips use the position, the player full screen;
#: nothing uses a camera, a microphone or payment, and embedded frames get nothing.
PERMISSIONS_POLICY = ", ".join(
    (
        "geolocation=(self)",
        "fullscreen=(self)",
        "camera=()",
        "microphone=()",
        "payment=()",
        "usb=()",
        "accelerometer=()",
        "gyroscope=()",
        "magnetometer=()",
        "display-capture=()",
    )
)

HSTS = "max-age=31536000; includeSubDomains"


def tile_source(tile_url: str | None) -> str | None:
    """The CSP source of a tile URL template on another host (None when local or unset).

    A `{s}` (or any placeholder) in the host becomes a wildcard label: `{s}.tile.example.org`
    allows `*.tile.example.org`.
    """
    if not tile_url:
        return None
    parts = urlsplit(tile_url)
    if not parts.netloc:
        return None  # a path on this site: 'self'
    labels = parts.netloc.split(".")
    templated = [i for i, label in enumerate(labels) if "{" in label]
    if templated:
        # CSP allows a wildcard only as the leftmost label, standing for one or more labels.
        labels = ["*", *labels[templated[-1] + 1 :]]
    host = ".".join(labels)
    return f"{parts.scheme}://{host}" if parts.scheme else host


def build_policy(config: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The site-wide policy for this configuration."""
    policy = dict(BASE_POLICY)
    tiles = tile_source(config.get("PASSPORT_TILE_URL"))
    if tiles:
        policy["img-src"] = (*policy["img-src"], tiles)
    return policy


def serialise(policy: Mapping[str, Iterable[str]]) -> str:
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())


def extended(
    policy: Mapping[str, tuple[str, ...]], extra: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """The policy with more sources in some directives ('none' gives way to them)."""
    merged = dict(policy)
    for name, sources in extra.items():
        kept = tuple(s for s in merged.get(name, ()) if s != "'none'")
        merged[name] = (*kept, *(s for s in sources if s not in kept))
    return merged


def extend_csp(**directives: Iterable[str]) -> Callable[[F], F]:
    """Let one view's responses allow more sources (`img_src=["https://…"]` adds to img-src).

    Only for a feature that cannot work otherwise; say which beside the decorator.
    """
    extra = {name.replace("_", "-"): tuple(sources) for name, sources in directives.items()}
    for name in extra:
        if name not in BASE_POLICY:
            raise ValueError(f"unknown CSP directive {name!r}")

    def decorator(view: F) -> F:
        view.csp_extra = extra  # type: ignore[attr-defined]
        return view

    return decorator


def is_production(config: Mapping[str, Any]) -> bool:
    """Served over HTTPS only (EXPERTS_ENV=production)."""
    return config.get("EXPERTS_ENV") == "production"


def cookie_flags() -> dict[str, Any]:
    """Flags of the app's own cookies: no script reads them, cross-site posts do not carry
    them, and in production they travel over HTTPS only."""
    return {
        "httponly": True,
        "samesite": "Lax",
        "secure": is_production(current_app.config),
    }


def init_security(app: Flask) -> None:
    """Send the security headers with every response."""
    policy = build_policy(app.config)
    site_policy = serialise(policy)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        view = app.view_functions.get(request.endpoint or "")
        extra: dict[str, tuple[str, ...]] = getattr(view, "csp_extra", {})
        csp = serialise(extended(policy, extra)) if extra else site_policy
        headers = response.headers
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        # Full URLs stay on this site (reset tokens, episode paths); other sites get the
        # origin, which OpenStreetMap's tile policy asks for and partners count visits by.
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for older browsers
        headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if is_production(app.config):
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
