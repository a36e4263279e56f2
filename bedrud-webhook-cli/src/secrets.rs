//! Where secrets come from: `--secret`, `--secret-file`, or the environment.
//! Every message here names where a secret came from, never its value.

use std::ffi::OsString;
use std::path::Path;

use bedrud_webhook::{Secret, Verifier, VerifierBuilder};

use crate::cli::SecretsArgs;
use crate::{err, usage};

/// The environment variable read when no flag gives a secret.
pub(crate) const SECRET_ENV: &str = "BEDRUD_WEBHOOK_SECRET";

/// Why an empty secret is refused.
const EMPTY: &str = "is empty; anyone could forge deliveries for an empty secret, so use the \
    one Bedrud's admin dashboard shows";
const NO_SECRET: &str = "no secret: pass --secret or --secret-file, or set \
    BEDRUD_WEBHOOK_SECRET (Bedrud's admin dashboard shows it under Settings → Webhooks)";

/// Every secret given, in order (`--secret`s, then `--secret-file`s), or
/// the environment's when no flag gives one; empty when there is none.
pub(crate) fn several(args: &SecretsArgs, env: Option<OsString>) -> anyhow::Result<Vec<Secret>> {
    let (flags, mut secrets) = (&args.secret, Vec::new());
    for (i, value) in flags.iter().enumerate() {
        let source = match flags.len() {
            1 => "--secret".to_owned(),
            _ => format!("--secret number {}", i + 1),
        };
        secrets.push(make(&source, value.as_bytes().to_vec())?);
    }
    for path in &args.secret_file {
        let source = format!("the secret file {}", path.display());
        secrets.push(make(&source, read(path, &source, "--secret-file")?)?);
    }
    if let (true, Some(value)) = (secrets.is_empty(), env) {
        secrets.push(make(SECRET_ENV, value.into_encoded_bytes())?);
    }
    Ok(secrets)
}

/// A secret's file, less the trailing newline editors add: nothing else is
/// trimmed, so a custom secret keeps its spaces.
fn read(path: &Path, source: &str, flag: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path);
    let mut bytes = bytes.map_err(|e| usage(format!("cannot read {source}: {e}; check {flag}")))?;
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    Ok(bytes)
}

/// The admin listener's token from `--admin-token-file`.
pub(crate) fn read_token(path: &Path) -> anyhow::Result<String> {
    let source = format!("the admin token file {}", path.display());
    let token = String::from_utf8(read(path, &source, "--admin-token-file")?);
    let token = token.map_err(|_| usage("the admin token file is not UTF-8 text"))?;
    match token.is_empty() {
        true => Err(usage("the admin token file is empty")),
        false => Ok(token),
    }
}

/// The one secret a signing command uses: the flag, the file, or the environment.
pub(crate) fn one(args: &SecretsArgs, env: Option<OsString>) -> anyhow::Result<Secret> {
    let mut secrets = several(args, env)?;
    if secrets.len() > 1 {
        return Err(usage("give one secret to sign with, not several"));
    }
    secrets.pop().ok_or_else(|| usage(NO_SECRET))
}

/// A verifier builder for these secrets: the first is the current one, the
/// others previous ones, accepted during a rotation.
pub(crate) fn verifier(secrets: Vec<Secret>) -> anyhow::Result<VerifierBuilder> {
    let mut secrets = secrets.into_iter();
    let current = secrets.next().ok_or_else(|| usage(NO_SECRET))?;
    Ok(secrets.fold(Verifier::builder(current), VerifierBuilder::previous_secret))
}

/// A new secret the way Bedrud makes one: 16 random bytes written as 32
/// lowercase hex characters, which are the key.
pub(crate) fn generate() -> anyhow::Result<(String, Secret)> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("cannot generate a secret: {e}"))?;
    let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok((text.clone(), Secret::new(text)?))
}

/// For `listen` without a secret: a new one, shown once, since nobody could
/// send to the listener otherwise. The only secret the tool ever prints.
pub(crate) fn generate_and_show() -> anyhow::Result<Secret> {
    let (text, secret) = generate()?;
    let then = "enter it in Bedrud's admin dashboard, or pass it to `bedrud-webhook trigger`";
    err(format!(
        "no secret given, so one was generated; it is shown only now:\n  {text}\n  {then}"
    ));
    Ok(secret)
}

fn make(source: &str, bytes: Vec<u8>) -> anyhow::Result<Secret> {
    let spaced = |b: Option<&u8>| b.is_some_and(u8::is_ascii_whitespace);
    if spaced(bytes.first()) || spaced(bytes.last()) {
        err(format!(
            "warning: the secret from {source} begins or ends with whitespace, which is \
             part of the key; Bedrud's generated secrets are 32 hex characters"
        ));
    }
    Secret::new(bytes).map_err(|_| usage(format!("the secret from {source} {EMPTY}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(secret: &[&str], secret_file: &[&std::path::Path]) -> SecretsArgs {
        let secret = secret.iter().map(|s| s.to_string()).collect();
        let secret_file = secret_file.iter().map(|p| p.to_path_buf()).collect();
        SecretsArgs {
            secret,
            secret_file,
        }
    }

    #[test]
    fn flags_then_files_and_the_environment_only_as_a_fallback() {
        let path = std::env::temp_dir().join(format!("bedrud-cli-secret-{}", std::process::id()));
        std::fs::write(&path, b"custom\r\n").unwrap();
        let secrets = several(&args(&["a", "b"], &[&path]), Some("env".into()));
        assert_eq!(secrets.unwrap().len(), 3);
        assert_eq!(
            several(&args(&[], &[]), Some("env".into())).unwrap().len(),
            1
        );
        assert!(several(&args(&[], &[]), None).unwrap().is_empty());
        assert!(one(&args(&["a"], &[&path]), None).is_err());
        std::fs::remove_file(&path).unwrap();
        let error = several(&args(&[], &[&path]), Some("env".into())).unwrap_err();
        assert!(
            error.to_string().contains("cannot read the secret file"),
            "{error}"
        );
        let error = several(&args(&["ok", ""], &[]), None).unwrap_err();
        assert!(
            error.to_string().contains("--secret number 2 is empty"),
            "{error}"
        );
        assert!(
            verifier(Vec::new())
                .unwrap_err()
                .to_string()
                .starts_with("no secret: pass")
        );
    }

    #[test]
    fn generated_secrets_look_like_bedruds() {
        let (text, _) = generate().unwrap();
        assert_eq!(text.len(), 32);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_ne!(generate().unwrap().0, text);
    }
}
