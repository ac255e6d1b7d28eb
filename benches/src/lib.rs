//! Shared inputs of trn's benchmarks and of the side-by-side peer comparison.
