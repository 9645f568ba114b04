"""Wait strategies: the delay before each retry.

Strategies count retries from 0 (the delay before the first retry) and compose
with ``+`` (delays add up) or ``sum([...])``; see :class:`wait_combine`. The only
input besides the retry number is randomness for jitter, drawn from
:mod:`random` (or ``random.Random(seed)`` when a seed is given), never a clock.
"""

from __future__ import annotations

import math
import random
from typing import Protocol

from ._common import _Described, _seconds, time_unit_type


class WaitStrategy(Protocol):
    """Computes the delay before a retry.

    ``attempts`` is the 0-based retry number (0 before the first retry), one
    less than the ``attempts`` a :class:`RetryPolicy` receives.
    """

    def __call__(self, attempts: int, *, seed: int | None = None) -> float: ...


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
        return _exponential_bound(self, attempts)


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
        return _uniform(self.min, _exponential_bound(self, attempts), seed)


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


def _exponential_bound(wait: wait_exponential | wait_random_exponential, attempts: int) -> float:
    """``multiplier * exp_base ** attempts`` kept within ``[max(min, 0), max]``."""
    grown = _scaled_power(wait.multiplier, wait.exp_base, attempts)
    return max(wait.min if wait.min > 0.0 else 0.0, min(grown, wait.max))
