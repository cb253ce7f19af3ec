"""The sandbox wing: runs untrusted student code, and nothing else.

- `client`: the grader side (`Sandbox`): starts a worker for one submission folder, sends it
  one call at a time under a time limit, turns every way it can fail into a `StudentError`.
  Its docstring documents the two interfaces other wings build on: per-exercise
  ``allowed_imports`` and ``expose`` (kit files the worker may import).
- `confinement`: one sandbox's folders (the copies its worker sees), level, user, command line
  and first settings.
- `isolation`: the isolation levels (namespaces, landlock, unprivileged_user, process), which
  one works here, and what each protects (stated in every report).
- `view`: which files the worker may see (the runtime, NumPy, allowed libraries).
- `bubblewrap`: the namespace sandbox's command line.
- `privileges`: the worker's own unprivileged user when the grader runs as root.
- `snapshot`: the read-only copy of the submission the worker sees (links refused).
- `limits`: time, CPU, memory, processes, file sizes (applied in the worker).
- `worker`: the worker process itself: imports the student's modules and runs the calls.
- `zygote` / `zygote_client`: for `grade batch` at the namespaces level, a sandboxed process
  that imports NumPy (and torch) once and forks a clean worker per submission, and its
  grader side (`Sandbox(directory, zygote=...)`).
- `landlock_rules`: the Landlock rules the worker puts on itself at that level.
- `protocol`: the wire format between the two (raw arrays and JSON; never pickle).

May import: the ground (`autograder.kit`, `course`, `state`, `i18n`).
Must not import: grading, quiz, ui, instructor or cli code. The worker imports nothing of
the kit but `protocol`, `limits`, `landlock_rules` and `zygote` (copied for it into its sandbox), so
that a student's process holds no grading code.
"""
