"""On-disk cache of judge answers: a corpus pays once per distinct (class, sentences).

Key: sha256 of (class name and definition, normalised sentences, program hash, model, options,
and the retrieved demonstrations shown with the question, when there are any).
Only the key hash and the answer are stored, never report text (reports are PHI). SQLite in WAL
mode with a busy timeout, one connection per thread, so several labelling processes can share one
file. ``RADLABEL_JUDGE_CACHE`` sets the file (``off`` disables it); the default is
``<cache_dir>/judgments.sqlite``.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path

from radlabel.env import cache_dir
from radlabel.sections import normalise_sentences

ENV = "RADLABEL_JUDGE_CACHE"
_SCHEMA = "CREATE TABLE IF NOT EXISTS judgments (key TEXT PRIMARY KEY, state TEXT NOT NULL, confidence REAL)"


def judgment_key(finding: str, sentences: str, program: str, model: str, options=(),
                 demos=()) -> str:
    """``demos``: (sentences, state) of the retrieved demos; none keeps the key of a static prompt."""
    parts = [finding, normalise_sentences(sentences), program, model, list(options)]
    if demos:
        parts.append([[normalise_sentences(s), st] for s, st in demos])
    blob = json.dumps(parts)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def default_path() -> Path | None:
    v = os.environ.get(ENV, "").strip()
    if v.lower() in ("off", "0", "false", "no", "none"):
        return None
    return Path(v) if v else Path(cache_dir()) / "judgments.sqlite"


class JudgmentCache:
    """``get(key) -> (state, confidence) | None`` and ``put(key, state, confidence)``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.hits = self.misses = 0
        self._conn().execute(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        c = getattr(self._local, "conn", None)
        if c is None or getattr(self._local, "pid", None) != os.getpid():
            c = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute(_SCHEMA)
            self._local.conn, self._local.pid = c, os.getpid()
        return c

    def get(self, key: str) -> tuple[str, float | None] | None:
        row = self._conn().execute("SELECT state, confidence FROM judgments WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return row[0], row[1]

    def put(self, key: str, state: str, confidence: float | None = None) -> None:
        self._conn().execute("INSERT OR REPLACE INTO judgments (key, state, confidence) VALUES (?, ?, ?)",
                             (key, state, confidence))

    def __len__(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM judgments").fetchone()[0]

    def __getstate__(self):  # picklable for process pools: reopen on the other side
        return {"path": str(self.path)}

    def __setstate__(self, state):
        self.__init__(state["path"])
