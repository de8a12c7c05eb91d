"""The kernel's state adapter against the real sidecar: a bulk save whose items carry their etags
writes each key on its own, and answers `ETagMismatch` when any of them changed since it was read
(the others written all the same), which is what a caller's retry relies on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from helpdesk.dapr.ports import ETagMismatch
from helpdesk.dapr.sidecar import Sidecar
from helpdesk.dapr.state import DaprStateStore
from helpdesk.settings import ServiceSettings
from helpdesk_ops.devstack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture
async def state(stack: Stack) -> AsyncIterator[DaprStateStore]:
    """The state store through the evaluator's sidecar, as the candidate store uses it."""
    replica = stack.of("evaluator")[0]
    sidecar = Sidecar(
        ServiceSettings(DAPR_HTTP_PORT=replica.dapr_http_port, DAPR_API_TOKEN=stack.dapr_api_token), []
    )
    try:
        yield DaprStateStore(sidecar)
    finally:
        await sidecar.close()


async def test_a_bulk_save_with_etags_writes_each_key_and_refuses_a_changed_one(
    state: DaprStateStore,
) -> None:
    keys = [f"etag-check:{uuid.uuid4()}:{n}" for n in range(3)]
    for key in keys:
        assert await state.create(key, b'{"n": 0}')
    read = await state.get_many(keys)

    await state.save_many_if_unchanged({key: (b'{"n": 1}', read[key].etag) for key in keys})

    written = await state.get_many(keys)
    assert {key: written[key].value for key in keys} == dict.fromkeys(keys, b'{"n":1}')
    stale = {key: (b'{"n": 2}', (read if key == keys[1] else written)[key].etag) for key in keys}
    with pytest.raises(ETagMismatch):
        await state.save_many_if_unchanged(stale)
    after = await state.get_many(keys)
    assert [after[key].value for key in keys] == [b'{"n":2}', b'{"n":1}', b'{"n":2}']
