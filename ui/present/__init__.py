"""The presentation package: every table, chart and report GreenRunner shows, for every front door.

tables (rows of a result) -> terminal, markdown (chat), html (report), slack (mrkdwn); charts (Plotly); turn (what a
finished chat turn shows). Numbers are formatted by ``tools/formatting.py``; notes, datasets and limits are worded in
``tools/`` (``notes_text``, ``dataset_text``, ``constraints``, ``text``), so the LLM reads the same words.
"""
