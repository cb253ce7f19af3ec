"""The instructor wing: distributing the course and grading a class.

- `batch/`: ``grade batch``: a class graded in parallel, gradebook and class report;
- `nbgrader/`: ``grade export nbgrader``: an nbgrader course, and the code its hidden tests call;
- `gradescope`: the Gradescope autograder zip and what it runs;
- `notebooks`: notebooks back into submission files; `submissions`: finding a class's work;
- `export`: the ``grade export`` command.

May import: every wing below (ui, quiz, grading, sandbox) and the ground. Must not import:
cli.
"""
