//! Verification of Bedrud webhook signatures (in progress).
