"""The "durable workflows" page's programs, run as separate processes by test_durable_workflows.

``python durable_scripts.py SCENARIO PHASE DIR`` (run as a script, so ``lib``
is imported from this folder; ``DOCS_EXAMPLES_LIB`` picks the library).
``DIR`` holds the stand-ins for the page's external stores: ``db.sqlite``
for ``db.save``/``db.load`` and for the Redis hash, both real SQLite files.
A phase that simulates a crash kills its own process with SIGKILL.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Any

from lib import Context, Event, Resource, StartEvent, StopEvent, Workflow, step
from pydantic import Field


class KeyValueDb:
    """``db.save(key, value)`` / ``db.load(key)`` on a SQLite file (the page's ``db``)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("create table if not exists kv (k text primary key, v text)")

    def save(self, key: str, value: Any) -> None:
        self.conn.execute("insert or replace into kv values (?, ?)", (key, json.dumps(value)))

    def load(self, key: str) -> Any:
        row = self.conn.execute("select v from kv where k = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])


class Redis(KeyValueDb):
    """The two Redis hash calls the page uses; values are JSON, as a real hash would need."""

    def hset(self, name: str, mapping: dict[str, Any]) -> None:
        self.save(name, mapping)

    def hgetall(self, name: str) -> dict[str, Any]:
        return self.load(name) or {}


HERE = Path(sys.argv[3]) if len(sys.argv) > 3 else Path(".")


def log(line: str) -> None:
    with open(HERE / "log.txt", "a") as f:
        f.write(line + "\n")


# --- "Storing data in the context object" -------------------------------------------


class MyWorkflow(Workflow):
    @step
    async def count_runs(self, ctx: Context, ev: StartEvent) -> StopEvent:
        runs = await ctx.store.get("runs", default=0) + 1
        await ctx.store.set("runs", runs)
        return StopEvent(result=runs)


async def context_first(db: KeyValueDb) -> None:
    w = MyWorkflow()
    handler = w.run()
    context = handler.ctx
    print("first", await handler)
    # Save the context to a database (after the run: the state it ended with)
    db.save("id", context.to_dict())


async def context_first_early(db: KeyValueDb) -> None:
    """The page's literal order: the dict is taken right after ``run()``, before the run did anything."""
    w = MyWorkflow()
    handler = w.run()
    context = handler.ctx
    db.save("id", context.to_dict())
    print("first", await handler)


async def context_second(db: KeyValueDb) -> None:
    w = MyWorkflow()
    # Load the context from the database
    context = Context.from_dict(w, db.load("id"))
    # Pass the context containing the state to the workflow
    result = await w.run(ctx=context)
    print("second", result)


# --- "Using external resources to checkpoint execution" -----------------------------


def convert(doc_id: str) -> None:
    log(f"convert {doc_id}")
    if doc_id == os.environ.get("CRASH_AT") and not (HERE / "crashed").exists():
        (HERE / "crashed").touch()
        os.kill(os.getpid(), signal.SIGKILL)


class DurableWorkflow(Workflow):
    def __init__(self, r: Redis, **kwargs: Any) -> None:
        self.redis = r
        super().__init__(**kwargs)

    @step
    async def convert_documents(self, ev: StartEvent, ctx: Context) -> StopEvent:
        # Get the workflow input
        document_ids = ev.ids
        # Get the list of processed documents from the state store
        converted_ids = await ctx.store.get("converted_ids", default=[])
        for doc_id in document_ids:
            # Ignore documents that were already processed
            if doc_id in converted_ids:
                continue
            convert(doc_id)
            # Update the state store
            converted_ids.append(doc_id)
            await ctx.store.set("converted_ids", converted_ids)
            # Create a snapshot of the current context
            self.redis.hset("ctx", mapping=ctx.to_dict())
        return StopEvent(result=converted_ids)


redis_path: Path = HERE / "redis.sqlite"


def get_redis_client(*args: Any, **kwargs: Any) -> Redis:
    """This can be reused across several workflows to reduce boilerplate"""
    return Redis(redis_path)


class InjectedDurableWorkflow(Workflow):
    @step
    async def convert_documents(
        self,
        ev: StartEvent,
        ctx: Context,
        redis: Annotated[Redis, Resource(get_redis_client)],
    ) -> StopEvent:
        document_ids = ev.ids
        converted_ids = await ctx.store.get("converted_ids", default=[])
        for doc_id in document_ids:
            if doc_id in converted_ids:
                continue
            convert(doc_id)
            converted_ids.append(doc_id)
            await ctx.store.set("converted_ids", converted_ids)
            redis.hset("ctx", mapping=ctx.to_dict())
        return StopEvent(result=converted_ids)


def _checkpoint_workflow(kind: str) -> Any:
    return DurableWorkflow(Redis(redis_path), timeout=30) if kind == "checkpoint" else InjectedDurableWorkflow(timeout=30)


async def checkpoint_run(kind: str) -> None:
    """The first attempt, or a restart with the same input from the last snapshot, if there is one."""
    w = _checkpoint_workflow(kind)
    snapshot = Redis(redis_path).hgetall("ctx")
    ctx = Context.from_dict(w, snapshot) if snapshot else None
    try:
        result = await w.run(ctx=ctx, ids=["a", "b", "c", "d"])
    except Exception as exc:
        print("error", type(exc).__name__, str(exc))
        return
    print("result", json.dumps(list(result)))


# --- the same job, durable_flows' way: one document per step execution ----------------


class NextDoc(Event):
    index: int


class DocByDoc(Workflow):
    @step
    async def begin(self, ev: StartEvent) -> NextDoc:
        return NextDoc(index=0)

    @step
    async def convert_one(self, ctx: Context, ev: NextDoc) -> NextDoc | StopEvent:
        document_ids = (await ctx.store.get("ids", default=None)) or ["a", "b", "c", "d"]
        converted_ids = await ctx.store.get("converted_ids", default=[])
        doc_id = document_ids[ev.index]
        convert(doc_id)
        converted_ids.append(doc_id)
        await ctx.store.set("converted_ids", converted_ids)
        if ev.index + 1 == len(document_ids):
            return StopEvent(result=converted_ids)
        return NextDoc(index=ev.index + 1)


# --- dbos.md's counter: killed at tick 8, continued from tick 8 ------------------------


class Tick(Event):
    count: int = Field(description="Current count")


class CounterResult(StopEvent):
    final_count: int = Field(description="Final counter value")


class CounterWorkflow(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Tick:
        await ctx.store.set("count", 0)
        log("[Start] Initializing counter to 0")
        return Tick(count=0)

    @step
    async def increment(self, ctx: Context, ev: Tick) -> Tick | CounterResult:
        count = ev.count + 1
        await ctx.store.set("count", count)
        log(f"[Tick {count:2d}] count = {count}")
        if count == 8 and not (HERE / "crashed").exists():
            (HERE / "crashed").touch()
            os.kill(os.getpid(), signal.SIGKILL)  # the page's Ctrl+C at tick 8, as a hard crash

        if count >= 20:
            return CounterResult(final_count=count)

        await asyncio.sleep(0.01)
        return Tick(count=count)


async def durable_run(scenario: str, phase: str) -> None:
    w = DocByDoc(timeout=30) if scenario == "docbydoc" else CounterWorkflow(timeout=30)
    run_id = f"{scenario}-run-1"
    if phase == "start":
        result = await w.run(run_id=run_id)
    elif phase == "run_again":  # dbos.md: "calling workflow.run(run_id=...) again will resume"
        try:
            result = await w.run(run_id=run_id)
        except Exception as exc:
            print("error", type(exc).__name__, str(exc))
            return
    else:
        result = await w.resume(run_id)
    print("result", json.dumps(result if scenario == "docbydoc" else result.final_count))


async def main() -> None:
    scenario, phase = sys.argv[1], sys.argv[2]
    db = KeyValueDb(HERE / "db.sqlite")
    if scenario == "context":
        first = context_first_early if phase == "first_early" else context_first
        await (context_second(db) if phase == "second" else first(db))
    elif scenario in ("docbydoc", "counter"):
        await durable_run(scenario, phase)
    else:
        await checkpoint_run(scenario)


if __name__ == "__main__":
    asyncio.run(main())
