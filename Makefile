# Small conveniences; the real entry points are the scripts/ folder.
.PHONY: bench bench-quick mutation

# The benchmark suite (BENCHMARKS.md). Extra options: make bench ARGS="--update-doc"
bench:
	scripts/bench.sh $(ARGS)

bench-quick:
	scripts/bench.sh --quick $(ARGS)

# Mutation testing (scripts/mutate.py): a sample of single-line changes to model/, rules/,
# fixes/, lsp/convert.py and cli*.py, each run against the tests of its module in a private
# copy; prints the score and the survivors. A measurement, not a gate.
# Every mutant: make mutation ARGS="--sample 0 --json mutation.json"
# The same sample again after new tests: make mutation ARGS="--replay mutation.json --survivors"
mutation:
	.venv/bin/python scripts/mutate.py $(ARGS)
