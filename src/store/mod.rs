//! Durable alert state in redb (being written).
