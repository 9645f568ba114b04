"""What every retry helper module shares: durations, and reprs that read like calls."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

time_unit_type = int | float | timedelta
"""A duration: seconds as ``int``/``float``, or a :class:`datetime.timedelta`."""


def _seconds(value: time_unit_type) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _describe(obj: object, *fields: str) -> str:
    args = ", ".join(f"{name}={getattr(obj, name)!r}" for name in fields)
    return f"{type(obj).__name__}({args})"


class _Described:
    """Reprs that read like the call that built the object, for logs and errors."""

    _repr_fields: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        return _describe(self, *self._repr_fields)
