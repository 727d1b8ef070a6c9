"""Quality supervision (督导): proctor live board, incidents, the audit trail, session reports."""
