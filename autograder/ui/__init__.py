"""The ui wing: what a student sees of results, and the everyday commands.

- `commands`: ``grade [EXERCISE ...]``, ``grade list``, ``grade hint``, ``grade watch``;
- `report`: Rich views of a report, progress and hints;
- `plain_text`: the same reports as plain text (Gradescope, nbgrader cells);
- `json_report`: ``grade --json`` (schema in ``report.schema.json``);
- `watch`: re-grading on every save;
- `warm_client`, `warm_server`: a ``grade`` typed in a terminal, run by a process that has
  everything imported already.

May import: quiz, grading, sandbox and the ground. Must not import: instructor or cli.
"""
