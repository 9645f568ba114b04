"""Stop conditions: when to give up retrying, whatever the exception.

Each helper is a class whose instances compose with ``|`` (stop when either)
and ``&`` (stop only when both); see :class:`stop_any` and :class:`stop_all`.
"""

from __future__ import annotations

from typing import Protocol

from ._common import _Described, _seconds, time_unit_type


class StopCondition(Protocol):
    """A predicate that ends the retries when it returns ``True``.

    It sees the 1-based count of failed attempts, the elapsed seconds and the
    delay the wait strategy has just proposed (``upcoming_sleep``).
    """

    def __call__(
        self, attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0
    ) -> bool: ...


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
