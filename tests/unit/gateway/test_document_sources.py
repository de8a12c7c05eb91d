"""The API shows where an answer from a document comes from: `sources` carry the passage's kind,
document title, section path, page and document id, on the answer and in the conversation."""

from __future__ import annotations

from helpdesk.events import ChatRequested, Citation, Contract
from helpdesk.knowledge.entries import KnowledgeKind
from services.gateway.composition import GatewayParts
from tests.support.gateway import answer_for, gateway

PASSAGE = Citation(
    faq_id="vpn-client-guide-4a96b27356~0123456789abcdef",
    kind=KnowledgeKind.PASSAGE,
    title="GlobalConnect VPN client guide",
    section=["Troubleshooting", "Error 809"],
    page=4,
    document_id="vpn-client-guide-4a96b27356",
    snippet="Error 809 means the network blocks the IKE ports.",
    url="https://intranet.example.com/guides/vpn-client",
)


def test_an_answer_from_a_passage_shows_its_document_section_and_page() -> None:
    with gateway(answering=False) as g:

        async def answer(event: Contract) -> None:
            assert isinstance(event, ChatRequested)
            answered = answer_for(event, "Switch the client to SSL mode.").model_copy(
                update={"cited_faq_ids": [PASSAGE.faq_id], "citations": [PASSAGE]}
            )
            parts: GatewayParts = g.client.app.state.parts  # type: ignore[attr-defined]
            await parts.answers.complete(answered)
            await parts.answers.wake(answered)

        g.bus.subscribe(ChatRequested.topic, answer)
        body = g.client.post("/v1/chat", json={"message": "error 809 at the hotel"}, headers=g.auth()).json()

        assert body["citations"] == [PASSAGE.faq_id]
        [source] = body["sources"]
        assert source["kind"] == "passage"
        assert source["title"] == "GlobalConnect VPN client guide"
        assert source["section"] == ["Troubleshooting", "Error 809"]
        assert source["page"] == 4
        assert source["document_id"] == "vpn-client-guide-4a96b27356"
        assert source["url"] == "https://intranet.example.com/guides/vpn-client"
        conversation = g.client.get(body["links"]["conversation"], headers=g.auth()).json()
        assert conversation["turns"][0]["sources"] == body["sources"]
