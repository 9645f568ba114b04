"""How context state is serialized: the public face of ``durable_flows.codec.serializers``.

Upstream's import path (``workflows.context.serializers``) kept for users; the
serializers themselves live with the rest of the encoding in ``durable_flows.codec``.
"""

from ..codec.jsonpickle_serializer import JsonPickleSerializer
from ..codec.serializers import BaseSerializer, JsonSerializer, PickleSerializer

__all__ = ["BaseSerializer", "JsonPickleSerializer", "JsonSerializer", "PickleSerializer"]
