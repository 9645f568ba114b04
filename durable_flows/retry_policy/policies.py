"""Retry policies: what the engine asks after a step attempt fails.

:func:`retry_policy` composes a policy from a retry condition, a wait strategy
and a stop condition; :func:`ConstantDelayRetryPolicy` and
:func:`ExponentialBackoffRetryPolicy` are upstream's deprecated shortcuts for
two such compositions. :class:`RetryInfo` is what a running step can learn
about its own retries.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from .conditions import RetryCondition
from .stops import StopCondition, stop_after_attempt
from .waits import WaitStrategy, wait_exponential, wait_fixed, wait_random_exponential


@dataclass(frozen=True)
class RetryInfo:
    """Where the running step stands in its retry sequence.

    ``Context.retry_info()`` returns one from inside a step. During the first
    attempt nothing has failed yet: ``retry_number`` is 0, ``elapsed_seconds``
    is 0.0 and the two ``last_*`` fields are ``None``.

    Attributes:
        retry_number: How many retries precede this attempt (0 for the first
            attempt, 1 for the first retry, ...).
        elapsed_seconds: Seconds since the first attempt started.
        last_exception: The exception that failed the previous attempt, or
            ``None`` on the first attempt. After a resume it is rebuilt from
            the journal, so its ``__traceback__`` may be missing.
        last_failed_at: When the previous attempt failed, as a timezone-aware
            UTC datetime, or ``None`` on the first attempt.
    """

    retry_number: int
    elapsed_seconds: float
    last_exception: Exception | None
    last_failed_at: datetime | None


@runtime_checkable
class RetryPolicy(Protocol):
    """What the engine asks after a step attempt fails.

    Anything with a matching ``next`` method qualifies: the policies built by
    :func:`retry_policy`, the legacy :func:`ConstantDelayRetryPolicy` and
    :func:`ExponentialBackoffRetryPolicy`, or a class of your own. Prefer
    composing ``retry_policy(retry=..., wait=..., stop=...)`` from the helpers
    in :mod:`durable_flows.retry_policy` over writing one.
    """

    def next(
        self,
        elapsed_time: float,
        attempts: int,
        error: Exception,
        *,
        seed: int | None = None,
    ) -> float | None:
        """Decide whether the step gets another attempt, and when.

        Args:
            elapsed_time: Seconds from the start of the first attempt to this
                failure.
            attempts: Failed attempts so far, counted from 1.
            error: The exception that failed the latest attempt.
            seed: When given, the seed for any random jitter, making the answer
                reproducible.

        Returns:
            Seconds to wait before the next attempt, or ``None`` to give up.
        """
        ...


class _ComposableRetryPolicy:
    """The :class:`RetryPolicy` that :func:`retry_policy` returns."""

    def __init__(
        self,
        retry: RetryCondition | None,
        wait: WaitStrategy,
        stop: StopCondition,
    ) -> None:
        self.retry = retry
        self.wait = wait
        self.stop = stop

    def next(
        self,
        elapsed_time: float,
        attempts: int,
        error: Exception,
        *,
        seed: int | None = None,
    ) -> float | None:
        """Apply ``retry``, then ``wait``, then ``stop``; see :mod:`durable_flows.retry_policy`.

        Args:
            elapsed_time: Seconds from the start of the first attempt to this
                failure.
            attempts: Failed attempts so far, counted from 1.
            error: The exception that failed the latest attempt.
            seed: When given, the seed for any random jitter.

        Returns:
            Seconds to wait before the next attempt, or ``None`` to give up.
        """
        if self.retry is not None and not self.retry(error):
            return None
        delay = self.wait(max(attempts - 1, 0), seed=seed)
        if self.stop(attempts, elapsed_time, upcoming_sleep=delay):
            return None
        return delay

    def __repr__(self) -> str:
        return f"retry_policy(retry={self.retry!r}, wait={self.wait!r}, stop={self.stop!r})"


_DEFAULT_WAIT = wait_fixed(5)
_DEFAULT_STOP = stop_after_attempt(3)


def retry_policy(
    retry: RetryCondition | None = None,
    wait: WaitStrategy = _DEFAULT_WAIT,
    stop: StopCondition = _DEFAULT_STOP,
) -> RetryPolicy:
    """Build a retry policy from a retry predicate, a wait and a stop condition.

    The three parts are independent: ``retry`` picks the errors worth another
    attempt, ``wait`` says how long to sleep first, ``stop`` says when to give
    up regardless. Each may be composed with ``|``, ``&`` (predicates and stop
    conditions) or ``+`` (waits). Called without arguments, the policy retries
    any exception every 5 seconds, for at most 3 attempts in all.

    Args:
        retry: Which exceptions to retry; ``None`` retries all of them.
        wait: The delay before each retry; 5 seconds by default.
        stop: When to give up; after the third failed attempt by default.

    Returns:
        A :class:`RetryPolicy` to pass as ``@step(retry_policy=...)``.

    Example:
        ```python
        @step(
            retry_policy=retry_policy(
                retry=retry_if_exception_type(ConnectionError),
                wait=wait_random_exponential(max=30),
                stop=stop_after_attempt(8),
            )
        )
        async def fetch(self, ev: StartEvent) -> StopEvent: ...
        ```
    """
    return _ComposableRetryPolicy(retry=retry, wait=wait, stop=stop)


def ConstantDelayRetryPolicy(maximum_attempts: int = 3, delay: float = 5) -> RetryPolicy:
    """Retry every ``delay`` seconds, for at most ``maximum_attempts`` attempts.

    Deprecated upstream, and here too: prefer
    ``retry_policy(wait=wait_fixed(delay), stop=stop_after_attempt(maximum_attempts))``,
    which is exactly what this returns.

    Args:
        maximum_attempts: The most attempts the step may make, first included.
        delay: Seconds to wait before each retry.

    Returns:
        The equivalent composed :class:`RetryPolicy`.

    Warns:
        DeprecationWarning: Always.
    """
    warnings.warn(
        "ConstantDelayRetryPolicy is deprecated; use "
        "retry_policy(wait=wait_fixed(delay), stop=stop_after_attempt(maximum_attempts))",
        DeprecationWarning,
        stacklevel=2,
    )
    return _ComposableRetryPolicy(
        retry=None, wait=wait_fixed(delay), stop=stop_after_attempt(maximum_attempts)
    )


def ExponentialBackoffRetryPolicy(
    maximum_attempts: int = 5,
    initial_delay: float = 1.0,
    multiplier: float = 2.0,
    max_delay: float = 60.0,
    jitter: bool = True,
) -> RetryPolicy:
    """Retry with exponentially growing, capped delays, for at most ``maximum_attempts``.

    Before retry ``n`` (0 for the first) the delay is
    ``min(initial_delay * multiplier ** n, max_delay)``; with ``jitter`` (the
    default) it is instead drawn uniformly from zero up to that value.

    Deprecated upstream, and here too: prefer ``retry_policy`` with
    ``wait_exponential(multiplier=initial_delay, exp_base=multiplier, max=max_delay)``
    (or ``wait_random_exponential`` with the same arguments for jitter) and
    ``stop_after_attempt(maximum_attempts)``, which is exactly what this returns.

    Args:
        maximum_attempts: The most attempts the step may make, first included.
        initial_delay: The delay before the first retry, before jitter.
        multiplier: The growth factor between retries.
        max_delay: Upper bound of any delay.
        jitter: Whether to randomize each delay ("full jitter").

    Returns:
        The equivalent composed :class:`RetryPolicy`.

    Warns:
        DeprecationWarning: Always.
    """
    warnings.warn(
        "ExponentialBackoffRetryPolicy is deprecated; use "
        "retry_policy(wait=wait_exponential(...) or wait_random_exponential(...), "
        "stop=stop_after_attempt(maximum_attempts))",
        DeprecationWarning,
        stacklevel=2,
    )
    wait: WaitStrategy
    if jitter:
        wait = wait_random_exponential(multiplier=initial_delay, exp_base=multiplier, max=max_delay)
    else:
        wait = wait_exponential(multiplier=initial_delay, exp_base=multiplier, max=max_delay)
    return _ComposableRetryPolicy(retry=None, wait=wait, stop=stop_after_attempt(maximum_attempts))
