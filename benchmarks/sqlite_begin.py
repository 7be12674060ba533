"""DEFERRED vs IMMEDIATE write transactions on SQLite (WAL, synchronous=FULL), side by side.

Each of T threads runs N transactions that read a counter and then write it back + 1 — the
shape of "take the next ticket number" or "claim the next waiting car". A deferred
transaction that reads and then writes fails with "database is locked" whenever another
writer committed in between (SQLite cannot upgrade its read snapshot); IMMEDIATE takes the
write lock at BEGIN and waits its turn within the busy timeout.

    python benchmarks/sqlite_begin.py [--threads 8] [--transactions 200]

Last line: RESULT sqlite_begin threads=<t> deferred_errors=<n> deferred_lost=<n>
immediate_errors=<n> immediate_lost=<n> immediate_per_s=<float>
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from station.db import Database


def run(db: Database, mode: str, threads: int, transactions: int) -> tuple[int, int, float]:
    with db.write() as s:
        s.execute(sa.text("DELETE FROM bench"))
        s.execute(sa.text("INSERT INTO bench (id, value) VALUES (1, 0)"))
    errors = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal errors
        for _ in range(transactions):
            session = db._write() if mode == "IMMEDIATE" else db._read()
            try:
                value = session.execute(sa.text("SELECT value FROM bench WHERE id=1")).scalar()
                session.execute(sa.text("UPDATE bench SET value=:v WHERE id=1"), {"v": value + 1})
                session.commit()
            except sa.exc.OperationalError:
                session.rollback()
                with lock:
                    errors += 1
            finally:
                session.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    with db.read() as s:
        value = s.execute(sa.text("SELECT value FROM bench WHERE id=1")).scalar()
    committed = threads * transactions - errors
    lost = committed - value  # updates that committed but were overwritten
    return errors, lost, committed / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--transactions", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        with db.write() as s:
            s.execute(sa.text("CREATE TABLE bench (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)"))
        d_err, d_lost, d_rate = run(db, "DEFERRED", args.threads, args.transactions)
        i_err, i_lost, i_rate = run(db, "IMMEDIATE", args.threads, args.transactions)
        db.dispose()
    print(f"DEFERRED : {d_err} lock errors, {d_lost} lost updates, {d_rate:.0f} commits/s")
    print(f"IMMEDIATE: {i_err} lock errors, {i_lost} lost updates, {i_rate:.0f} commits/s")
    print(f"RESULT sqlite_begin threads={args.threads} deferred_errors={d_err} deferred_lost={d_lost} "
          f"immediate_errors={i_err} immediate_lost={i_lost} immediate_per_s={i_rate:.1f}")


if __name__ == "__main__":
    main()
