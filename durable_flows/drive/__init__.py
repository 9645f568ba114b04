"""Driving runs for the ``Workflow`` face: start, resume, restore, submit.

Owns ``drivers`` (opening the store, claiming leases, starting or resuming
a run loop, claiming orphans), ``remote`` (handlers for runs submitted to,
or executed by, another process), ``start_args`` (the start event from
``run()``'s arguments), ``step_table`` (``WorkflowMeta`` and ``StepTable``, a
base of ``Workflow``: its steps collected and turned into the run spec and
run plan the runtime takes) and ``hosted`` (:class:`HostedWorkflow`, the
protocol of what these need from a workflow, which ``Workflow`` satisfies;
``Context`` and ``WorkflowHandler`` take it too). May import ``runtime``,
``storage``, ``decorators`` and the basics (``spec``, ``codec``, ``events``,
``errors``); never the faces, the command line or the server.
"""
