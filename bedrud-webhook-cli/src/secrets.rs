//! Where secrets come from: `--secret`, `--secret-file`, or the environment.
//!
//! Every error here names where the bad secret came from, never its value.

use std::ffi::OsString;
use std::path::Path;

use bedrud_webhook::verify::{Secret, SecretError};

use crate::cli::{SecretArgs, SecretsArgs};
use crate::exit::UsageError;

/// The environment variable a secret is read from when no flag gives one.
pub(crate) const SECRET_ENV: &str = "BEDRUD_WEBHOOK_SECRET";

/// What to say when a command that needs a secret has none.
pub(crate) const NO_SECRET: &str = "no secret: pass --secret or --secret-file, or set \
    BEDRUD_WEBHOOK_SECRET (Bedrud shows the secret in its admin dashboard under Settings → Webhooks)";

/// All the secrets given, in order (`--secret`s, then `--secret-file`s),
/// or the environment's when no flag gives one; empty when there are none.
pub(crate) fn several(
    args: &SecretsArgs,
    env: Option<OsString>,
) -> Result<Vec<Secret>, UsageError> {
    let mut secrets = Vec::with_capacity(args.secret.len() + args.secret_file.len());
    for (i, value) in args.secret.iter().enumerate() {
        secrets.push(from_flag(value, i, args.secret.len())?);
    }
    for path in &args.secret_file {
        secrets.push(from_file(path)?);
    }
    if secrets.is_empty()
        && let Some(value) = env
    {
        secrets.push(from_env(value)?);
    }
    Ok(secrets)
}

/// The one secret a signing command uses, from the flag, the file, or the
/// environment, in that order.
pub(crate) fn one(args: &SecretArgs, env: Option<OsString>) -> Result<Secret, UsageError> {
    if let Some(value) = &args.secret {
        from_flag(value, 0, 1)
    } else if let Some(path) = &args.secret_file {
        from_file(path)
    } else if let Some(value) = env {
        from_env(value)
    } else {
        Err(UsageError::new(NO_SECRET))
    }
}

/// The environment's value, read once by `main` and passed in so that tests
/// need not touch the process environment.
pub(crate) fn env_value() -> Option<OsString> {
    std::env::var_os(SECRET_ENV)
}

fn from_flag(value: &str, index: usize, count: usize) -> Result<Secret, UsageError> {
    Secret::new(value).map_err(|e| {
        let which = if count > 1 {
            format!("--secret number {}", index + 1)
        } else {
            "--secret".to_owned()
        };
        explain(&which, e)
    })
}

fn from_file(path: &Path) -> Result<Secret, UsageError> {
    let mut bytes = std::fs::read(path).map_err(|e| {
        UsageError::new(format!(
            "cannot read the secret file {}: {e}; check the path given to --secret-file",
            path.display()
        ))
    })?;
    // Editors and `echo` end a file with a newline that is not part of the
    // secret; nothing else is trimmed, so a custom secret keeps its spaces.
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    Secret::new(bytes).map_err(|e| explain(&format!("the secret file {}", path.display()), e))
}

fn from_env(value: OsString) -> Result<Secret, UsageError> {
    let value = value.into_string().map_err(|_| {
        UsageError::new(format!(
            "{SECRET_ENV} is not valid UTF-8; copy the secret from Bedrud's admin dashboard again"
        ))
    })?;
    Secret::new(value).map_err(|e| explain(SECRET_ENV, e))
}

fn explain(source: &str, error: SecretError) -> UsageError {
    match error {
        SecretError::Empty => UsageError::new(format!(
            "the secret from {source} is empty; anyone could forge deliveries for an empty \
             secret, so use the one Bedrud's admin dashboard shows"
        )),
        other => UsageError::new(format!("the secret from {source} cannot be used: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

    fn several_args(secret: &[&str], secret_file: &[PathBuf]) -> SecretsArgs {
        SecretsArgs {
            secret: secret.iter().map(|s| (*s).to_owned()).collect(),
            secret_file: secret_file.to_vec(),
        }
    }

    fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "bedrud-webhook-secrets-{}-{name}",
            std::process::id()
        ));
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(contents).unwrap();
        path
    }

    #[test]
    fn flags_then_files_and_the_environment_only_as_a_fallback() {
        let file = temp_file("order", b"from-file\r\n");
        let secrets = several(
            &several_args(&["first", "second"], std::slice::from_ref(&file)),
            Some("from-env".into()),
        )
        .unwrap();
        let keys: Vec<&[u8]> = secrets.iter().map(Secret::expose).collect();
        assert_eq!(keys, [&b"first"[..], b"second", b"from-file"]);

        let secrets = several(&several_args(&[], &[]), Some("from-env".into())).unwrap();
        assert_eq!(secrets[0].expose(), b"from-env");
        assert!(several(&several_args(&[], &[]), None).unwrap().is_empty());
        std::fs::remove_file(file).unwrap();
    }

    #[test]
    fn a_file_keeps_everything_but_the_trailing_newline() {
        let file = temp_file("spaces", b" custom secret \n");
        let args = SecretArgs {
            secret: None,
            secret_file: Some(file.clone()),
        };
        assert_eq!(one(&args, None).unwrap().expose(), b" custom secret ");
        std::fs::remove_file(file).unwrap();
    }

    #[test]
    fn no_secret_says_how_to_give_one() {
        let args = SecretArgs {
            secret: None,
            secret_file: None,
        };
        let err = one(&args, None).unwrap_err().to_string();
        assert!(err.starts_with("no secret: pass --secret"), "{err}");
        assert!(err.contains("BEDRUD_WEBHOOK_SECRET"), "{err}");
    }

    #[test]
    fn empty_secrets_are_refused_naming_their_source_only() {
        let err = several(&several_args(&["ok", ""], &[]), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--secret number 2 is empty"), "{err}");
        let err = several(&several_args(&[], &[]), Some("".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("BEDRUD_WEBHOOK_SECRET is empty"), "{err}");
        let file = temp_file("empty", b"\n");
        let err = several(&several_args(&[], std::slice::from_ref(&file)), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is empty"), "{err}");
        std::fs::remove_file(file).unwrap();
    }

    #[test]
    fn unreadable_files_name_the_path_not_a_secret() {
        let args = SecretArgs {
            secret: None,
            secret_file: Some(PathBuf::from("/nonexistent/bedrud.secret")),
        };
        let err = one(&args, Some("env-secret-value".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/bedrud.secret"), "{err}");
        assert!(!err.contains("env-secret-value"), "{err}");
    }
}
