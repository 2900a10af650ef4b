//! Shared code of the conformance tests: the comparator, the shared PostgreSQL cluster and
//! the case runner.

pub mod case;
pub mod cluster;
pub mod compare;
pub mod deviations;
