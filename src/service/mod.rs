//! The robot as a service: the long-running loops above the workflow (`ra`)
//! that feed it mail and carry its replies out through the transports
//! (`mail`), reading and writing the store as they go.

pub mod sender;
