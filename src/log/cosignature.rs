//! C2SP `tlog-cosignature/v1`: a witness's Ed25519 cosignature on a
//! checkpoint, the building block of witnessing (a state vouching that it saw
//! the same history as everyone else).
//!
//! - Signed message: `cosignature/v1\ntime <decimal seconds>\n` ‖ checkpoint body.
//! - Signature line bytes: key ID (4) ‖ u64 big-endian timestamp (8) ‖ Ed25519 signature (64).
//! - Key ID: first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key).
//! - Verifier key: `<name>+<8 hex key ID>+<base64(0x04 ‖ public key)>`.
//!
//! The cosigning key is never a log key: the algorithm byte 0x04 keeps the
//! two apart, and the signed message's first line keeps a cosignature from
//! ever verifying as a checkpoint signature.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use super::note::{
    check_key_name, parse_signature_line, split_note, typed_key_id, KeyId, NoteError, SIGNATURE_LINE_PREFIX,
};

/// The signature type of a `cosignature/v1` key (C2SP signed-note).
const ALGORITHM_COSIGNATURE_V1: u8 = 0x04;

/// Bytes after the key ID in a cosignature: timestamp and Ed25519 signature.
const TIMESTAMP_AND_SIGNATURE_BYTES: usize = 8 + 64;

/// The key ID of a cosigning key `public` named `name`.
pub fn key_id(name: &str, public: &VerifyingKey) -> KeyId {
    typed_key_id(name, ALGORITHM_COSIGNATURE_V1, public)
}

/// What a witness signs for `body` (a checkpoint body, ending in a newline) at `time`.
pub fn signed_message(time: u64, body: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{body}").into_bytes()
}

/// A witness's cosigning key.
pub struct Cosigner {
    name: String,
    key: SigningKey,
    id: KeyId,
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Cosigner {
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Cosigner, NoteError> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, &key.verifying_key());
        Ok(Cosigner {
            name: name.to_string(),
            key,
            id,
        })
    }

    /// A new cosigning key named `name`, from the system's randomness.
    pub fn generate(name: &str) -> Result<Cosigner, NoteError> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::getrandom(seed.as_mut())
            .map_err(|e| NoteError::MalformedKey(format!("no randomness for a new key: {e}")))?;
        Cosigner::from_seed(name, *seed)
    }

    /// The private key string, as kept in a 0600 file:
    /// `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x04 ‖ seed)>`.
    pub fn to_key_string(&self) -> String {
        let mut raw = zeroize::Zeroizing::new(vec![ALGORITHM_COSIGNATURE_V1]);
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex::encode(self.id),
            BASE64.encode(raw.as_slice())
        )
    }

    /// Parses [`Cosigner::to_key_string`]'s form; the key ID must match.
    pub fn parse(text: &str) -> Result<Cosigner, NoteError> {
        let bad = |why: &str| NoteError::MalformedKey(format!("a witness private key: {why}"));
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad("expected PRIVATE+KEY+..."))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(encoded)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected PRIVATE+KEY+<name>+<key ID>+<key>"));
        };
        let raw = zeroize::Zeroizing::new(BASE64.decode(encoded).map_err(|_| bad("not standard base64"))?);
        let Some((&ALGORITHM_COSIGNATURE_V1, seed)) = raw.split_first() else {
            return Err(bad("not a cosignature/v1 key (algorithm byte 0x04)"));
        };
        let seed: [u8; 32] = seed.try_into().map_err(|_| bad("an Ed25519 seed is 32 bytes"))?;
        let cosigner = Cosigner::from_seed(name, seed)?;
        if hex::encode(cosigner.id) != id_hex {
            return Err(bad("the key ID does not match the key"));
        }
        Ok(cosigner)
    }

    /// The verifier key string partners pin for this witness.
    pub fn verifier_key(&self) -> String {
        vkey(&self.name, self.id, &self.key.verifying_key())
    }

    /// The cosignature line (`— <name> <base64>`) on `body` at `time`.
    pub fn cosign(&self, body: &str, time: u64) -> String {
        let signature = self.key.sign(&signed_message(time, body));
        let mut raw = self.id.to_vec();
        raw.extend_from_slice(&time.to_be_bytes());
        raw.extend_from_slice(&signature.to_bytes());
        format!("{SIGNATURE_LINE_PREFIX}{} {}", self.name, BASE64.encode(raw))
    }
}

fn vkey(name: &str, id: KeyId, public: &VerifyingKey) -> String {
    let mut raw = vec![ALGORITHM_COSIGNATURE_V1];
    raw.extend_from_slice(public.as_bytes());
    format!("{name}+{}+{}", hex::encode(id), BASE64.encode(raw))
}

/// A witness's public cosigning key, as pinned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    id: KeyId,
    public: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses `<name>+<hex key ID>+<base64(0x04 ‖ public key)>`; the key ID
    /// must match the key.
    pub fn parse(text: &str) -> Result<CosignatureVerifier, NoteError> {
        let bad = |why: &str| NoteError::MalformedKey(format!("a witness key: {why}"));
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(encoded)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected <name>+<key ID>+<key>"));
        };
        check_key_name(name)?;
        let raw = BASE64
            .decode(encoded)
            .map_err(|_| bad("the key is not standard base64"))?;
        let Some((&ALGORITHM_COSIGNATURE_V1, material)) = raw.split_first() else {
            return Err(bad("only cosignature/v1 keys (algorithm byte 0x04) are witness keys"));
        };
        let bytes: [u8; 32] = material.try_into().map_err(|_| bad("an Ed25519 key is 32 bytes"))?;
        let public = VerifyingKey::from_bytes(&bytes).map_err(|_| bad("not an Ed25519 public key"))?;
        let id = key_id(name, &public);
        if hex::encode(id) != id_hex {
            return Err(bad("the key ID does not match the key"));
        }
        Ok(CosignatureVerifier {
            name: name.to_string(),
            id,
            public,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn to_key_string(&self) -> String {
        vkey(&self.name, self.id, &self.public)
    }

    /// Checks one cosignature line on `body`; answers the time it was made.
    pub fn verify(&self, body: &str, line: &str) -> Result<u64, NoteError> {
        let (name, id, rest) = parse_signature_line(line)?;
        if name != self.name || id != self.id {
            return Err(NoteError::NotSignedBy(self.to_key_string()));
        }
        let rest: [u8; TIMESTAMP_AND_SIGNATURE_BYTES] = rest.as_slice().try_into().map_err(|_| {
            NoteError::Malformed("a cosignature is key ID, an 8-byte time and a 64-byte signature".into())
        })?;
        let (time, signature) = rest.split_at(8);
        let time = u64::from_be_bytes(time.try_into().map_err(|_| NoteError::Malformed("time".into()))?);
        let signature = Signature::from_slice(signature).map_err(|_| NoteError::BadSignature(self.to_key_string()))?;
        self.public
            .verify_strict(&signed_message(time, body), &signature)
            .map_err(|_| NoteError::BadSignature(self.to_key_string()))?;
        Ok(time)
    }
}

/// The witnesses among `witnesses` whose valid cosignature on the note's body
/// `note` carries (each counted once, in `witnesses`' order). Lines by other
/// keys, and lines that fail, count for nothing: a relay can drop or garble a
/// cosignature, never forge one.
pub fn cosigned_by<'a>(note: &[u8], witnesses: &'a [CosignatureVerifier]) -> Result<Vec<&'a str>, NoteError> {
    let (body, signatures) = split_note(note)?;
    Ok(witnesses
        .iter()
        .filter(|w| signatures.lines().any(|line| w.verify(body, line).is_ok()))
        .map(|w| w.name())
        .collect())
}

/// How many of a set of pinned witnesses must have cosigned a checkpoint
/// before a reader takes it as witnessed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WitnessPolicy {
    pub witnesses: Vec<CosignatureVerifier>,
    pub quorum: usize,
}

/// A checkpoint that does not (yet) carry its policy's quorum.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not yet witnessed: cosigned by {have} of the {need} witnesses required ({names})")]
pub struct NotYetWitnessed {
    pub have: usize,
    pub need: usize,
    /// Who did cosign, comma-separated ("none" when nobody did).
    pub names: String,
}

impl WitnessPolicy {
    /// Parses `--witness` key strings and a quorum; a quorum larger than the
    /// witnesses named could never be met, so it is refused here.
    pub fn parse(keys: &[String], quorum: usize) -> Result<WitnessPolicy, NoteError> {
        let witnesses = keys
            .iter()
            .map(|k| CosignatureVerifier::parse(k))
            .collect::<Result<Vec<_>, _>>()?;
        if quorum > witnesses.len() {
            return Err(NoteError::MalformedKey(format!(
                "a witness quorum of {quorum} needs at least {quorum} witness keys; {} given",
                witnesses.len()
            )));
        }
        Ok(WitnessPolicy { witnesses, quorum })
    }

    /// Passes a note cosigned by at least `quorum` of the witnesses (any note
    /// when the quorum is 0); the caller has already checked the log's own
    /// signature.
    pub fn check(&self, note: &[u8]) -> Result<(), NotYetWitnessed> {
        if self.quorum == 0 {
            return Ok(());
        }
        let names = cosigned_by(note, &self.witnesses).unwrap_or_default();
        if names.len() >= self.quorum {
            return Ok(());
        }
        Err(NotYetWitnessed {
            have: names.len(),
            need: self.quorum,
            names: if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            },
        })
    }
}

/// `note` with `lines` (cosignature lines, without newlines) appended to its
/// signature block.
pub fn with_cosignatures(note: &[u8], lines: &[String]) -> Vec<u8> {
    let mut out = note.to_vec();
    for line in lines {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> serde_json::Value {
        crate::log::known_answers("c2sp_tlog_cosignature_v1")
    }

    #[test]
    fn the_generated_known_answer_is_reproduced_byte_for_byte() {
        let k = &known()["generated"];
        let seed: [u8; 32] = hex::decode(k["seed_hex"].as_str().expect("seed"))
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        let witness = Cosigner::from_seed("witness.example.com/w1", seed).expect("a witness");
        assert_eq!(witness.verifier_key(), k["vkey"].as_str().expect("vkey"));
        let (body, time) = (k["body"].as_str().expect("body"), k["time"].as_u64().expect("time"));
        assert_eq!(
            signed_message(time, body),
            k["signed_message"].as_str().expect("msg").as_bytes()
        );
        let line = witness.cosign(body, time);
        assert_eq!(line, k["cosignature_line"].as_str().expect("line"));
        let verifier = CosignatureVerifier::parse(&witness.verifier_key()).expect("parses");
        assert_eq!(verifier.verify(body, &line).expect("verifies"), time);
        let other = body.replace("20852163", "20852164");
        assert!(matches!(
            verifier.verify(&other, &line),
            Err(NoteError::BadSignature(_))
        ));
    }

    #[test]
    fn a_private_key_round_trips_and_a_wrong_id_is_refused() {
        let witness = Cosigner::generate("peerreg.local/ms/witness").expect("a key");
        let text = witness.to_key_string();
        let again = Cosigner::parse(&text).expect("parses");
        assert_eq!(again.verifier_key(), witness.verifier_key());
        let mut wrong = text.clone();
        let at = text.find("+0").map_or(0, |i| i);
        wrong.replace_range(at.., &text[at..].replacen('+', "+ff", 1));
        assert!(Cosigner::parse(&wrong).is_err());
        assert!(
            Cosigner::parse(&witness.verifier_key()).is_err(),
            "a public key is not a private key"
        );
    }

    #[test]
    fn a_quorum_counts_distinct_valid_cosignatures_of_pinned_witnesses() {
        let body = "peerreg.local/ms\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let note = format!("{body}\n\u{2014} peerreg.local/ms c2lnbmF0dXJl\n");
        let (a, b, c) = (
            Cosigner::from_seed("w/a", [1; 32]).expect("a"),
            Cosigner::from_seed("w/b", [2; 32]).expect("b"),
            Cosigner::from_seed("w/c", [3; 32]).expect("c"),
        );
        let keys = [a.verifier_key(), b.verifier_key(), c.verifier_key()];
        let policy = WitnessPolicy::parse(&keys, 2).expect("a policy");
        let once = with_cosignatures(note.as_bytes(), &[a.cosign(body, 5)]);
        let missing = policy.check(&once).expect_err("one of two");
        assert_eq!((missing.have, missing.need, missing.names.as_str()), (1, 2, "w/a"));
        let twice_a = with_cosignatures(&once, &[a.cosign(body, 6)]);
        assert!(policy.check(&twice_a).is_err(), "one witness twice is still one");
        let forged = with_cosignatures(&once, &[b.cosign("another body\n", 6)]);
        assert!(
            policy.check(&forged).is_err(),
            "a line over another body counts for nothing"
        );
        let stranger = Cosigner::from_seed("w/x", [9; 32]).expect("x");
        assert!(policy
            .check(&with_cosignatures(&once, &[stranger.cosign(body, 6)]))
            .is_err());
        assert_eq!(policy.check(&with_cosignatures(&once, &[c.cosign(body, 6)])), Ok(()));
        assert!(WitnessPolicy::parse(&keys[..1], 2).is_err(), "a quorum no set can meet");
        assert_eq!(WitnessPolicy::default().check(note.as_bytes()), Ok(()));
    }

    #[test]
    fn the_spec_example_has_the_published_structure() {
        let k = known();
        let note = k["spec_example_note"].as_str().expect("note");
        let line = note.lines().last().expect("the witness line");
        let (name, id, rest) = parse_signature_line(line).expect("a signature line");
        assert_eq!(name, "witness.example.com/w1");
        assert_eq!(
            hex::encode(id),
            k["spec_example_structure"]["key_id_hex"].as_str().expect("id")
        );
        assert_eq!(4 + rest.len(), 76);
        let time = u64::from_be_bytes(rest[..8].try_into().expect("8 bytes"));
        assert_eq!(time, k["spec_example_structure"]["timestamp"].as_u64().expect("time"));
    }

    #[test]
    fn a_log_key_is_not_a_witness_key() {
        let log = super::super::note::NoteSigner::from_seed("example.com/log", [7; 32]).expect("a log key");
        let refused = CosignatureVerifier::parse(&log.verifier().to_key_string());
        assert!(matches!(refused, Err(NoteError::MalformedKey(m)) if m.contains("0x04")));
    }
}
