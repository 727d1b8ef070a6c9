"""Exam sessions and rooms, staff assignment, enrolment and eligibility, admission tickets."""
