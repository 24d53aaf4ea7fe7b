# Small conveniences; the real entry points are the scripts/ folder.
.PHONY: bench bench-quick

# The benchmark suite (BENCHMARKS.md). Extra options: make bench ARGS="--update-doc"
bench:
	scripts/bench.sh $(ARGS)

bench-quick:
	scripts/bench.sh --quick $(ARGS)
