"""Every error durable_flows raises, under one root.

Upstream's names (``WorkflowTimeoutError``, ``WorkflowValidationError``, ...) are
kept so ``except`` clauses written for llama-index-workflows keep working. The
durable errors take identifiers and build a message that says what went wrong
and what to do about it.

This package is the one place errors are imported from: ``from
durable_flows.errors import X`` for every X. The modules group them by concept:
``root`` (:class:`DurableFlowsError`), ``upstream`` (upstream's names), ``store``
(the journal database), ``runs`` (runs, leases, replay, recovery), ``values``
(serializing, decoding and outside events) and ``operations`` (extras,
archives, search). A new error goes in the module of its concept and in
``__all__`` here. It imports nothing else of durable_flows: every layer may
import it.
"""

from __future__ import annotations

from .operations import (
    ArchiveError,
    ArchiveImportError,
    ExtraMissingError,
    SearchError,
)
from .root import (
    DurableFlowsError,
)
from .runs import (
    AmbiguousRunIdError,
    ForkPointError,
    LeaseHeldError,
    NonDeterminismError,
    RecoveryLimitError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
    StaleLeaseError,
)
from .store import (
    InboxConsumeError,
    JournalCorruptError,
    JournalDecodeError,
    JournalOutdatedError,
    JournalSeqError,
    NotAJournalError,
    SchemaVersionError,
    StoreClosedError,
    StoreError,
    StoreOpenError,
    StoreReadOnlyError,
    StoreWriteError,
)
from .upstream import (
    ContextSerdeError,
    ContextStateError,
    StateTypeError,
    WorkflowCancelledByUser,
    WorkflowConfigurationError,
    WorkflowDone,
    WorkflowRuntimeError,
    WorkflowStepDoesNotExistError,
    WorkflowTimeoutError,
    WorkflowValidationError,
)
from .values import (
    EventEnvelopeError,
    EventFieldsError,
    EventNotAcceptedError,
    EventNotSerializableError,
    SerializationError,
    TypeNotAllowedError,
    ValueNotSerializableError,
)

__all__ = [
    "AmbiguousRunIdError",
    "ArchiveError",
    "ArchiveImportError",
    "ContextSerdeError",
    "ContextStateError",
    "DurableFlowsError",
    "EventEnvelopeError",
    "EventFieldsError",
    "EventNotAcceptedError",
    "EventNotSerializableError",
    "ExtraMissingError",
    "ForkPointError",
    "InboxConsumeError",
    "JournalCorruptError",
    "JournalDecodeError",
    "JournalOutdatedError",
    "JournalSeqError",
    "LeaseHeldError",
    "NonDeterminismError",
    "NotAJournalError",
    "RecoveryLimitError",
    "RunExistsError",
    "RunFinishedError",
    "RunNotFoundError",
    "SchemaVersionError",
    "SearchError",
    "SerializationError",
    "StaleLeaseError",
    "StateTypeError",
    "StoreClosedError",
    "StoreError",
    "StoreOpenError",
    "StoreReadOnlyError",
    "StoreWriteError",
    "TypeNotAllowedError",
    "ValueNotSerializableError",
    "WorkflowCancelledByUser",
    "WorkflowConfigurationError",
    "WorkflowDone",
    "WorkflowRuntimeError",
    "WorkflowStepDoesNotExistError",
    "WorkflowTimeoutError",
    "WorkflowValidationError",
]

# Each error's public home is this package: tracebacks, pickles and the error
# types journaled with failed outcomes (``codec.journal.error_info``) name
# ``durable_flows.errors.X``, whichever module defines it.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
