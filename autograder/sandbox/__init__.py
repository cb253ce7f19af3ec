"""The sandbox wing: runs untrusted student code, and nothing else.

- `client`: the grader side (`Sandbox`): starts a worker for one submission folder, sends it
  one call at a time under a time limit, turns every way it can fail into a `StudentError`.
- `worker`: the worker process itself: imports the student's modules and runs the calls.
- `protocol`: the wire format between the two (raw arrays and JSON; never pickle).

May import: the ground (`autograder.kit`, `course`, `state`, `i18n`).
Must not import: grading, quiz, ui, instructor or cli code. The worker imports nothing of
the kit but `protocol`, so that a student's process holds no grading code.
"""
