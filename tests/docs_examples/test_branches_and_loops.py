"""Page "Branches and loops" (branches_and_loops.md)."""

from __future__ import annotations

import random

import pytest

from .lib import Event, StartEvent, StopEvent, Workflow, step


class LoopEvent(Event):
    num_loops: int


class LoopingWorkflow(Workflow):
    @step
    async def prepare_input(self, ev: StartEvent) -> LoopEvent:
        num_loops = random.randint(0, 10)
        return LoopEvent(num_loops=num_loops)

    @step
    async def loop_step(self, ev: LoopEvent) -> LoopEvent | StopEvent:
        seen.append(ev.num_loops)
        if ev.num_loops <= 0:
            return StopEvent(result="Done looping!")

        return LoopEvent(num_loops=ev.num_loops - 1)


seen: list[int] = []


class BranchA1Event(Event):
    payload: str


class BranchA2Event(Event):
    payload: str


class BranchB1Event(Event):
    payload: str


class BranchB2Event(Event):
    payload: str


class BranchWorkflow(Workflow):
    @step
    async def start(self, ev: StartEvent) -> BranchA1Event | BranchB1Event:
        if random.randint(0, 1) == 0:
            print("Go to branch A")
            return BranchA1Event(payload="Branch A")
        else:
            print("Go to branch B")
            return BranchB1Event(payload="Branch B")

    @step
    async def step_a1(self, ev: BranchA1Event) -> BranchA2Event:
        print(ev.payload)
        return BranchA2Event(payload=ev.payload)

    @step
    async def step_b1(self, ev: BranchB1Event) -> BranchB2Event:
        print(ev.payload)
        return BranchB2Event(payload=ev.payload)

    @step
    async def step_a2(self, ev: BranchA2Event) -> StopEvent:
        print(ev.payload)
        return StopEvent(result="Branch A complete.")

    @step
    async def step_b2(self, ev: BranchB2Event) -> StopEvent:
        print(ev.payload)
        return StopEvent(result="Branch B complete.")


@pytest.mark.parametrize("loops", [0, 3, 10])
async def test_loop_counts_down(loops: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "randint", lambda a, b: loops)
    seen.clear()
    assert await LoopingWorkflow().run() == "Done looping!"
    assert seen == list(range(loops, -1, -1))


@pytest.mark.parametrize(("coin", "branch"), [(0, "A"), (1, "B")])
async def test_branch_takes_one_path(
    coin: int, branch: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(random, "randint", lambda a, b: coin)
    assert await BranchWorkflow().run() == f"Branch {branch} complete."
    assert capsys.readouterr().out.splitlines() == [f"Go to branch {branch}", f"Branch {branch}", f"Branch {branch}"]
