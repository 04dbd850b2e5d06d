//! Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (W3C
//! vc-di-eddsa §3.3): the document and the proof configuration are each
//! canonicalized with the JSON Canonicalization Scheme (RFC 8785), hashed with
//! SHA-256, and Ed25519 signs `SHA-256(proof config) ‖ SHA-256(document)`;
//! `proofValue` is the signature in multibase base58btc. The proof
//! configuration carries the document's `@context`, as the suite requires.
//!
//! Only what a verifier can check offline is accepted: one proof (not a set or
//! chain), type `DataIntegrityProof`, this cryptosuite, and a `did:key`
//! verification method (the key is in the method itself).

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::multibase;
use crate::error::{Error, Result};

pub const PROOF_TYPE: &str = "DataIntegrityProof";
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
/// The purpose of a credential's proof: the issuer asserts its claims.
pub const ASSERTION_METHOD: &str = "assertionMethod";

/// What a new proof says besides its signature.
pub struct ProofOptions<'a> {
    /// `did:key:z6Mk…#z6Mk…` of the signing key.
    pub verification_method: &'a str,
    /// When the proof was made, an XML Schema dateTime (`2023-02-24T23:36:38Z`).
    pub created: &'a str,
    pub proof_purpose: &'a str,
}

/// What a verified proof established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub verification_method: String,
    pub key: VerifyingKey,
    pub created: Option<String>,
}

/// `value` canonicalized by the JSON Canonicalization Scheme (RFC 8785).
pub fn canonical(value: &Value) -> Result<Vec<u8>> {
    serde_json_canonicalizer::to_vec(value)
        .map_err(|e| Error::InvalidArgument(format!("the document cannot be canonicalized: {e}")))
}

fn object<'a>(what: &str, value: &'a Value) -> Result<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| Error::InvalidArgument(format!("{what} is not a JSON object")))
}

/// The unsigned proof configuration for `document` (the suite's "proof
/// configuration" algorithm).
pub fn proof_config(document: &Value, options: &ProofOptions) -> Result<Value> {
    let document = object("the document", document)?;
    let mut config = Map::new();
    config.insert("type".into(), PROOF_TYPE.into());
    config.insert("cryptosuite".into(), CRYPTOSUITE.into());
    config.insert("created".into(), options.created.into());
    config.insert("verificationMethod".into(), options.verification_method.into());
    config.insert("proofPurpose".into(), options.proof_purpose.into());
    if let Some(context) = document.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    Ok(Value::Object(config))
}

/// `SHA-256(canonical proof config) ‖ SHA-256(canonical document)`: the bytes
/// Ed25519 signs.
pub fn hash_data(document: &Value, proof_config: &Value) -> Result<[u8; 64]> {
    let mut data = [0u8; 64];
    data[..32].copy_from_slice(&Sha256::digest(canonical(proof_config)?));
    data[32..].copy_from_slice(&Sha256::digest(canonical(document)?));
    Ok(data)
}

/// `document` (which must hold no proof yet) with an `eddsa-jcs-2022` proof by `key`.
pub fn add_proof(document: &Value, key: &SigningKey, options: &ProofOptions) -> Result<Value> {
    if object("the document", document)?.contains_key("proof") {
        return Err(Error::InvalidArgument("the document already holds a proof".into()));
    }
    let config = proof_config(document, options)?;
    let signature = key.sign(&hash_data(document, &config)?);
    let mut proof = config;
    if let Value::Object(proof) = &mut proof {
        proof.insert("proofValue".into(), multibase::base58btc(&signature.to_bytes()).into());
    }
    let mut secured = document.clone();
    if let Value::Object(secured) = &mut secured {
        secured.insert("proof".into(), proof);
    }
    Ok(secured)
}

fn refused(why: String) -> Error {
    Error::DataLoss(format!("the proof does not verify: {why}"))
}

fn text<'a>(proof: &'a Map<String, Value>, field: &str) -> Result<&'a str> {
    proof
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::InvalidArgument(format!("the proof has no text field {field:?}")))
}

/// Checks the single `eddsa-jcs-2022` proof of `secured` for `purpose`.
/// Malformed input is `INVALID_ARGUMENT`; a well-formed proof that does not
/// verify (an altered document, another key) is `DATA_LOSS`.
pub fn verify_proof(secured: &Value, purpose: &str) -> Result<Verified> {
    let secured_object = object("the document", secured)?;
    let proof = match secured_object.get("proof") {
        None => return Err(Error::InvalidArgument("the document holds no proof".into())),
        Some(Value::Object(proof)) => proof,
        Some(_) => {
            return Err(Error::InvalidArgument(
                "the document's proof is not a single proof object (sets and chains are not supported)".into(),
            ))
        }
    };
    for (field, expected) in [
        ("type", PROOF_TYPE),
        ("cryptosuite", CRYPTOSUITE),
        ("proofPurpose", purpose),
    ] {
        let found = text(proof, field)?;
        if found != expected {
            return Err(Error::InvalidArgument(format!(
                "the proof's {field} is {}, expected {expected}",
                crate::domain::fact::quote(found)
            )));
        }
    }
    let method = text(proof, "verificationMethod")?;
    let key = multibase::key_of_verification_method(method)?;
    let signature: [u8; 64] = multibase::from_base58btc("the proofValue", text(proof, "proofValue")?)?
        .try_into()
        .map_err(|_| Error::InvalidArgument("the proofValue is not a 64-byte Ed25519 signature".into()))?;
    let mut options = proof.clone();
    options.remove("proofValue");
    if let Some(context) = options.get("@context") {
        check_context(context, secured_object.get("@context"))?;
    }
    let mut unsecured = secured_object.clone();
    unsecured.remove("proof");
    let data = hash_data(&Value::Object(unsecured), &Value::Object(options))?;
    key.verify_strict(&data, &ed25519_dalek::Signature::from_bytes(&signature))
        .map_err(|_| refused("the signature does not match the document and the key its method names".into()))?;
    Ok(Verified {
        verification_method: method.to_string(),
        key,
        created: proof.get("created").and_then(Value::as_str).map(str::to_string),
    })
}

/// The suite's rule: the document's `@context` starts with every value of the
/// proof's `@context`, in the same order.
fn check_context(proof_context: &Value, document_context: Option<&Value>) -> Result<()> {
    let as_list = |value: &Value| match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let proof_context = as_list(proof_context);
    let document_context = document_context.map(as_list).unwrap_or_default();
    if document_context.starts_with(&proof_context) {
        Ok(())
    } else {
        Err(refused(
            "the document's @context does not start with the proof's".into(),
        ))
    }
}
