"""The presentation package: every word, table, chart and report GreenRunner shows, for every front door.

tables (rows of a result) -> terminal, markdown (chat), html (report), slack (mrkdwn); charts (Plotly); turn (what a
finished chat turn shows). Numbers are formatted by ``tools/formatting.py``.
"""
