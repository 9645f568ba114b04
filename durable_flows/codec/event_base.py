"""The :class:`Event` base class, below the codec that must recognise event classes.

Its public home is :mod:`durable_flows.events`, which re-exports it with every
framework event; it is defined here so that the journal codec can tell an
event class from anything else without importing the events face (which
imports the codec).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dict_like import DictLikeModel


class Event(DictLikeModel):
    """Base class of every event a step takes or returns.

    Declare typed fields on subclasses; pass anything else as keyword
    arguments and read it back as attributes or items::

        class Scored(Event):
            score: int

        ev = Scored(score=3, note="first")
        ev.score, ev.note, ev["note"]   # 3, "first", "first"
    """

    # Journals, pickles and type names say durable_flows.events.Event: defining
    # it here must not rename it.
    __module__ = "durable_flows.events"

    if TYPE_CHECKING:  # type checkers would otherwise derive __init__ from the fields only

        def __init__(self, /, **params: Any) -> None: ...
