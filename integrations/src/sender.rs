//! The reference sender (in progress).
