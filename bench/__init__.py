"""The benchmark suite (`make bench`); see bench/README.md. Not part of the test run."""
