"""Question banks: occupations, assessment-element trees, items and immutable versions,
question types, and import/export formats."""
