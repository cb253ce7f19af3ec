"""The quiz wing: the theory quiz and the lessons.

- `bank`: ``quiz.yml`` loaded into validated models; `numbers`: per-student numeric variants;
- `check`: judging one answer; `answers`: where answers are stored and the quiz's score;
- `session`: the interactive quiz; `views`: its Rich views and the lessons';
- `commands`: ``grade quiz``; `learn`: ``grade learn``.

May import: grading (its result types), sandbox and the ground. Must not import: ui,
instructor or cli.
"""
