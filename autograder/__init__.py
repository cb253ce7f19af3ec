"""Batch Normalization & Dropout exercise kit.

The package is built in wings, one per concern; imports only go down (checked by the
import-linter contract in pyproject.toml, run by tests/test_architecture.py)::

    cli                      parses the command line, hands it to a wing
    instructor               nbgrader, class grading, Gradescope, exports
    ui                       renderers of results: Rich report, plain text, JSON, watch mode
    lab                      experiments trained with the student's layers (beside ui)
    quiz                     the theory quiz and the lessons
    grading                  runner, checks, references, comparisons, results
    sandbox                  runs untrusted student code
    course kit i18n state arguments      the ground every wing stands on
"""
