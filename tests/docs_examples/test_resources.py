"""Page "Resource Objects" (resources.md).

llama-index's ``Memory`` is replaced by a small list-backed memory; the
Anthropic client of the chaining example by ``FakeLLM``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel

from .fake_llm import FakeLLM
from .lib import Event, Resource, ResourceConfig, StartEvent, StopEvent, Workflow, step


class ChatMessage(BaseModel):
    role: str
    content: str


class Memory:
    """Stands in for llama_index.core.memory.Memory: an async put, a list of messages."""

    made = 0

    def __init__(self, session_id: str) -> None:
        Memory.made += 1
        self.session_id = session_id
        self.messages: list[ChatMessage] = []

    @classmethod
    def from_defaults(cls, session_id: str, token_limit: int) -> Memory:
        return cls(session_id)

    async def aput(self, message: ChatMessage) -> None:
        self.messages.append(message)


def get_memory(*args, **kwargs) -> Memory:  # type: ignore[no-untyped-def]
    return Memory.from_defaults("user_id_123", token_limit=60000)


class SecondEvent(Event):
    msg: str


seen_lengths: list[int] = []


class WorkflowWithResource(Workflow):
    @step
    async def first_step(
        self,
        ev: StartEvent,
        memory: Annotated[Memory, Resource(get_memory)],
    ) -> SecondEvent:
        seen_lengths.append(len(memory.messages))
        await memory.aput(ChatMessage(role="user", content="This is the first step"))
        return SecondEvent(msg="This is an input for step 2")

    @step
    async def second_step(self, ev: SecondEvent, memory: Annotated[Memory, Resource(get_memory)]) -> StopEvent:
        seen_lengths.append(len(memory.messages))
        await memory.aput(ChatMessage(role="user", content=ev.msg))
        return StopEvent(result="Messages put into memory")


class UncachedResource(Workflow):
    @step
    async def first_step(
        self,
        ev: StartEvent,
        memory: Annotated[Memory, Resource(get_memory, cache=False)],
    ) -> SecondEvent:
        seen_lengths.append(len(memory.messages))
        await memory.aput(ChatMessage(role="user", content="This is the first step"))
        return SecondEvent(msg="This is an input for step 2")

    @step
    async def second_step(
        self, ev: SecondEvent, memory: Annotated[Memory, Resource(get_memory, cache=False)]
    ) -> StopEvent:
        seen_lengths.append(len(memory.messages))
        await memory.aput(ChatMessage(role="user", content=ev.msg))
        return StopEvent(result="Messages put into memory")


@pytest.fixture(autouse=True)
def _reset() -> None:
    Memory.made = 0
    seen_lengths.clear()


async def test_cached_resource_is_shared_between_steps() -> None:
    assert await WorkflowWithResource().run() == "Messages put into memory"
    assert Memory.made == 1
    assert seen_lengths == [0, 1]  # step 2 sees step 1's message: same object


async def test_uncached_resource_is_made_per_step() -> None:
    assert await UncachedResource().run() == "Messages put into memory"
    assert Memory.made == 2
    assert seen_lengths == [0, 0]


class ClassifierConfig(BaseModel):
    categories: list[str]
    threshold: float


class DocumentClassifier(Workflow):
    @step
    async def classify(
        self,
        ev: StartEvent,
        config: Annotated[
            ClassifierConfig,
            ResourceConfig(config_file="classifier.json"),
        ],
    ) -> StopEvent:
        # config is loaded from classifier.json and validated as ClassifierConfig
        return StopEvent(result=f"Using threshold: {config.threshold}")


class NestedClassifier(Workflow):
    @step
    async def classify(
        self,
        ev: StartEvent,
        config: Annotated[
            ClassifierConfig,
            ResourceConfig(config_file="config.json", path_selector="classifier"),
        ],
    ) -> StopEvent:
        return StopEvent(result=(config.categories, config.threshold))


class LabelledClassifier(Workflow):
    @step
    async def classify(
        self,
        ev: StartEvent,
        config: Annotated[
            ClassifierConfig,
            ResourceConfig(
                config_file="classifier.json",
                label="Document Classifier",
                description="Categories and confidence threshold for classification",
            ),
        ],
    ) -> StopEvent:
        return StopEvent(result=config.categories)


@pytest.fixture
def configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "classifier.json").write_text(json.dumps({"categories": ["invoice", "memo"], "threshold": 0.8}))
    (tmp_path / "config.json").write_text(
        json.dumps({"classifier": {"categories": ["a", "b"], "threshold": 0.5}, "other": {"x": 1}})
    )
    (tmp_path / "llm.json").write_text(json.dumps({"model": "claude-x", "temperature": 0.1, "max_tokens": 64}))
    return tmp_path


async def test_resource_config_loads_json(configs: Path) -> None:
    assert await DocumentClassifier().run() == "Using threshold: 0.8"


async def test_resource_config_path_selector(configs: Path) -> None:
    categories, threshold = await NestedClassifier().run()
    assert (list(categories), threshold) == (["a", "b"], 0.5)


async def test_resource_config_label_and_description(configs: Path) -> None:
    assert list(await LabelledClassifier().run()) == ["invoice", "memo"]


class LLMConfig(BaseModel):
    model: str
    temperature: float
    max_tokens: int


made_llms: list[FakeLLM] = []


def get_llm(
    config: Annotated[LLMConfig, ResourceConfig(config_file="llm.json")],
) -> FakeLLM:
    llm = FakeLLM([f"{config.model} at {config.temperature} says hi"], model=config.model)
    made_llms.append(llm)
    return llm


class ChainedWorkflow(Workflow):
    @step
    async def generate(
        self,
        ev: StartEvent,
        llm: Annotated[FakeLLM, Resource(get_llm)],
    ) -> StopEvent:
        response = await llm.acomplete(ev.input)
        return StopEvent(result=response.text)


async def test_chained_resources(configs: Path) -> None:
    made_llms.clear()
    assert await ChainedWorkflow().run(input="hello") == "claude-x at 0.1 says hi"
    assert [llm.prompts for llm in made_llms] == [["hello"]]
