"""Encoding: what goes into a journal row and comes back out of it.

Owns qualified type names and importing by them (``names``), the
:class:`Event` base class (``event_base``; its public home is
``durable_flows.events``), the event payload encoding and the dict-like event
data (``events``, ``dict_like``), the state serializers users choose
(``serializers``, ``jsonpickle_serializer``; their public path is
``durable_flows.context.serializers``) with the jsonpickle allow-list guard
(``jsonpickle_guard``), and the journal codec that turns events, state and
errors into JSON (``journal``). It may import ``errors`` only: the events face
builds on it, and the translation of runtime records to storage rows lives in
``runtime/journal_codec.py``. Nothing here imports the faces, the runtime,
storage, the command line or the server.
"""
