"""The engine: journal records, the pure reducer, replay, snapshots and the live loop.

Owns the record kinds (``records``) and their encoding as journal rows
(``journal_codec``), the run state and the pure reducer that folds records
into it (``state``, ``reducer``), replay and rebuilding a run from its journal
(``replay``, ``rebuild``), snapshots (``snapshot``, ``snapshot_rule``), state
changes as patches (``state_patch``), the commit order of dependent executions
(``commit_order``), and the live loop that appends, reduces, then acts
(``loop`` over ``_loop_base``, ``steps``, ``completion``, ``inputs``,
``streaming``, ``collect``, ``scope``). It takes plain inputs: a run plan and
spec (``plan``, ``spec``), a codec, a store and callbacks. May import
``instrumentation``, ``storage``, ``decorators``, ``spec``, ``resource``,
``retry_policy``, ``events``, ``codec`` and ``errors``; never the faces,
``drive``, the command line or the server.
"""
