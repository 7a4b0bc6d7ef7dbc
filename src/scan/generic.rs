//! The generic rule's judgement: is a value assigned to a secret-sounding name a secret, or code,
//! a word, a file name, a protocol name or prose? And how sure are we?
//!
//! Hard "no" for code (calls, attribute paths, identifiers, type annotations, scoped variables),
//! file names, paths, dates, upper-case protocol names (`CRAM-MD5`) and names that only mention
//! a secret (`grant_type`, `Token.Comment`, `AuthenticationInstant`). `low` confidence for
//! values that are words (`password\x00`, `elevated-privileges`, `Proxy-Authorization`) or
//! quoted identifiers (`"_DSAPrivateKey"`), query-string parameters without mixed character
//! classes, and `*_key` names whose prefix does not say secret (`cache_key`). Everything else
//! that is random enough is `medium`.

use super::rules::{
    Candidate, Confidence, generic_value_ok, is_non_secret_key, looks_like_identifier,
};

/// How much a setting's name says "secret".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyStrength {
    /// `password`, `api_token`, `client_secret`, `basic_auth`, `signing_key`...
    Strong,
    /// `something_key`: maybe a secret, often a lookup key.
    Weak,
}

/// Prefixes that make `<prefix>_key` a secret's name.
const KEY_PREFIXES: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "signing",
    "sign",
    "encryption",
    "encrypt",
    "decryption",
    "master",
    "client",
    "app",
    "license",
    "licence",
    "service",
    "account",
    "storage",
    "shared",
    "hmac",
    "session",
    "auth",
    "consumer",
    "subscription",
    "webhook",
    "jwt",
    "crypto",
    "root",
    "admin",
    "deploy",
    "write",
    "read",
    "aes",
    "cipher",
    "mac",
    "ssh",
    "gpg",
    "pgp",
    "tls",
    "ssl",
];

/// File name extensions: a key or value ending with one names a file, not a secret.
const FILE_EXTENSIONS: &[&str] = &[
    "c",
    "h",
    "o",
    "a",
    "so",
    "cc",
    "cpp",
    "hpp",
    "py",
    "pyc",
    "rs",
    "js",
    "ts",
    "go",
    "java",
    "rb",
    "sh",
    "txt",
    "md",
    "rst",
    "json",
    "yaml",
    "yml",
    "toml",
    "ini",
    "cfg",
    "conf",
    "xml",
    "html",
    "css",
    "pem",
    "crt",
    "cer",
    "der",
    "key",
    "pub",
    "p12",
    "pfx",
    "jks",
    "lock",
    "gz",
    "tar",
    "zip",
    "log",
    "mk",
    "in",
    "am",
    "d",
    "gpg",
    "asc",
    "env",
    "properties",
    "vim",
    "el",
];

/// The words of a name: split at `_`, `-`, spaces and lower-to-upper case changes, lowercased.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if !ch.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
        cur.push(ch.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_strong_word(w: &str) -> bool {
    if w.starts_with("tokeniz") || w.starts_with("secretar") || w == "passed" || w == "passing" {
        return false;
    }
    [
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "credential",
    ]
    .iter()
    .any(|s| w.contains(s))
        || matches!(
            w,
            "pass" | "pwd" | "pw" | "auth" | "authorization" | "authkey"
        )
        || w.ends_with("pass")
        || w.ends_with("pwd")
        || w.ends_with("auth")
        || [
            "secretkey",
            "privatekey",
            "accesskey",
            "signingkey",
            "masterkey",
        ]
        .contains(&w)
}

/// What a setting's name says; `None` when it only mentions a secret.
fn key_strength(key: &str) -> Option<KeyStrength> {
    let key = key.trim_matches(|c| matches!(c, '"' | '\'' | '[' | ']' | '$' | '@'));
    if matches!(key, "PWD" | "OLDPWD") {
        return None; // the shell's working directory
    }
    // `a.b.password`: the last segment names the value (`Token.Comment` is a style, not a token).
    let (head, last) = key.rsplit_once(['.', ':', '/']).unwrap_or(("", key));
    // `credential-osxkeychain.o`: a file (a Makefile target), not a setting.
    if !head.is_empty() && FILE_EXTENSIONS.contains(&last.to_ascii_lowercase().as_str()) {
        return None;
    }
    let w = words(last);
    let last_word = w.last()?;
    if is_non_secret_key(last) || is_non_secret_key(last_word) {
        return None;
    }
    if w.iter().any(|x| is_strong_word(x)) {
        return Some(KeyStrength::Strong);
    }
    if last_word == "key" {
        let prefix = w.len().checked_sub(2).map(|i| w[i].as_str());
        return Some(match prefix {
            Some(p) if KEY_PREFIXES.contains(&p) => KeyStrength::Strong,
            _ => KeyStrength::Weak,
        });
    }
    None
}

/// A pronounceable word: letters only, one case pattern, a vowel, no run of 5 consonants.
fn is_word(piece: &str) -> bool {
    let b = piece.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    let lower = b[1..].iter().all(u8::is_ascii_lowercase);
    let upper = b.iter().all(u8::is_ascii_uppercase);
    if !(lower || upper) {
        return false;
    }
    let vowel = |c: &u8| b"aeiouyAEIOUY".contains(c);
    let mut run = 0;
    for c in b {
        run = if vowel(c) { 0 } else { run + 1 };
        if run >= 5 {
            return false;
        }
    }
    b.len() <= 3 || b.iter().any(vowel)
}

/// Drop escape sequences (`\x00`, `\n`, `%3D`) so `pass\x00word` reads as words.
fn strip_escapes(value: &str) -> String {
    let b = value.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 3 < b.len() && b[i + 1] == b'x' => i += 4,
            b'\\' if i + 1 < b.len() => {
                i += 2;
                out.push(' ');
            }
            b'%' if i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit() =>
            {
                i += 3;
                out.push(' ');
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

/// Words, possibly joined by punctuation: `elevated-privileges`, `Proxy-Authorization`,
/// `python.xml.sax.parser`, `password\x00`, `interactively.`.
pub fn is_words(value: &str) -> bool {
    let text = strip_escapes(value);
    let mut pieces = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .peekable();
    pieces.peek().is_some() && pieces.all(is_word)
}

/// Upper-case tokens joined by `-` or `_`, each short: `CRAM-MD5`, `SCRAM-SHA-256`.
fn is_protocol_name(value: &str) -> bool {
    let pieces: Vec<&str> = value.split(['-', '_']).collect();
    pieces.len() >= 2
        && pieces.iter().all(|p| {
            (1..=8).contains(&p.len())
                && p.bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
}

/// `server.key`, `id_rsa.pub`, `lib/foo.o`: a file name.
fn is_file_name(value: &str) -> bool {
    let Some((stem, ext)) = value.rsplit_once('.') else {
        return false;
    };
    !stem.is_empty()
        && FILE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
        && value
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'/'))
}

/// `/Users/me`, `~/.ssh`, `./out`: a path.
fn is_path(value: &str) -> bool {
    (value.starts_with('/')
        || value.starts_with("~/")
        || value.starts_with("./")
        || value.starts_with("../"))
        && !value.contains(' ')
        && value
            .split('/')
            .filter(|p| !p.is_empty() && !matches!(*p, "~" | "." | ".."))
            .all(|p| is_words(p) || is_file_name(p))
}

/// `2002-04-18T16:56:53Z`, `2024-01-01`.
fn is_date(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
}

/// Vim script scoped variables (`g:netrw_passwd`, `s:token`) and Rust/C++ paths are code.
fn is_scoped_variable(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() > 2
        && b"gslabwtv".contains(&b[0])
        && b[1] == b':'
        && b[2..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'#' | b'.'))
}

/// `name: Type` followed by `=`, `,`, `)`, `;`, `{` or `>`: a type annotation, not a value.
fn is_type_annotation(c: &Candidate) -> bool {
    !c.quoted
        && c.op == Some(":")
        && (c
            .rest
            .trim_start_matches([' ', '\t'])
            .starts_with(['=', ',', ')', ';', '{', '>'])
            || (c
                .value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && c.value.starts_with(|ch: char| ch.is_ascii_uppercase())
                && !c.value.bytes().any(|b| b.is_ascii_digit())))
}

/// The generic rule's verdict: `None` (not a secret) or how sure a finding is.
pub fn assess(c: &Candidate) -> Option<Confidence> {
    let strength = match c.key {
        Some(k) => key_strength(k)?,
        None => KeyStrength::Strong,
    };
    let value = c.value;
    if is_type_annotation(c)
        || is_file_name(value)
        || is_path(value)
        || is_date(value)
        || is_scoped_variable(value)
        || is_protocol_name(value)
        || !generic_value_ok(value, c.quoted)
    {
        return None;
    }
    let query_param = matches!(c.preceding, Some('&' | '?'));
    let mixed = [
        value.bytes().any(|b| b.is_ascii_lowercase()),
        value.bytes().any(|b| b.is_ascii_uppercase()),
        value.bytes().any(|b| b.is_ascii_digit()),
    ]
    .iter()
    .filter(|&&x| x)
    .count()
        >= 3;
    let doubtful = strength == KeyStrength::Weak
        || is_words(value)
        || looks_like_identifier(value)
        || (query_param && !mixed);
    Some(if doubtful {
        Confidence::Low
    } else {
        Confidence::Medium
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(key_strength("DB_PASSWORD"), Some(KeyStrength::Strong));
        assert_eq!(
            key_strength("spring.datasource.password"),
            Some(KeyStrength::Strong)
        );
        assert_eq!(key_strength("clientSecret"), Some(KeyStrength::Strong));
        assert_eq!(key_strength("signing_key"), Some(KeyStrength::Strong));
        assert_eq!(key_strength("cache_key"), Some(KeyStrength::Weak));
        assert_eq!(key_strength("Token.Comment"), None);
        assert_eq!(key_strength("AuthenticationInstant"), None);
        assert_eq!(key_strength("grant_type"), None);
        assert_eq!(key_strength("git-credential-osxkeychain.o"), None);
        assert_eq!(key_strength("proxy_auth_hdr"), Some(KeyStrength::Strong));
        assert_eq!(key_strength("PWD"), None);
    }

    #[test]
    fn words_and_names() {
        for w in [
            "password\\x00",
            "pass\\x00wor",
            "elevated-privileges",
            "Proxy-Authorization",
            "python.xml.sax.parser",
            "interactively.",
            "secret%3Dpassword",
        ] {
            assert!(is_words(w), "{w}");
        }
        for w in [
            "Xk29dkLmQ2xxPq",
            "qWeRtZuIoPaSdFgHjK",
            "Vq8#rT2!mZ6pLw",
            "lsdkfol23w54jlksdef",
        ] {
            assert!(!is_words(w), "{w}");
        }
        assert!(is_protocol_name("CRAM-MD5"));
        assert!(is_file_name("git-credential-osxkeychain.c"));
        assert!(is_date("2002-04-18T16:56:53Z"));
        assert!(is_scoped_variable("g:netrw_passwd_default"));
    }
}
