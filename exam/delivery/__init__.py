"""The timed theory exam: attempts, autosave, submission, expiry; the candidate's exam page."""
