"""Hidden checks, one module per exercise; run by `grade` through `autograder.plugin`."""
