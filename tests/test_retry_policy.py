"""Tests for durable_flows.retry_policy: policies, helpers, operators, counting."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable_flows import retry_policy as rp
from durable_flows.retry_policy import (
    ConstantDelayRetryPolicy,
    ExponentialBackoffRetryPolicy,
    RetryInfo,
    RetryPolicy,
    retry_all,
    retry_always,
    retry_any,
    retry_if_exception,
    retry_if_exception_cause_type,
    retry_if_exception_message,
    retry_if_exception_type,
    retry_if_not_exception_message,
    retry_if_not_exception_type,
    retry_never,
    retry_policy,
    retry_unless_exception_type,
    stop_after_attempt,
    stop_after_delay,
    stop_all,
    stop_any,
    stop_before_delay,
    stop_never,
    wait_chain,
    wait_combine,
    wait_exponential,
    wait_exponential_jitter,
    wait_fixed,
    wait_full_jitter,
    wait_incrementing,
    wait_none,
    wait_random,
    wait_random_exponential,
)

SAMPLES = 2000


def delays(
    policy: RetryPolicy,
    error: Exception | None = None,
    *,
    step_seconds: float = 0.0,
    limit: int = 50,
) -> list[float]:
    """Drive ``policy`` the way the engine does until it gives up.

    Each attempt is taken to fail ``step_seconds`` after it starts, and the
    policy's delay is slept in full before the next one.
    """
    error = error if error is not None else RuntimeError("transient")
    out: list[float] = []
    elapsed = step_seconds
    for attempts in range(1, limit + 1):
        delay = policy.next(elapsed, attempts, error)
        if delay is None:
            return out
        out.append(delay)
        elapsed += delay + step_seconds
    raise AssertionError(f"policy still retrying after {limit} attempts")


class RecordingWait:
    """A wait strategy that remembers how it was called."""

    def __init__(self, delay: float = 1.5) -> None:
        self.delay = delay
        self.calls: list[tuple[int, int | None]] = []

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        self.calls.append((attempts, seed))
        return self.delay


class RecordingStop:
    """A stop condition that remembers how it was called and never stops."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, float, float]] = []

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        self.calls.append((attempts, elapsed_time, upcoming_sleep))
        return False


@pytest.fixture
def fixed_global_rng() -> Iterator[None]:
    state = random.getstate()
    random.seed(1234)
    yield
    random.setstate(state)


# --- the composed policy: counting and order -------------------------------------


def test_default_policy_retries_every_five_seconds_for_three_attempts() -> None:
    assert delays(retry_policy()) == [5.0, 5.0]


def test_composed_policy_has_upstreams_private_class_name_and_a_readable_repr() -> None:
    """Upstream 2.2x names the class ``_ComposableRetryPolicy`` and exports no public alias."""
    policy = retry_policy()
    assert type(policy).__name__ == "_ComposableRetryPolicy"
    assert not hasattr(rp, "ComposableRetryPolicy")
    assert repr(policy) == (
        "retry_policy(retry=None, wait=wait_fixed(wait=5.0), "
        "stop=stop_after_attempt(max_attempt_number=3))"
    )


def test_policies_satisfy_the_runtime_checkable_protocol() -> None:
    assert isinstance(retry_policy(), RetryPolicy)
    with pytest.warns(DeprecationWarning):
        assert isinstance(ConstantDelayRetryPolicy(), RetryPolicy)
    with pytest.warns(DeprecationWarning):
        assert isinstance(ExponentialBackoffRetryPolicy(), RetryPolicy)


def test_user_defined_policy_satisfies_the_protocol() -> None:
    class Once:
        def next(
            self, elapsed_time: float, attempts: int, error: Exception, *, seed: int | None = None
        ) -> float | None:
            return 0.0 if attempts == 1 else None

    assert isinstance(Once(), RetryPolicy)
    assert not isinstance(object(), RetryPolicy)


def test_wait_sees_zero_based_retry_number_and_the_seed() -> None:
    wait = RecordingWait()
    policy = retry_policy(wait=wait, stop=stop_never())
    for attempts in (1, 2, 3):
        assert policy.next(0.0, attempts, ValueError(), seed=attempts * 10) == 1.5
    assert wait.calls == [(0, 10), (1, 20), (2, 30)]


def test_attempts_zero_is_clamped_to_the_first_retry() -> None:
    wait = RecordingWait()
    retry_policy(wait=wait, stop=stop_never()).next(0.0, 0, ValueError())
    assert wait.calls == [(0, None)]


def test_stop_sees_one_based_attempts_elapsed_time_and_upcoming_sleep() -> None:
    stop = RecordingStop()
    policy = retry_policy(wait=wait_fixed(2), stop=stop)
    policy.next(3.25, 4, ValueError())
    assert stop.calls == [(4, 3.25, 2.0)]


def test_retry_predicate_false_gives_up_without_consulting_wait() -> None:
    wait = RecordingWait()
    policy = retry_policy(retry=retry_if_exception_type(KeyError), wait=wait, stop=stop_never())
    assert policy.next(0.0, 1, ValueError("permanent")) is None
    assert wait.calls == []
    assert policy.next(0.0, 1, KeyError("transient")) == 1.5


def test_retry_none_retries_every_exception() -> None:
    policy = retry_policy(retry=None, wait=wait_none(), stop=stop_never())
    for error in (ValueError(), KeyError(), RuntimeError(), TimeoutError()):
        assert policy.next(0.0, 1, error) == 0.0


def test_stop_after_attempt_bounds_total_runs_including_the_first() -> None:
    for n in range(1, 6):
        assert len(delays(retry_policy(wait=wait_none(), stop=stop_after_attempt(n)))) == n - 1


def test_stop_after_attempt_zero_never_retries() -> None:
    assert retry_policy(stop=stop_after_attempt(0)).next(0.0, 1, ValueError()) is None


def test_stop_after_delay_uses_elapsed_time_only() -> None:
    policy = retry_policy(wait=wait_fixed(100), stop=stop_after_delay(10))
    assert policy.next(9.99, 50, ValueError()) == 100.0
    assert policy.next(10.0, 1, ValueError()) is None
    assert policy.next(11.0, 1, ValueError()) is None


def test_stop_after_delay_over_a_simulated_run() -> None:
    # Attempts fail 1 s after starting and sleep 2 s: failures at 1, 4, 7, 10.
    policy = retry_policy(wait=wait_fixed(2), stop=stop_after_delay(10))
    assert delays(policy, step_seconds=1.0) == [2.0, 2.0, 2.0]


def test_stop_before_delay_accounts_for_the_upcoming_sleep() -> None:
    policy = retry_policy(wait=wait_fixed(3), stop=stop_before_delay(10))
    assert policy.next(6.9, 1, ValueError()) == 3.0
    assert policy.next(7.0, 1, ValueError()) is None


def test_policy_with_timedelta_durations() -> None:
    policy = retry_policy(
        wait=wait_fixed(timedelta(milliseconds=1500)),
        stop=stop_after_delay(timedelta(minutes=1)),
    )
    assert policy.next(59.0, 1, ValueError()) == 1.5
    assert policy.next(60.0, 1, ValueError()) is None


def test_exponential_policy_sequence_grows_then_caps() -> None:
    policy = retry_policy(wait=wait_exponential(multiplier=1, max=4), stop=stop_after_attempt(6))
    assert delays(policy) == [1.0, 2.0, 4.0, 4.0, 4.0]


def test_combined_stop_attempts_or_deadline() -> None:
    policy = retry_policy(wait=wait_fixed(1), stop=stop_after_attempt(10) | stop_after_delay(3.5))
    # Failures at elapsed 0, 1, 2, 3 are retried; the one at 4 is past the deadline.
    assert delays(policy) == [1.0, 1.0, 1.0, 1.0]
    assert delays(policy, step_seconds=100) == []


def test_full_tenacity_style_composition() -> None:
    transient = retry_if_exception_type((TimeoutError, ConnectionError)) | (
        retry_if_exception_type(RuntimeError) & retry_if_exception_message(match="retry me")
    )
    policy = retry_policy(
        retry=transient,
        wait=wait_fixed(1) + wait_incrementing(start=0, increment=1),
        stop=stop_after_attempt(4),
    )
    assert delays(policy, TimeoutError()) == [1.0, 2.0, 3.0]
    assert delays(policy, RuntimeError("please retry me")) == [1.0, 2.0, 3.0]
    assert delays(policy, RuntimeError("fatal")) == []
    assert delays(policy, ValueError()) == []


def test_next_is_deterministic_for_a_seed() -> None:
    policy = retry_policy(
        wait=wait_random_exponential(max=30) + wait_random(0, 2) + wait_exponential_jitter(),
        stop=stop_never(),
    )
    for attempts in range(1, 20):
        first = policy.next(1.0, attempts, ValueError(), seed=attempts * 7919)
        again = policy.next(1.0, attempts, ValueError(), seed=attempts * 7919)
        assert first == again


def test_next_reads_no_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decisions must be replayable: only arguments and the random module count."""

    def no_clock() -> float:
        raise AssertionError("retry policies must not read a clock")

    for name in ("time", "monotonic", "perf_counter", "time_ns", "monotonic_ns"):
        monkeypatch.setattr(time, name, no_clock)
    policy = retry_policy(
        retry=retry_if_exception_message(match="x") | retry_always(),
        wait=wait_chain(wait_random(), wait_exponential_jitter(), wait_random_exponential()),
        stop=stop_after_delay(1e9) & stop_before_delay(1e9) | stop_after_attempt(9),
    )
    assert len(delays(policy)) == 8


def test_unseeded_jitter_draws_from_the_random_module(fixed_global_rng: None) -> None:
    policy = retry_policy(wait=wait_random(0, 10), stop=stop_never())
    random.seed(99)
    first = policy.next(0.0, 1, ValueError())
    random.seed(99)
    assert policy.next(0.0, 1, ValueError()) == first


def test_repr_reads_like_the_construction() -> None:
    policy = retry_policy(
        retry=retry_if_exception_type(KeyError),
        wait=wait_fixed(2) + wait_none(),
        stop=stop_after_attempt(3) | stop_after_delay(9),
    )
    assert repr(policy) == (
        "retry_policy(retry=retry_if_exception_type(exception_types=<class 'KeyError'>), "
        "wait=wait_combine(wait_fixed(wait=2.0), wait_none()), "
        "stop=stop_any(stop_after_attempt(max_attempt_number=3), stop_after_delay(max_delay=9.0)))"
    )
    assert repr(retry_if_exception_message(match="a+")) == "retry_if_exception_message(match='a+')"
    assert repr(retry_never()) == "retry_never()"


# --- legacy policies ---------------------------------------------------------------


def test_constant_delay_defaults_and_deprecation() -> None:
    with pytest.warns(DeprecationWarning, match="ConstantDelayRetryPolicy"):
        policy = ConstantDelayRetryPolicy()
    assert delays(policy) == [5.0, 5.0]


def test_constant_delay_returns_none_when_maximum_attempts_reached() -> None:
    with pytest.warns(DeprecationWarning):
        policy = ConstantDelayRetryPolicy(maximum_attempts=4, delay=0.25)
    assert [policy.next(0.0, n, ValueError()) for n in range(1, 7)] == [
        0.25,
        0.25,
        0.25,
        None,
        None,
        None,
    ]


def test_constant_delay_warning_points_at_the_caller() -> None:
    with pytest.warns(DeprecationWarning) as caught:
        ConstantDelayRetryPolicy(maximum_attempts=1, delay=0)
    assert caught[0].filename == __file__


def test_exponential_backoff_without_jitter() -> None:
    with pytest.warns(DeprecationWarning, match="ExponentialBackoffRetryPolicy"):
        policy = ExponentialBackoffRetryPolicy(jitter=False)
    assert delays(policy) == [1.0, 2.0, 4.0, 8.0]


def test_exponential_backoff_parameters_and_cap() -> None:
    with pytest.warns(DeprecationWarning):
        policy = ExponentialBackoffRetryPolicy(
            maximum_attempts=8, initial_delay=0.5, multiplier=3, max_delay=10, jitter=False
        )
    assert delays(policy) == [0.5, 1.5, 4.5, 10.0, 10.0, 10.0, 10.0]


def test_exponential_backoff_jitter_is_full_jitter_within_the_bound() -> None:
    with pytest.warns(DeprecationWarning):
        policy = ExponentialBackoffRetryPolicy(maximum_attempts=100, max_delay=20)
    for attempts in range(1, 10):
        bound = min(2.0 ** (attempts - 1), 20.0)
        samples = [policy.next(0.0, attempts, ValueError()) for _ in range(300)]
        assert all(s is not None and 0.0 <= s <= bound for s in samples)
        assert len(set(samples)) > 1
    assert policy.next(0.0, 100, ValueError()) is None


def test_exponential_backoff_jitter_is_reproducible_with_a_seed() -> None:
    with pytest.warns(DeprecationWarning):
        policy = ExponentialBackoffRetryPolicy()
    expected = random.Random(42).uniform(0.0, 4.0)
    assert policy.next(0.0, 3, ValueError(), seed=42) == expected


# --- wait strategies ---------------------------------------------------------------


def test_wait_fixed_and_none() -> None:
    assert [wait_fixed(3)(n) for n in range(4)] == [3.0] * 4
    assert wait_fixed(timedelta(minutes=2))(0) == 120.0
    assert wait_none()(7) == 0.0
    assert isinstance(wait_none(), wait_fixed)


def test_wait_exponential_growth_cap_and_floor() -> None:
    wait = wait_exponential(multiplier=2, exp_base=3, max=100, min=5)
    assert [wait(n) for n in range(6)] == [5.0, 6.0, 18.0, 54.0, 100.0, 100.0]
    assert wait_exponential(min=-3)(0) == 1.0
    assert wait_exponential(multiplier=0.1, min=-3)(0) == pytest.approx(0.1)
    assert wait_exponential(max=timedelta(seconds=5))(10) == 5.0


def test_wait_exponential_defaults() -> None:
    wait = wait_exponential()
    assert [wait(n) for n in range(8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_exponential_waits_saturate_at_huge_attempt_numbers() -> None:
    """Pins a divergence from upstream, where 2.0 ** 1024 raised OverflowError.

    A step retried with ``stop_never`` or a long ``stop_after_delay`` reaches such
    attempt numbers; the capped delay must keep coming back.
    """
    assert wait_exponential(max=30)(5000) == 30.0
    assert wait_exponential_jitter(max=30, jitter=0)(5000) == 30.0
    assert 0.0 <= wait_random_exponential(max=30)(5000, seed=1) <= 30.0
    policy = retry_policy(wait=wait_exponential(max=7), stop=stop_never())
    assert policy.next(0.0, 10_000, ValueError()) == 7.0


def test_wait_incrementing() -> None:
    assert [wait_incrementing(start=1, increment=2, max=6)(n) for n in range(5)] == [
        1.0,
        3.0,
        5.0,
        6.0,
        6.0,
    ]
    assert [wait_incrementing()(n) for n in range(3)] == [0.0, 100.0, 200.0]
    assert [wait_incrementing(start=2, increment=-1)(n) for n in range(5)] == [
        2.0,
        1.0,
        0.0,
        0.0,
        0.0,
    ]
    assert wait_incrementing(start=timedelta(seconds=1), increment=timedelta(seconds=1))(2) == 3.0


def test_wait_random_bounds_over_many_samples() -> None:
    wait = wait_random(min=0.5, max=1.5)
    samples = [wait(0) for _ in range(SAMPLES)]
    assert all(0.5 <= s <= 1.5 for s in samples)
    assert min(samples) < 0.6 and max(samples) > 1.4
    assert all(0.0 <= wait_random()(3) <= 1.0 for _ in range(200))


def test_wait_random_seed_matches_a_seeded_generator() -> None:
    assert wait_random(1, 3)(0, seed=5) == random.Random(5).uniform(1, 3)
    assert wait_random(1, 3)(0, seed=5) == wait_random(1, 3)(9, seed=5)
    assert wait_random(1, 3)(0, seed=5) != wait_random(1, 3)(0, seed=6)


def test_wait_exponential_jitter_bounds_over_many_samples() -> None:
    wait = wait_exponential_jitter(initial=1, exp_base=2, max=10, jitter=0.5)
    for n in range(6):
        base = min(2.0**n, 10.0)
        samples = [wait(n) for _ in range(SAMPLES // 4)]
        assert all(base <= s <= min(base + 0.5, 10.0) for s in samples)
    assert {wait(10) for _ in range(50)} == {10.0}


def test_wait_exponential_jitter_seeded() -> None:
    wait = wait_exponential_jitter()
    assert wait(2, seed=3) == 4.0 + random.Random(3).uniform(0, 1.0)


def test_wait_random_exponential_bounds_over_many_samples() -> None:
    wait = wait_random_exponential(multiplier=0.5, max=8)
    for n in range(8):
        upper = min(0.5 * 2**n, 8.0)
        samples = [wait(n) for _ in range(SAMPLES // 4)]
        assert all(0.0 <= s <= upper for s in samples)
        assert max(samples) > upper * 0.8


def test_wait_random_exponential_with_min() -> None:
    wait = wait_random_exponential(multiplier=1, max=60, min=3)
    assert {wait(0) for _ in range(20)} == {3.0}  # the bound, 1, is raised to min
    assert all(3.0 <= wait(4) <= 16.0 for _ in range(200))
    assert wait(4, seed=8) == random.Random(8).uniform(3.0, 16.0)


def test_wait_full_jitter_is_an_alias() -> None:
    wait = wait_full_jitter(multiplier=2, exp_base=3, max=timedelta(seconds=40), min=1)
    assert isinstance(wait, wait_random_exponential)
    assert (wait.multiplier, wait.exp_base, wait.max, wait.min) == (2.0, 3.0, 40.0, 1.0)


def test_wait_chain_uses_each_strategy_in_turn_then_repeats_the_last() -> None:
    wait = wait_chain(wait_fixed(1), wait_fixed(2), wait_fixed(5))
    assert [wait(n) for n in range(6)] == [1.0, 2.0, 5.0, 5.0, 5.0, 5.0]
    policy = retry_policy(wait=wait, stop=stop_after_attempt(5))
    assert delays(policy) == [1.0, 2.0, 5.0, 5.0]


def test_wait_chain_passes_overall_retry_number_and_seed() -> None:
    first, last = RecordingWait(), RecordingWait()
    wait = wait_chain(first, last)
    wait(0, seed=1)
    wait(4, seed=2)
    assert first.calls == [(0, 1)] and last.calls == [(4, 2)]


def test_wait_chain_needs_a_strategy() -> None:
    with pytest.raises(ValueError, match="at least one"):
        wait_chain()


def test_wait_combine_and_plus_operator() -> None:
    assert wait_combine(wait_fixed(1), wait_fixed(2), wait_incrementing(0, 10))(2) == 23.0
    assert wait_combine()(0) == 0
    combined = wait_fixed(1) + wait_fixed(2)
    assert isinstance(combined, wait_combine)
    assert combined(0) == 3.0
    assert (wait_fixed(1) + wait_fixed(2) + wait_fixed(3))(0) == 6.0


def test_wait_combine_bounds_with_jitter() -> None:
    wait = wait_fixed(3) + wait_random(0, 1)
    assert all(3.0 <= wait(0) <= 4.0 for _ in range(SAMPLES))


def test_wait_sum_builtin() -> None:
    total = sum([wait_fixed(1), wait_fixed(2), wait_fixed(4)])
    assert isinstance(total, wait_combine)
    assert total(0) == 7.0
    assert sum([wait_fixed(1)]) is not None


def test_wait_plus_plain_callable_on_either_side() -> None:
    def two(attempts: int, *, seed: int | None = None) -> float:
        return 2.0

    assert (wait_fixed(1) + two)(0) == 3.0
    assert (two + wait_fixed(1))(0) == 3.0


def test_wait_plus_number_is_rejected_at_composition_time() -> None:
    with pytest.raises(TypeError):
        wait_fixed(1) + 2  # type: ignore[operator]
    with pytest.raises(TypeError):
        "x" + wait_fixed(1)  # type: ignore[operator]


# --- stop conditions ---------------------------------------------------------------


def test_stop_after_attempt_threshold() -> None:
    stop = stop_after_attempt(3)
    assert [stop(n, 0.0) for n in range(1, 5)] == [False, False, True, True]


def test_stop_after_delay_ignores_upcoming_sleep() -> None:
    stop = stop_after_delay(timedelta(seconds=30))
    assert stop.max_delay == 30.0
    assert not stop(1, 29.9, upcoming_sleep=1000.0)
    assert stop(1, 30.0)


def test_stop_before_delay_threshold() -> None:
    stop = stop_before_delay(30)
    assert not stop(1, 20.0, upcoming_sleep=9.9)
    assert stop(1, 20.0, upcoming_sleep=10.0)
    assert not stop(1, 29.9)


def test_stop_never() -> None:
    assert not stop_never()(10**9, 1e12, upcoming_sleep=1e12)


def test_stop_any_all_and_operators() -> None:
    attempts3, delay10 = stop_after_attempt(3), stop_after_delay(10)
    either = attempts3 | delay10
    both = attempts3 & delay10
    assert isinstance(either, stop_any) and isinstance(both, stop_all)
    assert [either(3, 0.0), either(1, 10.0), either(1, 0.0)] == [True, True, False]
    assert [both(3, 0.0), both(1, 10.0), both(3, 10.0)] == [False, False, True]
    assert stop_any()(99, 99.0) is False
    assert stop_all()(0, 0.0) is True


def test_stop_combinators_forward_upcoming_sleep() -> None:
    stop = stop_any(stop_before_delay(10)) & stop_all(stop_before_delay(5))
    assert stop(1, 4.0, upcoming_sleep=6.0)
    assert not stop(1, 4.0, upcoming_sleep=0.5)


def test_stop_operators_with_a_plain_function_on_the_left() -> None:
    def at_five(attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return attempts >= 5

    either = at_five | stop_after_delay(1)
    both = at_five & stop_after_delay(1)
    assert isinstance(either, stop_any) and isinstance(both, stop_all)
    assert either(5, 0.0) and either(1, 1.0) and not either(1, 0.0)
    assert both(5, 1.0) and not both(5, 0.0)


# --- retry conditions --------------------------------------------------------------


def test_retry_if_exception_type() -> None:
    single = retry_if_exception_type(OSError)
    assert single(ConnectionError()) and single(OSError()) and not single(ValueError())
    several = retry_if_exception_type((KeyError, TimeoutError))
    assert several(KeyError()) and several(TimeoutError()) and not several(OSError())
    assert retry_if_exception_type()(ValueError())
    assert not retry_if_exception_type()(KeyboardInterrupt())
    assert isinstance(single, retry_if_exception)


def test_retry_if_not_exception_type_and_unless_alias() -> None:
    for cls in (retry_if_not_exception_type, retry_unless_exception_type):
        cond = cls((ValueError, PermissionError))
        assert cond(KeyError()) and not cond(ValueError()) and not cond(PermissionError())
        assert not cls()(RuntimeError())
    assert issubclass(retry_unless_exception_type, retry_if_not_exception_type)


def test_retry_if_exception_custom_predicate() -> None:
    cond = retry_if_exception(lambda e: "rate limit" in str(e).lower())
    assert cond(RuntimeError("Rate Limit exceeded"))
    assert not cond(RuntimeError("bad request"))


def test_retry_if_exception_message_exact() -> None:
    cond = retry_if_exception_message(message="please retry")
    assert cond(RuntimeError("please retry"))
    assert not cond(RuntimeError("please retry later"))
    assert retry_if_exception_message(message="")(RuntimeError())


def test_retry_if_exception_message_regex_searches_anywhere() -> None:
    cond = retry_if_exception_message(match=r"HTTP 5\d\d")
    assert cond(RuntimeError("upstream said HTTP 503 today"))
    assert not cond(RuntimeError("HTTP 404"))
    compiled = retry_if_exception_message(match=re.compile("timeout", re.IGNORECASE))
    assert compiled(RuntimeError("Read TIMEOUT"))


@pytest.mark.parametrize("cls", [retry_if_exception_message, retry_if_not_exception_message])
def test_retry_message_needs_exactly_one_argument(cls: type[retry_if_exception_message]) -> None:
    # upstream's messages
    with pytest.raises(TypeError, match=rf"^{cls.__name__}\(\) missing 1 required argument 'message' or 'match'$"):
        cls()
    with pytest.raises(TypeError, match=rf"^{cls.__name__}\(\) takes either 'message' or 'match', not both$"):
        cls(message="a", match="a")


def test_retry_if_not_exception_message() -> None:
    cond = retry_if_not_exception_message(match="invalid_api_key|permission denied")
    assert cond(RuntimeError("connection reset"))
    assert not cond(RuntimeError("error: permission denied"))
    exact = retry_if_not_exception_message(message="fatal")
    assert exact(RuntimeError("fatal!")) and not exact(RuntimeError("fatal"))


def _chain(*errors: BaseException) -> BaseException:
    """Link errors so each is the ``__cause__`` of the one before it."""
    for outer, inner in itertools.pairwise(errors):
        outer.__cause__ = inner
    return errors[0]


def test_retry_if_exception_cause_type_walks_explicit_causes() -> None:
    cond = retry_if_exception_cause_type(ConnectionError)
    assert cond(_chain(RuntimeError(), ConnectionResetError()))
    assert cond(_chain(RuntimeError(), ValueError(), KeyError(), ConnectionError()))
    assert not cond(_chain(RuntimeError(), ValueError()))
    assert retry_if_exception_cause_type((KeyError, OSError))(_chain(ValueError(), OSError()))


def test_retry_if_exception_cause_type_skips_the_error_itself_and_context() -> None:
    cond = retry_if_exception_cause_type(ConnectionError)
    assert not cond(ConnectionError())
    try:
        try:
            raise ConnectionError("inner")
        except ConnectionError:
            raise RuntimeError("outer")  # noqa: B904 - implicit chaining on purpose
    except RuntimeError as implicit:
        assert isinstance(implicit.__context__, ConnectionError)
        assert not cond(implicit)
    try:
        try:
            raise ConnectionError("inner")
        except ConnectionError as exc:
            raise RuntimeError("outer") from exc
    except RuntimeError as explicit:
        assert cond(explicit)


def test_retry_if_exception_cause_type_terminates_on_a_cycle() -> None:
    a, b = RuntimeError("a"), ValueError("b")
    a.__cause__, b.__cause__ = b, a
    assert not retry_if_exception_cause_type(KeyError)(a)
    assert retry_if_exception_cause_type(ValueError)(a)


def test_retry_any_all_always_never() -> None:
    is_key = retry_if_exception_type(KeyError)
    says_retry = retry_if_exception_message(match="retry")
    assert retry_any(is_key, says_retry)(ValueError("retry"))
    assert not retry_any(is_key, says_retry)(ValueError("no"))
    assert retry_all(is_key, says_retry)(KeyError("retry"))
    assert not retry_all(is_key, says_retry)(KeyError("no"))
    assert not retry_any()(ValueError()) and retry_all()(ValueError())
    assert retry_always()(ValueError()) and not retry_never()(ValueError())


def test_retry_operators() -> None:
    is_key = retry_if_exception_type(KeyError)
    either = retry_never() | is_key
    both = retry_always() & is_key
    assert isinstance(either, retry_any) and isinstance(both, retry_all)
    assert either(KeyError()) and not either(ValueError())
    assert both(KeyError()) and not both(ValueError())


def test_retry_operators_with_a_plain_function_on_the_left() -> None:
    def is_value(error: BaseException) -> bool:
        return isinstance(error, ValueError)

    either = is_value | retry_if_exception_type(KeyError)
    both = is_value & retry_if_exception_message(message="x")
    assert isinstance(either, retry_any) and isinstance(both, retry_all)
    assert either(ValueError()) and either(KeyError()) and not either(OSError())
    assert both(ValueError("x")) and not both(ValueError("y")) and not both(KeyError("x"))


def test_retry_operators_reject_non_callables() -> None:
    with pytest.raises(TypeError):
        retry_always() | 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        1 & stop_never()  # type: ignore[operator]


# --- RetryInfo and module surface ----------------------------------------------------


def test_retry_info_is_a_frozen_record() -> None:
    failed_at = datetime(2024, 1, 2, tzinfo=timezone.utc)
    error = ValueError("x")
    info = RetryInfo(
        retry_number=2, elapsed_seconds=3.5, last_exception=error, last_failed_at=failed_at
    )
    assert (info.retry_number, info.elapsed_seconds) == (2, 3.5)
    assert info.last_exception is error and info.last_failed_at == failed_at
    assert [f.name for f in dataclasses.fields(RetryInfo)] == [
        "retry_number",
        "elapsed_seconds",
        "last_exception",
        "last_failed_at",
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.retry_number = 3  # type: ignore[misc]


def test_every_exported_name_exists() -> None:
    assert sorted(rp.__all__) == sorted(set(rp.__all__))
    for name in rp.__all__:
        assert hasattr(rp, name), name


def test_composed_helpers_are_upstream_style_classes() -> None:
    """Users ``isinstance``-check helpers; they must be classes, not factories."""
    for name in rp.__all__:
        if name.startswith(("wait_", "stop_", "retry_")) and name not in {
            "wait_full_jitter",
            "retry_policy",
        }:
            assert isinstance(getattr(rp, name), type), name


# --- properties ------------------------------------------------------------------------

finite = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)
seeds = st.integers(min_value=0, max_value=2**63)


@given(
    multiplier=st.floats(min_value=0.0, max_value=100.0),
    exp_base=st.floats(min_value=1.0, max_value=10.0),
    maximum=finite,
    minimum=st.floats(min_value=-10.0, max_value=100.0),
    attempts=st.integers(min_value=0, max_value=5000),
)
def test_wait_exponential_stays_in_its_bounds_and_never_shrinks(
    multiplier: float, exp_base: float, maximum: float, minimum: float, attempts: int
) -> None:
    wait = wait_exponential(multiplier=multiplier, exp_base=exp_base, max=maximum, min=minimum)
    delay = wait(attempts)
    assert math.isfinite(delay)
    assert max(minimum, 0.0) <= delay or delay == maximum
    assert delay <= max(maximum, minimum, 0.0)
    assert wait(attempts + 1) >= delay


@given(attempts=st.integers(min_value=0, max_value=3000), seed=seeds, jitter=finite)
def test_seeded_jitter_is_reproducible_and_bounded(attempts: int, seed: int, jitter: float) -> None:
    strategies = [
        wait_random(0, jitter),
        wait_exponential_jitter(max=120, jitter=jitter),
        wait_random_exponential(max=120),
    ]
    for wait in strategies:
        delay = wait(attempts, seed=seed)
        assert delay == wait(attempts, seed=seed)
        assert 0.0 <= delay <= max(jitter, 120.0)


@given(
    attempts=st.integers(min_value=1, max_value=50),
    elapsed=finite,
    limit=st.integers(min_value=1, max_value=50),
    deadline=finite,
)
def test_composed_stop_decides_exactly_like_its_parts(
    attempts: int, elapsed: float, limit: int, deadline: float
) -> None:
    policy = retry_policy(
        wait=wait_fixed(1), stop=stop_after_attempt(limit) | stop_after_delay(deadline)
    )
    gives_up = attempts >= limit or elapsed >= deadline
    assert (policy.next(elapsed, attempts, ValueError()) is None) is gives_up
