"""Generated workflows for the property tests.

Hypothesis draws a *plan*: plain JSON naming a pipeline of stages (chains,
branches, bounded loops, fan-out with ``send_event`` + ``num_workers`` +
``collect_events``, heterogeneous splits, human input, ``wait_for_event``,
retries) and, per step, how it runs (async, async with interleaving points,
sync in a thread, free function) and which effect it has (state ``set`` /
``edit_state``, stream writes). :func:`build` turns a plan into a ``Workflow``
subclass over a fixed pool of module-level event classes, so replay can import
every event type by its qualified name (``wfgen.F3``), also in a subprocess
that rebuilds the same workflow from the same plan.

Every step is a deterministic function of its input event (and, for retry
stages, of its attempt number), and every state change is commutative, so two
runs of one plan end with the same result, state and produced events however
their steps interleave or crash.

No ``from __future__ import annotations`` here: the step functions are given
real annotation objects.
"""

import asyncio
import json
from collections import Counter
from typing import Any, Optional, Union

from hypothesis import strategies as st
from pydantic import BaseModel, Field

from durable_flows import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from durable_flows.codec import Codec
from durable_flows.events import qualified_name
from durable_flows.retry_policy import retry_policy, stop_after_attempt, wait_fixed
from durable_flows.runtime import records as k
from durable_flows.runtime.records import Record
from durable_flows.runtime.replay import decode_journal
from durable_flows.storage import JournalStore
from durable_flows.storage.base import JournalEntry

MOD = 10007  # keeps every flowing value small


# --- the event pool -----------------------------------------------------------------


class Note(BaseModel):
    """A nested model carried by some events (exercises nested (de)serialization)."""

    label: str = ""
    tags: list[str] = Field(default_factory=list)


class Flow(Event):
    """Base of the pool: the value flowing through the pipeline."""

    v: int = 0
    n: int = 0  # loop counter
    i: int = 0  # fan-out index
    note: Optional[Note] = None


POOL_SIZE = 48
POOL: list[type[Flow]] = []
for _i in range(POOL_SIZE):
    _cls = type(f"F{_i}", (Flow,), {"__module__": __name__, "__qualname__": f"F{_i}"})
    globals()[_cls.__name__] = _cls
    POOL.append(_cls)


class AskQ0(InputRequiredEvent):
    prefix: str


class AskQ1(InputRequiredEvent):
    prefix: str


class AskQ2(InputRequiredEvent):
    prefix: str


class ReplyQ0(HumanResponseEvent):
    response: str


class ReplyQ1(HumanResponseEvent):
    response: str


class ReplyQ2(HumanResponseEvent):
    response: str


ASKS: list[type[InputRequiredEvent]] = [AskQ0, AskQ1, AskQ2]
REPLIES: list[type[HumanResponseEvent]] = [ReplyQ0, ReplyQ1, ReplyQ2]
MAX_HITL = len(ASKS)


class WaitAsk(Event):
    """Written to the stream by a step that waits for a :class:`WaitAnswer`."""

    key: str
    v: int


class WaitAnswer(Event):
    """The answer to a :class:`WaitAsk`; no step accepts it, only waiters."""

    key: str
    v: int


class StreamNote(Event):
    """What steps write to the stream."""

    key: str
    v: int


class GenState(BaseModel):
    """Typed state for plans with ``typed=True``."""

    total: int = 0
    marks: dict[str, int] = Field(default_factory=dict)


# --- plans --------------------------------------------------------------------------

EFFECTS = ["none", "set", "edit", "stream"]
MODES = ["async", "sleep", "sync", "free"]


def _stage() -> st.SearchStrategy[dict[str, Any]]:
    effect = st.sampled_from(EFFECTS)
    mode = st.sampled_from(MODES)
    return st.one_of(
        st.fixed_dictionaries(
            {
                "kind": st.just("chain"),
                "a": st.integers(1, 9),
                "b": st.integers(0, 99),
                "effect": effect,
                "mode": mode,
            }
        ),
        st.fixed_dictionaries({"kind": st.just("branch"), "mod": st.integers(2, 3), "mode": mode}),
        st.fixed_dictionaries({"kind": st.just("loop"), "bound": st.integers(0, 4), "mode": mode}),
        st.fixed_dictionaries(
            {
                "kind": st.just("fanout"),
                "width": st.integers(1, 5),
                "workers": st.integers(1, 4),
                "effect": effect,
                "mode": mode,
            }
        ),
        st.fixed_dictionaries({"kind": st.just("split"), "effect": effect, "mode": mode}),
        st.fixed_dictionaries({"kind": st.just("hitl")}),
        st.fixed_dictionaries({"kind": st.just("wait"), "named": st.booleans()}),
        st.fixed_dictionaries({"kind": st.just("retry"), "fails": st.integers(1, 2)}),
    )


def _cap_hitl(plan: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    stages = []
    for stage in plan["stages"]:
        if stage["kind"] == "hitl":
            seen += 1
            if seen > MAX_HITL:
                continue
        stages.append(stage)
    return {**plan, "stages": stages or [{"kind": "chain", "a": 1, "b": 0, "effect": "none", "mode": "async"}]}


def plans(max_stages: int = 5) -> st.SearchStrategy[dict[str, Any]]:
    """Plans of 1..``max_stages`` stages (JSON-compatible dicts)."""
    return st.fixed_dictionaries(
        {
            "typed": st.booleans(),
            "start": st.integers(0, 1000),
            "via": st.sampled_from(["handler", "inbox"]),
            "stages": st.lists(_stage(), min_size=1, max_size=max_stages),
        }
    ).map(_cap_hitl)


def uses_outside_input(plan: dict[str, Any]) -> bool:
    return any(s["kind"] in ("hitl", "wait") for s in plan["stages"])


# --- building ----------------------------------------------------------------------


def _bump(state: Any, v: int) -> None:
    if isinstance(state, GenState):
        state.total += v
    else:
        state["total"] = state.get("total", 0) + v


async def _effect(ctx: Any, effect: str, key: str, v: int) -> None:
    if effect == "set":
        await ctx.store.set(f"marks.{key}", v)
    elif effect == "edit":
        async with ctx.store.edit_state() as state:
            _bump(state, v)
    elif effect == "stream":
        ctx.write_event_to_stream(StreamNote(key=key, v=v))


class _Builder:
    def __init__(self, plan: dict[str, Any], name: str) -> None:
        self.plan = plan
        self.name = name
        self.methods: dict[str, Any] = {}
        self.free: list[tuple[Any, dict[str, Any]]] = []
        self.used = 0
        self.ctx_type: Any = Context[GenState] if plan["typed"] else Context
        self.hitl = 0

    def fresh(self) -> type[Flow]:
        cls = POOL[self.used]
        self.used += 1
        return cls

    def add(
        self,
        name: str,
        body: Any,
        accepts: Any,
        returns: Any,
        mode: str = "async",
        **options: Any,
    ) -> None:
        """Add a step running ``body(ctx, ev)`` (a coroutine function, or a plain one for sync)."""
        free = mode == "free"
        if mode == "sync":

            def fn(*args: Any) -> Any:
                return body(args[-2], args[-1])

        elif mode == "sleep":

            async def fn(*args: Any) -> Any:
                await asyncio.sleep(0)
                out = await body(args[-2], args[-1])
                await asyncio.sleep(0)
                return out

        else:

            async def fn(*args: Any) -> Any:
                return await body(args[-2], args[-1])

        # Give the wrapper the signature @step inspects: (self,) ctx, ev -> returns.
        import inspect

        params = [] if free else [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        params += [
            inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("ev", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        ]
        fn.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        fn.__annotations__ = {"ctx": self.ctx_type, "ev": accepts, "return": returns}
        fn.__name__ = name
        fn.__qualname__ = name if free else f"{self.name}.{name}"
        fn.__module__ = __name__
        if free:
            self.free.append((fn, options))
        else:
            self.methods[name] = step(**options)(fn)

    # -- stages --------------------------------------------------------------------

    def stage(self, idx: int, spec: dict[str, Any], cur: type[Flow]) -> type[Flow]:
        kind = spec["kind"]
        nxt = self.fresh()
        key = f"s{idx}"
        if kind == "chain":
            a, b, effect = spec["a"], spec["b"], spec["effect"]
            if spec["mode"] == "sync":

                def sync_body(ctx: Any, ev: Any) -> Any:
                    v = (ev.v * a + b) % MOD
                    if effect == "stream":
                        ctx.write_event_to_stream(StreamNote(key=key, v=v))
                    return nxt(v=v, note=Note(label=key, tags=[str(v)]))

                self.add(f"{key}_chain", sync_body, cur, nxt, "sync")
            else:

                async def chain(ctx: Any, ev: Any) -> Any:
                    v = (ev.v * a + b) % MOD
                    await _effect(ctx, effect, key, v)
                    return nxt(v=v, note=Note(label=key, tags=[str(v)]))

                self.add(f"{key}_chain", chain, cur, nxt, spec["mode"])
        elif kind == "branch":
            arms = [self.fresh() for _ in range(spec["mod"])]

            async def pick(ctx: Any, ev: Any) -> Any:
                return arms[ev.v % len(arms)](v=ev.v)

            self.add(f"{key}_pick", pick, cur, Union[tuple(arms)], _async(spec["mode"]))
            for j, arm in enumerate(arms):

                async def arm_step(ctx: Any, ev: Any, j: int = j) -> Any:
                    return nxt(v=(ev.v + 100 * (j + 1)) % MOD)

                self.add(f"{key}_arm{j}", arm_step, arm, nxt)
        elif kind == "loop":
            again = self.fresh()
            bound = spec["bound"]

            async def loop(ctx: Any, ev: Any) -> Any:
                n = ev.n if isinstance(ev, again) else 0
                if n < bound:
                    return again(v=(ev.v * 3 + 1) % MOD, n=n + 1)
                return nxt(v=ev.v)

            self.add(f"{key}_loop", loop, Union[cur, again], Union[again, nxt], _async(spec["mode"]))
        elif kind == "fanout":
            item, done = self.fresh(), self.fresh()
            width, effect = spec["width"], spec["effect"]

            async def scatter(ctx: Any, ev: Any) -> Any:
                for i in range(width):
                    ctx.send_event(item(v=ev.v, i=i))
                return None

            async def work(ctx: Any, ev: Any) -> Any:
                v = (ev.v + ev.i * 7) % MOD
                await _effect(ctx, effect, f"{key}_{ev.i}", v)
                return done(v=v, i=ev.i)

            async def gather(ctx: Any, ev: Any) -> Any:
                got = ctx.collect_events(ev, [done] * width)
                if got is None:
                    return None
                return nxt(v=sum(d.v for d in got) % MOD)

            self.add(f"{key}_scatter", scatter, cur, Optional[item])
            self.add(f"{key}_work", work, item, done, _async(spec["mode"]), num_workers=spec["workers"])
            self.add(f"{key}_gather", gather, done, Optional[nxt])
        elif kind == "split":
            left, right, left_done, right_done = (self.fresh() for _ in range(4))
            effect = spec["effect"]

            async def fork(ctx: Any, ev: Any) -> Any:
                ctx.send_event(left(v=ev.v))
                ctx.send_event(right(v=ev.v + 1))
                return None

            async def do_left(ctx: Any, ev: Any) -> Any:
                await _effect(ctx, effect, f"{key}_l", ev.v)
                return left_done(v=ev.v * 2 % MOD)

            async def do_right(ctx: Any, ev: Any) -> Any:
                await _effect(ctx, effect, f"{key}_r", ev.v)
                return right_done(v=ev.v * 5 % MOD)

            async def join(ctx: Any, ev: Any) -> Any:
                got = ctx.collect_events(ev, [left_done, right_done])
                if got is None:
                    return None
                return nxt(v=(got[0].v + got[1].v) % MOD)

            self.add(f"{key}_fork", fork, cur, Optional[Union[left, right]])
            self.add(f"{key}_left", do_left, left, left_done, _async(spec["mode"]))
            self.add(f"{key}_right", do_right, right, right_done, _async(spec["mode"]))
            self.add(f"{key}_join", join, Union[left_done, right_done], Optional[nxt])
        elif kind == "hitl":
            ask, reply = ASKS[self.hitl], REPLIES[self.hitl]
            self.hitl += 1

            async def question(ctx: Any, ev: Any) -> Any:
                return ask(prefix=f"{key}:{ev.v}")

            async def answered(ctx: Any, ev: Any) -> Any:
                return nxt(v=int(ev.response) % MOD)

            self.add(f"{key}_ask", question, cur, ask)
            self.add(f"{key}_reply", answered, reply, nxt)
        elif kind == "wait":
            named = spec["named"]

            async def waiting(ctx: Any, ev: Any) -> Any:
                answer = await ctx.wait_for_event(
                    WaitAnswer,
                    waiter_event=WaitAsk(key=key, v=ev.v),
                    waiter_id=f"{key}_waiter" if named else None,
                    requirements={"key": key},
                )
                return nxt(v=answer.v % MOD)

            self.add(f"{key}_wait", waiting, cur, nxt)
        elif kind == "retry":
            fails = spec["fails"]

            async def flaky(ctx: Any, ev: Any) -> Any:
                if ctx.retry_info().retry_number < fails:
                    raise ValueError(f"{key} fails on purpose")
                return nxt(v=(ev.v + 11) % MOD)

            policy = retry_policy(wait=wait_fixed(0.001), stop=stop_after_attempt(fails + 1))
            self.add(f"{key}_flaky", flaky, cur, nxt, retry_policy=policy)
        else:  # pragma: no cover - plans only hold the kinds above
            raise ValueError(kind)
        return nxt

    def build(self) -> type[Workflow]:
        first = self.fresh()

        async def head(ctx: Any, ev: Any) -> Any:
            return first(v=int(ev.get("v", 0)))

        self.add("head", head, StartEvent, first)
        cur = first
        for idx, spec in enumerate(self.plan["stages"]):
            cur = self.stage(idx, spec, cur)

        async def tail(ctx: Any, ev: Any) -> Any:
            return StopEvent(result={"v": ev.v})

        self.add("tail", tail, cur, StopEvent)
        cls = type(self.name, (Workflow,), {"__module__": __name__, **self.methods})
        for fn, options in self.free:
            step(workflow=cls, **options)(fn)
        return cls


def _async(mode: str) -> str:
    """Steps that need awaits (or ctx.store) can't be sync; free and sleep are fine."""
    return "async" if mode == "sync" else mode


def plan_name(plan: dict[str, Any]) -> str:
    import hashlib

    digest = hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()[:12]
    return f"Gen_{digest}"


_BUILT: dict[str, type[Workflow]] = {}


def build(plan: dict[str, Any]) -> type[Workflow]:
    """The Workflow class for ``plan`` (one class per distinct plan, cached)."""
    name = plan_name(plan)
    cls = _BUILT.get(name)
    if cls is None:
        cls = _BUILT[name] = _Builder(plan, name).build()
        globals()[name] = cls
    return cls


def make(plan: dict[str, Any], store: JournalStore, **kw: Any) -> Workflow:
    """A workflow object for ``plan`` journaling to ``store``."""
    return build(plan)(store=store, timeout=kw.pop("timeout", 60), **kw)


# --- driving a run: answering its questions -------------------------------------------


def answer_for(ev: Event) -> tuple[str, Event] | None:
    """The deterministic answer to a question the run asks, keyed by the question."""
    for k_, ask in enumerate(ASKS):
        if type(ev) is ask:
            v = int(str(ev.prefix).rsplit(":", 1)[1])
            return f"hitl:{ev.prefix}", REPLIES[k_](response=str(v * 3 + 1))
    if isinstance(ev, WaitAsk):
        return f"wait:{ev.key}", WaitAnswer(key=ev.key, v=ev.v * 5 + 2)
    return None


def answer_key(ev: Event) -> str | None:
    """The question an event answers (for answers found in the journal)."""
    if isinstance(ev, HumanResponseEvent):
        for k_, reply in enumerate(REPLIES):
            if type(ev) is reply:
                return f"hitl-answer:{k_}:{ev.response}"
    if isinstance(ev, WaitAnswer):
        return f"wait:{ev.key}"
    return None


async def drive(handler: Any, store: JournalStore, plan: dict[str, Any], resumed: bool) -> Any:
    """Answer every question the run asks (once), then return the handler's result.

    After a resume, questions asked before the restart are found in the journal;
    answers already journaled or waiting in the inbox are not sent again.
    """
    answered: set[str] = set()
    run_id = handler.run_id
    via = plan.get("via", "handler")
    pending: list[tuple[str, Event]] = []

    async def send(key: str, answer: Event) -> None:
        if key in answered:
            return
        answered.add(key)
        if via == "inbox" or isinstance(answer, WaitAnswer) and via == "inbox":
            await store.send_event(run_id, answer)
        else:
            await handler.send_event(answer)

    if resumed:
        codec = Codec()
        asked, given = await questions_in_journal(store, run_id, codec)
        for item in await store.read_inbox(run_id):
            ev = codec.load_event(item.event_type, json.loads(item.payload), item.codec)
            given.add(_given_key(ev))
        for q in asked:
            found = answer_for(q)
            if found is not None and _answer_given_key(found) not in given:
                pending.append(found)
            elif found is not None:
                answered.add(found[0])

    stream = handler.stream_events()
    for key, answer in pending:
        await send(key, answer)
    async for ev in stream:
        found = answer_for(ev)
        if found is not None:
            await send(*found)
    return await handler


def _given_key(ev: Event) -> str:
    if isinstance(ev, WaitAnswer):
        return f"wait:{ev.key}"
    return f"{qualified_name(type(ev))}:{ev.get('response')}"


def _answer_given_key(found: tuple[str, Event]) -> str:
    return _given_key(found[1])


async def questions_in_journal(
    store: JournalStore, run_id: str, codec: Codec
) -> tuple[list[Event], set[str]]:
    """Questions written to the run's stream, and answers delivered into it."""
    asked: list[Event] = []
    given: set[str] = set()
    for entry in await store.read(run_id):
        if entry.kind not in (k.STREAM, k.SENT) or entry.event_type is None:
            continue
        rec = codec.decode(entry)
        if rec.event is None:
            continue
        if rec.kind == k.STREAM and answer_for(rec.event) is not None:
            asked.append(rec.event)
        elif rec.kind == k.SENT and isinstance(rec.event, (HumanResponseEvent, WaitAnswer)):
            given.add(_given_key(rec.event))
    return asked, given


# --- what a run did, from its journal ------------------------------------------------


def canon(value: Any) -> Any:
    """A JSON round trip: a canonical form for comparisons (int keys become strings)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def event_key(ev: Event) -> str:
    return json.dumps([qualified_name(type(ev)), ev.model_dump(mode="json")], sort_keys=True)


def journal_outcome(run_id: str, entries: list[JournalEntry]) -> dict[str, Any]:
    """Produced events of completed executions and stream events, as multisets."""
    records: list[Record] = decode_journal(run_id, entries, Codec())
    completed = {r.get("exec") for r in records if r.kind == k.COMPLETED}
    produced = Counter(
        event_key(r.event)
        for r in records
        if r.kind == k.PRODUCED and r.event is not None and r.get("exec") in completed
    )
    stream = Counter(event_key(r.event) for r in records if r.kind == k.STREAM and r.event is not None)
    return {"produced": dict(produced), "stream": dict(stream)}
