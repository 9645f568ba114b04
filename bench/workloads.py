"""The benchmark's workflows, written once and built for either engine.

:func:`define` builds the same event and workflow classes on top of
``durable_flows`` or on top of upstream ``workflows``: only the import differs.
Classes are built inside a function, so each engine gets its own set, but
their qualified names point at a module-level holder
(``bench.workloads.DURABLE_FLOWS.Tick``): durable_flows journals events by
qualified name and must import them back when it replays a run, in this
process or in another one.

No ``from __future__ import annotations`` here: step signatures are annotated
with classes created at run time, so the annotations must be real objects.
"""

import importlib
import importlib.util
import types
from typing import Any

#: Engine name -> (package with Workflow/step/Context, module with the events).
ENGINES = {
    "durable_flows": ("durable_flows", "durable_flows"),
    "upstream": ("workflows", "workflows.events"),
}

#: Engine name -> the module attribute that holds its classes.
_HOLDER = {"durable_flows": "DURABLE_FLOWS", "upstream": "UPSTREAM"}

DURABLE_FLOWS: Any = None
UPSTREAM: Any = None

CHAIN_STEPS = 10


def available(engine: str) -> bool:
    """Whether the engine's package can be imported here."""
    return importlib.util.find_spec(ENGINES[engine][0]) is not None


def define(engine: str) -> Any:
    """The benchmark classes for ``engine``, built once per process.

    Returns a namespace with ``api`` (the engine package), the event classes
    and the workflows ``ChainFlow``, ``FanFlow``, ``LoopFlow``, ``HumanFlow``.
    """
    holder = _HOLDER[engine]
    found = globals()[holder]
    if found is not None:
        return found
    api = importlib.import_module(ENGINES[engine][0])
    evm = importlib.import_module(ENGINES[engine][1])
    ns = types.SimpleNamespace(
        engine=engine, api=api, StartEvent=evm.StartEvent, StopEvent=evm.StopEvent
    )
    ns.HumanResponseEvent = evm.HumanResponseEvent

    def named(cls: Any) -> Any:
        cls.__module__ = __name__
        cls.__qualname__ = f"{holder}.{cls.__name__}"
        setattr(ns, cls.__name__, cls)
        return cls

    _events(evm, named)
    _chain(ns, named)
    _fan(ns, named)
    _loop(ns, named)
    globals()[holder] = ns
    return ns


def _events(evm: Any, named: Any) -> None:
    event = evm.Event
    for i in range(1, CHAIN_STEPS):
        named(type(event)(f"Chain{i}", (event,), {"__module__": __name__}))

    @named
    class FanStart(evm.StartEvent):
        n: int

    @named
    class Item(event):
        i: int
        n: int

    @named
    class Done(event):
        i: int
        n: int

    @named
    class LoopStart(evm.StartEvent):
        n: int

    @named
    class Tick(event):
        i: int
        n: int

    @named
    class Ask(evm.InputRequiredEvent):
        question: str = "continue?"


def _chain(ns: Any, named: Any) -> None:
    """Ten sequential steps: StartEvent -> Chain1 -> ... -> Chain9 -> StopEvent."""
    kinds = [
        ns.StartEvent,
        *(getattr(ns, f"Chain{i}") for i in range(1, CHAIN_STEPS)),
        ns.StopEvent,
    ]
    body: dict[str, Any] = {}
    for i in range(CHAIN_STEPS):
        fn = _hop(kinds[i], kinds[i + 1], last=i == CHAIN_STEPS - 1)
        fn.__name__ = f"step_{i}"
        fn.__qualname__ = f"ChainFlow.{fn.__name__}"  # a method name, not a free function
        body[fn.__name__] = ns.api.step(fn)
    named(types.new_class("ChainFlow", (ns.api.Workflow,), exec_body=lambda b: b.update(body)))


def _hop(src: Any, dst: Any, last: bool) -> Any:
    if last:

        async def finish(self: Any, ev: src) -> dst:
            return dst(result="done")

        return finish

    async def hop(self: Any, ev: src) -> dst:
        return dst()

    return hop


def _fan(ns: Any, named: Any) -> None:
    """One step sends N Items, four workers turn each into a Done, one step collects all N."""
    context, step = ns.api.Context, ns.api.step
    fan_start, item, done, stop = ns.FanStart, ns.Item, ns.Done, ns.StopEvent

    @named
    class FanFlow(ns.api.Workflow):
        @step
        async def fan(self, ctx: context, ev: fan_start) -> item | None:
            for i in range(ev.n):
                ctx.send_event(item(i=i, n=ev.n))
            return None

        @step(num_workers=4)
        async def work(self, ev: item) -> done:
            return done(i=ev.i, n=ev.n)

        @step
        async def collect(self, ctx: context, ev: done) -> stop | None:
            got = ctx.collect_events(ev, [done] * ev.n)
            if got is None:
                return None
            return stop(result=len(got))


def _loop(ns: Any, named: Any) -> None:
    """A step that returns to itself N times; and the same loop ending in a question."""
    step = ns.api.step
    loop_start, tick, stop, ask, human = (
        ns.LoopStart,
        ns.Tick,
        ns.StopEvent,
        ns.Ask,
        ns.HumanResponseEvent,
    )

    @named
    class LoopFlow(ns.api.Workflow):
        @step
        async def begin(self, ev: loop_start) -> tick:
            return tick(i=0, n=ev.n)

        @step
        async def spin(self, ev: tick) -> tick | stop:
            if ev.i + 1 >= ev.n:
                return stop(result=ev.i + 1)
            return tick(i=ev.i + 1, n=ev.n)

    @named
    class HumanFlow(ns.api.Workflow):
        """Loops N times, then asks a question and waits for the answer."""

        @step
        async def begin(self, ev: loop_start) -> tick:
            return tick(i=0, n=ev.n)

        @step
        async def spin(self, ev: tick) -> tick | ask:
            if ev.i + 1 >= ev.n:
                return ask()
            return tick(i=ev.i + 1, n=ev.n)

        @step
        async def answer(self, ev: human) -> stop:
            return stop(result=ev.response)
