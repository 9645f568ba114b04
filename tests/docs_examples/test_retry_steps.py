"""Page "Error handling" (retry_steps.md).

The page's delays (5 s, 1 s + up to 1 s, exponential from 1 s) are shrunk
to hundredths of a second when a run actually waits; the policies with the
page's own numbers are checked by asking them for their next delay.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Optional

import pytest

from .lib import (
    Context,
    Event,
    StartEvent,
    StepFailedEvent,
    StopEvent,
    Workflow,
    WorkflowValidationError,
    catch_error,
    step,
)
from .lib import retry_policy_module as rp

retry_policy = rp.retry_policy
retry_any = rp.retry_any
retry_if_exception_message = rp.retry_if_exception_message
retry_if_exception_type = rp.retry_if_exception_type
stop_any = rp.stop_any
stop_after_attempt = rp.stop_after_attempt
stop_before_delay = rp.stop_before_delay
wait_combine = rp.wait_combine
wait_exponential_jitter = rp.wait_exponential_jitter
wait_fixed = rp.wait_fixed
wait_random = rp.wait_random

calls: list[str] = []
failures: list[BaseException] = []


def flaky_call() -> str:
    """Fails with the next scripted exception, then answers."""
    calls.append("call")
    if failures:
        raise failures.pop(0)
    return "ok"


async def aflaky_call() -> str:
    return flaky_call()


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()
    failures.clear()


class BasicWorkflow(Workflow):
    @step(
        retry_policy=retry_policy(
            wait=wait_fixed(0.01),
            stop=stop_after_attempt(10),
        )
    )
    async def flaky_step(self, ctx: Context, ev: StartEvent) -> StopEvent:
        result = flaky_call()  # this might raise
        return StopEvent(result=result)


async def test_basic_usage_retries_until_success() -> None:
    failures[:] = [RuntimeError("1"), RuntimeError("2")]
    assert await BasicWorkflow(timeout=20).run() == "ok"
    assert len(calls) == 3


def test_default_policy_is_three_attempts_five_seconds_apart() -> None:
    policy = retry_policy()
    assert [policy.next(0.0, n, RuntimeError("x")) for n in (1, 2, 3)] == [5, 5, None]


class FilteringWorkflow(Workflow):
    @step(
        retry_policy=retry_policy(
            retry=retry_if_exception_type((TimeoutError, ConnectionError))
            | retry_if_exception_message(match="rate limit|temporarily unavailable"),
            wait=wait_fixed(0.01) + wait_random(0, 0.01),
            stop=stop_after_attempt(5) | stop_before_delay(30),
        )
    )
    async def call_provider(self, ev: StartEvent) -> StopEvent:
        result = await aflaky_call()
        return StopEvent(result=result)


async def test_filtering_retries_listed_errors() -> None:
    failures[:] = [TimeoutError(), ConnectionError(), RuntimeError("hit the rate limit")]
    assert await FilteringWorkflow(timeout=20).run() == "ok"
    assert len(calls) == 4


async def test_filtering_does_not_retry_other_errors() -> None:
    failures[:] = [ValueError("bad input")]
    with pytest.raises(ValueError, match="bad input"):
        await FilteringWorkflow(timeout=20).run()
    assert len(calls) == 1


async def test_filtering_gives_up_after_five_attempts() -> None:
    failures[:] = [TimeoutError(str(n)) for n in range(6)]
    with pytest.raises(TimeoutError):
        await FilteringWorkflow(timeout=20).run()
    assert len(calls) == 5


def _page_policies() -> tuple[object, object]:
    operators = retry_policy(
        retry=retry_if_exception_type((TimeoutError, ConnectionError))
        | retry_if_exception_message(match="rate limit|temporarily unavailable"),
        wait=wait_fixed(1) + wait_random(0, 1),
        stop=stop_after_attempt(5) | stop_before_delay(30),
    )
    named = retry_policy(
        retry=retry_any(
            retry_if_exception_type((TimeoutError, ConnectionError)),
            retry_if_exception_message(match="rate limit|temporarily unavailable"),
        ),
        wait=wait_combine(wait_fixed(1), wait_random(0, 1)),
        stop=stop_any(stop_after_attempt(5), stop_before_delay(30)),
    )
    return operators, named


@pytest.mark.parametrize(
    ("elapsed", "attempts", "error", "retries"),
    [
        (0.0, 1, TimeoutError(), True),
        (0.0, 1, ConnectionError(), True),
        (0.0, 1, RuntimeError("service temporarily unavailable"), True),
        (0.0, 1, ValueError("nope"), False),
        (0.0, 4, TimeoutError(), True),
        (0.0, 5, TimeoutError(), False),
        (29.5, 1, TimeoutError(), False),  # the next attempt would start past 30 s
        (10.0, 2, TimeoutError(), True),
    ],
)
def test_named_combinators_match_operators(
    elapsed: float, attempts: int, error: Exception, retries: bool
) -> None:
    for policy in _page_policies():
        delay = policy.next(elapsed, attempts, error)  # type: ignore[attr-defined]
        if retries:
            assert delay is not None and 1 <= delay <= 2
        else:
            assert delay is None


def test_exponential_backoff_delays() -> None:
    random.seed(7)
    policy = retry_policy(
        wait=wait_exponential_jitter(initial=1, exp_base=2, max=30, jitter=1),
        stop=stop_after_attempt(5),
    )
    delays = [policy.next(0.0, n, RuntimeError("429")) for n in (1, 2, 3, 4, 5)]
    assert delays[4] is None
    for n, d in enumerate(delays[:4], start=1):
        base = min(2 ** (n - 1), 30)
        assert d is not None and base <= d <= base + 1, (n, d)


class BackoffWorkflow(Workflow):
    @step(
        retry_policy=retry_policy(
            wait=wait_exponential_jitter(initial=0.01, exp_base=2, max=0.05, jitter=0.01),
            stop=stop_after_attempt(5),
        )
    )
    async def call_llm(self, ctx: Context, ev: StartEvent) -> StopEvent:
        result = await aflaky_call()  # this might raise on rate-limit
        return StopEvent(result=result)


async def test_exponential_backoff_in_a_run() -> None:
    failures[:] = [RuntimeError("429")] * 3
    assert await BackoffWorkflow(timeout=20).run() == "ok"
    assert len(calls) == 4


class RetryOnFridayPolicy:
    def next(self, elapsed_time: float, attempts: int, error: Exception) -> Optional[float]:
        if datetime.today().strftime("%A") == "Friday":
            return 0.01  # retry soon (the page: 5 seconds)
        return None  # don't retry


class FridayWorkflow(Workflow):
    @step(retry_policy=RetryOnFridayPolicy())
    async def flaky(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=flaky_call())


class _Day:
    def __init__(self, name: str) -> None:
        self.name = name

    def today(self) -> datetime:
        return _real_datetime(2026, 12, 4) if self.name == "Friday" else _real_datetime(2026, 12, 3)


_real_datetime = datetime


async def test_custom_policy_on_a_friday(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.datetime", _Day("Friday"))
    failures[:] = [RuntimeError("x")]
    assert await FridayWorkflow(timeout=20).run() == "ok"
    assert len(calls) == 2


async def test_custom_policy_on_a_thursday(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.datetime", _Day("Thursday"))
    failures[:] = [RuntimeError("x")]
    with pytest.raises(RuntimeError):
        await FridayWorkflow(timeout=20).run()
    assert len(calls) == 1


def test_deprecated_constant_delay() -> None:
    with pytest.warns(DeprecationWarning, match="ConstantDelayRetryPolicy is deprecated"):
        policy = rp.ConstantDelayRetryPolicy(delay=5, maximum_attempts=10)
    assert [policy.next(0.0, n, RuntimeError()) for n in (1, 9, 10)] == [5, 5, None]


def test_deprecated_exponential_backoff() -> None:
    with pytest.warns(DeprecationWarning, match="ExponentialBackoffRetryPolicy is deprecated"):
        policy = rp.ExponentialBackoffRetryPolicy(initial_delay=1, multiplier=2, max_delay=30, maximum_attempts=5)
    delays = [policy.next(0.0, n, RuntimeError()) for n in (1, 2, 3, 4, 5)]
    assert delays[4] is None
    assert all(d is not None and 0 <= d <= 30 for d in delays[:4])


infos: list[tuple[int, Optional[str], bool]] = []


class RetryInfoWorkflow(Workflow):
    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(3)))
    async def flaky(self, ctx: Context, ev: StartEvent) -> StopEvent:
        info = ctx.retry_info()
        last = str(info.last_exception) if info.last_exception is not None else None
        infos.append((info.retry_number, last, info.last_failed_at is not None))
        return StopEvent(result=flaky_call())


async def test_retry_info_inside_a_step() -> None:
    infos.clear()
    failures[:] = [RuntimeError("first"), RuntimeError("second")]
    assert await RetryInfoWorkflow(timeout=20).run() == "ok"
    assert infos == [(0, None, False), (1, "first", True), (2, "second", True)]


class Pipeline(Workflow):
    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(3)))
    async def fetch(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=await aflaky_call())

    @catch_error
    async def on_failure(self, ctx: Context, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result={"failed_step": ev.step_name, "error": str(ev.exception)})


async def test_catch_error_after_retries_are_exhausted() -> None:
    failures[:] = [RuntimeError(f"down {n}") for n in range(3)]
    assert await Pipeline(timeout=20).run() == {"failed_step": "fetch", "error": "down 2"}
    assert len(calls) == 3


class FetchedEvent(Event):
    body: str


class ScopedPipeline(Workflow):
    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(2)))
    async def fetch(self, ev: StartEvent) -> FetchedEvent:
        if ev.get("fail") == "fetch":
            raise RuntimeError("fetch failed")
        return FetchedEvent(body="<html>")

    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(2)))
    async def parse(self, ev: FetchedEvent) -> StopEvent:
        raise RuntimeError("parse failed")

    @catch_error(for_steps=["fetch"])
    async def on_fetch_failure(self, ctx: Context, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result={"fallback": True})

    @catch_error  # wildcard — covers `parse` and anything else
    async def on_any_failure(self, ctx: Context, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result={"aborted": ev.step_name})


async def test_scoped_handler() -> None:
    assert await ScopedPipeline(timeout=20).run(fail="fetch") == {"fallback": True}


async def test_wildcard_handler_covers_the_rest() -> None:
    assert await ScopedPipeline(timeout=20).run() == {"aborted": "parse"}


async def test_unknown_step_name_is_rejected() -> None:
    """Both libraries reject it when the workflow is validated, at its first run."""
    with pytest.raises(WorkflowValidationError, match="lists unknown step 'nope' in for_steps"):

        class Bad(Workflow):
            @step
            async def fetch(self, ev: StartEvent) -> StopEvent:
                return StopEvent()

            @catch_error(for_steps=["nope"])
            async def on_failure(self, ctx: Context, ev: StepFailedEvent) -> StopEvent:
                return StopEvent()

        await Bad().run()


async def test_only_one_wildcard() -> None:
    with pytest.raises(WorkflowValidationError, match="Only one wildcard @catch_error handler is allowed"):

        class Bad(Workflow):
            @step
            async def fetch(self, ev: StartEvent) -> StopEvent:
                return StopEvent()

            @catch_error
            async def one(self, ctx: Context, ev: StepFailedEvent) -> StopEvent:
                return StopEvent()

            @catch_error
            async def two(self, ctx: Context, ev: StepFailedEvent) -> StopEvent:
                return StopEvent()

        await Bad().run()


class RetryFetch(Event):
    pass


class BudgetPipeline(Workflow):
    @step
    async def fetch(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=flaky_call())

    @step
    async def retry_fetch(self, ev: RetryFetch) -> StopEvent:
        return StopEvent(result=flaky_call())

    @catch_error(for_steps=["fetch", "retry_fetch"], max_recoveries=2)
    async def on_failure(self, ctx: Context, ev: StepFailedEvent) -> RetryFetch:
        return RetryFetch()


async def test_recovery_budget_allows_two_reentries() -> None:
    failures[:] = [RuntimeError("a"), RuntimeError("b")]
    assert await BudgetPipeline(timeout=20).run() == "ok"
    assert len(calls) == 3


async def test_recovery_budget_exhausted_fails_the_run() -> None:
    failures[:] = [RuntimeError("a"), RuntimeError("b"), RuntimeError("c")]
    with pytest.raises(RuntimeError, match="c"):
        await BudgetPipeline(timeout=20).run()
    assert len(calls) == 3
