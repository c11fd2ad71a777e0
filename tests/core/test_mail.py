"""E-mail goes through a real SMTP server when configured (aiosmtpd on loopback)."""

from __future__ import annotations

import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from tests.conftest import csrf_token
from tests.support.live import free_port


class Collect(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:
        self.messages.append(message)


@pytest.fixture
def smtp_server():
    handler = Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


@pytest.fixture
def app_config(app_config, smtp_server):
    controller, _handler = smtp_server
    app_config["SMTP_HOST"] = controller.hostname
    app_config["SMTP_PORT"] = controller.port
    return app_config


def test_password_reset_mail_goes_through_smtp(client, make_user, smtp_server, app):
    _controller, handler = smtp_server
    make_user("smtp@example.org")
    response = client.post(
        "/mot-de-passe-oublie",
        data={
            "email": "smtp@example.org",
            "csrf_token": csrf_token(client, "/mot-de-passe-oublie"),
        },
    )
    assert response.status_code == 302
    deadline = time.monotonic() + 5
    while not handler.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(handler.messages) == 1
    message = handler.messages[0]
    assert message["To"] == "smtp@example.org"
    assert "/mot-de-passe/" in message.get_payload(decode=True).decode()
