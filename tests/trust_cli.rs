//! The real binary: `peerreg trust …` manages the trust list; `peerreg demo`
//! tells the whole story and exits 0.

use std::process::Command;

const PEERREG: &str = env!("CARGO_BIN_EXE_peerreg");

fn peerreg(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(PEERREG).args(args).output().expect("run peerreg");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

fn key(origin: &str) -> String {
    peerreg::log::note::NoteSigner::from_seed(origin, [3; 32])
        .expect("a key")
        .verifier()
        .to_key_string()
}

#[test]
fn trust_add_list_remove_and_ack_through_the_binary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path");
    let ms_key = key("peerreg.local/ms");
    let add = [
        "trust",
        "add",
        "--data-dir",
        data,
        "--state",
        "ms",
        "--endpoint",
        "http://127.0.0.1:50051",
        "--key",
    ];
    let (ok, out, err) = peerreg(&[&add[..], &[ms_key.as_str()]].concat());
    assert!(ok, "{err}");
    assert!(out.contains("trusted states: MS"), "{out}");

    let (ok, _, err) = peerreg(&[&add[..], &[ms_key.as_str()]].concat());
    assert!(!ok, "a second entry for MS needs --replace");
    assert!(err.contains("ALREADY_EXISTS") && err.contains("--replace"), "{err}");

    let (ok, _, err) = peerreg(&[&add[..6], &["--endpoint", "127.0.0.1:1", "--key", &ms_key]].concat());
    assert!(!ok);
    assert!(err.contains("INVALID_ARGUMENT") && err.contains("http://"), "{err}");
    let (ok, _, err) = peerreg(&[&add[..], &["not-a-key", "--replace"]].concat());
    assert!(!ok);
    assert!(err.contains("not a verifier key"), "{err}");

    let (ok, out, _) = peerreg(&["trust", "list", "--data-dir", data]);
    assert!(ok);
    assert!(
        out.contains("MS  http://127.0.0.1:50051") && out.contains(&ms_key),
        "{out}"
    );

    let (ok, _, err) = peerreg(&["trust", "ack", "--data-dir", data, "--state", "MS"]);
    assert!(!ok, "nothing to acknowledge");
    assert!(err.contains("NOT_FOUND") && err.contains("no equivocation"), "{err}");

    let (ok, out, _) = peerreg(&["trust", "remove", "--data-dir", data, "--state", "MS"]);
    assert!(ok);
    assert!(out.contains("MS is no longer trusted"), "{out}");
    let (_, out, _) = peerreg(&["trust", "list", "--data-dir", data]);
    assert!(out.contains("no trusted states"), "{out}");
}

#[test]
fn the_demo_tells_the_story_and_exits_zero() {
    let (ok, out, err) = peerreg(&["demo", "--http", "127.0.0.1:0"]);
    assert!(ok, "{out}\n{err}");
    let steps = [
        "1. Mississippi certifies",
        "records the holder's consent",
        "consents to disclose their record to TN until",
        "as TX, a state MS does not trust: refused, UNAUTHENTICATED",
        "as TN, signing with its own key: refused, UNAUTHENTICATED",
        "Virginia, trusted but without the holder's consent",
        "refused, PERMISSION_DENIED",
        "CONDITIONAL",
        "policy: accept_credential_in_good_standing",
        "tn_orientation: Tennessee peer workforce orientation (3 h) required, no TN-ORIENT course found",
        "verified origin record of Alex Rivera",
        "exam",
        "no extra training",
        "APPROVED",
        "Tennessee grants by reciprocity",
        "TN-CPS-0001 — Alex Rivera: ACTIVE",
        "lists every disclosure",
        "consent to disclose to TN until",
        "disclosed MS-CPSS-0001 to TN on",
        "disclosed MS-CPSS-0001 to TN on",
        "MS-CPSS-0001 is SUSPENDED there",
        "consents to Virginia too",
        "DENIED",
        "is suspended",
    ];
    let mut rest = out.as_str();
    for step in steps {
        let at = rest
            .find(step)
            .unwrap_or_else(|| panic!("{step:?} missing (or out of order) in:\n{out}"));
        rest = &rest[at + step.len()..];
    }
    let listed = &out[out.find("lists every disclosure").expect("step 10")..out.find("11. ").expect("step 11")];
    assert_eq!(
        listed.matches("disclosed MS-CPSS-0001 to ").count(),
        2,
        "two evaluations by TN; the stranger's and Virginia's refused requests disclosed nothing:\n{listed}"
    );
    assert!(!listed.contains(" to VA ") && !listed.contains(" to TX "), "{listed}");
}
