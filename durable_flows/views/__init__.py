"""Renderings of runs shared by the command line and the server.

Owns the text formatting of journal entries and run rows (``format``,
``state_text``), the HTML page shell (``page``), the run report and its
timeline and graph pictures (``report_page``, ``timeline_svg``,
``run_graph``) and finding a run by id or prefix (``lookup``). It may import
the basics (errors, events, codec), ``storage``, ``timeline`` and the graph
drawing; never ``cli`` or ``server``, which both build on it.
"""
