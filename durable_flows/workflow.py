"""``Workflow``: step discovery, validation, and starting or resuming durable runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from functools import partial
from typing import Any, cast

from pydantic import BaseModel

from .codec.journal import Codec
from .codec.names import launch_independent_module
from .codec.serializers import BaseSerializer, refuse_pickle
from .context.context import Context
from .context.state_type import most_derived_state_type
from .decorators import StepConfig, check_max_recoveries
from .drive.drivers import (
    claim_orphans,
    default_store,
    drive_new_run,
    drive_restore,
    drive_resume,
    hosted,
)
from .drive.remote import RemoteHandler
from .drive.start_args import start_event_for
from .drive.step_table import StepTable, WorkflowMeta
from .errors import (
    ContextStateError,
    WorkflowValidationError,
)
from .events import Event, StartEvent, StopEvent
from .handler import WorkflowHandler
from .runtime.loop import RunLoop
from .runtime.snapshot import DEFAULT_EVERY, check_every
from .runtime.spec import RunSpec
from .spec.validation import infer_start_event_class, infer_stop_event_class, validate_workflow
from .storage import JournalStore

logger = logging.getLogger(__name__)


class Workflow(StepTable, metaclass=WorkflowMeta):
    """An event-driven workflow whose runs are journaled and survive restarts.

    Same constructor and ``run`` as llama-index-workflows; ``store`` picks the
    journal (default: the SQLite file named by ``DURABLE_FLOWS_DB``, else
    ``./durable_flows.db``).

    Args:
        timeout: Seconds of hosted run time before the run times out (``None``:
            never). Time while no process hosts the run does not count.
        disable_validation: Skip the graph checks before running.
        verbose: Log step activity.
        resource_manager: Accepted for compatibility; each run gets its own manager.
        num_concurrent_runs: Most runs of this workflow object active at once.
        workflow_name: Name stored with each run (default: module-qualified class name).
        skip_graph_checks: Graph checks to skip (e.g. ``{"reachability"}``).
        serializer: ``JsonPickleSerializer(allowed=...)`` to journal values JSON can't hold.
        store: The journal store to use.
        snapshot_every: Journal a snapshot of the run's state at most every
            this many entries, so a resume replays only what came after the
            latest one (large states snapshot less often; see
            ``runtime/snapshot_rule.py``). ``0`` or ``None``: never.
        max_recoveries: How many process deaths one execution may be in flight
            for before the run is marked failed with ``RecoveryLimitError``
            (``None``: no limit; ``@step(max_recoveries=...)`` overrides it per
            step). From the 5th death in a row its re-run is delayed (0.5 s,
            doubling, at most 8 s).
    """

    _step_functions: dict[str, Any]
    _step_functions_version: int

    def __init__(
        self,
        timeout: float | None = 45.0,
        disable_validation: bool = False,
        verbose: bool = False,
        resource_manager: Any = None,
        num_concurrent_runs: int | None = None,
        runtime: Any = None,
        workflow_name: str | None = None,
        skip_graph_checks: set[str] | None = None,
        serializer: BaseSerializer | None = None,
        store: JournalStore | None = None,
        snapshot_every: int | None = DEFAULT_EVERY,
        max_recoveries: int | None = 100,
    ) -> None:
        if num_concurrent_runs is not None and (
            isinstance(num_concurrent_runs, bool)
            or not isinstance(num_concurrent_runs, int)
            or num_concurrent_runs <= 0
        ):
            raise WorkflowValidationError("num_concurrent_runs must be an integer greater than 0 or None")
        check_max_recoveries(max_recoveries)
        self._max_recoveries = max_recoveries
        self._timeout = timeout
        self._disable_validation = disable_validation
        self._verbose = verbose
        self._num_concurrent_runs = num_concurrent_runs
        self._workflow_name = workflow_name
        self._skip_graph_checks = set(skip_graph_checks or ())
        refuse_pickle(serializer)
        self._serializer = serializer
        self._store = store
        self._snapshot_every = check_every(snapshot_every)
        self._semaphores: dict[int, asyncio.Semaphore] = {}
        self._validated_version = -1
        self._spec: RunSpec | None = None
        self._bound: dict[str, Any] = {}
        self._calls: dict[str, tuple[Any, StepConfig, bool]] = {}
        self._state_type_cache: type[BaseModel] | None = None
        self._spec_version = -1
        self._codec_obj = Codec(serializer)
        configs = self._step_configs()
        from .spec.validation import check_graph_check_names

        check_graph_check_names(self._skip_graph_checks)
        self._start_event_class: type[StartEvent] = StartEvent
        self._stop_event_class: type[StopEvent] = StopEvent
        if configs:
            name = type(self).__name__
            self._start_event_class = infer_start_event_class(configs, name)
            self._stop_event_class = infer_stop_event_class(configs, name)

    # -- identity and configuration ----------------------------------------------------

    @property
    def workflow_name(self) -> str:
        """The name runs of this workflow are stored under.

        ``workflow_name=`` when given, else ``module.Class`` where a class
        defined in a script (module ``__main__``) gets the script's module
        name (``python app.py`` and ``python -m app`` both give
        ``app.Class``), so the code that imports it finds its runs.
        """
        if self._workflow_name is not None:
            return self._workflow_name
        cls = type(self)
        return f"{launch_independent_module(cls.__module__)}.{cls.__qualname__}"

    def _legacy_names(self) -> tuple[str, ...]:
        """Other names runs of this class may be stored under, searched too.

        ``__main__.Class`` (what scripts stored before the module was
        recorded; callers warn when they match it) and the name with leading
        packages dropped (``app.Class`` for ``examples.app.Class``: the same
        file run as ``python examples/app.py``).
        """
        if self._workflow_name is not None:
            return ()
        name = self.workflow_name
        parts = name.split(".")
        shorter = tuple(".".join(parts[i:]) for i in range(1, len(parts) - 1))
        legacy = f"__main__.{type(self).__qualname__}"
        return shorter + (() if legacy == name else (legacy,))

    @property
    def serializer(self) -> BaseSerializer | None:
        return self._serializer

    @property
    def start_event_class(self) -> type[StartEvent]:
        return self._start_event_class

    @property
    def stop_event_class(self) -> type[StopEvent]:
        return self._stop_event_class

    @property
    def events(self) -> list[type[Event]]:
        """Every event type the steps accept or return."""
        from .spec.validation import workflow_event_types

        return workflow_event_types(self._step_configs())

    @property
    def runtime(self) -> None:
        """Upstream's pluggable runtime; durable_flows has one (the journal), so None."""
        return None

    @property
    def store(self) -> JournalStore:
        """The journal store runs of this workflow are written to."""
        if self._store is not None:
            return self._store
        return default_store()

    @classmethod
    def add_step(cls, func: Any) -> None:
        """Register a free function decorated with ``@step`` as a step of this class."""
        if getattr(func, "_step_config", None) is None:
            raise WorkflowValidationError(f"Step function {func.__name__} is missing the `@step` decorator.")
        if func.__name__ in cls._class_steps():
            raise WorkflowValidationError(
                f"A step {func.__name__} is already part of this workflow, please choose another name."
            )
        cls._step_functions[func.__name__] = func
        cls._step_functions_version += 1

    def _state_type(self) -> type[BaseModel]:
        if self._state_type_cache is None:
            self._state_type_cache = most_derived_state_type(
                cfg.context_state_type for cfg in self._step_configs().values()
            )
        return self._state_type_cache

    # -- validation -----------------------------------------------------------------------

    def validate(self, *, validate_resource_configs: bool = True, validate_resources: bool = False) -> bool:
        """Check the step graph (and resource configs); True when the workflow uses human input.

        Args:
            validate_resource_configs: Check that ``ResourceConfig`` files load.
            validate_resources: Also call resource factories (may need credentials).

        Raises:
            WorkflowValidationError, WorkflowConfigurationError: with upstream's messages.
        """
        from .spec.validation import validate_resource_configs as check_configs
        from .spec.validation import validate_resources as check_resources

        configs = self._step_configs()
        result = validate_workflow(
            configs, workflow_name=type(self).__name__, skip_graph_checks=self._skip_graph_checks
        )
        problems = check_configs(configs) if validate_resource_configs else []
        if validate_resources:
            from .resource import ResourceManager

            problems += asyncio.run(check_resources(configs, ResourceManager()))
        if problems:
            raise WorkflowValidationError(
                "Resource config validation failed:\n" + "\n".join(f"  - {p}" for p in problems)
            )
        self._start_event_class = result.start_event_class
        self._stop_event_class = result.stop_event_class
        self._validated_version = type(self)._step_functions_version
        return bool(getattr(result, "uses_hitl", False))

    def _validate(self) -> None:
        if self._disable_validation or self._validated_version == type(self)._step_functions_version:
            return
        self.validate()

    # -- running -------------------------------------------------------------------------

    def _get_start_event_instance(self, start_event: StartEvent | None, **kwargs: Any) -> StartEvent:
        return start_event_for(self._start_event_class, start_event, kwargs)

    def run(
        self,
        ctx: Context[Any] | None = None,
        start_event: StartEvent | None = None,
        run_id: str | None = None,
        **kwargs: Any,
    ) -> WorkflowHandler:
        """Start a durable run and return its handler (await it for the result).

        Everything the run does is journaled before it takes effect. A ``ctx``
        restored with ``Context.from_dict`` whose run is unfinished in the store
        resumes that run instead of starting a new one.

        Raises:
            WorkflowValidationError: the step graph is invalid.
            WorkflowRuntimeError: the start event cannot be built from ``kwargs``.
        """
        self._validate()
        ctx = ctx if ctx is not None else Context(self)
        if ctx.is_running:
            raise ContextStateError(
                "Cannot start a new run while context is already running. "
                "Wait for completion or use a new Context."
            )
        if ctx._was_running and ctx._run_id is not None and ctx._run_loop is None:
            return self._restore(ctx, run_id)  # a dict taken mid-run: a new run continuing it
        start = self._get_start_event_instance(start_event, **kwargs)
        run_id = run_id or uuid.uuid4().hex
        loop = RunLoop(self._plan(), self.store, ctx, run_id)
        ctx._bind(loop)
        seed = self._codec().dump_state(ctx.store._state)
        ctx.store._set_image(seed)
        loop.state_ready.set()
        task = asyncio.get_running_loop().create_task(hosted(self, loop, start, partial(drive_new_run, self, loop, start, seed)))
        return WorkflowHandler(self, ctx, loop, task)

    async def submit(
        self,
        ctx: Context[Any] | None = None,
        start_event: StartEvent | None = None,
        run_id: str | None = None,
        **kwargs: Any,
    ) -> RemoteHandler:
        """Journal a new run for a worker to execute; this process does not run it.

        Returns only once the run's row and its start event are committed (in
        one transaction): the process may exit or close the store right after
        and the run is there for any worker. The handler it returns follows
        the run through the store: await it for the result, stream it, send
        events into it. Start workers with
        ``durable-flows worker --workflow module:Class --db URL``.

        Raises:
            WorkflowValidationError: the step graph is invalid.
            WorkflowRuntimeError: the start event cannot be built from ``kwargs``.
            RunExistsError: ``run_id`` is taken (nothing is written).
        """
        from .drive.remote import submit_run

        self._validate()
        ctx = ctx if ctx is not None else Context(self)
        start = self._get_start_event_instance(start_event, **kwargs)
        run_id = run_id or uuid.uuid4().hex
        seed = self._codec().dump_state(ctx.store._state)
        await submit_run(self, run_id, start, seed)
        return RemoteHandler(self, run_id)

    def resume(
        self, run_id: str, *, reset_recoveries: bool = False, skip_failed: bool = False
    ) -> WorkflowHandler:
        """Continue a run from its journal in this process.

        A finished run's handler resolves at once to the recorded result (or
        raises the recorded error). Errors surface when the handler is awaited.
        ``reset_recoveries=True`` starts the count of process deaths over, and
        continues a run that ``max_recoveries`` failed (``RecoveryLimitError``)
        in place, without a fork. ``skip_failed=True`` continues a run that
        failed in a step (say, on an event sent from outside that did not fit):
        that execution and its event are dropped and the run goes on with what
        else it has (often: waiting for a fitting event).

        Raises (on await):
            RunNotFoundError: no such run.
            LeaseHeldError: a live process is executing it.
            JournalDecodeError, JournalCorruptError, NonDeterminismError: the
                journal can't be continued by this code (the run is not changed,
                except that a damaged journal marks it failed).
        """
        return self._resume(run_id, reset_recoveries=reset_recoveries, skip_failed=skip_failed)

    def _resume(
        self,
        run_id: str,
        ctx: Context[Any] | None = None,
        lease: Any = None,
        park: bool = False,
        reset_recoveries: bool = False,
        skip_failed: bool = False,
    ) -> WorkflowHandler:
        self._validate()
        ctx = ctx if ctx is not None else Context(self)
        loop = RunLoop(self._plan(), self.store, ctx, run_id)
        loop.park_when_idle = park
        ctx._bind(loop)
        task = asyncio.get_running_loop().create_task(
            hosted(self, loop, None, partial(drive_resume, self, loop, lease, reset_recoveries, skip_failed))
        )
        return WorkflowHandler(self, ctx, loop, task)

    def _restore(self, ctx: Context[Any], run_id: str | None) -> WorkflowHandler:
        """A new run continuing a context dict taken mid-run (``to_dict`` then ``from_dict``).

        When the store holds the source run, its journal is forked at the position
        the dict was taken at (``journal_seq``) into the new run, whose
        ``parent_run_id`` names the source; otherwise the new run is seeded from
        the dict's ``snapshot`` (its ``run_started`` record names the source as
        ``restored_from``, see ``runtime/seed.py``). The new run then resumes:
        waiters, queued events and state are as they were when the dict was
        taken, whatever the source run did afterwards (cancelled, finished,
        still running).
        """
        self._validate()
        source = cast(str, ctx._run_id)
        loop = RunLoop(self._plan(), self.store, ctx, run_id or uuid.uuid4().hex)
        ctx._bind(loop)
        task = asyncio.get_running_loop().create_task(
            hosted(self, loop, None, partial(drive_restore, self, loop, source, ctx._restore_seq, ctx._restore_snapshot))
        )
        return WorkflowHandler(self, ctx, loop, task)

    async def recover(self) -> list[WorkflowHandler]:
        """Resume every unfinished run of this workflow whose owner is gone.

        Safe to call at every start-up: runs a live process owns are skipped.
        """
        return [self._resume(lease.run_id, lease=lease) for lease in await claim_orphans(self)]

    def _limit(self) -> Any:
        if self._num_concurrent_runs is None:
            return contextlib.nullcontext()
        key = id(asyncio.get_running_loop())
        sem = self._semaphores.get(key)
        if sem is None:
            sem = self._semaphores[key] = asyncio.Semaphore(self._num_concurrent_runs)
        return sem
