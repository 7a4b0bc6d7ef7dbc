//! HashiCorp Vault / OpenBao transit engine, as sops's `hcvault` key source: the data key is
//! sent base64-encoded to `POST {address}/v1/{engine}/encrypt/{key}` and the `vault:v1:...`
//! ciphertext stored in `enc`; decryption is `POST .../decrypt/{key}`.
//!
//! Token: `VAULT_TOKEN`, else `~/.vault-token`; `VAULT_NAMESPACE` is sent as
//! `X-Vault-Namespace`. `SOPS_HC_VAULT_ALLOWLIST` (as sops 3.13, which added it): unset or
//! `all` allows every server, `none` none, anything else is a comma-separated list of address
//! prefixes. Every request times out: 5 s to connect, 15 s in all (`SECRETS_KEY_SERVICE_TIMEOUT`
//! sets the total, in seconds); the next key is tried then.
//! The token, the data key and the server's plaintext never appear in an error.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::Error;

/// Seconds to wait for a connection, and for a whole request.
pub const CONNECT_TIMEOUT_SECS: u64 = 5;
pub const TOTAL_TIMEOUT_SECS: u64 = 15;
/// Overrides the total timeout (seconds) of every key service request.
pub const TIMEOUT_ENV: &str = "SECRETS_KEY_SERVICE_TIMEOUT";

/// (connect, total) timeouts.
pub fn timeouts() -> (Duration, Duration) {
    let total = std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(TOTAL_TIMEOUT_SECS);
    (
        Duration::from_secs(CONNECT_TIMEOUT_SECS.min(total)),
        Duration::from_secs(total),
    )
}

/// A transit key: where it lives (sops's `vault_address`, `engine_path`, `key_name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransitKey {
    pub address: String,
    pub engine_path: String,
    pub key_name: String,
}

impl TransitKey {
    /// Parse `https://vault.example.com:8200/v1/transit/keys/NAME` (sops's
    /// `--hc-vault-transit`, `hc_vault_transit_uri:`).
    pub fn parse(uri: &str) -> Result<TransitKey, String> {
        let bad = |why: &str| format!("invalid Vault transit URI {uri:?}: {why}");
        let rest = uri
            .strip_prefix("https://")
            .or_else(|| uri.strip_prefix("http://"))
            .ok_or_else(|| bad("it must start with http:// or https://"))?;
        let scheme_len = uri.len() - rest.len();
        let slash = rest
            .find('/')
            .ok_or_else(|| bad("no /v1/ENGINE/keys/NAME path"))?;
        let address = &uri[..scheme_len + slash];
        let path = rest[slash..]
            .strip_prefix("/v1/")
            .ok_or_else(|| bad("the path must start with /v1/"))?;
        let (engine, name) = path
            .rsplit_once("/keys/")
            .ok_or_else(|| bad("the path must be /v1/ENGINE/keys/NAME"))?;
        let name = name.trim_end_matches('/');
        if engine.is_empty() || name.is_empty() || name.contains('/') {
            return Err(bad("the path must be /v1/ENGINE/keys/NAME"));
        }
        Ok(TransitKey {
            address: address.to_string(),
            engine_path: engine.to_string(),
            key_name: name.to_string(),
        })
    }

    /// The URI sops names the key by.
    pub fn uri(&self) -> String {
        format!(
            "{}/v1/{}/keys/{}",
            self.address, self.engine_path, self.key_name
        )
    }

    fn endpoint(&self, op: &str) -> String {
        format!(
            "{}/v1/{}/{op}/{}",
            self.address.trim_end_matches('/'),
            self.engine_path,
            self.key_name
        )
    }
}

/// Whether a recipient string names a transit key.
pub fn is_uri(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

fn allowed(address: &str) -> bool {
    match std::env::var("SOPS_HC_VAULT_ALLOWLIST") {
        Err(_) => true,
        Ok(list) if list.trim().is_empty() || list.trim() == "all" => true,
        Ok(list) if list.trim() == "none" => false,
        Ok(list) => list
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .any(|p| address.starts_with(p)),
    }
}

fn token() -> Result<Zeroizing<String>, String> {
    if let Some(t) = std::env::var("VAULT_TOKEN").ok().filter(|t| !t.is_empty()) {
        return Ok(Zeroizing::new(t));
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    let path = std::path::Path::new(&home).join(".vault-token");
    match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => Ok(Zeroizing::new(t.trim().to_string())),
        _ => Err("no Vault token: set VAULT_TOKEN or log in (~/.vault-token)".into()),
    }
}

/// POST a JSON body; the `data` object of the answer, or why it failed (no secrets in it).
fn post(key: &TransitKey, op: &str, body: &serde_json::Value) -> Result<Zeroizing<String>, String> {
    if !allowed(&key.address) {
        return Err(format!(
            "{} is not in SOPS_HC_VAULT_ALLOWLIST; not contacted",
            key.address
        ));
    }
    let token = token()?;
    let (connect, total) = timeouts();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(connect))
        .timeout_global(Some(total))
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent
        .post(key.endpoint(op))
        .header("X-Vault-Token", token.as_str())
        .header("Content-Type", "application/json");
    if let Some(ns) = std::env::var("VAULT_NAMESPACE")
        .ok()
        .filter(|n| !n.is_empty())
    {
        request = request.header("X-Vault-Namespace", ns);
    }
    let payload = Zeroizing::new(body.to_string());
    let response = request
        .send(payload.as_bytes())
        .map_err(|e| transport_error(&key.address, &e))?;
    let status = response.status().as_u16();
    let text = Zeroizing::new(
        response
            .into_body()
            .read_to_string()
            .map_err(|e| transport_error(&key.address, &e))?,
    );
    if status == 200 {
        return Ok(text);
    }
    Err(status_error(status, &text))
}

/// A key service that could not be reached, named by its address (also used by KMS).
pub(super) fn transport_error(address: &str, e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => {
            let (connect, total) = timeouts();
            format!(
                "{address} did not answer in time (connect {} s, total {} s)",
                connect.as_secs(),
                total.as_secs()
            )
        }
        ureq::Error::HostNotFound => format!("{address}: host not found"),
        ureq::Error::ConnectionFailed | ureq::Error::Io(_) => {
            format!("{address} is unreachable (connection failed)")
        }
        other => format!("{address}: {other}"),
    }
}

/// The server's reason. Vault's `errors` strings name keys and paths, never the token.
fn status_error(status: u16, body: &str) -> String {
    let reasons: Vec<String> = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("errors").cloned())
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let reason = reasons.join("; ");
    let lower = reason.to_ascii_lowercase();
    match status {
        403 => "access denied (the token is wrong, expired or not allowed this key)".into(),
        _ if lower.contains("not found") || lower.contains("no existing key") => {
            format!("no such key ({reason})")
        }
        _ if reason.is_empty() => format!("the server answered HTTP {status}"),
        _ => format!("the server answered HTTP {status}: {reason}"),
    }
}

/// Wrap `secret` with the transit key; the `vault:v1:...` ciphertext.
pub fn wrap(secret: &[u8], key: &TransitKey) -> Result<String, Error> {
    let fail = |message: String| Error::Wrap {
        recipient: key.uri(),
        message,
    };
    let plaintext = Zeroizing::new(STANDARD.encode(secret));
    let body = serde_json::json!({ "plaintext": plaintext.as_str() });
    let answer = post(key, "encrypt", &body).map_err(fail)?;
    let value: serde_json::Value =
        serde_json::from_str(&answer).map_err(|_| fail("the answer is not JSON".into()))?;
    value
        .pointer("/data/ciphertext")
        .and_then(|c| c.as_str())
        .map(String::from)
        .ok_or_else(|| fail("the answer has no data.ciphertext".into()))
}

/// Unwrap a transit ciphertext.
pub fn unwrap(enc: &str, key: &TransitKey) -> Result<Zeroizing<Vec<u8>>, String> {
    let body = serde_json::json!({ "ciphertext": enc });
    let answer = post(key, "decrypt", &body)?;
    let value: serde_json::Value =
        serde_json::from_str(&answer).map_err(|_| "the answer is not JSON".to_string())?;
    let plaintext = value
        .pointer("/data/plaintext")
        .and_then(|c| c.as_str())
        .ok_or("the answer has no data.plaintext")?;
    let bytes = STANDARD
        .decode(plaintext)
        .map_err(|_| "the answer's plaintext is not base64".to_string())?;
    Ok(Zeroizing::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_as_sops_does() {
        let k = TransitKey::parse("https://vault.example.com:8200/v1/sops/keys/first").unwrap();
        assert_eq!(k.address, "https://vault.example.com:8200");
        assert_eq!(k.engine_path, "sops");
        assert_eq!(k.key_name, "first");
        assert_eq!(k.uri(), "https://vault.example.com:8200/v1/sops/keys/first");
        let nested = TransitKey::parse("http://127.0.0.1:8200/v1/team/transit/keys/k").unwrap();
        assert_eq!(nested.engine_path, "team/transit");
        assert!(TransitKey::parse("https://vault/v1/keys").is_err());
        assert!(TransitKey::parse("vault.example.com/v1/transit/keys/k").is_err());
    }

    #[test]
    fn server_errors_become_reasons() {
        assert!(
            status_error(403, "{\"errors\":[\"permission denied\"]}").contains("access denied")
        );
        assert!(
            status_error(400, "{\"errors\":[\"encryption key not found\"]}")
                .starts_with("no such key")
        );
    }
}
