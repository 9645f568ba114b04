"""Reading a workflow class: what its steps accept, return and need.

Owns the step configuration as data (``step_config``: ``StepConfig``,
``CatchErrorHandler``, re-exported by ``durable_flows.decorators``), step
signatures (``signature``), the checks run when a workflow is defined
(``validation``, ``graph_checks``, ``event_matching``) and the check of an
event sent from outside against the fields its consumers read
(``event_fit``, called by ``storage`` before journaling such an event). It
may import ``resource``, ``retry_policy``, ``events``, ``codec`` and
``errors``; never the decorators (which build on it), the runtime, storage,
the command line or the server.
"""
