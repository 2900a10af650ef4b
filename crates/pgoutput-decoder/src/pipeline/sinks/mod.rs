//! The sinks that come with the library.

pub(crate) mod file;
#[cfg(feature = "kafka")]
pub(crate) mod kafka;
