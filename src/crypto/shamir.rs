//! Shamir's secret sharing of the data key across key groups, exactly as sops does it: HashiCorp
//! Vault's scheme over GF(2^8) with the AES polynomial (x^8+x^4+x^3+x+1), one random polynomial
//! per secret byte, and share i = the 32 evaluations at x = i+1 followed by x itself (sops uses
//! sequential x coordinates where Vault draws random ones). No crate implements this layout, and
//! files must be exchangeable with sops, so it is written here from the published scheme; field
//! arithmetic is constant-time (no tables, no data-dependent branches).

use rand::RngCore;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error(
        "a threshold must be at least 2 and at most the number of groups ({parts}); it is {threshold}"
    )]
    BadThreshold { threshold: usize, parts: usize },
    #[error("at most 255 key groups are possible")]
    TooManyParts,
    #[error("at least two shares are needed to recover the key")]
    TooFewShares,
    #[error("the shares do not fit together (different lengths or repeated groups)")]
    Inconsistent,
}

/// Multiplication in GF(2^8) mod x^8+x^4+x^3+x+1, in constant time.
fn mult(a: u8, b: u8) -> u8 {
    let mut r: u8 = 0;
    for i in (0..8).rev() {
        let bit = (b >> i) & 1;
        r = (0u8.wrapping_sub(bit) & a) ^ (0u8.wrapping_sub(r >> 7) & 0x1B) ^ r.wrapping_add(r);
    }
    r
}

/// The multiplicative inverse, a^254.
fn inverse(a: u8) -> u8 {
    let mut b = mult(a, a);
    let mut c = mult(a, b);
    b = mult(c, c);
    b = mult(b, b);
    c = mult(b, c);
    b = mult(b, b);
    b = mult(b, b);
    b = mult(b, c);
    b = mult(b, b);
    b = mult(a, b);
    mult(b, b)
}

/// a / b; 0 when a is 0 (selected in constant time). `b` is never 0 here.
fn div(a: u8, b: u8) -> u8 {
    let quotient = mult(a, inverse(b));
    u8::conditional_select(&quotient, &0, a.ct_eq(&0))
}

/// Split `secret` into `parts` shares, any `threshold` of which recover it.
pub fn split(
    secret: &[u8],
    parts: usize,
    threshold: usize,
) -> Result<Vec<Zeroizing<Vec<u8>>>, Error> {
    if parts > 255 {
        return Err(Error::TooManyParts);
    }
    if threshold < 2 || threshold > parts {
        return Err(Error::BadThreshold { threshold, parts });
    }
    let mut shares: Vec<Zeroizing<Vec<u8>>> = (0..parts)
        .map(|_| Zeroizing::new(vec![0u8; secret.len() + 1]))
        .collect();
    for (i, share) in shares.iter_mut().enumerate() {
        share[secret.len()] = (i + 1) as u8;
    }
    let mut coefficients = Zeroizing::new(vec![0u8; threshold]);
    for (idx, &byte) in secret.iter().enumerate() {
        coefficients[0] = byte;
        rand::rngs::OsRng.fill_bytes(&mut coefficients[1..]);
        for (i, share) in shares.iter_mut().enumerate() {
            let x = (i + 1) as u8;
            // Horner's rule, highest coefficient first.
            let mut y = coefficients[threshold - 1];
            for c in coefficients[..threshold - 1].iter().rev() {
                y = mult(y, x) ^ c;
            }
            share[idx] = y;
        }
    }
    Ok(shares)
}

/// Recover the secret from two or more shares (each = values ‖ x).
pub fn combine(shares: &[Zeroizing<Vec<u8>>]) -> Result<Zeroizing<Vec<u8>>, Error> {
    if shares.len() < 2 {
        return Err(Error::TooFewShares);
    }
    let len = shares[0].len();
    if len < 2 || shares.iter().any(|s| s.len() != len) {
        return Err(Error::Inconsistent);
    }
    let xs: Vec<u8> = shares.iter().map(|s| s[len - 1]).collect();
    for (i, x) in xs.iter().enumerate() {
        if xs[..i].contains(x) {
            return Err(Error::Inconsistent);
        }
    }
    let mut secret = Zeroizing::new(vec![0u8; len - 1]);
    for (idx, out) in secret.iter_mut().enumerate() {
        // Lagrange interpolation at x = 0.
        let mut result = 0u8;
        for (i, share) in shares.iter().enumerate() {
            let mut basis = 1u8;
            for (j, xj) in xs.iter().enumerate() {
                if i != j {
                    basis = mult(basis, div(*xj, xs[i] ^ xj));
                }
            }
            result ^= mult(share[idx], basis);
        }
        *out = result;
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn field_arithmetic_matches_the_aes_field() {
        assert_eq!(mult(0x57, 0x83), 0xC1); // FIPS-197 §4.2
        assert_eq!(mult(0x57, 0x13), 0xFE);
        for a in 1..=255u8 {
            assert_eq!(mult(a, inverse(a)), 1, "inverse of {a}");
        }
        assert_eq!(div(0, 7), 0);
    }

    #[test]
    fn shares_carry_sequential_x_coordinates() {
        let shares = split(&[42u8; 32], 3, 2).unwrap();
        let xs: Vec<u8> = shares.iter().map(|s| s[32]).collect();
        assert_eq!(xs, vec![1, 2, 3]);
        assert!(shares.iter().all(|s| s.len() == 33));
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert_eq!(
            split(&[1], 3, 1).unwrap_err(),
            Error::BadThreshold {
                threshold: 1,
                parts: 3
            }
        );
        assert_eq!(
            split(&[1], 2, 3).unwrap_err(),
            Error::BadThreshold {
                threshold: 3,
                parts: 2
            }
        );
        let one = split(&[1, 2], 2, 2).unwrap();
        assert_eq!(combine(&one[..1]).unwrap_err(), Error::TooFewShares);
        assert_eq!(
            combine(&[one[0].clone(), one[0].clone()]).unwrap_err(),
            Error::Inconsistent
        );
    }

    proptest! {
        #[test]
        fn any_threshold_subset_recovers_the_secret(secret in proptest::collection::vec(any::<u8>(), 1..40), parts in 2usize..6, pick in any::<u64>()) {
            let threshold = 2 + (pick as usize % (parts - 1));
            let shares = split(&secret, parts, threshold).unwrap();
            // A rotating window of `threshold` shares.
            let start = (pick >> 8) as usize % parts;
            let subset: Vec<_> = (0..threshold).map(|k| shares[(start + k) % parts].clone()).collect();
            prop_assert_eq!(&combine(&subset).unwrap()[..], &secret[..]);
            // Fewer shares give an unrelated value (checked on secrets long enough that a chance
            // match is negligible).
            if threshold > 2 && secret.len() >= 8 {
                let fewer: Vec<_> = subset[..threshold - 1].to_vec();
                prop_assert_ne!(&combine(&fewer).unwrap()[..], &secret[..]);
            }
        }
    }
}
