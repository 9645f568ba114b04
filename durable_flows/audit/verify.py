"""Recompute a run's hash chain and name the first entry that breaks it.

The stores chain every entry to the previous one of its run
(``durable_flows.storage.chain``). An entry that was altered no longer
matches its hash; an inserted, deleted or reordered entry changes the seq or
the previous hash of the entries after it; entries cut off the end leave the
run row's ``last_seq`` and ``chain_head`` pointing past the journal. Entries
journaled before chaining existed (``runs.unchained_upto``) are reported as
"unchained up to seq N" and are not a break.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..storage import JournalStore
from ..storage.chain import KEY_ENV, KEYED_PREFIX, chain_key, entry_hash
from ..storage.rows import ArchivedRun, JournalEntry, RunChain


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What verifying one run found.

    Attributes:
        ok: No break.
        entries: Journal entries read.
        unchained_upto: Entries 1..N predate chaining (0: all chained).
        seq: The first entry that breaks the chain (None when ok, or when
            the break is at the end of the journal: see ``problem``).
        problem: What is wrong, for people; "" when ok.
    """

    run_id: str
    ok: bool
    entries: int
    unchained_upto: int
    seq: int | None = None
    problem: str = ""

    def as_dict(self) -> dict[str, object]:
        """The report as plain data (``--json``)."""
        return {
            "run_id": self.run_id, "ok": self.ok, "entries": self.entries,
            "unchained_upto": self.unchained_upto, "seq": self.seq, "problem": self.problem,
        }  # fmt: skip


def verify_chain(chain: RunChain, key: bytes | None = None) -> ChainReport:
    """Check one run's chain; ``key`` is the HMAC key (None: only key-less hashes verify)."""
    legacy = chain.unchained_upto or 0
    prev: str | None = None
    keyed_seen = False
    expected_seq = 1

    def broken(seq: int | None, problem: str) -> ChainReport:
        return ChainReport(chain.run_id, False, len(chain.entries), legacy, seq, problem)

    for entry, stored in zip(chain.entries, chain.hashes, strict=True):
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                what = f"entries {expected_seq}..{entry.seq - 1} are missing (deleted)"
            else:
                what = f"seq {entry.seq} appears where seq {expected_seq} belongs (reordered)"
            return broken(expected_seq, what)
        expected_seq += 1
        if stored is None:
            if entry.seq <= legacy and prev is None:
                continue  # journaled before chaining existed
            return broken(entry.seq, f"entry {entry.seq} has no hash (it was inserted or its hash removed)")
        if stored.startswith(KEYED_PREFIX):
            if key is None:
                return broken(
                    entry.seq,
                    f"entry {entry.seq} is hashed with a key; set {KEY_ENV} to verify it",
                )
            keyed_seen = True
            expected = entry_hash(prev, entry, key)
        else:
            if keyed_seen:
                return broken(entry.seq, f"entry {entry.seq} is hashed without the key after keyed entries")
            expected = entry_hash(prev, entry, None)
        if stored != expected:
            return broken(
                entry.seq,
                f"entry {entry.seq} does not match its hash: it was altered, or entries "
                "were inserted, deleted or reordered at this point",
            )
        prev = stored
    last = chain.entries[-1].seq if chain.entries else 0
    if chain.last_seq != last:
        return broken(
            None,
            f"the journal ends at seq {last} but the run row says {chain.last_seq}: "
            "entries were deleted from the end",
        )
    if prev is not None and chain.chain_head != prev:
        return broken(None, "the run's chain head does not match its last entry: the end was cut or rewritten")
    return ChainReport(chain.run_id, True, len(chain.entries), min(legacy, last))


async def verify_runs(
    store: JournalStore, run_ids: list[str] | None = None, key: bytes | None = None
) -> list[ChainReport]:
    """Verify the given runs (all runs when None), newest first as listed.

    ``key`` defaults to the one in the environment (``DURABLE_FLOWS_JOURNAL_KEY``).

    Raises:
        RunNotFoundError: a named run does not exist.
    """
    from ..errors import RunNotFoundError

    key = chain_key() if key is None else key
    if run_ids is None:
        run_ids = [info.run_id for info in await store.list_runs()]
    reports = []
    for run_id in run_ids:
        chain = await store.read_chain(run_id)
        if chain is None:
            raise RunNotFoundError(run_id)
        reports.append(verify_chain(chain, key))
    return reports


def archived_chain(run: ArchivedRun) -> RunChain:
    """The chain of an archived run, as a store's ``read_chain`` would give it."""
    columns = JournalEntry._fields
    return RunChain(
        run.run["run_id"], run.run["last_seq"], run.run.get("chain_head"),
        run.run.get("unchained_upto"),
        [JournalEntry(*(row[c] for c in columns)) for row in run.journal],
        [row.get("hash") for row in run.journal],
    )  # fmt: skip


def verify_archive(runs: list[ArchivedRun], key: bytes | None = None) -> list[ChainReport]:
    """Verify every run of an archive (``read_archive``)."""
    key = chain_key() if key is None else key
    return [verify_chain(archived_chain(run), key) for run in runs]
