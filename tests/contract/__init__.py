"""Contract suites: one set of tests run against every adapter of an interface."""
