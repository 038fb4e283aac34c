"""Older embedded-chain files brought to the current schema (snapshot.SCHEMA_VERSION), once,
when a claimsengine that writes the current one opens them.

One transaction: a crash or an error leaves the file as it was. What each schema lacks:
- 1: the compact log index (chain/index.py);
- 1, 2: block bodies compressed apart from the trie nodes (chain/kvstore.py);
- 2, 3: topics indexed by their last bytes (chain/index.py);
- 1 to 4: reference counts for pruning (chain/prune.py): every row is counted once;
- 1 to 5: ``meta``'s ``storage_keys``: such a file keeps its storage nodes by hash
  (chain/nodekeys.py), as it was written; only a chain created since keeps them by path.
"""

from __future__ import annotations

from eth.db.atomic import AtomicDB
from eth.db.chain import ChainDB

from claimsengine.chain.index import migrate_from_v1, rebuild_topic_indexes
from claimsengine.chain.kvstore import SqliteKV
from claimsengine.chain.prune import move_block_bodies, prune_chain
from claimsengine.chain.snapshot import SCHEMA_VERSION

__all__ = ["OLDER_SCHEMAS", "migrate"]

#: The schemas this module brings to the current one.
OLDER_SCHEMAS = ("1", "2", "3", "4", "5")


def migrate(store: SqliteKV, version: str) -> None:
    """Bring the chain file in ``store``, written with schema ``version`` (one of
    ``OLDER_SCHEMAS``), to the current schema."""
    store.begin()
    try:
        if version == "1":
            migrate_from_v1(store.connection)
        if version in ("1", "2"):
            move_block_bodies(store)
        if version in ("2", "3"):
            rebuild_topic_indexes(store.connection)
        if version != "5":
            store.connection.execute("ALTER TABLE kv ADD COLUMN refs INTEGER")
            prune_chain(store, ChainDB(AtomicDB(store)).get_canonical_head(), everything=True)
            store.release_free_pages()
        store.connection.execute(
            "INSERT OR REPLACE INTO meta (name, value) VALUES ('storage_keys', 'hash')"
        )
        store.connection.execute(
            "UPDATE meta SET value = ? WHERE name = 'schema_version'", (SCHEMA_VERSION,)
        )
        store.commit()
    except BaseException:
        store.rollback()
        raise
