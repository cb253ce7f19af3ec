"""``grade batch``: every submission of a class graded, in parallel and resumably.

- `command`: the command line; `run`: the pool of grading processes and the resumable records;
- `worker`, `preload`: a grading process, and what its fork server imports once;
- `gradebook`, `class_report`: the class's results as CSV/JSON and as a report.

May import: the rest of the instructor wing, ui, quiz, grading, sandbox and the ground.
"""
