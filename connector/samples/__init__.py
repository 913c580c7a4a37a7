"""Sample material for fixtures, the demo and benchmarks: the provincial guide's scenario."""
