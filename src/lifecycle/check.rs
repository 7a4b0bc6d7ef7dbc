//! `check` and `list` on one file's values: types, policy rules, expiry and rotation.
//!
//! Plain data in, plain data out: the caller decrypts, finds the policies, and passes the
//! Git history of each key as a [`History`] map (empty when there is none); nothing here
//! prints, reads files, or holds a value longer than the call. Reports never hold a value.

use std::collections::HashMap;

use x509_cert::der::DecodePem;

use crate::config::policy::{Policy, SecretType};
use crate::time;

/// When a key's value last changed, from Git history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastChange {
    pub commit: String,
    pub author: String,
    /// Unix seconds (the commit time).
    pub time: i64,
}

/// Last changes by key path, written as `document::display_path` writes it (`["db"]["pw"]`).
pub type History = HashMap<String, LastChange>;

/// Warn this long before a certificate's or a policy's expiry when the policy sets no
/// `warn_before`.
pub const DEFAULT_WARN_BEFORE: i64 = 30 * 86_400;

/// One value of a file, as the checker sees it.
pub struct Value<'a> {
    pub path: &'a [String],
    pub line: usize,
    /// The plaintext (decrypted, or the clear text of an unencrypted value).
    pub bytes: &'a [u8],
    /// Whether the value is stored encrypted.
    pub encrypted: bool,
}

/// Something a CI gate fails on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// A stable name: weak-password, format-mismatch, certificate-expired,
    /// certificate-expiring, certificate-not-yet-valid, certificate-invalid, ssh-key-invalid,
    /// age-key-invalid, expired, expiring, rotation-due, unencrypted-file, not-checked.
    pub rule: &'static str,
    pub message: String,
}

/// A certificate found in a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub not_after: i64,
}

/// What `check` says about one value.
#[derive(Clone, Debug)]
pub struct KeyReport {
    pub key: String,
    pub line: usize,
    /// The declared type, else the detected one, else None.
    pub kind: Option<SecretType>,
    pub declared: bool,
    pub policy_line: Option<usize>,
    pub certificates: Vec<CertInfo>,
    pub last_change: Option<LastChange>,
    pub findings: Vec<Finding>,
}

/// The first policy for `key` in the file at `rel_path`.
pub fn policy_for<'p>(
    policies: &'p [Policy],
    rel_path: &str,
    key: &[String],
) -> Option<&'p Policy> {
    policies.iter().find(|p| p.matches(rel_path, key))
}

/// The type a value looks like: from its content (certificate, OpenSSH or age private key),
/// else from its key's name (password, api-key).
pub fn detect(key: &[String], bytes: &[u8]) -> Option<SecretType> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("-----BEGIN CERTIFICATE-----") {
        return Some(SecretType::Certificate);
    }
    if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
        return Some(SecretType::SshKey);
    }
    if text.trim_start().starts_with("AGE-SECRET-KEY-1") {
        return Some(SecretType::AgeKey);
    }
    detect_by_name(key)
}

/// The type a key's name suggests, without its value.
pub fn detect_by_name(key: &[String]) -> Option<SecretType> {
    let name = key.last()?.to_ascii_lowercase();
    if name.contains("password") || name.contains("passwd") || name.ends_with("pass") {
        Some(SecretType::Password)
    } else if name.contains("api_key")
        || name.contains("apikey")
        || name.contains("api-key")
        || name.ends_with("token")
    {
        Some(SecretType::ApiKey)
    } else {
        None
    }
}

/// Whether a value is worth a report line: it is encrypted, typed, or a policy names it.
fn reportable(v: &Value, kind: Option<SecretType>, policy: Option<&Policy>) -> bool {
    v.encrypted || kind.is_some() || policy.is_some_and(|p| p.kind.is_some())
}

/// Check every value of one file.
pub fn check_values(
    values: &[Value],
    policies: &[Policy],
    rel_path: &str,
    now: i64,
    history: &History,
) -> Vec<KeyReport> {
    let mut reports = Vec::new();
    for v in values {
        let policy = policy_for(policies, rel_path, v.path);
        let declared = policy.and_then(|p| p.kind);
        let kind = declared.or_else(|| detect(v.path, v.bytes));
        if !reportable(v, kind, policy) {
            continue;
        }
        let key = crate::document::display_path(v.path);
        let last_change = history.get(&key).cloned();
        let mut r = KeyReport {
            key,
            line: v.line,
            kind,
            declared: declared.is_some(),
            policy_line: policy.map(|p| p.line),
            certificates: Vec::new(),
            last_change,
            findings: Vec::new(),
        };
        check_value(&mut r, v.bytes, policy, now);
        reports.push(r);
    }
    reports
}

fn check_value(r: &mut KeyReport, bytes: &[u8], policy: Option<&Policy>, now: i64) {
    let warn_before = policy
        .and_then(|p| p.warn_before)
        .unwrap_or(DEFAULT_WARN_BEFORE);
    let text = String::from_utf8_lossy(bytes);
    let mut find = |rule, message: String| r.findings.push(Finding { rule, message });
    match r.kind {
        Some(SecretType::Password) => {
            if let Some(p) = policy.filter(|p| p.kind == Some(SecretType::Password)) {
                if let Some(min) = p.min_length
                    && text.chars().count() < min
                {
                    find(
                        "weak-password",
                        format!("shorter than the policy's min_length {min}"),
                    );
                }
                let missing: Vec<&str> = p
                    .require
                    .iter()
                    .filter(|c| !text.chars().any(|ch| c.contains(ch)))
                    .map(|c| c.name())
                    .collect();
                if !missing.is_empty() {
                    find(
                        "weak-password",
                        format!("lacks a required {} character", missing.join(", ")),
                    );
                }
            }
        }
        Some(SecretType::ApiKey | SecretType::Custom) => {
            if let Some(format) = policy.and_then(|p| p.format.as_ref())
                && !format.is_match(&text)
            {
                find(
                    "format-mismatch",
                    format!("does not match the policy's format {}", format.as_str()),
                );
            }
        }
        Some(SecretType::Certificate) => {
            let certs = certificates(&text);
            if certs.is_empty() {
                find(
                    "certificate-invalid",
                    "holds no PEM certificate that parses".into(),
                );
            }
            for (i, cert) in certs.into_iter().enumerate() {
                let which = if i == 0 {
                    String::new()
                } else {
                    format!(" (certificate {} of the chain)", i + 1)
                };
                match cert {
                    Err(e) => find(
                        "certificate-invalid",
                        format!("a certificate does not parse{which}: {e}"),
                    ),
                    Ok(c) => {
                        let subject = c.subject.clone();
                        let until = time::format_time(c.not_after);
                        if c.not_after <= now {
                            find(
                                "certificate-expired",
                                format!("{subject}{which} expired on {until}"),
                            );
                        } else if c.not_after - now <= warn_before {
                            find(
                                "certificate-expiring",
                                format!(
                                    "{subject}{which} expires on {until}, within {}",
                                    time::format_duration(warn_before)
                                ),
                            );
                        }
                        if c.not_before > now {
                            find(
                                "certificate-not-yet-valid",
                                format!(
                                    "{subject}{which} is valid from {} only",
                                    time::format_time(c.not_before)
                                ),
                            );
                        }
                        r.certificates.push(CertInfo {
                            subject: c.subject,
                            not_after: c.not_after,
                        });
                    }
                }
            }
        }
        Some(SecretType::SshKey) => {
            if let Some(problem) = ssh_problem(&text) {
                find("ssh-key-invalid", problem);
            }
        }
        Some(SecretType::AgeKey) => {
            if let Some(problem) = age_problem(&text) {
                find("age-key-invalid", problem);
            }
        }
        None => {}
    }
    if let Some(p) = policy {
        if let Some(expires) = p.expires {
            let when = time::format_date(expires);
            if expires <= now {
                find("expired", format!("the policy says it expired on {when}"));
            } else if expires - now <= warn_before {
                find(
                    "expiring",
                    format!(
                        "the policy says it expires on {when}, within {}",
                        time::format_duration(warn_before)
                    ),
                );
            }
        }
        if let (Some(every), Some(change)) = (p.rotate_every, &r.last_change)
            && now - change.time > every
        {
            find(
                "rotation-due",
                format!(
                    "unchanged since {} (commit {}, {}); the policy rotates it every {}",
                    time::format_date(change.time),
                    short(&change.commit),
                    change.author,
                    time::format_duration(every)
                ),
            );
        }
    }
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

struct Cert {
    subject: String,
    not_before: i64,
    not_after: i64,
}

/// Every `CERTIFICATE` PEM block in the text, parsed (a chain, or a certificate next to its key).
fn certificates(text: &str) -> Vec<Result<Cert, String>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            out.push(Err("a BEGIN CERTIFICATE line has no END line".to_string()));
            break;
        };
        let block = &rest[start..start + len + END.len()];
        out.push(
            x509_cert::Certificate::from_pem(block)
                .map_err(|e| e.to_string())
                .map(|c| {
                    let v = &c.tbs_certificate.validity;
                    let secs = |t: x509_cert::time::Time| t.to_unix_duration().as_secs() as i64;
                    Cert {
                        subject: c.tbs_certificate.subject.to_string(),
                        not_before: secs(v.not_before),
                        not_after: secs(v.not_after),
                    }
                }),
        );
        rest = &rest[start + len + END.len()..];
    }
    out
}

/// Why an SSH private key does not parse, if it does not.
fn ssh_problem(text: &str) -> Option<String> {
    let t = text.trim();
    if t.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----") {
        return ssh_key::PrivateKey::from_openssh(t)
            .err()
            .map(|e| format!("the OpenSSH private key does not parse: {e}"));
    }
    if t.starts_with("-----BEGIN ") && t.contains("PRIVATE KEY-----") {
        return None; // PEM (PKCS#1, PKCS#8, SEC1): accepted by ssh, not parsed here
    }
    Some("not an OpenSSH private key (no BEGIN OPENSSH PRIVATE KEY block)".into())
}

/// Why an age identity (or keys file) does not parse, if it does not.
fn age_problem(text: &str) -> Option<String> {
    let mut keys = 0;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        keys += 1;
        if line.parse::<age::x25519::Identity>().is_err() {
            return Some(format!("line {} is not an age X25519 identity", i + 1));
        }
    }
    (keys == 0).then(|| "holds no age identity".into())
}

/// One line of `list`: what is known of a secret without decrypting it.
#[derive(Clone, Debug)]
pub struct ListEntry {
    pub key: String,
    pub line: usize,
    pub kind: Option<SecretType>,
    pub declared: bool,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub last_change: Option<LastChange>,
    pub expires: Option<i64>,
    pub rotate_every: Option<i64>,
}

/// The inventory of one file: its encrypted values (one entry per key path), with what the
/// policies and the history say about each.
pub fn list_values(
    values: &[(Vec<String>, usize)],
    policies: &[Policy],
    rel_path: &str,
    history: &History,
) -> Vec<ListEntry> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (path, line) in values {
        let key = crate::document::display_path(path);
        if !seen.insert(key.clone()) {
            continue;
        }
        let policy = policy_for(policies, rel_path, path);
        let declared = policy.and_then(|p| p.kind);
        out.push(ListEntry {
            last_change: history.get(&key).cloned(),
            key,
            line: *line,
            kind: declared.or_else(|| detect_by_name(path)),
            declared: declared.is_some(),
            description: policy.and_then(|p| p.description.clone()),
            owner: policy.and_then(|p| p.owner.clone()),
            expires: policy.and_then(|p| p.expires),
            rotate_every: policy.and_then(|p| p.rotate_every),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_750_000_000;

    fn policies(text: &str) -> Vec<Policy> {
        Config::parse(text, std::path::Path::new("/r/.sops.yaml"))
            .unwrap()
            .policies
    }

    fn key(s: &str) -> Vec<String> {
        s.split('.').map(String::from).collect()
    }

    fn check_one(path: &str, value: &str, pol: &[Policy], history: &History) -> KeyReport {
        let p = key(path);
        let v = Value {
            path: &p,
            line: 1,
            bytes: value.as_bytes(),
            encrypted: true,
        };
        let mut r = check_values(&[v], pol, "secrets.yaml", NOW, history);
        assert_eq!(r.len(), 1);
        r.remove(0)
    }

    fn rules(r: &KeyReport) -> Vec<&'static str> {
        r.findings.iter().map(|f| f.rule).collect()
    }

    fn changed(days_ago: i64) -> History {
        let mut h = History::new();
        h.insert(
            "[\"db\"][\"password\"]".into(),
            LastChange {
                commit: "0123456789abcdef0123456789abcdef01234567".into(),
                author: "Ada <ada@example.org>".into(),
                time: NOW - days_ago * DAY,
            },
        );
        h
    }

    #[test]
    fn rotation_is_due_once_the_value_is_older_than_rotate_every() {
        let pol = policies("secrets:\n  - key: db.password\n    rotate_every: 90d\n");
        let old = check_one("db.password", "x", &pol, &changed(91));
        assert_eq!(rules(&old), ["rotation-due"]);
        let msg = &old.findings[0].message;
        assert!(
            msg.contains("commit 0123456789ab") && msg.contains("Ada") && msg.contains("every 90d"),
            "{msg}"
        );
        assert!(rules(&check_one("db.password", "x", &pol, &changed(89))).is_empty());
        // No history for the key: nothing can be said (and nothing is invented).
        assert!(rules(&check_one("db.password", "x", &pol, &History::new())).is_empty());
        // No rotate_every: old values are fine.
        let none = policies("secrets:\n  - key: db.password\n    type: password\n");
        assert!(rules(&check_one("db.password", "x", &none, &changed(1000))).is_empty());
    }

    #[test]
    fn passwords_against_the_policy() {
        let pol = policies(
            "secrets:\n  - key_regex: password$\n    type: password\n    min_length: 12\n    require: [upper, digit, symbol]\n",
        );
        let r = check_one("db.password", "zqxjkv", &pol, &History::new());
        assert_eq!(rules(&r), ["weak-password", "weak-password"]);
        assert!(r.findings[1].message.contains("upper, digit, symbol"));
        assert!(
            !format!("{r:?}").contains("zqxjkv"),
            "the value is never in a report"
        );
        assert!(
            rules(&check_one(
                "db.password",
                "Abcdefgh123!",
                &pol,
                &History::new()
            ))
            .is_empty()
        );
        // Detected by name, no policy: typed, nothing to check.
        let r = check_one("db.password", "x", &[], &History::new());
        assert_eq!((r.kind, r.declared), (Some(SecretType::Password), false));
        assert!(r.findings.is_empty());
    }

    #[test]
    fn api_keys_against_their_format() {
        let pol = policies(
            "secrets:\n  - key: stripe\n    type: api-key\n    format: sk_live_[0-9a-zA-Z]{8}\n",
        );
        assert_eq!(
            rules(&check_one(
                "stripe",
                "sk_test_abcdefgh",
                &pol,
                &History::new()
            )),
            ["format-mismatch"]
        );
        assert!(
            rules(&check_one(
                "stripe",
                "sk_live_abcdefgh",
                &pol,
                &History::new()
            ))
            .is_empty()
        );
    }

    #[test]
    fn declared_expiry_warns_then_fails() {
        let text = |date: &str| format!("secrets:\n  - key: k\n    expires: {date}\n");
        let at = |secs: i64| time::format_date(secs);
        assert_eq!(
            rules(&check_one(
                "k",
                "v",
                &policies(&text(&at(NOW - DAY))),
                &History::new()
            )),
            ["expired"]
        );
        assert_eq!(
            rules(&check_one(
                "k",
                "v",
                &policies(&text(&at(NOW + 10 * DAY))),
                &History::new()
            )),
            ["expiring"]
        );
        assert!(
            rules(&check_one(
                "k",
                "v",
                &policies(&text(&at(NOW + 60 * DAY))),
                &History::new()
            ))
            .is_empty()
        );
    }

    #[test]
    fn ssh_and_age_keys_must_parse() {
        let id = age::x25519::Identity::generate();
        let good = {
            use age::secrecy::ExposeSecret;
            id.to_string().expose_secret().to_string()
        };
        assert!(rules(&check_one("k", &good, &[], &History::new())).is_empty());
        let broken = format!("{}x", &good[..good.len() - 2]);
        let r = check_one("k", &broken, &[], &History::new());
        assert_eq!(
            (r.kind, rules(&r)),
            (Some(SecretType::AgeKey), vec!["age-key-invalid"])
        );
        let bad_ssh =
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        let r = check_one("deploy", bad_ssh, &[], &History::new());
        assert_eq!(
            (r.kind, rules(&r)),
            (Some(SecretType::SshKey), vec!["ssh-key-invalid"])
        );
        let pol = policies("secrets:\n  - key: deploy\n    type: ssh-key\n");
        assert_eq!(
            rules(&check_one("deploy", "hunter2", &pol, &History::new())),
            ["ssh-key-invalid"]
        );
    }

    #[test]
    fn plaintext_values_are_reported_only_when_typed() {
        let a = key("name");
        let b = key("db.password");
        let values = [
            Value {
                path: &a,
                line: 1,
                bytes: b"app",
                encrypted: false,
            },
            Value {
                path: &b,
                line: 2,
                bytes: b"pw",
                encrypted: false,
            },
        ];
        let r = check_values(&values, &[], "f.yaml", NOW, &History::new());
        assert_eq!(
            r.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
            ["[\"db\"][\"password\"]"]
        );
    }

    #[test]
    fn list_uses_policies_and_history_without_values() {
        let pol = policies(
            "secrets:\n  - key: db.password\n    type: password\n    description: DB\n    owner: team-db\n    expires: 2027-01-01\n",
        );
        let values = [
            (key("db.password"), 3),
            (key("db.password"), 4),
            (key("api_token"), 5),
        ];
        let l = list_values(&values, &pol, "f.yaml", &changed(3));
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].owner.as_deref(), Some("team-db"));
        assert_eq!(l[0].expires, Some(1_798_761_600));
        assert_eq!(l[0].last_change.as_ref().unwrap().time, NOW - 3 * DAY);
        assert_eq!(
            (l[1].kind, l[1].declared),
            (Some(SecretType::ApiKey), false)
        );
        assert!(l[1].last_change.is_none());
    }
}
