"""Benchmarks of durable_flows against upstream llama-index-workflows.

``python bench/run.py`` prints the comparison table (see its docstring for the
options); ``python bench/hotspots.py WORKLOAD`` counts commits, thread hops and
encodes per event and profiles the durable_flows side of one workload.
"""
