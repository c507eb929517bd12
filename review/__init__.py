"""Review app: inspect, validate and correct labels in Streamlit, losing nothing.

Layout: ``store`` (SQLite WAL + append-only audit log, the only writer), ``importer``
(all-or-nothing validated import), ``queue`` (ordering by review value), ``export``,
``render`` (report HTML with evidence marks), ``app`` (the Streamlit page), ``cli``.
"""
