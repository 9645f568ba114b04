"""Driving runs for the ``Workflow`` face: start, resume, restore, submit.

Owns ``drivers`` (opening the store, claiming leases, starting or resuming
a run loop, claiming orphans), ``remote`` (handlers for runs submitted to,
or executed by, another process) and ``hosted`` (:class:`HostedWorkflow`, the
protocol of what these need from a workflow, which ``Workflow`` satisfies;
``Context`` and ``WorkflowHandler`` take it too). ``workflow.py`` calls these
with itself as a ``HostedWorkflow``. May import ``runtime``, ``storage`` and
the basics (``codec``, ``events``, ``errors``); never the faces, the command
line or the server.
"""
