//! The `bedrud-webhook` command (in progress).
fn main() {}
