"""The lab wing: ``grade lab``, small networks trained with the student's own layers on a real
data set, next to the same runs with the reference solutions.

- `driver`: the training loop, run inside the sandboxed worker (NumPy and the standard library
  only: the worker loads it by its path, alone);
- `experiment`, `experiments/`: what each experiment trains, measures, draws and reads;
- `data`: the handwritten digits; `execution`: runs in parallel workers; `cache`: unchanged
  runs are not repeated; `compare`: the student's numbers against run-to-run noise;
- `outcome`: one experiment run; `charts`, `views`: terminal charts, PNGs, the Rich view and
  JSON; `checkpoint`: the quiz question after each experiment; `command`: ``grade lab``.

May import: quiz, grading, sandbox and the ground. Must not import: ui, instructor or cli.
The driver imports nothing of the kit at all.
"""
