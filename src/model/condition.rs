//! Reasoning about threshold conditions (work in progress).
