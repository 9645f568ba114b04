"""Driving runs for the ``Workflow`` face: start, resume, restore, submit.

Owns ``drivers`` (opening the store, claiming leases, starting or resuming
a run loop, claiming orphans) and ``remote`` (handlers for runs submitted
to, or executed by, another process). ``workflow.py`` calls these; they
take plain inputs and may import ``runtime``, ``storage`` and the basics
(``codec``, ``events``, ``errors``), not the faces (``Workflow`` is named
for type checking only), the command line or the server.
"""
