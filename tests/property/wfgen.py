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
from typing import Any, Optional, Union

import wfgen_joins
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
from durable_flows.retry_policy import retry_policy, stop_after_attempt, wait_fixed
from durable_flows.storage import JournalStore

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
    hits: dict[str, int] = Field(default_factory=dict)


# --- plans --------------------------------------------------------------------------

#: "hit_edit" / "hit_set": the execution counts itself once in its own counter (``hits``),
#: through ``edit_state`` or ``store.set(get() + 1)``: after any crash, every completed
#: execution must show exactly 1 (see ``proptools.check_exactly_once``).
EFFECTS = ["none", "set", "edit", "stream", "hit_edit", "hit_set"]
MODES = ["async", "sleep", "stagger", "sync", "free"]


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
        # early: a step sends the answer before the waiting step has registered its waiter
        st.fixed_dictionaries({"kind": st.just("wait"), "named": st.booleans(), "early": st.booleans()}),
        st.fixed_dictionaries({"kind": st.just("retry"), "fails": st.integers(1, 2)}),
        *wfgen_joins.strategies(effect, mode),
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


def _shared_stage() -> st.SearchStrategy[dict[str, Any]]:
    """Stages where executions overlap in time and edit the same keys (see :func:`shared_edit_plans`)."""
    effect = st.sampled_from(["edit", "edit", "hit_edit", "hit_set", "stream"])
    mode = st.sampled_from(["stagger", "sleep"])
    return st.one_of(
        st.fixed_dictionaries(
            {
                "kind": st.just("fanout"),
                "width": st.integers(2, 5),
                "workers": st.integers(1, 4),
                "effect": effect,
                "mode": mode,
            }
        ),
        st.fixed_dictionaries({"kind": st.just("split"), "effect": effect, "mode": mode}),
        st.fixed_dictionaries(
            {"kind": st.just("chain"), "a": st.integers(1, 9), "b": st.integers(0, 99), "effect": effect, "mode": mode}
        ),
        *wfgen_joins.strategies(effect, mode),
    )


def shared_edit_plans(max_stages: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    """Plans made of overlapping executions that read and change shared state.

    Staggered fan-outs and splits whose workers and collectors all edit the
    state's ``total`` (or count themselves), so that one execution often
    commits after reading another's uncommitted change: the case the commit
    order exists for.
    """
    return st.fixed_dictionaries(
        {
            "typed": st.booleans(),
            "start": st.integers(0, 1000),
            "via": st.sampled_from(["handler", "inbox"]),
            "stages": st.lists(_shared_stage(), min_size=1, max_size=max_stages),
        }
    )


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


# --- building ----------------------------------------------------------------------


def _bump(state: Any, v: int) -> None:
    if isinstance(state, GenState):
        state.total += v
    else:
        state["total"] = state.get("total", 0) + v


def counters(doc: Any) -> dict[str, int]:
    """The hit counters in a journaled state document (typed or dict-like)."""
    if not isinstance(doc, dict):
        return {}
    if isinstance(doc.get("hits"), dict):
        return dict(doc["hits"])
    extras = doc.get("_data") or {}
    return {k: v for k, v in extras.items() if k.startswith("h_")}


async def _hit(ctx: Any, how: str, key: str) -> None:
    typed = issubclass(ctx.store.state_type, GenState)
    if how == "hit_edit":
        async with ctx.store.edit_state() as state:
            if typed:
                state.hits[key] = state.hits.get(key, 0) + 1
            else:
                state[key] = state.get(key, 0) + 1
    else:
        path = f"hits.{key}" if typed else key
        await ctx.store.set(path, await ctx.store.get(path, 0) + 1)


async def _effect(ctx: Any, effect: str, key: str, v: int) -> None:
    if effect in ("hit_edit", "hit_set"):
        await _hit(ctx, effect, f"h_{key}")
    elif effect == "set":
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
        #: Step name -> the counter key of one of its executions (from its input event).
        self.hit_keys: dict[str, Any] = {}

    def hit(self, effect: str, step_name: str, key_of: Any) -> None:
        if effect in ("hit_edit", "hit_set"):
            self.hit_keys[step_name] = key_of

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
        sync = mode == "sync"
        pause = mode in ("sleep", "stagger")
        # "stagger" makes executions of one step finish in another order than
        # they started (and commit in separate batches); the outcome must not care.
        delay = 0.0 if mode == "sleep" else 0.002

        async def call(ctx: Any, ev: Any) -> Any:
            # The execution that starts its body first finishes last.
            turn = (ev.v + ev.i) % 3 if pause else 0
            if pause:
                await asyncio.sleep(delay * turn)
            out = await body(ctx, ev)
            if pause:
                await asyncio.sleep(delay * 2 * (2 - turn))
            return out

        fn: Any
        if free:

            async def fn(ctx: Any, ev: Any) -> Any:
                return await call(ctx, ev)

        elif sync:

            def fn(self: Any, ctx: Any, ev: Any) -> Any:
                return body(ctx, ev)

        else:

            async def fn(self: Any, ctx: Any, ev: Any) -> Any:  # type: ignore[misc]
                return await call(ctx, ev)

        fn.__annotations__ = {"ctx": self.ctx_type, "ev": accepts, "return": returns}
        fn.__name__ = name
        fn.__qualname__ = name if free else f"{self.name}.{name}"
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
                self.hit(effect, f"{key}_chain", lambda ev: f"h_{key}")

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

            self.hit(effect, f"{key}_work", lambda ev: f"h_{key}_{ev.i}")
            self.hit(effect, f"{key}_gather", lambda ev: f"h_{key}_g{ev.i}")

            async def work(ctx: Any, ev: Any) -> Any:
                v = (ev.v + ev.i * 7) % MOD
                await _effect(ctx, effect, f"{key}_{ev.i}", v)
                return done(v=v, i=ev.i)

            async def gather(ctx: Any, ev: Any) -> Any:
                # Collectors edit state too (each arriving event is one execution).
                await _effect(ctx, effect, f"{key}_g{ev.i}", ev.v)
                got = ctx.collect_events(ev, [done] * width)
                if got is None:
                    return None
                return nxt(v=sum(d.v for d in got) % MOD)

            self.add(f"{key}_scatter", scatter, cur, Optional[item])
            self.add(f"{key}_work", work, item, done, _async(spec["mode"]), num_workers=spec["workers"])
            self.add(f"{key}_gather", gather, done, Optional[nxt], _async(spec["mode"]))
        elif kind == "split":
            left, right, left_done, right_done = (self.fresh() for _ in range(4))
            effect = spec["effect"]

            self.hit(effect, f"{key}_left", lambda ev: f"h_{key}_l")
            self.hit(effect, f"{key}_right", lambda ev: f"h_{key}_r")
            self.hit(effect, f"{key}_join", lambda ev: f"h_{key}_j{'l' if isinstance(ev, left_done) else 'r'}")

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
                await _effect(ctx, effect, f"{key}_j{'l' if isinstance(ev, left_done) else 'r'}", ev.v)
                got = ctx.collect_events(ev, [left_done, right_done])
                if got is None:
                    return None
                return nxt(v=(got[0].v + got[1].v) % MOD)

            self.add(f"{key}_fork", fork, cur, Optional[Union[left, right]])
            self.add(f"{key}_left", do_left, left, left_done, _async(spec["mode"]))
            self.add(f"{key}_right", do_right, right, right_done, _async(spec["mode"]))
            self.add(f"{key}_join", join, Union[left_done, right_done], Optional[nxt], _async(spec["mode"]))
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
            named, early = spec["named"], spec.get("early", False)
            if early:  # the answer is sent (and kept) before the waiter exists; nobody is asked
                mid = self.fresh()

                async def answer_early(ctx: Any, ev: Any) -> Any:
                    ctx.send_event(WaitAnswer(key=key, v=ev.v * 5 + 2))
                    return mid(v=ev.v)

                self.add(f"{key}_early", answer_early, cur, mid)
                cur = mid

            async def waiting(ctx: Any, ev: Any) -> Any:
                answer = await ctx.wait_for_event(
                    WaitAnswer,
                    waiter_event=None if early else WaitAsk(key=key, v=ev.v),
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
        elif kind in ("listfan", "join", "collect"):
            wfgen_joins.stage(self, idx, spec, cur, nxt, _effect, _async)
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
        HIT_KEYS[self.name] = self.hit_keys
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
#: Per workflow class name: step name -> counter key of an execution, from its input event.
HIT_KEYS: dict[str, dict[str, Any]] = {}


def streams(plan: dict[str, Any]) -> bool:
    """Whether runs of ``plan`` write anything to the stream before they end."""
    return any(
        s["kind"] == "hitl" or (s["kind"] == "wait" and not s.get("early")) or (s.get("effect") == "stream" and not wfgen_joins.silent(s))
        for s in plan["stages"]
    )


def build(plan: dict[str, Any]) -> type[Workflow]:
    """The Workflow class for ``plan`` (one class per distinct plan, cached)."""
    name = plan_name(plan)
    cls = _BUILT.get(name)
    if cls is None:
        cls = _BUILT[name] = _Builder(plan, name).build()
        globals()[name] = cls
    return cls


#: When not None, every workflow :func:`make` builds gets ``snapshot_every=`` this
#: (``proptools.frequent_snapshots`` sets it).
SNAPSHOT_EVERY: Optional[int] = None


def make(plan: dict[str, Any], store: JournalStore | None, **kw: Any) -> Workflow:
    """A workflow object for ``plan`` journaling to ``store``."""
    if SNAPSHOT_EVERY is not None:
        kw.setdefault("snapshot_every", SNAPSHOT_EVERY)
    return build(plan)(store=store, timeout=kw.pop("timeout", 60), **kw)
