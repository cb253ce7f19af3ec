"""Hidden checks, one module per exercise; run by `grade` through `autograder.grading.plugin`."""
