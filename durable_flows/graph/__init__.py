"""The workflow graph: its model, its layout and its drawings.

Owns the graph model (``model``: nodes, edges, ``FlowGraph``), the
layered layout (``layout``) and the Mermaid and SVG renderings (``mermaid``,
``svg``). Building a graph from a workflow class or a stored fingerprint
stays in the public face ``durable_flows.representation``, which imports
this package. It may import ``codec`` and ``events``; never the runtime,
storage, the faces that build graphs, the command line or the server.
"""
