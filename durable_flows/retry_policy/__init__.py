"""Retry policies for steps, API-compatible with ``workflows.retry_policy`` (2.26).

A step declared with ``@step(retry_policy=...)`` hands every failure to its
policy's ``next`` method, which answers with the seconds to sleep before the
next attempt, or ``None`` to give up and let the failure propagate.

Counting, as the engine and every helper here agree on it:

* ``attempts`` is the number of attempts that have failed so far, counted from
  1: the first failure of a step is reported as ``attempts=1``, which is also
  the number of the attempt that just failed.
* ``elapsed_time`` is the number of seconds from the start of the step's first
  attempt to the failure being decided on.
* A composed policy (``retry_policy(...)``) decides in this order: the
  ``retry`` predicate sees the error (``False`` means give up); the ``wait``
  strategy computes the delay for retry number ``attempts - 1`` (so wait
  strategies count retries from 0, and a direct call with ``attempts=0`` is
  treated as 0 too); finally the ``stop`` condition sees ``attempts``,
  ``elapsed_time`` and that delay, and ``True`` means give up.
* Hence ``stop_after_attempt(n)`` bounds the total number of times the step
  runs, first attempt included: with ``n=3`` the step runs at most three times
  (two retries). ``ConstantDelayRetryPolicy(maximum_attempts=n)`` and
  ``ExponentialBackoffRetryPolicy(maximum_attempts=n)`` mean the same.
* ``stop_after_delay(d)`` gives up once ``elapsed_time >= d``;
  ``stop_before_delay(d)`` gives up once ``elapsed_time + delay >= d``, i.e.
  when the next attempt could not start before the deadline.

Durability: the engine journals each decision with the failure it answers,
so a resumed run reads the delay back instead of asking the policy again.
Every ``next`` here is a plain function of its arguments; the only other input
is randomness for jitter, drawn from the :mod:`random` module, never a clock.
When the caller passes ``seed``, jitter comes from ``random.Random(seed)`` and
the decision is reproducible. Every strategy inside a composed wait receives
the same seed, so two identical random strategies added together draw the
same value (as upstream does).

Example:
    ```python
    from durable_flows.retry_policy import (
        retry_if_exception_type,
        retry_policy,
        stop_after_attempt,
        stop_after_delay,
        wait_exponential,
        wait_random,
    )

    policy = retry_policy(
        retry=retry_if_exception_type((TimeoutError, ConnectionError)),
        wait=wait_exponential(multiplier=0.5, max=30) + wait_random(0, 1),
        stop=stop_after_attempt(6) | stop_after_delay(120),
    )
    ```

A basic layer: its modules (``stops``, ``waits``, ``conditions``, ``_common``)
import nothing else from durable_flows; the decorators, the spec checks and
the runtime build on it.
"""

from __future__ import annotations

from ._common import time_unit_type
from .conditions import (
    RetryCondition,
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
    retry_unless_exception_type,
)
from .policies import (
    ConstantDelayRetryPolicy,
    ExponentialBackoffRetryPolicy,
    RetryInfo,
    RetryPolicy,
    retry_policy,
)
from .stops import (
    StopCondition,
    stop_after_attempt,
    stop_after_delay,
    stop_all,
    stop_any,
    stop_before_delay,
    stop_never,
)
from .waits import (
    WaitStrategy,
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

__all__ = [
    "ConstantDelayRetryPolicy",
    "ExponentialBackoffRetryPolicy",
    "RetryCondition",
    "RetryInfo",
    "RetryPolicy",
    "StopCondition",
    "WaitStrategy",
    "retry_all",
    "retry_always",
    "retry_any",
    "retry_if_exception",
    "retry_if_exception_cause_type",
    "retry_if_exception_message",
    "retry_if_exception_type",
    "retry_if_not_exception_message",
    "retry_if_not_exception_type",
    "retry_never",
    "retry_policy",
    "retry_unless_exception_type",
    "stop_after_attempt",
    "stop_after_delay",
    "stop_all",
    "stop_any",
    "stop_before_delay",
    "stop_never",
    "time_unit_type",
    "wait_chain",
    "wait_combine",
    "wait_exponential",
    "wait_exponential_jitter",
    "wait_fixed",
    "wait_full_jitter",
    "wait_incrementing",
    "wait_none",
    "wait_random",
    "wait_random_exponential",
]
