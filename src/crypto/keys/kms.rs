//! AWS KMS, as sops's `kms` key source: `TrentService.Encrypt` / `Decrypt` over HTTPS with
//! Signature Version 4 (signed here with `hmac` and `sha2`, no SDK), the region taken from the
//! key's ARN, the encryption context sent as given.
//!
//! Credentials, in order: the key's `aws_profile` (shared files), `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, web identity (`AWS_WEB_IDENTITY_TOKEN_FILE`
//! and `AWS_ROLE_ARN`, through STS `AssumeRoleWithWebIdentity`), then the shared
//! `credentials`/`config` files (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`) for
//! `AWS_PROFILE` or `default`. A key written `ARN+ROLE_ARN` assumes that role (STS
//! `AssumeRole`) first. `AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL_STS` and `AWS_ENDPOINT_URL`
//! point at another endpoint. Timeouts as for Vault (see [`super::vault::timeouts`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::Error;
use crate::document::metadata::{KmsEntry, kms_spec};

/// A KMS master key as named on the command line or in `.sops.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KmsKey {
    pub arn: String,
    pub role: String,
    /// The encryption context, sorted by key (as sops writes it).
    pub context: Vec<(String, String)>,
    pub aws_profile: String,
}

impl KmsKey {
    /// Parse `ARN[+ROLE_ARN]`, or the internal spec written by [`KmsKey::spec`].
    pub fn parse(s: &str) -> Result<KmsKey, String> {
        let mut parts = s.split('|');
        let head = parts.next().unwrap_or_default().trim();
        let (arn, role) = match head.split_once('+') {
            Some((a, r)) => (a.trim(), r.trim()),
            None => (head, ""),
        };
        let mut key = KmsKey {
            arn: arn.to_string(),
            role: role.to_string(),
            ..KmsKey::default()
        };
        region_of(&key.arn)?;
        for part in parts {
            if let Some(ctx) = part.strip_prefix("context=") {
                key.context = parse_context(ctx)?;
            } else if let Some(p) = part.strip_prefix("profile=") {
                key.aws_profile = p.to_string();
            }
        }
        Ok(key)
    }

    /// One string that names the key with its role, context and profile (how recipients are
    /// passed between commands): `ARN[+ROLE][|context=k:v,...][|profile=NAME]`.
    pub fn spec(&self) -> String {
        kms_spec(&self.arn, &self.role, &self.context, &self.aws_profile)
    }

    /// The key a stanza names.
    pub fn of_entry(entry: &KmsEntry) -> KmsKey {
        KmsKey {
            arn: entry.arn.clone(),
            role: entry.role.clone(),
            context: entry.context.clone(),
            aws_profile: entry.aws_profile.clone(),
        }
    }
}

/// `--encryption-context`: `key:value` pairs, comma-separated (as sops).
pub fn parse_context(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once(':')
            .ok_or_else(|| format!("encryption context {pair:?} is not key:value"))?;
        out.push((k.to_string(), v.to_string()));
    }
    out.sort();
    Ok(out)
}

/// Whether a recipient string names a KMS key.
pub fn is_arn(s: &str) -> bool {
    s.starts_with("arn:")
}

fn region_of(arn: &str) -> Result<String, String> {
    let fields: Vec<&str> = arn.split(':').collect();
    if fields.len() < 6 || fields[0] != "arn" || fields[2] != "kms" || fields[3].is_empty() {
        return Err(format!(
            "{arn:?} is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)"
        ));
    }
    Ok(fields[3].to_string())
}

/// Credentials: never printed, wiped on drop.
struct Credentials {
    access_key: Zeroizing<String>,
    secret_key: Zeroizing<String>,
    token: Option<Zeroizing<String>>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn home_file(var: &str, rel: &str) -> std::path::PathBuf {
    match env(var) {
        Some(p) => p.into(),
        None => std::path::Path::new(&env("HOME").unwrap_or_default()).join(rel),
    }
}

/// A profile's keys from the shared credentials file, else from the config file.
fn profile_credentials(profile: &str) -> Option<Credentials> {
    let sources = [
        (
            home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
            profile.to_string(),
        ),
        (
            home_file("AWS_CONFIG_FILE", ".aws/config"),
            if profile == "default" {
                "default".to_string()
            } else {
                format!("profile {profile}")
            },
        ),
    ];
    for (path, section) in sources {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let text = Zeroizing::new(text);
        let mut current = String::new();
        let (mut id, mut secret, mut token) = (None, None, None);
        for line in text.lines().map(str::trim) {
            if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                current = name.trim().to_string();
                continue;
            }
            if current != section {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                let v = Zeroizing::new(v.trim().to_string());
                match k.trim() {
                    "aws_access_key_id" => id = Some(v),
                    "aws_secret_access_key" => secret = Some(v),
                    "aws_session_token" => token = Some(v),
                    _ => {}
                }
            }
        }
        if let (Some(access_key), Some(secret_key)) = (id, secret) {
            return Some(Credentials {
                access_key,
                secret_key,
                token,
            });
        }
    }
    None
}

fn base_credentials(key: &KmsKey, region: &str) -> Result<Credentials, String> {
    if !key.aws_profile.is_empty() {
        return profile_credentials(&key.aws_profile).ok_or_else(|| {
            format!(
                "AWS profile {:?} has no keys in the shared credentials or config file",
                key.aws_profile
            )
        });
    }
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        return Ok(Credentials {
            access_key: Zeroizing::new(id),
            secret_key: Zeroizing::new(secret),
            token: env("AWS_SESSION_TOKEN").map(Zeroizing::new),
        });
    }
    if let (Some(file), Some(role)) = (env("AWS_WEB_IDENTITY_TOKEN_FILE"), env("AWS_ROLE_ARN")) {
        let token = Zeroizing::new(
            std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read AWS_WEB_IDENTITY_TOKEN_FILE {file}: {e}"))?,
        );
        return assume_role_with_web_identity(&role, token.trim(), region);
    }
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
    profile_credentials(&profile).ok_or_else(|| {
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN)".to_string()
    })
}

fn endpoint(service: &str, region: &str) -> String {
    let specific = format!("AWS_ENDPOINT_URL_{}", service.to_ascii_uppercase());
    env(&specific)
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .map(|e| e.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("https://{service}.{region}.amazonaws.com"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Signature Version 4 headers for a POST to `/` of `host`.
fn sign(
    creds: &Credentials,
    region: &str,
    service: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<(String, String)> {
    let stamp: String = crate::time::now_rfc3339()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let date = &stamp[..8];
    let mut all: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    all.push(("host".into(), host.to_string()));
    all.push(("x-amz-date".into(), stamp.clone()));
    if let Some(t) = &creds.token {
        all.push(("x-amz-security-token".into(), t.to_string()));
    }
    all.sort();
    let canonical_headers: String = all.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical = format!(
        "POST\n/\n\n{canonical_headers}\n{signed}\n{}",
        hex(&Sha256::digest(body))
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let k_secret = Zeroizing::new(format!("AWS4{}", creds.secret_key.as_str()));
    let k_date = Zeroizing::new(hmac(k_secret.as_bytes(), date));
    let k_region = Zeroizing::new(hmac(&k_date, region));
    let k_service = Zeroizing::new(hmac(&k_region, service));
    let k_signing = Zeroizing::new(hmac(&k_service, "aws4_request"));
    let signature = hex(&hmac(&k_signing, &to_sign));
    let mut out: Vec<(String, String)> = all.into_iter().filter(|(k, _)| k != "host").collect();
    out.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            creds.access_key.as_str()
        ),
    ));
    out
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// POST `body` to an AWS endpoint; the answer's body, or a reason (no secrets in it).
fn call(
    creds: Option<&Credentials>,
    service: &str,
    region: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Zeroizing<String>, String> {
    let url = endpoint(service, region);
    let (connect, total) = super::vault::timeouts();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(connect))
        .timeout_global(Some(total))
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.post(format!("{url}/"));
    let signed = match creds {
        Some(c) => sign(c, region, service, host_of(&url), headers, body),
        None => headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    for (k, v) in &signed {
        request = request.header(k.as_str(), v.as_str());
    }
    let response = request
        .send(body)
        .map_err(|e| super::vault::transport_error(&url, &e))?;
    let status = response.status().as_u16();
    let text = Zeroizing::new(
        response
            .into_body()
            .read_to_string()
            .map_err(|e| format!("{url}: {e}"))?,
    );
    if status == 200 {
        return Ok(text);
    }
    Err(aws_error(status, &text))
}

/// KMS's JSON error or STS's XML error, as a reason.
fn aws_error(status: u16, body: &str) -> String {
    let kind = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("__type").and_then(|t| t.as_str()).map(String::from))
        .or_else(|| xml_field(body, "Code"))
        .unwrap_or_default();
    let kind = kind.rsplit('#').next().unwrap_or_default().to_string();
    match kind.as_str() {
        "AccessDeniedException"
        | "AccessDenied"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "ExpiredTokenException" => {
            format!("access denied ({kind})")
        }
        "DisabledException" => "the key is disabled".into(),
        "NotFoundException" => "no such key".into(),
        "KMSInvalidStateException" => {
            "the key is not usable in its state (pending deletion?)".into()
        }
        "InvalidCiphertextException" => {
            "the key or encryption context does not match the stored data key".into()
        }
        "" => format!("the server answered HTTP {status}"),
        other => format!("the server answered HTTP {status}: {other}"),
    }
}

fn xml_field(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&close)? + start;
    Some(body[start..end].to_string())
}

fn form(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn sts_credentials(answer: &str) -> Result<Credentials, String> {
    let field = |n: &str| xml_field(answer, n).map(Zeroizing::new);
    match (field("AccessKeyId"), field("SecretAccessKey")) {
        (Some(access_key), Some(secret_key)) => Ok(Credentials {
            access_key,
            secret_key,
            token: field("SessionToken"),
        }),
        _ => Err("STS answered without credentials".into()),
    }
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

fn assume_role(creds: &Credentials, role: &str, region: &str) -> Result<Credentials, String> {
    let body = form(&[
        ("Action", "AssumeRole"),
        ("RoleArn", role),
        ("RoleSessionName", "sops@secrets"),
        ("Version", "2011-06-15"),
    ]);
    let answer = call(Some(creds), "sts", region, &[FORM], body.as_bytes())
        .map_err(|e| format!("cannot assume role {role}: {e}"))?;
    sts_credentials(&answer)
}

fn assume_role_with_web_identity(
    role: &str,
    token: &str,
    region: &str,
) -> Result<Credentials, String> {
    let session = env("AWS_ROLE_SESSION_NAME").unwrap_or_else(|| "sops@secrets".into());
    let body = Zeroizing::new(form(&[
        ("Action", "AssumeRoleWithWebIdentity"),
        ("RoleArn", role),
        ("RoleSessionName", &session),
        ("WebIdentityToken", token),
        ("Version", "2011-06-15"),
    ]));
    let answer = call(None, "sts", region, &[FORM], body.as_bytes())
        .map_err(|e| format!("web identity for role {role}: {e}"))?;
    sts_credentials(&answer)
}

fn credentials(key: &KmsKey, region: &str) -> Result<Credentials, String> {
    let base = base_credentials(key, region)?;
    if key.role.is_empty() {
        Ok(base)
    } else {
        assume_role(&base, &key.role, region)
    }
}

fn kms_call(key: &KmsKey, op: &str, body: serde_json::Value) -> Result<serde_json::Value, String> {
    let region = region_of(&key.arn)?;
    let creds = credentials(key, &region)?;
    let target = format!("TrentService.{op}");
    let payload = Zeroizing::new(body.to_string());
    let answer = call(
        Some(&creds),
        "kms",
        &region,
        &[
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", &target),
        ],
        payload.as_bytes(),
    )?;
    serde_json::from_str(&answer).map_err(|_| "the answer is not JSON".to_string())
}

fn context_json(key: &KmsKey) -> serde_json::Value {
    serde_json::Value::Object(
        key.context
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

/// Encrypt `secret` with the key; the base64 ciphertext blob sops stores in `enc`.
pub fn wrap(secret: &[u8], key: &KmsKey) -> Result<String, Error> {
    let fail = |message: String| Error::Wrap {
        recipient: key.arn.clone(),
        message,
    };
    let plaintext = Zeroizing::new(STANDARD.encode(secret));
    let mut body = serde_json::json!({ "KeyId": key.arn, "Plaintext": plaintext.as_str() });
    if !key.context.is_empty() {
        body["EncryptionContext"] = context_json(key);
    }
    let answer = kms_call(key, "Encrypt", body).map_err(fail)?;
    answer
        .get("CiphertextBlob")
        .and_then(|c| c.as_str())
        .map(String::from)
        .ok_or_else(|| fail("the answer has no CiphertextBlob".into()))
}

/// Decrypt a stored ciphertext blob.
pub fn unwrap(enc: &str, key: &KmsKey) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut body = serde_json::json!({ "CiphertextBlob": enc, "KeyId": key.arn });
    if !key.context.is_empty() {
        body["EncryptionContext"] = context_json(key);
    }
    let answer = kms_call(key, "Decrypt", body)?;
    let plaintext = answer
        .get("Plaintext")
        .and_then(|p| p.as_str())
        .ok_or("the answer has no Plaintext")?;
    STANDARD
        .decode(plaintext)
        .map(Zeroizing::new)
        .map_err(|_| "the answer's Plaintext is not base64".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn keys_parse_with_role_context_and_profile() {
        let k = KmsKey::parse(&format!("{ARN}+arn:aws:iam::123456789012:role/ops")).unwrap();
        assert_eq!(k.arn, ARN);
        assert_eq!(k.role, "arn:aws:iam::123456789012:role/ops");
        let full = KmsKey {
            context: parse_context("b:2,a:1").unwrap(),
            aws_profile: "dev".into(),
            ..k
        };
        assert_eq!(full.context[0], ("a".to_string(), "1".to_string()));
        assert_eq!(KmsKey::parse(&full.spec()).unwrap(), full);
        assert!(KmsKey::parse("arn:aws:s3:::bucket").is_err());
        assert_eq!(region_of(ARN).unwrap(), "eu-west-1");
    }

    /// AWS's published SigV4 example key derivation (IAM ListUsers, 2015-08-30).
    #[test]
    fn signing_key_matches_the_aws_example() {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), "20150830");
        let k_region = hmac(&k_date, "us-east-1");
        let k_service = hmac(&k_region, "iam");
        let k_signing = hmac(&k_service, "aws4_request");
        assert_eq!(
            hex(&k_signing),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn aws_errors_become_reasons() {
        assert_eq!(
            aws_error(400, r#"{"__type":"DisabledException","message":"x"}"#),
            "the key is disabled"
        );
        assert!(
            aws_error(400, r#"{"__type":"AccessDeniedException"}"#).starts_with("access denied")
        );
        assert_eq!(
            aws_error(400, r#"{"__type":"NotFoundException"}"#),
            "no such key"
        );
    }
}
