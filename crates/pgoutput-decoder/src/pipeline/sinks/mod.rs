//! The sinks that come with the library.

pub(crate) mod file;
