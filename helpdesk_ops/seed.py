"""Seeding what the services need before they start: local secrets and flag defaults."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from helpdesk.flags import config_key

ROOT = Path(__file__).resolve().parent.parent
FLAGS_FILE = ROOT / "flags" / "defaults.json"


def _digest(key: str) -> str:
    import hashlib

    return hashlib.sha256(key.encode()).hexdigest()


def local_secrets(api_key: str, operator_key: str) -> dict[str, str]:
    """The local secret store's content: API key digests with roles, signing keys, no model keys."""
    keys = {
        _digest(api_key): {"user_id": "local-user", "roles": ["user"]},
        _digest(operator_key): {"user_id": "local-operator", "roles": ["user", "operator"]},
    }
    return {
        "gateway-api-keys": json.dumps(keys),
        "operator-keys": json.dumps(
            {_digest(operator_key): {"user_id": "local-operator", "roles": ["operator"]}}
        ),
        "web-session-key": secrets.token_urlsafe(32),
    }


async def seed_flags(redis_url: str, *, overwrite: bool = False) -> list[str]:
    """Write flag defaults into the Redis configuration store (`value||version`), keeping values an
    operator has already changed unless `overwrite`."""
    import redis.asyncio as aioredis

    defaults = json.loads(FLAGS_FILE.read_text())
    written = []
    client = aioredis.Redis.from_url(redis_url)
    try:
        for name, definition in defaults.items():
            value = json.dumps(definition, ensure_ascii=False) + "||1"
            if await client.set(config_key(name), value, nx=not overwrite):
                written.append(name)
    finally:
        await client.aclose()
    return written
