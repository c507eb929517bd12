"""Two processes edit one store at once: every edit must be in the audit log afterwards."""
import multiprocessing as mp
import random
import time

from support.review_data import make_store

from radlabel.review.store import ReviewStore
from radlabel.schema import STATES

KEYS = [("rv-1", "Cardiomegaly"), ("rv-1", "Edema"), ("rv-2", "Opacity"), ("rv-5", "Edema")]
EDITS = 150


def _writer(db, name, barrier, out):
    store = ReviewStore(db)
    rng = random.Random(name)
    barrier.wait()  # both start together so their transactions interleave
    done = []
    for i in range(EDITS):
        rid, cls = rng.choice(KEYS)
        state = rng.choice(STATES)
        if i % 25 == 24:
            done.append((store.accept(rid, reviewer=name), rid, None, "accepted"))
        else:
            done.append((store.set_state(rid, cls, state, reviewer=name, note=f"{name}-{i}"),
                         rid, cls, state))
        time.sleep(0.002)  # a reviewer's pause; without it one writer can starve the other
    store.close()
    out.put((name, done))


def test_two_writers_lose_no_edit(tmp_path):
    make_store(tmp_path).close()
    db = str(tmp_path / "review.db")
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(db, name, barrier, out)) for name in ("ann", "bob")]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    with ReviewStore(db) as store:
        audit = {e.seq: e for e in store.audit()}
        for name, done in results.items():
            assert len(done) == EDITS
            for seq, rid, cls, new in done:
                entry = audit[seq]
                assert (entry.reviewer, entry.report_id, entry.cls, entry.new) == (name, rid, cls, new)
        # both writers really interleaved, and no seq was handed out twice
        seqs = sorted(s for done in results.values() for s, *_ in done)
        assert len(set(seqs)) == 2 * EDITS
        owners = [audit[s].reviewer for s in seqs]
        assert sum(a != b for a, b in zip(owners, owners[1:])) > 1
        for rid, cls in KEYS:
            chain = [e for e in audit.values() if e.report_id == rid and e.cls == cls
                     and e.action == "set"]
            chain.sort(key=lambda e: e.seq)
            # each edit saw the previous one (no lost update) and the last write is the state
            for before, after in zip(chain, chain[1:]):
                assert after.old == before.new
            assert store.report(rid).labels[cls] == chain[-1].new
