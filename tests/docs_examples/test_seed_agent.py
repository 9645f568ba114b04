"""The seeds' basic agent with tool calls (shared/seeds: slide deck "Introduction to LlamaIndex Workflows").

The deck uses the pre-2.0 ``ctx.get``/``ctx.set``; here the 2.x spelling
``ctx.store.get``/``ctx.store.set``. The deck puts the tool functions in the
event; here the event names the tool call and the step looks the function up
(a function is not JSON, and durable_flows journals every event).
"""

from __future__ import annotations

from .fake_llm import ChatMessage, FakeLLM, ToolCall
from .lib import Context, Event, StartEvent, StopEvent, Workflow, step


def add(a: int, b: int) -> str:
    return str(a + b)


def shout(text: str) -> str:
    return text.upper()


tools = {"add": add, "shout": shout}
llm = FakeLLM([])
system_prompt = "You are a helpful agent."


class LLMCallEvent(Event):
    pass


class ToolCallEvent(Event):
    pass


class ToolCallResultEvent(Event):
    chat_message: ChatMessage


class BasicAgent(Workflow):
    @step
    async def setup(self, ctx: Context, ev: StartEvent) -> LLMCallEvent:
        user_msg = ev.get("user_msg")
        chat_history = []
        chat_history.append(ChatMessage(role="user", content=user_msg))
        await ctx.store.set("chat_history", chat_history)
        return LLMCallEvent()

    @step
    async def speak_with_agent(self, ctx: Context, ev: LLMCallEvent) -> ToolCallEvent | StopEvent:
        chat_history = await ctx.store.get("chat_history")
        llm_input = [ChatMessage(role="system", content=system_prompt)] + chat_history
        response = await llm.achat_with_tools(tools, chat_history=llm_input)
        tool_calls: list[ToolCall] = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)

        if len(tool_calls) == 0:
            return StopEvent(result={"response": response.message.content})

        await ctx.store.set("num_tool_calls", len(tool_calls))

        for tool_call in tool_calls:
            ctx.send_event(ToolCallEvent(tool_call=tool_call))
        return None

    @step(num_workers=4)
    async def handle_tool_call(self, ctx: Context, ev: ToolCallEvent) -> ToolCallResultEvent:
        tool_call = ev.get("tool_call")
        tool_response = tools[tool_call.tool_name](**tool_call.args)
        return ToolCallResultEvent(chat_message=ChatMessage(role="tool", content=tool_response))

    @step
    async def aggregate_tool_results(self, ctx: Context, ev: ToolCallResultEvent) -> LLMCallEvent:
        """Collects the results of all tool calls and updates the chat history."""
        num_tool_calls = await ctx.store.get("num_tool_calls")
        results = ctx.collect_events(ev, [ToolCallResultEvent] * num_tool_calls)
        if not results:
            return None
        chat_history = await ctx.store.get("chat_history")
        chat_history.extend([result.chat_message for result in results])
        await ctx.store.set("chat_history", chat_history)
        return LLMCallEvent()


async def test_agent_calls_tools_then_answers(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fake = FakeLLM(
        [
            [
                ToolCall(tool_id="1", tool_name="add", args={"a": 2, "b": 3}),
                ToolCall(tool_id="2", tool_name="shout", args={"text": "hi"}),
            ],
            "2 + 3 is 5, and HI.",
        ]
    )
    monkeypatch.setattr(f"{__name__}.llm", fake)
    handler = BasicAgent(timeout=20).run(user_msg="add 2 and 3, and shout hi")
    assert await handler == {"response": "2 + 3 is 5, and HI."}
    history = await handler.ctx.store.get("chat_history")
    contents = [(m.role, m.content) for m in history]
    assert contents[0] == ("user", "add 2 and 3, and shout hi")
    assert sorted(contents[1:]) == [("tool", "5"), ("tool", "HI")]
    assert fake.prompts == ["add 2 and 3, and shout hi", contents[-1][1]]
