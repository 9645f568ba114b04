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
"""

from __future__ import annotations

import math
import random
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, Protocol, runtime_checkable

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

time_unit_type = int | float | timedelta
"""A duration: seconds as ``int``/``float``, or a :class:`datetime.timedelta`."""

_ExceptionTypes = type[BaseException] | tuple[type[BaseException], ...]


def _seconds(value: time_unit_type) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _uniform(low: float, high: float, seed: int | None) -> float:
    # Unseeded draws use the module-level generator on purpose: it is the one
    # source of randomness callers can seed globally in tests.
    if seed is None:
        return random.uniform(low, high)
    return random.Random(seed).uniform(low, high)


def _scaled_power(scale: float, base: float, exponent: int) -> float:
    """Return ``scale * base ** exponent``, saturating instead of overflowing.

    Long-running retries (``stop_never``, ``stop_after_delay``) reach exponents
    where ``float`` power raises ``OverflowError``; a capped backoff must keep
    answering with its cap there, so overflow saturates to an infinity.
    """
    try:
        return scale * base**exponent
    except OverflowError:
        if scale == 0:
            return 0.0
        negative = (scale < 0) != (base < 0 and exponent % 2 == 1)
        return -math.inf if negative else math.inf


def _describe(obj: object, *fields: str) -> str:
    args = ", ".join(f"{name}={getattr(obj, name)!r}" for name in fields)
    return f"{type(obj).__name__}({args})"


class _Described:
    """Reprs that read like the call that built the object, for logs and errors."""

    _repr_fields: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        return _describe(self, *self._repr_fields)


# --- records and protocols ------------------------------------------------------


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
    in this module over writing one.
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


class RetryCondition(Protocol):
    """A predicate on an exception: ``True`` when it is worth retrying."""

    def __call__(self, error: BaseException) -> bool: ...


class WaitStrategy(Protocol):
    """Computes the delay before a retry.

    ``attempts`` is the 0-based retry number (0 before the first retry), one
    less than the ``attempts`` a :class:`RetryPolicy` receives.
    """

    def __call__(self, attempts: int, *, seed: int | None = None) -> float: ...


class StopCondition(Protocol):
    """A predicate that ends the retries when it returns ``True``.

    It sees the 1-based count of failed attempts, the elapsed seconds and the
    delay the wait strategy has just proposed (``upcoming_sleep``).
    """

    def __call__(
        self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0
    ) -> bool: ...


# --- retry conditions -----------------------------------------------------------


class _ComposableRetry(_Described):
    """Gives retry predicates ``a & b`` (both must match) and ``a | b`` (either)."""

    def __call__(self, error: BaseException) -> bool:
        raise NotImplementedError

    def __and__(self, other: RetryCondition) -> retry_all:
        if not callable(other):
            return NotImplemented
        return retry_all(self, other)

    def __rand__(self, other: RetryCondition) -> retry_all:
        if not callable(other):
            return NotImplemented
        return retry_all(other, self)

    def __or__(self, other: RetryCondition) -> retry_any:
        if not callable(other):
            return NotImplemented
        return retry_any(self, other)

    def __ror__(self, other: RetryCondition) -> retry_any:
        if not callable(other):
            return NotImplemented
        return retry_any(other, self)


class retry_if_exception(_ComposableRetry):
    """Retry when ``predicate(error)`` is true.

    The escape hatch for decisions the other helpers cannot express.

    Args:
        predicate: Called with the exception; returns whether to retry.

    Example:
        ```python
        retry_if_exception(lambda e: getattr(e, "status", None) == 429)
        ```
    """

    _repr_fields = ("predicate",)

    def __init__(self, predicate: Callable[[BaseException], bool]) -> None:
        self.predicate = predicate

    def __call__(self, error: BaseException) -> bool:
        return bool(self.predicate(error))


class retry_if_exception_type(retry_if_exception):
    """Retry when the exception is an instance of the given type(s).

    Args:
        exception_types: A class or tuple of classes, as for ``isinstance``.

    Example:
        ```python
        retry_if_exception_type((TimeoutError, ConnectionError))
        ```
    """

    _repr_fields = ("exception_types",)

    def __init__(self, exception_types: _ExceptionTypes = Exception) -> None:
        self.exception_types = exception_types
        super().__init__(self._is_instance)

    def _is_instance(self, error: BaseException) -> bool:
        return isinstance(error, self.exception_types)


class retry_if_not_exception_type(retry_if_exception):
    """Retry unless the exception is an instance of the given type(s).

    Useful when nearly every failure is transient except a few known ones.

    Args:
        exception_types: A class or tuple of classes, as for ``isinstance``.

    Example:
        ```python
        retry_if_not_exception_type((ValueError, PermissionError))
        ```
    """

    _repr_fields = ("exception_types",)

    def __init__(self, exception_types: _ExceptionTypes = Exception) -> None:
        self.exception_types = exception_types
        super().__init__(self._is_not_instance)

    def _is_not_instance(self, error: BaseException) -> bool:
        return not isinstance(error, self.exception_types)


class retry_unless_exception_type(retry_if_not_exception_type):
    """Same as :class:`retry_if_not_exception_type`, under tenacity's other name."""


class retry_if_exception_message(_ComposableRetry):
    """Retry when ``str(error)`` equals ``message`` or contains a ``match``.

    Exactly one of the two arguments must be given. ``match`` is searched for
    anywhere in the message (``re.search``), not anchored.

    Args:
        message: The exact message to retry on.
        match: A regular expression, as a string or compiled pattern.

    Raises:
        TypeError: If neither or both of ``message`` and ``match`` are given.

    Example:
        ```python
        retry_if_exception_message(match=r"\\b(502|503|504)\\b")
        ```
    """

    def __init__(
        self,
        message: str | None = None,
        match: str | re.Pattern[str] | None = None,
    ) -> None:
        if (message is None) == (match is None):
            given = "both" if message is not None else "neither"
            raise TypeError(
                f"{type(self).__name__}() needs exactly one of 'message' (exact text) "
                f"or 'match' (regular expression); {given} was given"
            )
        self.message = message
        self.match = match
        self._pattern = re.compile(match) if isinstance(match, str) else match

    def _message_matches(self, error: BaseException) -> bool:
        text = str(error)
        if self._pattern is None:
            return text == self.message
        return self._pattern.search(text) is not None

    def __call__(self, error: BaseException) -> bool:
        return self._message_matches(error)

    def __repr__(self) -> str:
        if self._pattern is None:
            return _describe(self, "message")
        return _describe(self, "match")


class retry_if_not_exception_message(retry_if_exception_message):
    """Retry unless ``str(error)`` equals ``message`` or contains a ``match``.

    Takes the same arguments, and raises the same ``TypeError``, as
    :class:`retry_if_exception_message`.

    Example:
        ```python
        retry_if_not_exception_message(match="invalid api key|quota exhausted")
        ```
    """

    def __call__(self, error: BaseException) -> bool:
        return not self._message_matches(error)


class retry_if_exception_cause_type(_ComposableRetry):
    """Retry when an exception in the explicit cause chain has the given type.

    Follows ``__cause__`` links (set by ``raise ... from cause``) starting with
    the error's own cause; the error itself is not tested, and implicit
    ``__context__`` chaining is not followed (as in tenacity). Walk
    ``__context__`` in a :class:`retry_if_exception` predicate if you need it.

    Args:
        exception_types: A class or tuple of classes, as for ``isinstance``.

    Example:
        ```python
        retry_if_exception_cause_type(ConnectionResetError)
        ```
    """

    _repr_fields = ("exception_types",)

    def __init__(self, exception_types: _ExceptionTypes = Exception) -> None:
        self.exception_types = exception_types

    def __call__(self, error: BaseException) -> bool:
        cause = error.__cause__
        seen: set[int] = set()
        # A cycle is possible if user code assigns __cause__ by hand.
        while cause is not None and id(cause) not in seen:
            if isinstance(cause, self.exception_types):
                return True
            seen.add(id(cause))
            cause = cause.__cause__
        return False


class retry_any(_ComposableRetry):
    """Retry when at least one of the predicates says so (what ``|`` builds).

    With no predicates it never retries.

    Args:
        *retries: The predicates, tried in order until one returns ``True``.
    """

    def __init__(self, *retries: RetryCondition) -> None:
        self.retries = retries

    def __call__(self, error: BaseException) -> bool:
        return any(retry(error) for retry in self.retries)

    def __repr__(self) -> str:
        return f"retry_any{self.retries!r}"


class retry_all(_ComposableRetry):
    """Retry only when every predicate says so (what ``&`` builds).

    With no predicates it always retries.

    Args:
        *retries: The predicates, tried in order until one returns ``False``.
    """

    def __init__(self, *retries: RetryCondition) -> None:
        self.retries = retries

    def __call__(self, error: BaseException) -> bool:
        return all(retry(error) for retry in self.retries)

    def __repr__(self) -> str:
        return f"retry_all{self.retries!r}"


class retry_always(_ComposableRetry):
    """Retry whatever the exception; the same as passing ``retry=None``."""

    def __call__(self, error: BaseException) -> bool:
        return True


class retry_never(_ComposableRetry):
    """Never retry; handy for switching a branch of a composed predicate off."""

    def __call__(self, error: BaseException) -> bool:
        return False


# --- wait strategies ------------------------------------------------------------


class _ComposableWait(_Described):
    """Gives wait strategies ``a + b`` (delays add up) and ``sum([a, b, ...])``."""

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        raise NotImplementedError

    def __add__(self, other: WaitStrategy) -> wait_combine:
        if not callable(other):
            return NotImplemented
        return wait_combine(self, other)

    def __radd__(self, other: WaitStrategy | int) -> _ComposableWait:
        # sum() starts from the number 0; treat it as "no delay yet".
        if isinstance(other, (int, float)) and other == 0:
            return self
        if not callable(other):
            return NotImplemented
        return wait_combine(other, self)


class wait_fixed(_ComposableWait):
    """Wait the same time before every retry.

    Args:
        wait: The delay, in seconds or as a ``timedelta``.

    Example:
        ```python
        wait_fixed(timedelta(seconds=2))
        ```
    """

    _repr_fields = ("wait",)

    def __init__(self, wait: time_unit_type) -> None:
        self.wait = _seconds(wait)

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return self.wait


class wait_none(wait_fixed):
    """Retry immediately, without any delay."""

    def __init__(self) -> None:
        super().__init__(0)

    def __repr__(self) -> str:
        return "wait_none()"


class wait_exponential(_ComposableWait):
    """Exponential backoff without jitter.

    Before retry ``n`` (0 for the first retry) it waits
    ``multiplier * exp_base ** n`` seconds, limited to ``[min, max]``; a
    negative ``min`` counts as 0.

    Args:
        multiplier: The first delay.
        exp_base: The growth factor between retries.
        max: Upper bound of any delay.
        min: Lower bound of any delay.

    Example:
        ```python
        wait_exponential(multiplier=0.5, max=30)  # 0.5, 1, 2, 4, ... 30, 30
        ```
    """

    _repr_fields = ("multiplier", "exp_base", "max", "min")

    def __init__(
        self,
        multiplier: int | float = 1.0,
        exp_base: int | float = 2.0,
        max: time_unit_type = 60.0,
        min: time_unit_type = 0.0,
    ) -> None:
        self.multiplier = float(multiplier)
        self.exp_base = float(exp_base)
        self.max = _seconds(max)
        self.min = _seconds(min)

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        grown = _scaled_power(self.multiplier, self.exp_base, attempts)
        floor = self.min if self.min > 0.0 else 0.0
        return max(floor, min(grown, self.max))


class wait_incrementing(_ComposableWait):
    """Linear backoff: ``start + increment * n`` before retry ``n``.

    The result is limited to ``max`` and never negative.

    Args:
        start: The first delay.
        increment: What each further retry adds (may be negative).
        max: Upper bound of any delay.

    Example:
        ```python
        wait_incrementing(start=1, increment=2, max=9)  # 1, 3, 5, 7, 9, 9
        ```
    """

    _repr_fields = ("start", "increment", "max")

    def __init__(
        self,
        start: time_unit_type = 0.0,
        increment: time_unit_type = 100.0,
        max: time_unit_type = float("inf"),
    ) -> None:
        self.start = _seconds(start)
        self.increment = _seconds(increment)
        self.max = _seconds(max)

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return max(0.0, min(self.start + self.increment * attempts, self.max))


class wait_random(_ComposableWait):
    """Wait a uniformly random time between ``min`` and ``max``.

    Args:
        min: Lower bound of the delay.
        max: Upper bound of the delay.

    Example:
        ```python
        wait_fixed(1) + wait_random(0, 0.5)  # 1 to 1.5 seconds
        ```
    """

    _repr_fields = ("min", "max")

    def __init__(self, min: time_unit_type = 0.0, max: time_unit_type = 1.0) -> None:
        self.min = _seconds(min)
        self.max = _seconds(max)

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return _uniform(self.min, self.max, seed)


class wait_exponential_jitter(_ComposableWait):
    """Exponential backoff plus up to ``jitter`` seconds of random delay.

    Before retry ``n`` it waits ``initial * exp_base ** n`` (limited to
    ``max``) plus a uniform draw from ``[0, jitter]``; the sum is limited to
    ``max`` again.

    Args:
        initial: The first delay, before jitter.
        exp_base: The growth factor between retries.
        max: Upper bound of any delay, jitter included.
        jitter: Upper bound of the random extra delay.

    Example:
        ```python
        wait_exponential_jitter(initial=0.5, max=20, jitter=0.25)
        ```
    """

    _repr_fields = ("initial", "exp_base", "max", "jitter")

    def __init__(
        self,
        initial: float = 1.0,
        exp_base: float = 2.0,
        max: float = 60.0,
        jitter: float = 1.0,
    ) -> None:
        self.initial = initial
        self.exp_base = exp_base
        self.max = max
        self.jitter = jitter

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        base = min(_scaled_power(self.initial, float(self.exp_base), attempts), self.max)
        return min(base + _uniform(0, self.jitter, seed), self.max)


class wait_random_exponential(_ComposableWait):
    """Exponential backoff with "full jitter".

    Before retry ``n`` it waits a uniform draw between ``min`` and the delay
    :class:`wait_exponential` would use with the same arguments, which spreads
    out clients that failed together.

    Args:
        multiplier: Scale of the exponential bound.
        exp_base: The growth factor of the bound between retries.
        max: Upper bound of the exponential bound.
        min: Lower end of the draw.

    Example:
        ```python
        wait_random_exponential(multiplier=1, max=60)  # 0-1, 0-2, 0-4, ... 0-60
        ```
    """

    _repr_fields = ("multiplier", "exp_base", "max", "min")

    def __init__(
        self,
        multiplier: int | float = 1.0,
        exp_base: int | float = 2.0,
        max: time_unit_type = 60.0,
        min: time_unit_type = 0.0,
    ) -> None:
        self.multiplier = float(multiplier)
        self.exp_base = float(exp_base)
        self.max = _seconds(max)
        self.min = _seconds(min)

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        grown = _scaled_power(self.multiplier, self.exp_base, attempts)
        floor = self.min if self.min > 0.0 else 0.0
        return _uniform(self.min, max(floor, min(grown, self.max)), seed)


def wait_full_jitter(
    multiplier: int | float = 1.0,
    exp_base: int | float = 2.0,
    max: time_unit_type = 60.0,
    min: time_unit_type = 0.0,
) -> wait_random_exponential:
    """Build a :class:`wait_random_exponential` (tenacity's other name for it).

    Args:
        multiplier: Scale of the exponential bound.
        exp_base: The growth factor of the bound between retries.
        max: Upper bound of the exponential bound.
        min: Lower end of the draw.

    Returns:
        The equivalent :class:`wait_random_exponential`.
    """
    return wait_random_exponential(multiplier=multiplier, exp_base=exp_base, max=max, min=min)


class wait_chain(_ComposableWait):
    """Use the first strategy before the first retry, the second before the
    second, and so on; the last one serves every retry after that.

    Each strategy still receives the overall retry number.

    Args:
        *strategies: One or more wait strategies.

    Raises:
        ValueError: If no strategy is given.

    Example:
        ```python
        wait_chain(*[wait_fixed(1)] * 3, wait_fixed(10))  # 1, 1, 1, 10, 10, ...
        ```
    """

    def __init__(self, *strategies: WaitStrategy) -> None:
        if not strategies:
            raise ValueError("wait_chain() needs at least one wait strategy, e.g. wait_fixed(1)")
        self.strategies = strategies

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        chosen = self.strategies[max(0, min(attempts, len(self.strategies) - 1))]
        return chosen(attempts, seed=seed)

    def __repr__(self) -> str:
        return f"wait_chain{self.strategies!r}"


class wait_combine(_ComposableWait):
    """Wait the sum of the strategies' delays (what ``+`` builds).

    Every strategy receives the same ``seed``.

    Args:
        *strategies: The wait strategies to add up; none means no delay.
    """

    def __init__(self, *strategies: WaitStrategy) -> None:
        self.strategies = strategies

    def __call__(self, attempts: int, *, seed: int | None = None) -> float:
        return sum(strategy(attempts, seed=seed) for strategy in self.strategies)

    def __repr__(self) -> str:
        return f"wait_combine{self.strategies!r}"


# --- stop conditions ------------------------------------------------------------


class _ComposableStop(_Described):
    """Gives stop conditions ``a | b`` (stop when either) and ``a & b`` (both)."""

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        raise NotImplementedError

    def __and__(self, other: StopCondition) -> stop_all:
        if not callable(other):
            return NotImplemented
        return stop_all(self, other)

    def __rand__(self, other: StopCondition) -> stop_all:
        if not callable(other):
            return NotImplemented
        return stop_all(other, self)

    def __or__(self, other: StopCondition) -> stop_any:
        if not callable(other):
            return NotImplemented
        return stop_any(self, other)

    def __ror__(self, other: StopCondition) -> stop_any:
        if not callable(other):
            return NotImplemented
        return stop_any(other, self)


class stop_after_attempt(_ComposableStop):
    """Give up once ``max_attempt_number`` attempts have failed.

    The count includes the first attempt: ``stop_after_attempt(3)`` lets a
    step run at most three times.

    Args:
        max_attempt_number: The most attempts the step may make.
    """

    _repr_fields = ("max_attempt_number",)

    def __init__(self, max_attempt_number: int) -> None:
        self.max_attempt_number = max_attempt_number

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return attempts >= self.max_attempt_number


class stop_after_delay(_ComposableStop):
    """Give up once ``max_delay`` has passed since the first attempt started.

    The check happens at a failure; the delay about to be slept is ignored, so
    the last retry may start after the deadline (see :class:`stop_before_delay`).

    Args:
        max_delay: The time budget, in seconds or as a ``timedelta``.
    """

    _repr_fields = ("max_delay",)

    def __init__(self, max_delay: time_unit_type) -> None:
        self.max_delay = _seconds(max_delay)

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return elapsed_time >= self.max_delay


class stop_before_delay(_ComposableStop):
    """Give up when sleeping the proposed delay would reach ``max_delay``.

    Unlike :class:`stop_after_delay` it adds ``upcoming_sleep`` to the elapsed
    time, so no retry starts at or after the deadline.

    Args:
        max_delay: The time budget, in seconds or as a ``timedelta``.
    """

    _repr_fields = ("max_delay",)

    def __init__(self, max_delay: time_unit_type) -> None:
        self.max_delay = _seconds(max_delay)

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return elapsed_time + upcoming_sleep >= self.max_delay


class stop_any(_ComposableStop):
    """Give up as soon as one of the conditions says so (what ``|`` builds).

    With no conditions it never stops.

    Args:
        *stops: The stop conditions.

    Example:
        ```python
        stop_any(stop_after_attempt(10), stop_after_delay(timedelta(minutes=5)))
        ```
    """

    def __init__(self, *stops: StopCondition) -> None:
        self.stops = stops

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return any(
            stop(attempts, elapsed_time, upcoming_sleep=upcoming_sleep) for stop in self.stops
        )

    def __repr__(self) -> str:
        return f"stop_any{self.stops!r}"


class stop_all(_ComposableStop):
    """Give up only when every condition says so (what ``&`` builds).

    With no conditions it always stops.

    Args:
        *stops: The stop conditions.
    """

    def __init__(self, *stops: StopCondition) -> None:
        self.stops = stops

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return all(
            stop(attempts, elapsed_time, upcoming_sleep=upcoming_sleep) for stop in self.stops
        )

    def __repr__(self) -> str:
        return f"stop_all{self.stops!r}"


class stop_never(_ComposableStop):
    """Never give up on account of attempts or time.

    Bound the retries some other way: a ``retry`` predicate that eventually
    refuses, or the workflow's timeout.
    """

    def __call__(self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return False


# --- policies -------------------------------------------------------------------


class _ComposedRetryPolicy:
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
        """Apply ``retry``, then ``wait``, then ``stop``; see the module docstring.

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
    return _ComposedRetryPolicy(retry=retry, wait=wait, stop=stop)


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
    return _ComposedRetryPolicy(
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
    return _ComposedRetryPolicy(retry=None, wait=wait, stop=stop_after_attempt(maximum_attempts))
