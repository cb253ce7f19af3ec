"""The quiz wing: the theory quiz and the lessons.

- `bank`: ``quiz.yml`` loaded into validated models; `numbers`: per-student numeric variants;
  `order`: each student's shuffle of the choices;
- `check`: judging one answer; `answers`: where answers are stored and the quiz's score (the
  first attempt scores); `legacy`: answers written before they were stored by id;
- `session`: the interactive quiz; `views`: its Rich views and the lessons';
- `commands`: ``grade quiz``; `learn`: ``grade learn``.

May import: grading (its result types), sandbox and the ground. Must not import: ui,
instructor or cli.
"""
