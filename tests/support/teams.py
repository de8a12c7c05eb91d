"""Teams in tests: the local key server and Bot Connector, activities as Teams posts them, and a
gateway (in-memory ports) configured to trust those servers."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from helpdesk.events import (
    AnswerMode,
    ChatAnswered,
    ChatRequested,
    Citation,
    Contract,
    Language,
)
from helpdesk.memory_ports import MemorySecrets
from services.gateway.settings import TeamsSettings
from tests.support.connector_server import BotConnectorServer
from tests.support.gateway import GatewayUnderTest, escalation_for, gateway
from tests.support.jwks_server import BotFrameworkKeyServer
from tests.support.tls import TestCertificates, make_certificates

APP_ID = "5f1e2d3c-4b5a-4978-8a6b-0c1d2e3f4a5b"
APP_PASSWORD = "teams-app-password-for-tests"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "00000000-1111-2222-3333-444444444444"

_ids = itertools.count(1)


@dataclass
class TeamsWorld:
    certificates: TestCertificates
    keys: BotFrameworkKeyServer
    connector: BotConnectorServer

    def settings(self, **overrides: Any) -> TeamsSettings:
        values: dict[str, Any] = {
            "app_id": APP_ID,
            "allowed_tenants": [TENANT],
            "openid_metadata_url": self.keys.metadata_url,
            "authority": self.connector.authority,
            "ca_bundle": self.certificates.ca_file,
            "reply_backoff_seconds": 0.0,
            "keys_cooldown_seconds": 0.0,
        }
        return TeamsSettings(**(values | overrides))

    def env(self) -> dict[str, str]:
        """The same settings as environment variables, for a gateway process."""
        return {
            "HELPDESK_TEAMS__APP_ID": APP_ID,
            "HELPDESK_TEAMS__ALLOWED_TENANTS": f'["{TENANT}"]',
            "HELPDESK_TEAMS__OPENID_METADATA_URL": self.keys.metadata_url,
            "HELPDESK_TEAMS__AUTHORITY": self.connector.authority,
            "HELPDESK_TEAMS__CA_BUNDLE": self.certificates.ca_file,
        }

    def activity(
        self,
        text: str | None = "How do I reset my password?",
        *,
        activity_id: str | None = None,
        activity_type: str = "message",
        locale: str = "en-US",
        tenant: str = TENANT,
        service_url: str | None = None,
        conversation: str = "a:1teams-conversation-id",
        user: str = "29:1user-id",
        aad: str = "aad-user-1",
        value: Any = None,
        channel_id: str = "msteams",
    ) -> dict[str, Any]:
        activity: dict[str, Any] = {
            "type": activity_type,
            "id": activity_id or f"1700000000{next(_ids):06d}",
            "timestamp": "2026-11-22T10:00:00.000Z",
            "serviceUrl": service_url or self.connector.service_url,
            "channelId": channel_id,
            "from": {"id": user, "name": "Test User", "aadObjectId": aad},
            "conversation": {"conversationType": "personal", "tenantId": tenant, "id": conversation},
            "recipient": {"id": f"28:{APP_ID}", "name": "Helpdesk"},
            "locale": locale,
            "channelData": {"tenant": {"id": tenant}},
        }
        if text is not None:
            activity["text"] = text
            activity["textFormat"] = "plain"
        if value is not None:
            activity["value"] = value
        return activity

    def auth(self, activity: dict[str, Any] | None = None, **mint: Any) -> dict[str, str]:
        service_url = mint.pop("service_url", (activity or {}).get("serviceUrl", self.connector.service_url))
        return {"authorization": f"Bearer {self.keys.mint(APP_ID, service_url, **mint)}"}


@contextmanager
def teams_world() -> Iterator[TeamsWorld]:
    certificates = make_certificates()
    with (
        BotFrameworkKeyServer(certificates) as keys,
        BotConnectorServer(certificates, APP_ID, APP_PASSWORD) as connector,
    ):
        yield TeamsWorld(certificates, keys, connector)


@dataclass
class TeamsGateway:
    g: GatewayUnderTest
    world: TeamsWorld

    def post(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        return self.g.client.post(
            "/api/messages", json=activity, headers=self.world.auth(activity) if headers is None else headers
        )

    def typing_sent(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait for the typing indicators sent beside the 200s (so they don't meet a switched failure)."""
        deadline = time.monotonic() + timeout
        while len(self.world.connector.typing) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def requests(self) -> list[ChatRequested]:
        return [e for e in self.g.published(ChatRequested) if isinstance(e, ChatRequested)]

    def deliver(self, event: Contract, topic: str) -> dict[str, Any]:
        """Hand an event to the gateway's competing subscription, as daprd would."""
        return self.g.deliver(event, topic)

    def answer(
        self,
        request: ChatRequested,
        text: str = "Open the self-service portal and choose Reset.",
        *,
        language: Language = Language.EN,
        mode: AnswerMode = AnswerMode.FAQ,
    ) -> dict[str, Any]:
        answered = ChatAnswered(
            turn_id=request.turn_id,
            conversation_id=request.conversation_id,
            channel=request.channel,
            language=language,
            question=request.text,
            answer=text,
            mode=mode,
            cited_faq_ids=["kb-password-reset"],
            citations=[
                Citation(
                    faq_id="kb-password-reset",
                    title="How do I reset my password?",
                    url="https://help.example.com/kb/password-reset",
                )
            ],
        )
        return self.deliver(answered, "chat.answered")

    def escalate(self, request: ChatRequested, message: str = "A person will take over.") -> dict[str, Any]:
        escalated = escalation_for(request, summary="The user asked for a person.", message=message)
        return self.deliver(escalated, "chat.escalated")


@contextmanager
def teams_gateway(world: TeamsWorld, **settings: Any) -> Iterator[TeamsGateway]:
    teams = world.settings(**settings.pop("teams", {}))
    with gateway(answering=False, teams=teams, **settings) as g:
        secrets = g.runtime.secrets
        assert isinstance(secrets, MemorySecrets)
        secrets.secrets["teams-app-password"] = APP_PASSWORD
        world.connector.reset()
        yield TeamsGateway(g, world)
