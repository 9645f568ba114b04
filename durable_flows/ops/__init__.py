"""Operating on journals: checking runs, reading timelines, running workers.

Owns ``check`` (replaying stored runs to find damage or nondeterminism),
``timeline`` (a run's history as attempts and durations, for the command line
and the web view) and ``worker`` (a process that claims and executes
submitted runs). These sit above the faces: they may import the faces,
``drive``, ``runtime``, ``storage`` and the basics, never ``cli`` or
``server``, which build on them.
"""
