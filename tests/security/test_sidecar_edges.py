"""The sidecars' edges, attacked on the real stack: no process of the stack listens beyond loopback
(a sidecar's internal gRPC port hands calls to its app with the app token, so reaching it would let a
forged `kb.updated` be stored); a sidecar refuses to publish a topic its app does not own; a call into
an app through the internal gRPC port is refused; and a `kb.updated` that claims the wrong publisher is
dead-lettered, not stored.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import redis.asyncio as aioredis
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import dapr_pb2_grpc, pubsub_pb2
from google.protobuf import any_pb2

from helpdesk.events import KbUpdated
from helpdesk.knowledge.entries import parse_entry
from helpdesk.topics import (
    AppId,
    Component,
    Topic,
    component_topics,
    dead_letter_topic,
    live_topic,
    owner,
    publishing_scopes,
)
from helpdesk_ops.devstack import Replica, Stack
from tests.support.events import envelope
from tests.support.stack import answer_to, eventually, rejected

pytestmark = pytest.mark.integration

LISTEN = "0A"
"""TCP state LISTEN in /proc/net/tcp."""
UNCONNECTED = "07"
"""UDP state of a bound, unconnected socket (one that receives from anyone) in /proc/net/udp."""


# ---- what the kernel says each process listens on ------------------------------------------------


@dataclass(frozen=True)
class Listener:
    pid: int
    protocol: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int

    def __str__(self) -> str:
        return f"pid {self.pid} ({_command(self.pid)}) {self.protocol} {self.address}:{self.port}"


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def _address(hex_address: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        return ipaddress.IPv4Address(raw[::-1]), int(port, 16)
    # /proc writes an IPv6 address as four host-order 32-bit words.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return ipaddress.IPv6Address(words), int(port, 16)


def _sockets() -> dict[int, tuple[str, ipaddress.IPv4Address | ipaddress.IPv6Address, int]]:
    """inode -> (protocol, address, port) of every listening TCP and bound unconnected UDP socket."""
    found = {}
    for protocol, state in (("tcp", LISTEN), ("tcp6", LISTEN), ("udp", UNCONNECTED), ("udp6", UNCONNECTED)):
        lines = Path(f"/proc/net/{protocol}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            if fields[3] == state:
                address, port = _address(fields[1])
                if port:
                    found[int(fields[9])] = (protocol, address, port)
    return found


def _descendants(roots: list[int]) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(text.rsplit(")", 1)[1].split()[1])
    pids = set(roots)
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in pids} - pids
        pids |= children
        grew = bool(children)
    return pids


def listeners(pids: list[int]) -> list[Listener]:
    sockets = _sockets()
    found = []
    for pid in sorted(_descendants(pids)):
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        for link in links:
            if link.startswith("socket:["):
                inode = int(link[len("socket:[") : -1])
                if inode in sockets:
                    protocol, address, port = sockets[inode]
                    found.append(Listener(pid, protocol, address, port))
    return found


def internal_grpc_port(replica: Replica) -> int:
    """The sidecar's internal gRPC port: the one it listens on besides its API and metrics ports."""
    assert replica.sidecar is not None
    known = {replica.dapr_http_port, replica.dapr_grpc_port, replica.metrics_port}
    ports = {
        listener.port
        for listener in listeners([replica.sidecar.pid])
        if listener.protocol.startswith("tcp") and listener.port not in known
    }
    assert len(ports) == 1, f"expected one more port on {replica.name}'s sidecar, found {sorted(ports)}"
    return ports.pop()


# ---- an attacker's tools -------------------------------------------------------------------------


PLANTED = "PLANTED: confirm your password at https://evil.example/reset"


def forged_kb_update(marker: str) -> dict[str, Any]:
    entry = parse_entry(
        {
            "id": f"forged-{marker}",
            "category": "accounts",
            "intents": ["password_reset"],
            "owner": "attacker",
            "en": {"question": f"How do I unlock the {marker} vault?", "answer": PLANTED},
            "ja": {"question": f"{marker} の金庫を開けるには？", "answer": PLANTED},
        }
    )
    return KbUpdated.carrying([entry], kb_version=f"forged-{marker}", actor="attacker").model_dump(
        mode="json"
    )


def cloud_event(data: dict[str, Any], topic: str, source: str, pubsub: str = "pubsub") -> dict[str, Any]:
    """A CloudEvent written outside any trace, as a forger would."""
    return envelope(data, topic, pubsub, source, traceparent=None)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def internal_invoke_request(method: str, body: bytes) -> bytes:
    """dapr.proto.internals.v1.InternalInvokeRequest{ver: V1, message: InvokeRequest} on the wire
    (the Python SDK does not ship the internal protos)."""
    message = common_pb2.InvokeRequest(
        method=method,
        data=any_pb2.Any(value=body),
        content_type="application/json",
        http_extension=common_pb2.HTTPExtension(verb=common_pb2.HTTPExtension.Verb.POST),
    ).SerializeToString()
    return b"\x08\x01" + b"\x1a" + _varint(len(message)) + message


def call_local(port: int, method: str, body: bytes) -> grpc.StatusCode:
    """What another sidecar, or anyone who reaches the port, sends to have the app called."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(
            "/dapr.proto.internals.v1.ServiceInvocation/CallLocal",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        try:
            call(internal_invoke_request(method, body), timeout=10)
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


# ---- the tests -----------------------------------------------------------------------------------


async def test_no_process_of_the_stack_listens_beyond_loopback(stack: Stack) -> None:
    found = listeners(stack.pids())
    for replica in stack.replicas:
        assert replica.sidecar is not None
        ports = {x.port for x in found if x.pid == replica.sidecar.pid and x.protocol.startswith("tcp")}
        # API HTTP and gRPC, internal gRPC, metrics: the scan sees every sidecar's ports.
        assert {replica.dapr_http_port, replica.dapr_grpc_port, replica.metrics_port} < ports, replica.name
    exposed = [str(x) for x in found if not x.address.is_loopback]
    assert exposed == []


@pytest.mark.parametrize("component", [Component.PUBSUB, Component.BROADCAST])
async def test_a_sidecar_refuses_to_publish_a_topic_its_app_does_not_own(
    stack: Stack, component: Component
) -> None:
    scopes = publishing_scopes(component)
    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    accepted = []
    try:
        for app, allowed in scopes.items():
            sidecar = stack.of(app.value)[0]
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{sidecar.dapr_http_port}",
                headers={"dapr-api-token": stack.dapr_api_token},
            ) as http:
                for topic in component_topics(component):
                    if topic in allowed:
                        continue
                    before = await client.xlen(topic)
                    response = await http.post(
                        f"/v1.0/publish/{component.value}/{topic}", json={"forged": True}
                    )
                    after = await client.xlen(topic)
                    if response.status_code != 403 or after != before:
                        accepted.append(f"{app.value} -> {topic}: {response.status_code}")
    finally:
        await client.aclose()
    assert accepted == []


async def test_the_sidecars_grpc_api_refuses_it_too(stack: Stack) -> None:
    """The services publish over HTTP only, so the gRPC publish is not on the API allow-list
    (Unimplemented); were it allowed, the topic scope would refuse it (PermissionDenied)."""
    sidecar = stack.of(AppId.GATEWAY.value)[0]
    request = pubsub_pb2.PublishEventRequest(
        pubsub_name=Component.PUBSUB.value,
        topic=Topic.KB_UPDATED.value,
        data=json.dumps({"forged": True}).encode(),
        data_content_type="application/json",
    )
    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    try:
        before = await client.xlen(Topic.KB_UPDATED.value)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{sidecar.dapr_grpc_port}") as channel:
            stub = dapr_pb2_grpc.DaprStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.PublishEvent(
                    request, metadata=[("dapr-api-token", stack.dapr_api_token)], timeout=10
                )
        after = await client.xlen(Topic.KB_UPDATED.value)
    finally:
        await client.aclose()
    assert refused.value.code() in {grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.PERMISSION_DENIED}
    assert after == before


async def test_a_call_into_dialogue_through_the_internal_grpc_port_is_refused(stack: Stack) -> None:
    marker = uuid.uuid4().hex[:8]
    question = f"How do I unlock the {marker} vault?"
    dialogue = stack.of(AppId.DIALOGUE.value)[0]
    forged = cloud_event(forged_kb_update(marker), Topic.KB_UPDATED.value, source=AppId.EVALUATOR.value)
    route = f"events/{Component.PUBSUB.value}/{Topic.KB_UPDATED.value}"

    status = await asyncio.to_thread(
        call_local, internal_grpc_port(dialogue), route, json.dumps(forged).encode()
    )

    assert status is grpc.StatusCode.PERMISSION_DENIED
    assert (await answer_to(stack, question))["answer"] != PLANTED


async def test_a_kb_update_that_claims_the_wrong_publisher_is_dead_lettered_not_stored(stack: Stack) -> None:
    """Straight into the streams, as anyone who can reach Redis could: daprd delivers it, dialogue
    must refuse it because its `source` is not the evaluator."""
    marker = uuid.uuid4().hex[:8]
    question = f"How do I unlock the {marker} vault?"
    update = forged_kb_update(marker)
    durable = cloud_event(update, Topic.KB_UPDATED.value, source=AppId.GATEWAY.value)
    live = cloud_event(
        update, live_topic(Topic.KB_UPDATED), source=AppId.GATEWAY.value, pubsub=Component.BROADCAST.value
    )
    assert owner(Topic.KB_UPDATED) is AppId.EVALUATOR
    dead_letters = dead_letter_topic(AppId.DIALOGUE, Topic.KB_UPDATED)
    live_refused = await rejected(stack, AppId.DIALOGUE.value, live_topic(Topic.KB_UPDATED), "source")

    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    try:
        await client.xadd(Topic.KB_UPDATED.value, {"data": json.dumps(durable)})
        await client.xadd(live_topic(Topic.KB_UPDATED), {"data": json.dumps(live)})

        async def dead_lettered() -> bool:
            entries = await client.xrange(dead_letters)
            return any(json.loads(fields[b"data"]).get("id") == durable["id"] for _, fields in entries)

        assert await eventually(dead_lettered, timeout=30), "the forged update must reach the dead letters"
    finally:
        await client.aclose()

    async def live_copy_refused() -> bool:
        refused = await rejected(stack, AppId.DIALOGUE.value, live_topic(Topic.KB_UPDATED), "source")
        return refused > live_refused

    assert await eventually(live_copy_refused, timeout=30), "the live copy must be refused and counted"
    assert (await answer_to(stack, question))["answer"] != PLANTED
