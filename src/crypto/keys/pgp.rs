//! PGP through the user's own GnuPG, as sops does: `gpg` on PATH or `$SOPS_GPG_EXEC`, the
//! keyring in `$GNUPGHOME` (or `~/.gnupg`), and gpg-agent for secret keys, so passphrases
//! (pinentry) and smartcards work. Encryption needs only the recipient's public key in the
//! keyring; the result is an ASCII-armored PGP message, as sops stores it in `enc`.

use std::io::Write;
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::Error;

/// `SOPS_GPG_EXEC`: the GnuPG binary to run instead of `gpg`.
pub const GPG_EXEC_ENV: &str = "SOPS_GPG_EXEC";

/// A PGP fingerprint as given (`--pgp`, `SOPS_PGP_FP`, `.sops.yaml`), spaces removed as sops
/// does. Key IDs (16 hex digits) and full fingerprints (40 or 64) are accepted.
pub fn normalize(fp: &str) -> String {
    fp.replace(' ', "")
}

/// Whether a recipient string names a PGP key: hex digits only, of a key ID's or fingerprint's
/// length (age recipients start with `age1`, SSH keys with `ssh-`, so the two never collide).
pub fn is_fingerprint(s: &str) -> bool {
    let s = s.strip_prefix("0x").unwrap_or(s);
    matches!(s.len(), 8 | 16 | 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn gpg() -> Command {
    let program = std::env::var_os(GPG_EXEC_ENV)
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "gpg".into());
    Command::new(program)
}

/// Run gpg with `input` on standard input; stdout on success, gpg's own message otherwise.
fn run(args: &[&str], input: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut child = gpg()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            let name = std::env::var(GPG_EXEC_ENV).unwrap_or_else(|_| "gpg".into());
            format!("cannot run {name:?} (set {GPG_EXEC_ENV} to GnuPG's path): {e}")
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A write error surfaces as gpg's exit status below.
        let _ = stdin.write_all(input);
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = Zeroizing::new(out.stdout);
    if out.status.success() {
        return Ok(stdout);
    }
    Err(describe_failure(&String::from_utf8_lossy(&out.stderr)))
}

/// gpg's stderr, reduced to what a user acts on. It never holds the plaintext (that goes to
/// stdout), only key IDs and status lines.
fn describe_failure(stderr: &str) -> String {
    let lower = stderr.to_ascii_lowercase();
    if lower.contains("no secret key") {
        return "gpg has no secret key for it".into();
    }
    if lower.contains("no public key") || lower.contains("unusable public key") {
        return "the public key is not in the GnuPG keyring (import it with gpg --import)".into();
    }
    if lower.contains("bad passphrase") || lower.contains("operation cancelled") {
        return "gpg could not unlock the secret key (passphrase refused or cancelled)".into();
    }
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match lines.last() {
        Some(last) => format!("gpg failed: {}", last.trim_start_matches("gpg: ")),
        None => "gpg failed".into(),
    }
}

/// Encrypt `secret` to the public key `fp` from the keyring, ASCII-armored (trailing whitespace
/// trimmed, as sops stores it).
pub fn wrap(secret: &[u8], fp: &str) -> Result<String, Error> {
    let fail = |message: String| Error::Wrap {
        recipient: format!("PGP key {fp}"),
        message,
    };
    let short = &fp[fp.len().saturating_sub(16)..];
    let args = [
        "--batch",
        "--no-default-recipient",
        "--yes",
        "--encrypt",
        "-a",
        "-r",
        fp,
        "--trusted-key",
        short,
        "--no-encrypt-to",
    ];
    let out = run(&args, secret).map_err(fail)?;
    let text = String::from_utf8(out.to_vec()).map_err(|_| fail("gpg wrote non-UTF-8".into()))?;
    Ok(text.trim_end().to_string())
}

/// Decrypt an armored PGP message with the secret keys gpg (and its agent) holds.
pub fn unwrap(enc: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    run(&["--use-agent", "--quiet", "-d"], enc.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_and_key_ids_are_recognized_and_age_keys_are_not() {
        assert!(is_fingerprint("FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"));
        assert!(is_fingerprint("3D16CEE4A27381B4"));
        assert!(!is_fingerprint(
            "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
        ));
        assert!(!is_fingerprint("ssh-ed25519 AAAA"));
        assert_eq!(normalize("FBC7 B9E2 A4F9"), "FBC7B9E2A4F9");
    }

    #[test]
    fn gpg_messages_become_reasons() {
        assert_eq!(
            describe_failure("gpg: decryption failed: No secret key\n"),
            "gpg has no secret key for it"
        );
        assert!(describe_failure("gpg: something odd\n").contains("something odd"));
    }
}
