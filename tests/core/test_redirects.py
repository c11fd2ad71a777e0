"""`next` targets stay on this site, whatever the form of the other site's address."""

from __future__ import annotations

import pytest

from core.redirects import local_path


@pytest.mark.parametrize(
    "target",
    [
        None,
        "",
        "https://evil.example/",
        "evil.example",
        "//evil.example",
        "/\\evil.example",
        "/%0d%0aSet-Cookie:x".replace("%0d%0a", "\r\n"),
        "/\tevil",
        "javascript:alert(1)",
    ],
)
def test_other_sites_and_odd_paths_fall_back_to_the_default(target):
    assert local_path(target, "/compte") == "/compte"


@pytest.mark.parametrize(
    "target", ["/", "/saisons", "/episodes/3?t=12#notes", "/bons-plans/%C3%A9t%C3%A9"]
)
def test_paths_of_this_site_are_kept(target):
    assert local_path(target) == target
