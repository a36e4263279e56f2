//! Shared start-up code for the examples (in progress).
