//! The library half of the `detect` tool: what its binary and the benchmarks share.
//!
//! [`corpus`] generates realistic, seeded CloudTrail events (`detect sample`, the benchmark
//! corpus). The binary's own modules (scan pipeline, input, output) stay in the binary.

pub mod corpus;
