"""``Collect`` markers for ``list[E]`` fan-in parameters (upstream's ``workflows.collect``).

llama-index-workflows 2.26 lets a step take ``events: list[E]``, optionally as
``Annotated[list[E], Collect(Take(n))]``, to receive the members of a
collection stream (the events of one ``list[E]`` return and what they lead
to) once the stream closes, or once ``n`` have arrived. The markers are
importable here so code written for upstream imports unchanged, but
durable_flows does not run collection streams yet: ``@step`` refuses such a
parameter with a message naming the step (see the README, "Not supported yet").
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
