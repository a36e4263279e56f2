//! Writing lines to standard output and standard error.
//!
//! `println!` panics when the reader has gone away (`listen | head -1`);
//! these write the line and let a closed pipe pass quietly instead.

use std::io::Write;

/// One line on standard output: results, the listener's delivery lines.
pub(crate) fn out(line: impl AsRef<str>) {
    let mut stdout = std::io::stdout().lock();
    let _closed_pipe_is_fine = writeln!(stdout, "{}", line.as_ref()).and_then(|()| stdout.flush());
}

/// One line on standard error: progress, reasons, errors.
pub(crate) fn err(line: impl AsRef<str>) {
    let mut stderr = std::io::stderr().lock();
    let _closed_pipe_is_fine = writeln!(stderr, "{}", line.as_ref());
}
