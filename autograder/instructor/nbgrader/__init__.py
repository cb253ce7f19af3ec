"""``grade export nbgrader``: the course as an nbgrader course directory.

- `export`: the course directory; `cells`: cells with nbgrader's metadata;
- `solution_cells`: answer cells (a stub's signature, the solution's body in the source);
- `quiz`: the quiz notebook; `jupyter`: ``check()``, the kit's feedback inside a released notebook;
- `verify`: nbgrader's scores checked against the kit's, and replaced;
- `hidden_tests`: what the hidden test cells call: the kit's own checks, in its sandbox.

May import: the rest of the instructor wing, ui, quiz, grading, sandbox and the ground.
"""
