"""Generated stages for join steps, ``list[E]`` returns and collect steps (see ``wfgen.py``).

``listfan``: a step returns ``list[item]`` (one ``produced`` record each, in
the completion's append); workers map each item; a ``ctx.collect_events``
collector sums them.

``join``: a step returns a list of ``pairs`` left and right events; two steps
map them; a join step ``(ctx, a: left_done, b: right_done)`` pairs them (which
left meets which right depends on timing, so only commutative results flow
on); a collector sums the pairs. With a ``hit_*`` effect the join counts each
event it *consumed* in that event's own counter, so ``check_exactly_once``
sees every consumed event counted once, at every prefix of the journal.

``collect``: a step returns ``list[item]`` (``width`` may be 0); workers map
each item; a collect step ``(ctx, evs: list[done])`` is released once the
stream closes (``take`` 0), or ``Annotated[..., Collect(Take(take))]`` with
``take`` >= ``width`` (so which members it gets never depends on timing). With
a ``hit_*`` effect the release counts itself once.

No ``from __future__ import annotations``: annotations are real objects.
"""

import asyncio
from typing import Annotated, Any, Optional, Union

from hypothesis import strategies as st

from durable_flows import step
from durable_flows.collect import Collect, Take


class JoinKeys:
    """A join step's counter keys: one per event bound to the execution (``check_exactly_once``)."""

    def __init__(self, keys_of: Any) -> None:
        self.keys_of = keys_of

    def __call__(self, bound: dict[str, Any]) -> list[str]:
        return list(self.keys_of(bound))


def strategies(effect: Any, mode: Any) -> list[st.SearchStrategy[dict[str, Any]]]:
    """The stage kinds this module builds, as hypothesis strategies."""
    return [
        st.fixed_dictionaries(
            {
                "kind": st.just("listfan"),
                "width": st.integers(0, 4),
                "workers": st.integers(1, 3),
                "effect": effect,
                "mode": mode,
            }
        ),
        st.fixed_dictionaries(
            {"kind": st.just("join"), "pairs": st.integers(1, 3), "effect": effect, "mode": mode}
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("collect"),
                "width": st.integers(0, 4),
                "workers": st.integers(1, 3),
                "take": st.sampled_from([0, 0, "width", "more"]),
                "effect": effect,
                "mode": mode,
            }
        ),
    ]


def silent(spec: dict[str, Any]) -> bool:
    """A stage whose steps with the stage's effect never run (an empty ``listfan`` skips its workers)."""
    return spec["kind"] == "listfan" and spec["width"] == 0


def _pause(mode: str, ev: Any) -> float:
    """Seconds an execution sleeps, so executions of one step end out of start order."""
    if mode not in ("sleep", "stagger"):
        return 0.0
    return (0.002 if mode == "stagger" else 0.0) * ((ev.v + ev.i) % 3)


def stage(b: Any, idx: int, spec: dict[str, Any], cur: Any, nxt: Any, effect_fn: Any, mode_of: Any) -> None:
    """Add the steps of a ``listfan``, ``join`` or ``collect`` stage to builder ``b``, from ``cur`` to ``nxt``."""
    key = f"s{idx}"
    effect = spec["effect"]
    mode = mode_of(spec["mode"])
    if spec["kind"] == "collect":
        _collect_stage(b, key, spec, cur, nxt, effect_fn, mode)
        return
    if spec["kind"] == "listfan":
        item, done = b.fresh(), b.fresh()
        width = spec["width"]

        async def scatter(ctx: Any, ev: Any) -> Any:
            if width == 0:  # an empty list emits nothing: move on without the fan-out
                return nxt(v=ev.v)
            return [item(v=ev.v, i=i) for i in range(width)]

        b.hit(effect, f"{key}_work", lambda ev: f"h_{key}_{ev.i}")

        async def work(ctx: Any, ev: Any) -> Any:
            await asyncio.sleep(_pause(mode, ev))
            v = (ev.v + ev.i * 13) % 10007
            await effect_fn(ctx, effect, f"{key}_{ev.i}", v)
            return done(v=v, i=ev.i)

        async def gather(ctx: Any, ev: Any) -> Any:
            got = ctx.collect_events(ev, [done] * max(width, 1))
            if got is None:
                return None
            return nxt(v=sum(d.v for d in got) % 10007)

        b.add(f"{key}_scatter", scatter, cur, Union[list[item], nxt])
        b.add(f"{key}_work", work, item, done, num_workers=spec["workers"])
        b.add(f"{key}_gather", gather, done, Optional[nxt])
        return
    pairs = spec["pairs"]
    left, right, left_done, right_done, pair = (b.fresh() for _ in range(5))

    async def fork(ctx: Any, ev: Any) -> Any:
        return [cls(v=ev.v + j, i=i) for i in range(pairs) for j, cls in enumerate((left, right))]

    async def do_left(ctx: Any, ev: Any) -> Any:
        await asyncio.sleep(_pause(mode, ev))
        return left_done(v=ev.v * 2 % 10007, i=ev.i)

    async def do_right(ctx: Any, ev: Any) -> Any:
        await asyncio.sleep(_pause(mode, ev))
        return right_done(v=ev.v * 5 % 10007, i=ev.i)

    if effect in ("hit_edit", "hit_set"):
        b.hit_keys[f"{key}_join"] = JoinKeys(lambda bound: [f"h_{key}_a{bound['a'].i}", f"h_{key}_b{bound['b'].i}"])

    async def join(ctx: Any, a: Any, b_: Any) -> Any:
        await asyncio.sleep(_pause(mode, a))
        if effect in ("hit_edit", "hit_set"):  # one count per consumed event
            await effect_fn(ctx, effect, f"{key}_a{a.i}", 0)
            await effect_fn(ctx, effect, f"{key}_b{b_.i}", 0)
        elif effect != "none":  # which left meets which right varies: only sums may depend on it
            await effect_fn(ctx, effect, f"{key}_j", a.v + b_.v if effect == "edit" else pairs)
        return pair(v=(a.v + b_.v) % 10007)

    async def gather(ctx: Any, ev: Any) -> Any:
        got = ctx.collect_events(ev, [pair] * pairs)
        if got is None:
            return None
        return nxt(v=sum(p.v for p in got) % 10007)

    b.add(f"{key}_fork", fork, cur, list[Union[left, right]])
    b.add(f"{key}_left", do_left, left, left_done)
    b.add(f"{key}_right", do_right, right, right_done)
    _add_join(b, f"{key}_join", join, left_done, right_done, pair)
    b.add(f"{key}_gather", gather, pair, Optional[nxt])


def _add_join(builder: Any, name: str, body: Any, first: Any, second: Any, returns: Any) -> None:
    """A join step method ``name(self, ctx, a: first, b: second) -> returns``."""

    async def fn(self: Any, ctx: Any, a: Any, b: Any) -> Any:
        return await body(ctx, a, b)

    fn.__annotations__ = {"ctx": builder.ctx_type, "a": first, "b": second, "return": returns}
    fn.__name__ = name
    fn.__qualname__ = f"{builder.name}.{name}"
    builder.methods[name] = step(fn)


def _collect_stage(b: Any, key: str, spec: dict[str, Any], cur: Any, nxt: Any, effect_fn: Any, mode: str) -> None:
    item, done = b.fresh(), b.fresh()
    width, effect = spec["width"], spec["effect"]
    take = {0: 0, "width": max(width, 1), "more": width + 1}[spec["take"]]

    async def scatter(ctx: Any, ev: Any) -> Any:
        return [item(v=ev.v, i=i) for i in range(width)]

    b.hit(effect, f"{key}_work", lambda ev: f"h_{key}_{ev.i}")

    async def work(ctx: Any, ev: Any) -> Any:
        await asyncio.sleep(_pause(mode, ev))
        v = (ev.v * 3 + ev.i) % 10007
        await effect_fn(ctx, effect, f"{key}_{ev.i}", v)
        return done(v=v, i=ev.i)

    if effect in ("hit_edit", "hit_set"):
        b.hit_keys[f"{key}_collect"] = JoinKeys(lambda bound: [f"h_{key}_c"])

    async def collect(ctx: Any, evs: Any) -> Any:
        await effect_fn(ctx, effect, f"{key}_c", len(evs))
        return nxt(v=(sum(d.v for d in evs) + len(evs)) % 10007)

    param = list[done] if take == 0 else Annotated[list[done], Collect(Take(take))]
    b.add(f"{key}_scatter", scatter, cur, list[item])
    b.add(f"{key}_work", work, item, done, num_workers=spec["workers"])
    b.add(f"{key}_collect", collect, param, nxt)
