"""The review store: SQLite in WAL mode, the only writer of review state.

Why SQLite: several browser sessions (and processes) edit at once. Every write is one
``BEGIN IMMEDIATE`` transaction that changes the current state *and* appends an audit row, so
the two never disagree; ``synchronous=FULL`` makes a committed edit survive a crash or power
loss. The audit table refuses UPDATE and DELETE (triggers), so history can only grow.
"""
from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from radlabel.errors import InputError
from radlabel.schema import STATES

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports(
  id TEXT PRIMARY KEY,
  ord INTEGER NOT NULL,
  text TEXT NOT NULL,
  record TEXT NOT NULL,
  source TEXT NOT NULL,
  tier INTEGER NOT NULL DEFAULT 3,
  tier_rank REAL NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted')),
  reviewer TEXT,
  reviewed_at TEXT
);
CREATE TABLE IF NOT EXISTS labels(
  id TEXT NOT NULL REFERENCES reports(id),
  class TEXT NOT NULL,
  state TEXT NOT NULL,
  original TEXT NOT NULL,
  evidence TEXT NOT NULL DEFAULT '',
  updated_by TEXT,
  updated_at TEXT,
  PRIMARY KEY (id, class)
);
CREATE TABLE IF NOT EXISTS issues(
  id TEXT NOT NULL, class TEXT NOT NULL, given TEXT, suggested TEXT, score REAL,
  rank INTEGER NOT NULL, PRIMARY KEY (id, class)
);
CREATE TABLE IF NOT EXISTS audit(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  reviewer TEXT NOT NULL,
  session TEXT NOT NULL DEFAULT '',
  report_id TEXT,
  class TEXT,
  action TEXT NOT NULL,
  old TEXT,
  new TEXT,
  note TEXT NOT NULL DEFAULT '',
  undoes INTEGER
);
CREATE INDEX IF NOT EXISTS audit_by_report ON audit(report_id);
CREATE INDEX IF NOT EXISTS audit_by_session ON audit(reviewer, session);
CREATE INDEX IF NOT EXISTS audit_undoes ON audit(undoes);
CREATE INDEX IF NOT EXISTS reports_order ON reports(tier, tier_rank, ord);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

UNDOABLE = ("set", "accept")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass
class ReportView:
    """Everything the app shows for one report, read in one go."""

    id: str
    text: str
    source: str
    status: str
    reviewer: str | None
    reviewed_at: str | None
    tier: int
    reason: str
    labels: dict[str, str]
    original: dict[str, str]
    evidence: dict[str, str]
    record: dict
    issues: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class QueueItem:
    id: str
    tier: int
    reason: str
    status: str
    key: tuple  # sort key (tier, tier_rank, ord): "next" is the first item with a larger key


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    reviewer: str
    session: str
    report_id: str | None
    cls: str | None
    action: str
    old: str | None
    new: str | None
    note: str
    undoes: int | None


@dataclass(frozen=True)
class UndoResult:
    done: bool
    message: str
    report_id: str | None = None
    seq: int | None = None


class ReviewStore:
    """Open (or create) a review database. One instance per thread/process."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 60.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=busy_timeout_s,
                                        isolation_level=None, check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise InputError(f"not a review store ({e})", path=str(self.path)) from None
        if str(mode).lower() != "wal":
            raise InputError(f"could not switch the store to WAL mode (got {mode!r})",
                             path=str(self.path))
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        with self.write():  # executescript would COMMIT on its own; keep creation atomic
            for statement in _statements(SCHEMA):
                self.conn.execute(statement)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- transactions ------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction (takes the write lock up front, so no upgrade deadlock)."""
        for attempt in range(50):
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as e:  # busy beyond busy_timeout: retry a while
                if "locked" not in str(e) and "busy" not in str(e):
                    raise
                time.sleep(0.05 * (attempt + 1))
        else:
            raise sqlite3.OperationalError("review store stayed locked; another writer hangs?")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def _audit(self, *, reviewer: str, session: str, report_id: str | None, cls: str | None,
               action: str, old: str | None, new: str | None, note: str = "",
               undoes: int | None = None) -> int:
        cur = self.conn.execute(
            "INSERT INTO audit(at, reviewer, session, report_id, class, action, old, new, note,"
            " undoes) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (now_iso(), reviewer, session, report_id, cls, action, old, new, note, undoes))
        return int(cur.lastrowid)

    # -- meta --------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else row[0]

    def classes(self) -> list[str]:
        raw = self.get_meta("classes")
        return json.loads(raw) if raw else []

    # -- import (called by importer, inside its own transaction) ------------------------
    def insert_report(self, *, report_id: str, ord: int, text: str, record: dict, source: str,
                      labels: dict[str, str], evidence: dict[str, str]) -> None:
        self.conn.execute(
            "INSERT INTO reports(id, ord, text, record, source) VALUES (?,?,?,?,?)",
            (report_id, ord, text, json.dumps(record, ensure_ascii=False), source))
        self.conn.executemany(
            "INSERT INTO labels(id, class, state, original, evidence) VALUES (?,?,?,?,?)",
            [(report_id, c, s, s, evidence.get(c, "")) for c, s in labels.items()])

    def known_ids(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT id FROM reports")}

    def next_ord(self) -> int:
        return int(self.conn.execute("SELECT COALESCE(MAX(ord), -1) + 1 FROM reports").fetchone()[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                          "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    def replace_issues(self, issues: Sequence[dict]) -> None:
        """A new analysis replaces the previous one; issues are hints, not review history."""
        self.conn.execute("DELETE FROM issues")
        self.conn.executemany(
            "INSERT INTO issues(id, class, given, suggested, score, rank) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(id, class) DO NOTHING",
            [(i["id"], i["class"], i.get("given"), i.get("suggested"), i.get("score"), n)
             for n, i in enumerate(issues)])

    def all_issues(self) -> list[dict]:
        return [dict(r) for r in self.conn.execute(
            "SELECT id, class, given, suggested, score, rank FROM issues ORDER BY rank")]

    def original_records(self) -> list[tuple[str, int, dict]]:
        """(id, ord, imported record) for every report, in import order."""
        return [(r["id"], r["ord"], json.loads(r["record"])) for r in
                self.conn.execute("SELECT id, ord, record FROM reports ORDER BY ord")]

    def set_tiers(self, ranks: dict[str, tuple[int, float, str]]) -> None:
        self.conn.executemany("UPDATE reports SET tier=?, tier_rank=?, reason=? WHERE id=?",
                              [(t, r, why, rid) for rid, (t, r, why) in ranks.items()])

    def log_import(self, *, reviewer: str, note: str) -> int:
        return self._audit(reviewer=reviewer, session="", report_id=None, cls=None,
                           action="import", old=None, new=None, note=note)

    # -- edits -------------------------------------------------------------------------
    def set_state(self, report_id: str, cls: str, state: str, *, reviewer: str,
                  session: str = "", note: str = "") -> int:
        """Set one label; always audited (setting the same value records a confirmation)."""
        if state not in STATES:
            raise InputError(f"unknown state {state!r} (expected one of {', '.join(STATES)})",
                             field="state")
        with self.write():
            row = self.conn.execute("SELECT state FROM labels WHERE id=? AND class=?",
                                    (report_id, cls)).fetchone()
            if row is None:
                raise InputError(f"no label {cls!r} for report {report_id!r} in this store",
                                 path=str(self.path))
            at = now_iso()
            self.conn.execute("UPDATE labels SET state=?, updated_by=?, updated_at=? "
                              "WHERE id=? AND class=?", (state, reviewer, at, report_id, cls))
            return self._audit(reviewer=reviewer, session=session, report_id=report_id, cls=cls,
                               action="set", old=row["state"], new=state, note=note)

    def accept(self, report_id: str, *, reviewer: str, session: str = "", note: str = "") -> int:
        """Mark a report reviewed: its current labels become the reviewed labels."""
        with self.write():
            row = self.conn.execute("SELECT status FROM reports WHERE id=?",
                                    (report_id,)).fetchone()
            if row is None:
                raise InputError(f"no report {report_id!r} in this store", path=str(self.path))
            self.conn.execute("UPDATE reports SET status='accepted', reviewer=?, reviewed_at=? "
                              "WHERE id=?", (reviewer, now_iso(), report_id))
            return self._audit(reviewer=reviewer, session=session, report_id=report_id, cls=None,
                               action="accept", old=row["status"], new="accepted", note=note)

    def add_note(self, report_id: str, note: str, *, reviewer: str, session: str = "",
                 cls: str | None = None) -> int:
        with self.write():
            return self._audit(reviewer=reviewer, session=session, report_id=report_id, cls=cls,
                               action="note", old=None, new=None, note=note)

    def undo(self, *, reviewer: str, session: str = "") -> UndoResult:
        """Revert this reviewer's (and session's) latest edit that is not yet undone.

        The undo is itself an audited change. If someone else changed the same label since,
        nothing is overwritten: the undo is refused with a message saying so.
        """
        with self.write():
            row = self.conn.execute(
                "SELECT * FROM audit a WHERE reviewer=? AND session=? AND action IN (?, ?) "
                "AND NOT EXISTS (SELECT 1 FROM audit u WHERE u.undoes = a.seq) "
                "ORDER BY seq DESC LIMIT 1", (reviewer, session, *UNDOABLE)).fetchone()
            if row is None:
                return UndoResult(False, "nothing to undo")
            rid, cls = row["report_id"], row["class"]
            if row["action"] == "set":
                cur = self.conn.execute("SELECT state, updated_by FROM labels WHERE id=? AND "
                                        "class=?", (rid, cls)).fetchone()
                if cur["state"] != row["new"]:
                    return UndoResult(False, f"not undone: {cls} on {rid} was changed to "
                                      f"{cur['state']} by {cur['updated_by']} since", rid)
                self.conn.execute("UPDATE labels SET state=?, updated_by=?, updated_at=? WHERE "
                                  "id=? AND class=?", (row["old"], reviewer, now_iso(), rid, cls))
                seq = self._audit(reviewer=reviewer, session=session, report_id=rid, cls=cls,
                                  action="undo", old=row["new"], new=row["old"], undoes=row["seq"])
                return UndoResult(True, f"undone: {cls} on {rid} back to {row['old']}", rid, seq)
            # accept
            self.conn.execute("UPDATE reports SET status=?, reviewer=CASE WHEN ?='pending' THEN "
                              "NULL ELSE reviewer END, reviewed_at=CASE WHEN ?='pending' THEN "
                              "NULL ELSE reviewed_at END WHERE id=?",
                              (row["old"], row["old"], row["old"], rid))
            seq = self._audit(reviewer=reviewer, session=session, report_id=rid, cls=None,
                              action="undo", old="accepted", new=row["old"], undoes=row["seq"])
            return UndoResult(True, f"undone: accept of {rid}", rid, seq)

    # -- reads -------------------------------------------------------------------------
    def report(self, report_id: str) -> ReportView | None:
        r = self.conn.execute("SELECT * FROM reports WHERE id=?", (report_id,)).fetchone()
        if r is None:
            return None
        order = {c: i for i, c in enumerate(self.classes())}
        rows = sorted(self.conn.execute("SELECT class, state, original, evidence FROM labels "
                                        "WHERE id=?", (report_id,)),
                      key=lambda x: order.get(x["class"], len(order)))
        issues = [dict(i) for i in self.conn.execute(
            "SELECT class, given, suggested, score, rank FROM issues WHERE id=? ORDER BY rank",
            (report_id,))]
        return ReportView(
            id=r["id"], text=r["text"], source=r["source"], status=r["status"],
            reviewer=r["reviewer"], reviewed_at=r["reviewed_at"], tier=r["tier"],
            reason=r["reason"], labels={x["class"]: x["state"] for x in rows},
            original={x["class"]: x["original"] for x in rows},
            evidence={x["class"]: x["evidence"] for x in rows if x["evidence"]},
            record=json.loads(r["record"]), issues=issues)

    def sources(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT source FROM reports ORDER BY 1")]

    def queue(self, *, classes: Iterable[str] = (), states: Iterable[str] = (),
              sources: Iterable[str] = (), status: str = "pending") -> list[QueueItem]:
        """Reports in review order (tier, rank, file order), narrowed by the filters.

        Class and state filters combine: a report matches when one of the chosen classes is in
        one of the chosen states. Classes alone match "mentioned" (not not_mentioned) or having
        a suspected issue; states alone match any class in that state.
        """
        classes, states, sources = list(classes), list(states), list(sources)
        where, args = [], []
        if status in ("pending", "accepted"):
            where.append("r.status = ?")
            args.append(status)
        elif status != "all":
            raise ValueError(f"status filter must be pending, accepted or all, not {status!r}")
        if sources:
            where.append(f"r.source IN ({_marks(sources)})")
            args += sources
        if classes or states:
            cond, cargs = [], []
            if classes:
                cond.append(f"l.class IN ({_marks(classes)})")
                cargs += classes
            if states:
                cond.append(f"l.state IN ({_marks(states)})")
                cargs += states
            else:
                cond.append("l.state != 'not_mentioned'")
            label_match = f"EXISTS (SELECT 1 FROM labels l WHERE l.id = r.id AND {' AND '.join(cond)})"
            if classes and not states:
                label_match = (f"({label_match} OR EXISTS (SELECT 1 FROM issues i WHERE i.id = r.id"
                               f" AND i.class IN ({_marks(classes)})))")
                cargs += classes
            where.append(label_match)
            args += cargs
        sql = ("SELECT r.id, r.tier, r.tier_rank, r.ord, r.reason, r.status FROM reports r"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY r.tier, r.tier_rank, r.ord")
        return [QueueItem(x["id"], x["tier"], x["reason"], x["status"],
                          (x["tier"], x["tier_rank"], x["ord"]))
                for x in self.conn.execute(sql, args)]

    def sort_key(self, report_id: str) -> tuple | None:
        r = self.conn.execute("SELECT tier, tier_rank, ord FROM reports WHERE id=?",
                              (report_id,)).fetchone()
        return None if r is None else (r[0], r[1], r[2])

    def progress(self) -> tuple[int, int]:
        """(accepted reports, all reports)."""
        r = self.conn.execute("SELECT SUM(status='accepted'), COUNT(*) FROM reports").fetchone()
        return int(r[0] or 0), int(r[1] or 0)

    def agreement(self) -> dict[str, dict[str, int]]:
        """Per class, on accepted reports: labels kept as imported vs changed by the reviewer.

        This is how trustworthy the imported (pseudo) labels turned out to be.
        """
        out: dict[str, dict[str, int]] = {c: {"kept": 0, "changed": 0} for c in self.classes()}
        for row in self.conn.execute(
                "SELECT l.class, SUM(l.state = l.original), SUM(l.state != l.original) "
                "FROM labels l JOIN reports r ON r.id = l.id WHERE r.status='accepted' "
                "GROUP BY l.class"):
            out.setdefault(row[0], {"kept": 0, "changed": 0})
            out[row[0]] = {"kept": int(row[1]), "changed": int(row[2])}
        return out

    def audit(self, report_id: str | None = None) -> list[AuditEntry]:
        sql = "SELECT * FROM audit" + (" WHERE report_id=?" if report_id else "") + " ORDER BY seq"
        rows = self.conn.execute(sql, (report_id,) if report_id else ())
        return [AuditEntry(r["seq"], r["at"], r["reviewer"], r["session"], r["report_id"],
                           r["class"], r["action"], r["old"], r["new"], r["note"], r["undoes"])
                for r in rows]

    def edited_ids(self) -> set[str]:
        return {r[0] for r in self.conn.execute(
            "SELECT DISTINCT report_id FROM audit WHERE action='set'")}


def _marks(values: Sequence) -> str:
    return ",".join("?" * len(values))


def _statements(script: str) -> list[str]:
    """Split SCHEMA into statements (triggers contain ';' inside BEGIN ... END)."""
    out, buf = [], ""
    for line in script.strip().splitlines():
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out
