"""Reading a workflow class: what its steps accept, return and need.

Owns step signatures (``signature``), the checks run when a workflow is
defined (``validation``, ``graph_checks``, ``event_matching``) and the check
of an event sent from outside against the fields its consumers read
(``event_fit``, called by ``storage`` before journaling such an event). It
may import ``errors``, ``events``, ``codec``, ``resource`` and
``decorators`` (the step configuration it reads); never the runtime,
storage, the command line or the server.
"""
