"""Encoding: what goes into a journal row and comes back out of it.

Owns qualified type names and importing by them (``names``), the event
payload encoding and the dict-like event data (``events``, ``dict_like``),
the state serializers users choose (``serializers``,
``jsonpickle_serializer``; their public path is
``durable_flows.context.serializers``) with the jsonpickle allow-list guard
(``jsonpickle_guard``), and the journal codec that turns events, state,
errors and records into rows (``journal``). It may import ``errors`` and
``events``; ``journal`` also reads ``storage.rows`` and ``runtime.records``
(the record <-> row translation). Nothing here imports the faces, the
command line or the server.
"""
