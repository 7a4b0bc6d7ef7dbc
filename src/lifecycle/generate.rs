//! New secret values drawn from a CSPRNG, held only in memory (`Zeroizing`).
//!
//! Characters are sampled with `Rng::gen_range(0..n)`, which is unbiased: rand's uniform
//! integer sampler rejects the draws that would make some results more likely than others
//! (Lemire's widening multiply with a rejection zone), unlike `random % n`. The tests check the
//! distribution with a chi-square bound that a `byte % n` sampler fails.

use rand::{CryptoRng, Rng, RngCore};
use zeroize::Zeroizing;

use crate::config::policy::{CharClass, Policy, SecretType};

/// What `generate` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GenType {
    Password,
    Token,
    Hex,
    Base64,
    Uuid,
    Age,
    SshEd25519,
    SshRsa,
}

impl GenType {
    pub const ALL: [GenType; 8] = [
        GenType::Password,
        GenType::Token,
        GenType::Hex,
        GenType::Base64,
        GenType::Uuid,
        GenType::Age,
        GenType::SshEd25519,
        GenType::SshRsa,
    ];

    pub fn name(self) -> &'static str {
        match self {
            GenType::Password => "password",
            GenType::Token => "token",
            GenType::Hex => "hex",
            GenType::Base64 => "base64",
            GenType::Uuid => "uuid",
            GenType::Age => "age",
            GenType::SshEd25519 => "ssh-ed25519",
            GenType::SshRsa => "ssh-rsa",
        }
    }

    pub fn from_name(name: &str) -> Option<GenType> {
        GenType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The generator for a policy's declared type, when `--type` is left out.
    pub fn for_policy(kind: SecretType) -> Option<GenType> {
        Some(match kind {
            SecretType::Password => GenType::Password,
            SecretType::ApiKey => GenType::Token,
            SecretType::AgeKey => GenType::Age,
            SecretType::SshKey => GenType::SshEd25519,
            SecretType::Certificate | SecretType::Custom => return None,
        })
    }

    /// Whether the type makes a key pair (a private and a public half).
    pub fn is_key_pair(self) -> bool {
        matches!(self, GenType::Age | GenType::SshEd25519 | GenType::SshRsa)
    }

    /// The default `--length`: characters (password, token), random bytes (hex, base64), bits
    /// (ssh-rsa).
    pub fn default_length(self) -> Option<usize> {
        match self {
            GenType::Password => Some(24),
            GenType::Token => Some(32),
            GenType::Hex | GenType::Base64 => Some(32),
            GenType::SshRsa => Some(3072),
            GenType::Uuid | GenType::Age | GenType::SshEd25519 => None,
        }
    }
}

/// Symbols in the default password alphabet: no quotes, backslash, `$`, `#` or space, so the
/// value survives shells, dotenv readers and YAML unquoted.
pub const SYMBOLS: &str = "!%*+-.:=@^_~";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";

/// The alphabet for a `--charset` list of class names (`lower,upper,digit,symbol`, `alnum`,
/// `hex`).
pub fn charset_from_names(spec: &str) -> Result<Vec<char>, String> {
    let mut out: Vec<char> = Vec::new();
    for name in spec.split(',').map(str::trim) {
        let part = match name {
            "lower" => LOWER.to_string(),
            "upper" => UPPER.to_string(),
            "digit" | "digits" => DIGITS.to_string(),
            "symbol" | "symbols" => SYMBOLS.to_string(),
            "alnum" => format!("{LOWER}{UPPER}{DIGITS}"),
            "hex" => "0123456789abcdef".to_string(),
            _ => {
                return Err(format!(
                    "unknown character class {name:?} in --charset (known: lower, upper, digit, symbol, alnum, hex); use --chars for literal characters"
                ));
            }
        };
        for c in part.chars() {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// The alphabet for `--chars`: the distinct characters given (at least two).
pub fn charset_from_literal(chars: &str) -> Result<Vec<char>, String> {
    let mut out: Vec<char> = Vec::new();
    for c in chars.chars() {
        if c.is_control() {
            return Err("--chars must not hold control characters".into());
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    if out.len() < 2 {
        return Err("--chars needs at least two distinct characters".into());
    }
    Ok(out)
}

/// `len` characters drawn uniformly and independently from `charset`.
pub fn sample<R: Rng + ?Sized>(rng: &mut R, charset: &[char], len: usize) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(len * 4));
    for _ in 0..len {
        out.push(charset[rng.gen_range(0..charset.len())]);
    }
    out
}

/// Options for one value.
#[derive(Clone, Debug, Default)]
pub struct GenOptions {
    pub length: Option<usize>,
    /// The alphabet for passwords and tokens (default: letters, digits and, for passwords,
    /// [`SYMBOLS`]).
    pub charset: Option<Vec<char>>,
    /// The comment of an SSH public key.
    pub comment: String,
}

/// A generated value, and the public half of a key pair.
pub struct Generated {
    pub value: Zeroizing<String>,
    pub public: Option<String>,
}

/// Most tries at a password that meets its policy's character classes before giving up (each
/// try is a fresh uniform draw, so the result is uniform over the passwords that qualify).
const MAX_TRIES: usize = 1_000;

/// Make a value of type `kind`. A password policy (`min_length`, `require`) is met: the length
/// is raised to `min_length`, and draws lacking a required class are drawn again.
pub fn generate<R: RngCore + CryptoRng>(
    rng: &mut R,
    kind: GenType,
    options: &GenOptions,
    policy: Option<&Policy>,
) -> Result<Generated, String> {
    let length = options.length.or(kind.default_length());
    if options.length.is_some() && kind.default_length().is_none() {
        return Err(format!("--length does not apply to type {}", kind.name()));
    }
    if options.charset.is_some() && !matches!(kind, GenType::Password | GenType::Token) {
        return Err(format!(
            "--charset and --chars apply to password and token only, not {}",
            kind.name()
        ));
    }
    let plain = |value| {
        Ok(Generated {
            value,
            public: None,
        })
    };
    match kind {
        GenType::Password | GenType::Token => {
            let default: Vec<char> = match kind {
                GenType::Password => format!("{LOWER}{UPPER}{DIGITS}{SYMBOLS}").chars().collect(),
                _ => format!("{LOWER}{UPPER}{DIGITS}").chars().collect(),
            };
            let charset = options.charset.clone().unwrap_or(default);
            let mut len = length.unwrap_or(0);
            let mut require: &[CharClass] = &[];
            if let Some(p) = policy.filter(|p| p.kind == Some(SecretType::Password)) {
                if let Some(min) = p.min_length {
                    if options.length.is_some_and(|l| l < min) {
                        return Err(format!(
                            "--length {len} is shorter than the policy's min_length {min} ({}:{})",
                            "secrets policy", p.line
                        ));
                    }
                    len = len.max(min);
                }
                require = &p.require;
            }
            if len == 0 {
                return Err("--length must be at least 1".into());
            }
            for class in require {
                if !charset.iter().any(|c| class.contains(*c)) {
                    return Err(format!(
                        "the policy requires a {} character, which the character set lacks",
                        class.name()
                    ));
                }
            }
            if require.len() > len {
                return Err(format!(
                    "--length {len} cannot hold the {} character classes the policy requires",
                    require.len()
                ));
            }
            for _ in 0..MAX_TRIES {
                let v = sample(rng, &charset, len);
                if require.iter().all(|c| v.chars().any(|ch| c.contains(ch))) {
                    return plain(v);
                }
            }
            Err("could not draw a password that meets the policy; raise --length".into())
        }
        GenType::Hex | GenType::Base64 => {
            let n = length.unwrap_or(32);
            if n == 0 {
                return Err("--length must be at least 1".into());
            }
            let mut bytes = Zeroizing::new(vec![0u8; n]);
            rng.fill_bytes(&mut bytes);
            let text = if kind == GenType::Hex {
                let mut s = Zeroizing::new(String::with_capacity(2 * n));
                for b in bytes.iter() {
                    s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
                    s.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
                }
                s
            } else {
                use base64::Engine;
                Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&bytes[..]))
            };
            plain(text)
        }
        GenType::Uuid => {
            let mut b = [0u8; 16];
            rng.fill_bytes(&mut b);
            b[6] = (b[6] & 0x0f) | 0x40; // version 4
            b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            let v = format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            );
            plain(Zeroizing::new(v))
        }
        GenType::Age => {
            use age::secrecy::ExposeSecret;
            let identity = age::x25519::Identity::generate();
            Ok(Generated {
                value: Zeroizing::new(identity.to_string().expose_secret().to_string()),
                public: Some(identity.to_public().to_string()),
            })
        }
        GenType::SshEd25519 | GenType::SshRsa => {
            let err = |e: ssh_key::Error| format!("cannot make the SSH key: {e}");
            let keypair = if kind == GenType::SshRsa {
                let bits = length.unwrap_or(3072);
                if !(2048..=16384).contains(&bits) {
                    return Err("ssh-rsa --length is in bits, from 2048 to 16384".into());
                }
                ssh_key::private::KeypairData::from(
                    ssh_key::private::RsaKeypair::random(rng, bits).map_err(err)?,
                )
            } else {
                ssh_key::private::KeypairData::from(ssh_key::private::Ed25519Keypair::random(rng))
            };
            let private =
                ssh_key::PrivateKey::new(keypair, options.comment.clone()).map_err(err)?;
            let value = private.to_openssh(ssh_key::LineEnding::LF).map_err(err)?;
            let public = private.public_key().to_openssh().map_err(err)?;
            Ok(Generated {
                value: Zeroizing::new(value.to_string()),
                public: Some(public),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// Pearson's chi-square statistic of `counts` against a uniform distribution.
    fn chi_square(counts: &[u64]) -> f64 {
        let total: u64 = counts.iter().sum();
        let expected = total as f64 / counts.len() as f64;
        counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum()
    }

    const DRAWS: usize = 620_000;
    /// For 61 degrees of freedom the statistic averages 61 (sd 11); 130 is beyond p = 1e-6.
    /// A `byte % 62` sampler gives about 14 000 on these draws.
    const BOUND: f64 = 130.0;

    fn alnum() -> Vec<char> {
        charset_from_names("alnum").unwrap()
    }

    #[test]
    fn charset_sampling_is_uniform_and_a_modulo_sampler_is_not() {
        let charset = alnum();
        assert_eq!(charset.len(), 62);
        let index = |c: char| charset.iter().position(|x| *x == c).unwrap();
        let mut rng = StdRng::seed_from_u64(20240601);
        let mut counts = vec![0u64; 62];
        for c in sample(&mut rng, &charset, DRAWS).chars() {
            counts[index(c)] += 1;
        }
        let ours = chi_square(&counts);
        assert!(ours < BOUND, "chi-square {ours}");

        // The same test on the classic mistake: a random byte modulo the alphabet's size.
        let mut biased = vec![0u64; 62];
        for _ in 0..DRAWS {
            biased[usize::from(rng.r#gen::<u8>()) % 62] += 1;
        }
        let theirs = chi_square(&biased);
        assert!(
            theirs > 10.0 * BOUND,
            "chi-square of the biased sampler {theirs}"
        );
    }

    #[test]
    fn small_alphabets_are_uniform_too() {
        // Three characters: 2^k is never a multiple of 3, so every modulo sampler is biased.
        let charset = ['a', 'b', 'c'];
        let mut rng = StdRng::seed_from_u64(7);
        let mut counts = [0u64; 3];
        for c in sample(&mut rng, &charset, 300_000).chars() {
            counts[(c as u8 - b'a') as usize] += 1;
        }
        // 2 degrees of freedom: p = 1e-6 at 27.6.
        assert!(chi_square(&counts) < 27.6, "{counts:?}");
    }

    fn policy(min_length: Option<usize>, require: Vec<CharClass>) -> Policy {
        let cfg = crate::config::Config::parse(
            "secrets:\n  - type: password\n",
            std::path::Path::new("/r/.sops.yaml"),
        )
        .unwrap();
        Policy {
            min_length,
            require,
            ..cfg.policies[0].clone()
        }
    }

    #[test]
    fn passwords_meet_their_policy() {
        let mut rng = rand::rngs::OsRng;
        let p = policy(Some(40), CharClass::ALL.to_vec());
        for _ in 0..50 {
            let g = generate(
                &mut rng,
                GenType::Password,
                &GenOptions::default(),
                Some(&p),
            )
            .unwrap();
            assert_eq!(g.value.chars().count(), 40);
            for class in CharClass::ALL {
                assert!(g.value.chars().any(|c| class.contains(c)), "{class:?}");
            }
        }
        let short = GenOptions {
            length: Some(8),
            ..Default::default()
        };
        assert!(generate(&mut rng, GenType::Password, &short, Some(&p)).is_err());
        let digits_only = GenOptions {
            charset: Some(charset_from_names("digit").unwrap()),
            ..Default::default()
        };
        let p = policy(None, vec![CharClass::Upper]);
        let err = generate(&mut rng, GenType::Password, &digits_only, Some(&p))
            .err()
            .unwrap();
        assert!(err.contains("upper"), "{err}");
    }

    #[test]
    fn every_type_has_its_shape() {
        let mut rng = rand::rngs::OsRng;
        let gen_ = |kind, length| {
            let o = GenOptions {
                length,
                comment: "deploy@ci".into(),
                ..Default::default()
            };
            generate(&mut rand::rngs::OsRng, kind, &o, None).unwrap()
        };
        let t = gen_(GenType::Token, None);
        assert!(t.value.len() == 32 && t.value.chars().all(|c| c.is_ascii_alphanumeric()));
        let h = gen_(GenType::Hex, Some(16));
        assert!(h.value.len() == 32 && h.value.chars().all(|c| c.is_ascii_hexdigit()));
        let b = gen_(GenType::Base64, None);
        assert_eq!(b.value.len(), 44);
        let u = gen_(GenType::Uuid, None);
        assert_eq!(u.value.len(), 36);
        assert_eq!(&u.value[14..15], "4");
        assert!("89ab".contains(&u.value[19..20]));
        let a = gen_(GenType::Age, None);
        assert!(a.value.starts_with("AGE-SECRET-KEY-1"));
        let id: age::x25519::Identity = a.value.parse().unwrap();
        assert_eq!(id.to_public().to_string(), a.public.unwrap());
        let s = gen_(GenType::SshEd25519, None);
        assert!(s.value.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        let public = s.public.unwrap();
        assert!(public.starts_with("ssh-ed25519 AAAA") && public.ends_with(" deploy@ci"));
        let parsed = ssh_key::PrivateKey::from_openssh(s.value.as_bytes()).unwrap();
        assert_eq!(parsed.public_key().to_openssh().unwrap(), public);
        let r = gen_(GenType::SshRsa, Some(2048));
        assert!(r.public.unwrap().starts_with("ssh-rsa AAAA"));
        // Two draws differ.
        assert_ne!(gen_(GenType::Token, None).value, t.value);
        // Options that do not apply are refused.
        let o = GenOptions {
            length: Some(3),
            ..Default::default()
        };
        assert!(generate(&mut rng, GenType::Uuid, &o, None).is_err());
        assert!(
            generate(
                &mut rng,
                GenType::SshRsa,
                &GenOptions {
                    length: Some(1024),
                    ..o
                },
                None
            )
            .is_err()
        );
    }
}
