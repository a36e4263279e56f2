//! Reading a body to sign or verify: a file, or standard input.

use std::io::{IsTerminal, Read};
use std::path::Path;

use crate::exit::UsageError;

/// The exact bytes of `file`, or of standard input when it is absent or `-`.
/// Nothing is trimmed: a signature covers every byte.
pub(crate) fn read_body(file: Option<&Path>) -> Result<Vec<u8>, UsageError> {
    match file {
        Some(path) if path.as_os_str() != "-" => std::fs::read(path).map_err(|e| {
            UsageError::new(format!(
                "cannot read {}: {e}; give the path of the body, or - for standard input",
                path.display()
            ))
        }),
        _ => {
            let mut stdin = std::io::stdin().lock();
            if stdin.is_terminal() {
                // Otherwise the command seems to hang while it waits.
                eprintln!("reading the body from standard input; end it with Ctrl-D");
            }
            let mut body = Vec::new();
            stdin.read_to_end(&mut body).map_err(|e| {
                UsageError::new(format!("cannot read the body from standard input: {e}"))
            })?;
            Ok(body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_byte_for_byte() {
        let path =
            std::env::temp_dir().join(format!("bedrud-webhook-input-{}", std::process::id()));
        std::fs::write(&path, b"{\"a\":1}\r\n").unwrap();
        assert_eq!(read_body(Some(&path)).unwrap(), b"{\"a\":1}\r\n");
        std::fs::remove_file(&path).unwrap();
        let err = read_body(Some(&path)).unwrap_err().to_string();
        assert!(err.starts_with("cannot read "), "{err}");
    }
}
