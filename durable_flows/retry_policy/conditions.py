"""Retry conditions: predicates that pick the exceptions worth another attempt.

Each helper is a class whose instances compose with ``&`` (both must match) and
``|`` (either); see :class:`retry_all` and :class:`retry_any`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from ._common import _describe, _Described

_ExceptionTypes = type[BaseException] | tuple[type[BaseException], ...]


class RetryCondition(Protocol):
    """A predicate on an exception: ``True`` when it is worth retrying."""

    def __call__(self, error: BaseException) -> bool: ...


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
        # upstream's messages
        if message is None and match is None:
            raise TypeError(f"{type(self).__name__}() missing 1 required argument 'message' or 'match'")
        if message is not None and match is not None:
            raise TypeError(f"{type(self).__name__}() takes either 'message' or 'match', not both")
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
