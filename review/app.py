"""The review page (Streamlit). Thin: all state lives in the store; every click writes through.

Run through ``radlabel review`` (which validates and imports first, and serves this page behind
review/guard.py: Host, Origin and a per-launch token). The store path comes from
RADLABEL_REVIEW_STORE (or ``-- --review-db``). Reports are PHI: the page itself also draws nothing
unless RADLABEL_REVIEW_TOKEN is set and this session presents it (``?token=`` or the cookie the
guard sets) from an allowed Host, so a bare ``streamlit run review/app.py`` shows no data.

Writes happen in button callbacks, which Streamlit runs before the page is drawn, so a
keystroke is in the database before the next screen appears and no rerun can drop it.
"""
from __future__ import annotations

import argparse
import getpass
import os
import uuid

import streamlit as st

from radlabel.cli_options import deprecated
from radlabel.review.export import reviewed_records, to_csv_text, to_jsonl_text
from radlabel.review.guard import HOSTS_ENV, TOKEN_ENV, cookie_name, host_allowed, token_matches
from radlabel.review.queue import TIER_NAMES
from radlabel.review.render import report_html
from radlabel.review.store import ReviewStore
from radlabel.schema import STATES

STATE_SHORTCUTS = {"present": "1", "absent": "2", "uncertain": "3", "not_mentioned": "4"}
STATE_LETTER = {"present": "P", "absent": "A", "uncertain": "U", "not_mentioned": "N"}
STATE_BADGE = {"present": ":red-background[present]", "absent": ":green-background[absent]",
               "uncertain": ":orange-background[uncertain]",
               "not_mentioned": ":gray-background[not mentioned]"}
SHOW = {"to review": "pending", "reviewed": "accepted", "all": "all"}
KEYS_HELP = """
| key | action |
| --- | --- |
| `a` | accept report & next |
| `1` `2` `3` `4` | focused class: present / absent / uncertain / not mentioned |
| `j` / `k` | focus next / previous class |
| `u` | undo your last change |
| `n` / `p` | next / previous report |
"""

# The per-class P/A/U/N buttons sit in narrow columns: trim padding so the letter shows.
COMPACT_CSS = """<style>
[class*="st-key-set_"] button { padding: 0 0.2rem; min-height: 2rem; }
</style>"""


def settings() -> tuple[str | None, str]:
    """Store path and default reviewer from the script args (after ``--``) or the env."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--review-db")
    parser.add_argument("--store", help=argparse.SUPPRESS)  # old spelling, kept for one release
    parser.add_argument("--reviewer")
    args, _ = parser.parse_known_args()
    if args.store:
        deprecated("--store", "--review-db")
    store = os.environ.get("RADLABEL_REVIEW_STORE") or args.review_db or args.store
    reviewer = os.environ.get("RADLABEL_REVIEWER") or args.reviewer or getpass.getuser()
    return store, reviewer


def store() -> ReviewStore:
    """This browser session's connection (a connection must not be shared between sessions)."""
    ss = st.session_state
    if "_store" not in ss:
        ss["_store"] = ReviewStore(ss["store_path"])
    return ss["_store"]


def who() -> dict:
    ss = st.session_state
    return {"reviewer": (ss.get("reviewer") or "").strip() or ss["default_reviewer"],
            "session": ss["session_id"]}


def filters() -> dict:
    ss = st.session_state
    return {"classes": ss.get("f_classes") or [], "states": ss.get("f_states") or [],
            "sources": ss.get("f_sources") or [], "status": SHOW[ss.get("f_status", "to review")]}


def neighbour(delta: int) -> str | None:
    """The report before/after the current one in the filtered queue (works even when the
    current report has just left the queue, e.g. after its label stopped matching a filter)."""
    queue = store().queue(**filters())
    current = st.session_state.get("current")
    key = store().sort_key(current) if current else None
    if key is None:
        return queue[0].id if queue else None
    if delta > 0:
        return next((q.id for q in queue if q.key > key), None)
    return next((q.id for q in reversed(queue) if q.key < key), None)


def flash(message: str) -> None:
    st.session_state["flash"] = message


# -- callbacks (run before the page is drawn) ------------------------------------------
def on_set(cls: str, state: str) -> None:
    ss = st.session_state
    classes = store().classes()
    ss["focus"] = classes.index(cls) if cls in classes else ss.get("focus", 0)
    store().set_state(ss["current"], cls, state, **who())


def on_set_focused(state: str) -> None:
    classes = store().classes()
    on_set(classes[st.session_state.get("focus", 0) % len(classes)], state)


def on_accept_next() -> None:
    ss = st.session_state
    nxt = neighbour(+1)
    store().accept(ss["current"], **who())
    if nxt is None:
        flash(f"accepted {ss['current']}; that was the last report in this queue")
    else:
        ss["current"] = nxt


def on_move(delta: int) -> None:
    nxt = neighbour(delta)
    if nxt is None:
        flash("no more reports in this direction")
    else:
        st.session_state["current"] = nxt


def on_focus(delta: int) -> None:
    n = len(store().classes())
    st.session_state["focus"] = (st.session_state.get("focus", 0) + delta) % n


def on_undo() -> None:
    result = store().undo(**who())
    if result.done and result.report_id:
        st.session_state["current"] = result.report_id
    flash(result.message)


def on_note() -> None:
    ss = st.session_state
    text = (ss.get("note_text") or "").strip()
    if text:
        store().add_note(ss["current"], text, **who())
        ss["note_text"] = ""
        flash("note saved")


def on_filter_change() -> None:
    st.session_state["current"] = None


# -- page ------------------------------------------------------------------------------
def access_ok() -> bool:
    """This session may see the data: it holds the launch token and came in on an allowed Host
    (a second line of defence behind review/guard.py, which refuses such requests outright)."""
    ss = st.session_state
    if ss.get("_access_ok"):
        return True
    token = os.environ.get(TOKEN_ENV)
    if not token:
        return False
    hosts = [h.strip().lower() for h in os.environ.get(HOSTS_ENV, "").split(",") if h.strip()]
    headers = st.context.headers
    host = headers.get("Host") if headers else None
    if host is not None and not host_allowed(host, hosts):
        return False
    given = st.query_params.get("token")
    cookie = (st.context.cookies or {}).get(cookie_name(hosts))
    ss["_access_ok"] = token_matches(given, token) or token_matches(cookie, token)
    return ss["_access_ok"]


def init_session() -> None:
    ss = st.session_state
    if "store_path" not in ss:
        path, reviewer = settings()
        if not path:
            st.error("No review store given. Start the app with `radlabel review LABELS.jsonl`.")
            st.stop()
        ss["store_path"], ss["default_reviewer"] = path, reviewer
        ss["reviewer"] = reviewer
        ss["session_id"] = uuid.uuid4().hex[:12]
        ss["focus"], ss["current"], ss["flash"] = 0, None, ""


def sidebar(classes: list[str]) -> None:
    s = store()
    with st.sidebar:
        st.text_input("Reviewer", key="reviewer")
        st.radio("Show", list(SHOW), key="f_status", horizontal=True, on_change=on_filter_change)
        st.multiselect("Classes", classes, key="f_classes", on_change=on_filter_change)
        st.multiselect("States", list(STATES), key="f_states", on_change=on_filter_change)
        st.multiselect("Sources", s.sources(), key="f_sources", on_change=on_filter_change)
        done, total = s.progress()
        st.progress(done / total if total else 0.0, text=f"{done} of {total} reports reviewed")
        agreement = s.agreement()
        kept = sum(v["kept"] for v in agreement.values())
        changed = sum(v["changed"] for v in agreement.values())
        if kept + changed:
            st.metric("Imported labels kept by reviewers", f"{kept / (kept + changed):.1%}",
                      help=f"{changed} of {kept + changed} labels on reviewed reports changed")
            with st.expander("Agreement per class"):
                st.dataframe(
                    [{"class": c, "kept": v["kept"], "changed": v["changed"],
                      "agreement": round(v["kept"] / (v["kept"] + v["changed"]), 3)
                      if v["kept"] + v["changed"] else None} for c, v in agreement.items()],
                    hide_index=True)
        st.markdown(KEYS_HELP)
        path = st.session_state["store_path"]
        st.download_button("Export reviewed (JSONL)", key="export_jsonl",
                           data=lambda: _export_text(path, "jsonl"),
                           file_name="reviewed.jsonl", mime="application/jsonl",
                           on_click="ignore")
        st.download_button("Export reviewed (CSV)", key="export_csv",
                           data=lambda: _export_text(path, "csv"),
                           file_name="reviewed.csv", mime="text/csv", on_click="ignore")


def _export_text(path: str, fmt: str) -> str:
    with ReviewStore(path) as s:
        records = list(reviewed_records(s))
        return to_jsonl_text(records) if fmt == "jsonl" else to_csv_text(records, s.classes())


def label_panel(view, classes: list[str], focus: int) -> None:
    c1, c2 = st.columns(2)
    c1.button("Focus ↑", key="focus_up", on_click=on_focus, args=(-1,), shortcut="k",
              width="stretch")
    c2.button("Focus ↓", key="focus_down", on_click=on_focus, args=(+1,), shortcut="j",
              width="stretch")
    cols = st.columns(4)
    for col, state in zip(cols, STATES):
        col.button(state.replace("_", " "), key=f"focused_{state}",
                   on_click=on_set_focused, args=(state,), shortcut=STATE_SHORTCUTS[state],
                   width="stretch", help=f"set the focused class to {state}")
    issues = {i["class"]: i for i in view.issues}
    for i, cls in enumerate(classes):
        state = view.labels.get(cls, "not_mentioned")
        name, badge, *buttons = st.columns([3, 3, 1, 1, 1, 1], vertical_alignment="center")
        marker = "▶ " if i == focus else ""
        name.markdown(f"**{marker}{cls}**" if i == focus else cls)
        note = STATE_BADGE[state]
        if state != view.original.get(cls):
            note += f" (was {view.original.get(cls)})"
        if cls in issues and issues[cls].get("suggested"):
            note += f" ⚠ suggested {issues[cls]['suggested']}"
        badge.markdown(note)
        for col, s in zip(buttons, STATES):
            col.button(STATE_LETTER[s], key=f"set_{i}_{STATES.index(s)}", on_click=on_set,
                       args=(cls, s), type="primary" if s == state else "secondary",
                       help=f"{cls}: {s}", width="stretch")


def history(report_id: str) -> None:
    entries = store().audit(report_id)
    with st.expander(f"History of this report ({len(entries)} change(s))"):
        st.dataframe([{"time": e.at[:19].replace("T", " "), "reviewer": e.reviewer,
                       "action": e.action, "class": e.cls or "", "old": e.old or "",
                       "new": e.new or "", "note": e.note} for e in entries], hide_index=True)
        st.text_input("Note on this report", key="note_text", on_change=on_note,
                      placeholder="type and press Enter; saved to the audit log")


def main() -> None:
    st.set_page_config(page_title="radlabel review", layout="wide")
    st.html(COMPACT_CSS)
    if not access_ok():
        st.error("No access. Open the URL that `radlabel review` printed (it holds the token).")
        st.stop()
    init_session()
    ss = st.session_state
    s = store()
    classes = s.classes()
    sidebar(classes)
    if ss.get("flash"):
        st.toast(ss["flash"])
        ss["flash"] = ""
    queue = s.queue(**filters())
    if ss.get("current") is None or s.sort_key(ss["current"]) is None:
        ss["current"] = queue[0].id if queue else None
    if ss["current"] is None:
        st.info("Nothing to review with these filters.")
        return
    view = s.report(ss["current"])
    ids = [q.id for q in queue]
    where = f"{ids.index(view.id) + 1} of {len(ids)}" if view.id in ids else "outside the filter"
    status = "✅ reviewed by " + (view.reviewer or "?") if view.status == "accepted" else "to review"
    st.markdown(f"### Report `{view.id}`  \n{where} · {status} · source *{view.source}* · "
                + (view.reason or TIER_NAMES.get(view.tier, "")))
    nav = st.columns(4)
    nav[0].button("◀ Previous", key="nav_prev", on_click=on_move, args=(-1,), shortcut="p",
                  width="stretch")
    nav[1].button("Next ▶", key="nav_next", on_click=on_move, args=(+1,), shortcut="n",
                  width="stretch")
    nav[2].button("Accept & next", key="accept_next", on_click=on_accept_next,
                  shortcut="a", type="primary", width="stretch")
    nav[3].button("Undo", key="undo", on_click=on_undo, shortcut="u", width="stretch")
    focus = ss.get("focus", 0) % len(classes)
    left, right = st.columns([4, 7])
    with left:
        body, missing = report_html(view.text, view.evidence, view.labels, classes[focus])
        st.html(body)
        if missing:
            st.warning("Evidence not found in the text for: " + ", ".join(missing))
    with right:
        label_panel(view, classes, focus)
    history(view.id)


if __name__ == "__main__":  # `streamlit run` and AppTest execute the file as __main__
    main()
