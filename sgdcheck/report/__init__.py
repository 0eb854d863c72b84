"""Replication reports: evidence -> latest.json, latest.md, index.html, figures/, history.jsonl.

One module per job: `provenance` (who ran what, where), `results` (aggregate, merge, load, store: the API
the plugin and the command line use), `entries` and `text` (reading an entry, short texts), `markdown`
(latest.md), `html` (the dashboard, index.html), `diff` (what changed between two reports) and `cli`
(`sgdcheck-report`).
"""
