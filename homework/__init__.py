"""Graded homework: otter-grader assignments built from homework/hw*.md (see README.md)."""
