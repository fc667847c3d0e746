//! The library half of the `detect` tool: what its binary and the benchmarks share.
//!
//! [`corpus`] generates realistic, seeded CloudTrail events (`detect sample`, the benchmark
//! corpus); [`scan`] is `detect scan`'s pipeline (with [`input`], the reading of lines, and
//! [`output`], the records written), here so that `bench` times exactly what users run.
//! The binary keeps its argument parsing, `consume` and `rules`.

pub mod corpus;
pub mod input;
pub mod output;
pub mod scan;
