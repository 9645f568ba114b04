"""The engine: journal records, the pure reducer, replay, snapshots and the live loop."""
