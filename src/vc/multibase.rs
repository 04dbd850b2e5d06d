//! Multibase strings and Ed25519 multikeys, as Data Integrity and `did:key`
//! write them: base58btc (`z` prefix) for keys and proof values, base64url
//! without padding (`u` prefix) for a status list's `encodedList`.
//!
//! An Ed25519 public multikey is `z` + base58btc(0xed 0x01 ‖ 32-byte key)
//! (`z6Mk…`), a private one `z` + base58btc(0x80 0x26 ‖ 32-byte seed)
//! (`z3u2…`): the multicodec varints of `ed25519-pub` (0xed) and
//! `ed25519-priv` (0x1300). A `did:key` is `did:key:` + the public multikey,
//! and its verification method is that DID + `#` + the same multikey.

use base64::Engine;

use crate::error::{Error, Result};

/// Multicodec varint of `ed25519-pub`.
const ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// Multicodec varint of `ed25519-priv`.
const ED25519_PRIV: [u8; 2] = [0x80, 0x26];

/// `z` + base58btc of `bytes`.
pub fn base58btc(bytes: &[u8]) -> String {
    format!("z{}", bs58::encode(bytes).into_string())
}

/// The bytes of a `z`-prefixed base58btc multibase string; `what` names it in errors.
pub fn from_base58btc(what: &str, text: &str) -> Result<Vec<u8>> {
    let Some(body) = text.strip_prefix('z') else {
        return Err(Error::InvalidArgument(format!(
            "{what} is not multibase base58btc (it must start with 'z')"
        )));
    };
    bs58::decode(body)
        .into_vec()
        .map_err(|e| Error::InvalidArgument(format!("{what} is not valid base58btc: {e}")))
}

/// `u` + base64url (no padding) of `bytes`.
pub fn base64url(bytes: &[u8]) -> String {
    format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The bytes of a `u`-prefixed base64url (no padding) multibase string.
pub fn from_base64url(what: &str, text: &str) -> Result<Vec<u8>> {
    let Some(body) = text.strip_prefix('u') else {
        return Err(Error::InvalidArgument(format!(
            "{what} is not multibase base64url (it must start with 'u')"
        )));
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|e| Error::InvalidArgument(format!("{what} is not valid base64url without padding: {e}")))
}

/// An Ed25519 public key as a multikey (`z6Mk…`).
pub fn public_multikey(key: &ed25519_dalek::VerifyingKey) -> String {
    base58btc(&[&ED25519_PUB[..], key.as_bytes()].concat())
}

/// An Ed25519 signing key's seed as a private multikey (`z3u2…`).
pub fn private_multikey(key: &ed25519_dalek::SigningKey) -> String {
    base58btc(&[&ED25519_PRIV[..], &key.to_bytes()[..]].concat())
}

/// The 32 bytes after `prefix` in the multikey `text`.
fn multikey_bytes(what: &str, text: &str, prefix: [u8; 2]) -> Result<[u8; 32]> {
    let bytes = from_base58btc(what, text)?;
    bytes
        .strip_prefix(&prefix[..])
        .and_then(|key| <[u8; 32]>::try_from(key).ok())
        .ok_or_else(|| Error::InvalidArgument(format!("{what} is not an Ed25519 multikey")))
}

/// Reads a public multikey (`z6Mk…`).
pub fn parse_public_multikey(text: &str) -> Result<ed25519_dalek::VerifyingKey> {
    let bytes = multikey_bytes("the public key", text, ED25519_PUB)?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|e| Error::InvalidArgument(format!("the public key is not a valid Ed25519 key: {e}")))
}

/// Reads a private multikey (`z3u2…`).
pub fn parse_private_multikey(text: &str) -> Result<ed25519_dalek::SigningKey> {
    let seed = zeroize::Zeroizing::new(multikey_bytes("the private key", text, ED25519_PRIV)?);
    Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
}

/// The `did:key` of an Ed25519 public key.
pub fn did_key(key: &ed25519_dalek::VerifyingKey) -> String {
    format!("did:key:{}", public_multikey(key))
}

/// The verification method of a `did:key`: the DID, `#`, its multikey.
pub fn verification_method(key: &ed25519_dalek::VerifyingKey) -> String {
    let multikey = public_multikey(key);
    format!("did:key:{multikey}#{multikey}")
}

/// The public key a `did:key` verification method names. Only this form is
/// accepted (`did:key:z6Mk…#z6Mk…`, the same key twice): a verifier resolves
/// nothing over the network.
pub fn key_of_verification_method(method: &str) -> Result<ed25519_dalek::VerifyingKey> {
    let refused = || {
        Error::InvalidArgument(format!(
            "verification method {} is not a did:key Ed25519 method (did:key:z6Mk…#z6Mk…)",
            crate::domain::fact::quote(method)
        ))
    };
    let rest = method.strip_prefix("did:key:").ok_or_else(refused)?;
    let (did, fragment) = rest.split_once('#').ok_or_else(refused)?;
    if did != fragment {
        return Err(refused());
    }
    parse_public_multikey(did).map_err(|_| refused())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_goes_round_trip_through_its_multikeys() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let public = public_multikey(&key.verifying_key());
        assert!(public.starts_with("z6Mk"), "{public}");
        assert!(private_multikey(&key).starts_with("z3u2"));
        assert_eq!(parse_public_multikey(&public).expect("reads"), key.verifying_key());
        assert_eq!(
            parse_private_multikey(&private_multikey(&key))
                .expect("reads")
                .to_bytes(),
            key.to_bytes()
        );
        let method = verification_method(&key.verifying_key());
        assert_eq!(key_of_verification_method(&method).expect("reads"), key.verifying_key());
    }

    #[test]
    fn malformed_keys_and_methods_are_refused() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        let other = ed25519_dalek::SigningKey::from_bytes(&[8; 32]).verifying_key();
        let mixed = format!("{}#{}", did_key(&key), public_multikey(&other));
        for bad in [
            "did:web:example.com#key-1".to_string(),
            did_key(&key),
            mixed,
            "did:key:z123#z123".into(),
        ] {
            assert!(key_of_verification_method(&bad).is_err(), "{bad}");
        }
        assert!(from_base58btc("x", "u123").is_err());
        assert!(from_base64url("x", "z123").is_err());
        assert!(parse_private_multikey(&public_multikey(&key)).is_err());
    }
}
