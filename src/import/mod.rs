//! Converters from other formats into the klaxon DSL (work in progress).
