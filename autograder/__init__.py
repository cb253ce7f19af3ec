"""Batch Normalization & Dropout exercise kit: grader, sandbox, checks and course tools."""
