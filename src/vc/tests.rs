//! Known answers: the W3C vc-di-eddsa `eddsa-jcs-2022` test vectors and the
//! Bitstring Status List spec's example, from tests/data/wave2-known-answers.json,
//! reproduced byte for byte; then our own documents round trip and refuse
//! tampering.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::bitstring::{Bitstring, MIN_ENTRIES};
use super::credential::{self, IssuerRef, Purpose, StatusEntry};
use super::multibase;
use super::proof::{self, ProofOptions, ASSERTION_METHOD};
use super::IssuerKey;
use crate::error::Error;
use crate::pb;

fn known(key: &str) -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/wave2-known-answers.json"
    ))
    .expect("the known answers");
    let all: Value = serde_json::from_str(&text).expect("JSON");
    all[key].clone()
}

fn text(value: &Value) -> &str {
    value.as_str().expect("a string")
}

#[test]
fn the_w3c_eddsa_jcs_2022_vector_is_reproduced_byte_for_byte() {
    let k = known("w3c_eddsa_jcs_2022");
    let key = multibase::parse_private_multikey(text(&k["key_pair"]["privateKeyMultibase"])).expect("key");
    assert_eq!(
        multibase::public_multikey(&key.verifying_key()),
        text(&k["key_pair"]["publicKeyMultibase"])
    );
    let unsigned = &k["unsigned"];
    let config = &k["proof_config"];
    let options = ProofOptions {
        verification_method: text(&config["verificationMethod"]),
        created: text(&config["created"]),
        proof_purpose: text(&config["proofPurpose"]),
    };
    let made = proof::proof_config(unsigned, &options).expect("config");
    assert_eq!(&made, config);
    assert_eq!(
        proof::canonical(unsigned).expect("JCS"),
        text(&k["canonical_document"]).as_bytes()
    );
    assert_eq!(
        proof::canonical(&made).expect("JCS"),
        text(&k["canonical_proof_config"]).as_bytes()
    );
    let document_hash = Sha256::digest(text(&k["canonical_document"]));
    assert_eq!(hex::encode(document_hash), text(&k["document_hash_hex"]));
    let hash = proof::hash_data(unsigned, &made).expect("hash");
    assert_eq!(
        hex::encode(hash),
        text(&k["combined_hash_hex (proof config hash first, then document hash)"])
    );
    let signed = proof::add_proof(unsigned, &key, &options).expect("signs");
    assert_eq!(text(&signed["proof"]["proofValue"]), text(&k["proof_value"]));
    let signature = multibase::from_base58btc("proofValue", text(&k["proof_value"])).expect("base58");
    assert_eq!(hex::encode(signature), text(&k["signature_hex"]));
    assert_eq!(signed, k["signed"]);
    let verified = proof::verify_proof(&k["signed"], ASSERTION_METHOD).expect("the vector verifies");
    assert_eq!(verified.key, key.verifying_key());
}

#[test]
fn the_w3c_vector_refuses_any_change() {
    let signed = known("w3c_eddsa_jcs_2022")["signed"].clone();
    let mut altered = signed.clone();
    altered["credentialSubject"]["alumniOf"] = "Another School".into();
    assert!(matches!(
        proof::verify_proof(&altered, ASSERTION_METHOD),
        Err(Error::DataLoss(_))
    ));
    let mut context = signed.clone();
    context["proof"]["@context"] = json!(["https://example.org/other"]);
    assert!(proof::verify_proof(&context, ASSERTION_METHOD).is_err());
    let mut purpose = signed.clone();
    purpose["proof"]["proofPurpose"] = "authentication".into();
    assert!(proof::verify_proof(&purpose, ASSERTION_METHOD).is_err());
    let mut suite = signed;
    suite["proof"]["cryptosuite"] = "eddsa-rdfc-2022".into();
    assert!(matches!(
        proof::verify_proof(&suite, ASSERTION_METHOD),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn the_status_list_example_is_reproduced_byte_for_byte() {
    let k = known("w3c_bitstring_status_list_example");
    let encoded = text(&k["credential"]["credentialSubject"]["encodedList"]);
    let list = Bitstring::decode(encoded).expect("the example decodes");
    let entries = k["entries"].as_u64().expect("a count") as usize;
    assert_eq!(list.len(), entries);
    let set: Vec<usize> = (0..list.len()).filter(|i| list.get(*i).expect("in range")).collect();
    let expected: Vec<usize> = k["set_indexes"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| i.as_u64().expect("an index") as usize)
        .collect();
    assert_eq!(set, expected);
    let fresh = Bitstring::new(entries).expect("a list");
    assert_eq!(fresh.encode().expect("encodes"), encoded);
}

fn check() -> pb::CredentialCheck {
    pb::CredentialCheck {
        state: "MS".into(),
        credential_number: "MS-1".into(),
        legal_name: "Ada Lovelace".into(),
        credential_type: pb::CredentialType::PeerSupportSpecialist as i32,
        status: pb::CredentialStatus::Active as i32,
        as_of: "2026-01-02".into(),
        issued_on: "2025-01-01".into(),
        expires_on: "2027-01-01".into(),
        discipline: Vec::new(),
        log_size: 7,
        ..Default::default()
    }
}

#[test]
fn a_credential_and_its_status_list_verify_and_refuse_tampering() {
    let key = IssuerKey::from_seed([9; 32]);
    let did = key.did();
    let issuer = IssuerRef {
        did: &did,
        name: "MS board",
    };
    let url = "http://127.0.0.1:8080/status-list/suspension";
    let entry = StatusEntry {
        purpose: Purpose::Suspension,
        index: 4242,
        list_url: url.into(),
    };
    let now = chrono::Utc::now();
    let vc = key
        .sign(
            &credential::credential_document(&check(), &issuer, std::slice::from_ref(&entry)),
            now,
        )
        .expect("signs");
    let checked = credential::check_credential(&vc).expect("verifies");
    assert_eq!(checked.issuer, did);
    assert_eq!(checked.status_entries, vec![entry.clone()]);
    assert_eq!(checked.subject["legal_name"], "Ada Lovelace");
    let mut tampered = vc.clone();
    tampered["credentialSubject"]["status"] = "CREDENTIAL_STATUS_REVOKED".into();
    assert!(matches!(
        credential::check_credential(&tampered),
        Err(Error::DataLoss(_))
    ));
    let mut other_issuer = vc.clone();
    other_issuer["issuer"]["id"] = IssuerKey::from_seed([1; 32]).did().into();
    assert!(credential::check_credential(&other_issuer).is_err());

    let mut bits = Bitstring::new(MIN_ENTRIES).expect("a list");
    bits.set(4242).expect("in range");
    let list = credential::status_list_document(
        Purpose::Suspension,
        url,
        &issuer,
        &bits,
        now,
        now + chrono::Duration::hours(1),
    )
    .expect("a list");
    let list = key.sign(&list, now).expect("signs");
    assert!(credential::status_bit(&list, &entry, &did, now).expect("reads"));
    let unset = StatusEntry {
        index: 4243,
        ..entry.clone()
    };
    assert!(!credential::status_bit(&list, &unset, &did, now).expect("reads"));
    let revocation = StatusEntry {
        purpose: Purpose::Revocation,
        ..entry.clone()
    };
    assert!(credential::status_bit(&list, &revocation, &did, now).is_err());
    let later = now + chrono::Duration::hours(2);
    assert!(matches!(
        credential::status_bit(&list, &entry, &did, later),
        Err(Error::FailedPrecondition(_))
    ));
    let stranger = IssuerKey::from_seed([1; 32]).did();
    assert!(credential::status_bit(&list, &entry, &stranger, now).is_err());
}
