"""``Collect`` markers for ``list[E]`` fan-in parameters (upstream's ``workflows.collect``).

A step that takes ``events: list[E]`` receives, as one list, the members of a
collection stream (the events of one ``list[E]`` return and what they lead
to): by default once the stream closes (``All``), or with
``Annotated[list[E], Collect(Take(n))]`` at the ``n``-th member. The runtime
side is ``durable_flows/runtime/streams.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["All", "Cardinality", "Collect", "Take"]


@dataclass(frozen=True)
class Cardinality:
    """When a collect step is released and with which members (use ``All`` or ``Take``)."""


@dataclass(frozen=True)
class All(Cardinality):
    """Release once, when the stream closes, with every member (the default)."""


@dataclass(frozen=True)
class Take(Cardinality):
    """Release once, at the ``n``-th member, with the first ``n`` (or fewer if the stream closes first).

    Raises:
        ValueError: ``n`` is not an integer >= 1.
    """

    n: int

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"Take(n) needs an integer n >= 1, not {self.n!r}")


@dataclass(frozen=True)
class Collect:
    """Marks a ``list[E]`` parameter's release rule: ``Annotated[list[E], Collect(Take(1))]``."""

    cardinality: Cardinality = field(default_factory=All)
