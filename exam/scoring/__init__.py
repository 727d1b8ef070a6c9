"""Automatic theory scores, practical score sheets, review panels, results, publication, appeals."""
