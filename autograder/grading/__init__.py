"""The grading wing: a folder of student code in, plain results out.

- `runner`: one grading run (pytest, in-process, with `plugin`); `stubs` recognises untouched
  stubs and `result_cache` reuses results whose code cannot have changed;
- `checks/`: the hidden pytest checks, one module per exercise, on inputs from `cases`
  (math checks, and contract checks for the rules of the kit's API);
- `dependencies`: which functions of other exercises a student's file builds on;
- `student`: the student's functions as the checks call them (through the sandbox);
- `reference`: expected values from PyTorch in float64, the only module importing torch in the
  grader (`reference_process` imports it in a process of its own, `reference_cache` tells a
  cold cache without NumPy or torch); `torch_probe` runs in the worker (the PyTorch exercise)
  and imports nothing of the kit;
- `compare`, `gradcheck`, `speed`: staged comparisons, the gradient view, the timing advice;
- `misconceptions/`: known wrong computations, named when one reproduces a wrong answer;
- `feedback`, `results`: what a check found, as plain data with derived scores.

May import: the sandbox wing and the ground. Must not import: ui, quiz, instructor or cli;
results are rendered elsewhere.
"""
