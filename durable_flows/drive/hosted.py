"""What driving a run needs from the workflow that hosts it.

:class:`HostedWorkflow` is a structural type (``typing.Protocol``): the
``Workflow`` face satisfies it without naming it, so ``drive``, ``Context``
and ``WorkflowHandler`` can take a workflow while importing nothing above
this package. Members with a leading underscore are the face's internals the
drivers use (its codec, run spec, concurrency limit), not user API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ..codec.journal import Codec
    from ..codec.serializers import BaseSerializer
    from ..events import Event
    from ..runtime.spec import RunSpec
    from ..storage.base import JournalStore


class HostedWorkflow(Protocol):
    """A workflow as the drivers, the context and the handler see it."""

    @property
    def workflow_name(self) -> str:
        """The name its runs are stored under."""

    @property
    def store(self) -> JournalStore:
        """The journal store its runs are written to."""

    @property
    def serializer(self) -> BaseSerializer | None:
        """The serializer chosen for its events and state (None: JSON)."""

    @property
    def _timeout(self) -> float | None:
        """Seconds of hosted run time before a run times out (None: never)."""

    def _legacy_names(self) -> tuple[str, ...]:
        """Other names its runs may be stored under."""

    def _codec(self) -> Codec:
        """The codec of its serializer choice."""

    def _run_spec(self) -> RunSpec:
        """Its steps as the runtime reads them."""

    def _state_type(self) -> type[BaseModel]:
        """The type of its runs' state."""

    def _limit(self) -> Any:
        """An async context manager held while a run executes (``num_concurrent_runs``)."""

    def _validate_valid_step_message(self, step: str, message: Event) -> None:
        """Raise unless step ``step`` exists and accepts ``message``."""
