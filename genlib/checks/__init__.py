"""Running test.yaml against a stack: the scenario runner, expectation matching and the browser."""
