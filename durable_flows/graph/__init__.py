"""The workflow graph: its models, its layout and its drawings.

Owns durable_flows' drawing graph (``model``: nodes, edges, ``FlowGraph``),
its layered layout (``layout``) and the Mermaid and SVG renderings
(``mermaid``, ``svg``); and upstream's pydantic graph
(``representation_types``: ``WorkflowGraph`` and its node classes), built from
a workflow's step functions by ``representation_build`` and simplified by
``node_filter``. Building a drawing graph from a workflow class or a stored
fingerprint stays in the public face ``durable_flows.representation``, which
imports this package and re-exports upstream's names. It may import
``resource``, ``codec`` and ``events``; never ``spec`` (a sibling), the
runtime, storage, the faces that build graphs, the command line or the server.
"""
