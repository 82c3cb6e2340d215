"""The OpenAI Agents SDK (``openai-agents``) through the proxy: one agent, one function tool.

The SDK speaks the Responses API; the fake provider calls the tool with the placeholders it
saw, the SDK runs the tool on the restored arguments, sends its result back, and the final
answer comes back restored. The provider never sees the fruits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

from proxy.app import create_app
from tests.proxy.conftest import _serve, make_settings
from tests.proxy.responses_upstream import FakeResponses


@pytest.fixture
async def agent_proxy(redis_prefix: str) -> AsyncIterator[tuple[str, FakeResponses]]:
    fake = FakeResponses(tool_call=True, tool_name="find_aisle")
    fake_runner, fake.url = await _serve(fake.app())
    app = create_app(make_settings(fake.url, redis_prefix))
    runner, url = await _serve(app, shutdown_timeout=1.0)
    yield url, fake
    await runner.cleanup()
    await fake_runner.cleanup()


async def test_agent_with_a_function_tool(agent_proxy: tuple[str, FakeResponses]) -> None:
    url, fake = agent_proxy
    set_tracing_disabled(True)  # traces would go to OpenAI directly, around the proxy
    calls: list[str] = []

    @function_tool
    def find_aisle(query: str, found: list[str]) -> str:
        """Which aisle holds what the customer asks for."""
        calls.append(query)
        return f"{query}: aisle 3"

    client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="sk-client-test", max_retries=0)
    agent = Agent(name="shop", instructions="Help customers who like plums.",
                  tools=[find_aisle],
                  model=OpenAIResponsesModel(model="gpt-test", openai_client=client))
    result = await Runner.run(agent, "where are the apples and bananas?")

    assert calls == ["where are the apples and bananas?"]  # the tool got the originals
    assert result.final_output == "Tool said: where are the apples and bananas?: aisle 3"
    assert len(fake.received) == 2
    seen = fake.all_received()
    for word in ("apples", "bananas", "plums"):
        assert word not in seen, word
