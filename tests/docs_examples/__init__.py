"""Upstream's documentation examples (llama-index-workflows' workflows pages) as tests.

One module per page, written with the page's API usage and structure and the
import changed to ``lib`` (which picks durable_flows or upstream's
``workflows``); LLM clients are replaced by ``fake_llm.FakeLLM``.
"""
