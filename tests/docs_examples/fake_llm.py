"""A scripted stand-in for the LLM clients the documentation pages call.

``FakeLLM(["first answer", "second answer"])`` answers each ``acomplete``
or ``astream_complete`` call with the next scripted completion, in order,
and keeps every prompt it was given in ``prompts``. Streaming yields the
completion token by token (split on spaces, the space kept with the token
that follows it), each chunk carrying its ``delta`` and the ``text`` so far,
as llama-index's streaming responses do. For agents, ``achat_with_tools``
answers with the next script entry too: a ``ToolCall`` list entry asks for
those tools, a string is the final answer. Nothing is random and nothing
touches the network; a call past the end of the script fails loudly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from pydantic import BaseModel


class Completion(BaseModel):
    """One answer (or one streamed chunk): ``text`` so far and the new ``delta``."""

    text: str
    delta: str | None = None

    def __str__(self) -> str:
        return self.text


class ToolCall(BaseModel):
    """A tool the scripted model asks for (llama-index's ``ToolSelection``)."""

    tool_id: str
    tool_name: str
    args: dict[str, object]


class ChatMessage(BaseModel):
    role: str
    content: str = ""


class ChatResponse(BaseModel):
    message: ChatMessage
    tool_calls: list[ToolCall] = []


class FakeLLM:
    """Returns scripted completions in order and records the prompts."""

    def __init__(
        self, script: Iterable[str | list[ToolCall]], *, model: str = "fake", token_pause: float = 0.0
    ) -> None:
        self.model = model
        self._script = list(script)
        self._token_pause = token_pause
        self.prompts: list[str] = []

    def _next_entry(self, prompt: str) -> str | list[ToolCall]:
        self.prompts.append(prompt)
        if len(self.prompts) > len(self._script):
            raise AssertionError(f"FakeLLM asked {len(self.prompts)} times, script has {len(self._script)}: {prompt!r}")
        return self._script[len(self.prompts) - 1]

    def _next(self, prompt: str) -> str:
        entry = self._next_entry(prompt)
        if not isinstance(entry, str):
            raise AssertionError(f"FakeLLM script has tool calls where a completion was asked for: {prompt!r}")
        return entry

    async def achat_with_tools(self, tools: object, chat_history: list[ChatMessage]) -> ChatResponse:
        """The next scripted turn: tool calls, or the final answer."""
        entry = self._next_entry(chat_history[-1].content if chat_history else "")
        if isinstance(entry, str):
            return ChatResponse(message=ChatMessage(role="assistant", content=entry))
        return ChatResponse(message=ChatMessage(role="assistant"), tool_calls=entry)

    def get_tool_calls_from_response(self, response: ChatResponse, error_on_no_tool_call: bool = True) -> list[ToolCall]:
        if error_on_no_tool_call and not response.tool_calls:
            raise ValueError("expected at least one tool call")
        return list(response.tool_calls)

    async def acomplete(self, prompt: str) -> Completion:
        """The whole next completion."""
        return Completion(text=self._next(prompt))

    async def astream_complete(self, prompt: str) -> AsyncIterator[Completion]:
        """The next completion, one token at a time (awaited, then iterated)."""
        text = self._next(prompt)
        return self._tokens(text)

    async def _tokens(self, text: str) -> AsyncIterator[Completion]:
        so_far = ""
        for token in tokens(text):
            await asyncio.sleep(self._token_pause)
            so_far += token
            yield Completion(text=so_far, delta=token)


def tokens(text: str) -> list[str]:
    """How ``FakeLLM`` splits a completion: words, each after the first with its leading space."""
    words = text.split(" ")
    return [words[0], *(" " + w for w in words[1:])]
