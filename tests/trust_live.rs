//! Trust changed on a running node through `peerreg trust add/remove/list
//! --node`: the follower starts and verifies the partner's log at once, stops
//! on removal, and bad input changes nothing. Offline editing is refused while
//! the node holds its directory.

mod common;

use common::{enroll_through_cli, peerreg_cli, start_binary_node, verified_by, wait_verified};

fn trust_file(data: &std::path::Path) -> Option<Vec<u8>> {
    std::fs::read(data.join("trust.toml")).ok()
}

#[tokio::test]
async fn trust_added_on_a_running_node_starts_its_follower_and_removal_stops_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ms_data, tn_data) = (dir.path().join("ms"), dir.path().join("tn"));
    let ms = start_binary_node("MS", &ms_data).await;
    let tn = start_binary_node("TN", &tn_data).await;
    let admin = ms.admin.clone().expect("MS's first admin token");
    let tn_admin = tn.admin.clone().expect("TN's first admin token");
    for peer in ["TN-P-1", "TN-P-2"] {
        let enrolled = enroll_through_cli(&tn.endpoint, &tn_admin, peer).await;
        assert!(enrolled.0, "{enrolled:?}");
    }
    assert_eq!(verified_by(&ms.endpoint, "TN").await, None, "MS trusts nobody yet");

    let add = |state: &'static str, key: String| {
        let endpoint = tn.endpoint.clone();
        let node = ms.endpoint.clone();
        move |token: String| async move {
            let args = [
                "trust",
                "add",
                "--node",
                &node,
                "--state",
                state,
                "--endpoint",
                &endpoint,
                "--key",
                &key,
            ];
            peerreg_cli(&args, &token).await
        }
    };

    // Added on the running node: its follower verifies TN's whole log.
    let added = add("tn", tn.verifier_key.clone())(admin.clone()).await;
    assert!(added.0, "{added:?}");
    assert!(added.1.contains("TN is trusted by the running node"), "{}", added.1);
    assert_eq!(
        wait_verified(&ms.endpoint, "TN", 2).await,
        2,
        "both of TN's entries verified"
    );
    let saved = trust_file(&ms_data).expect("trust.toml saved");
    assert!(String::from_utf8_lossy(&saved).contains(&tn.verifier_key));
    let listed = peerreg_cli(&["trust", "list", "--node", &ms.endpoint], &admin).await;
    assert!(
        listed.0 && listed.1.contains(&format!("TN  {}", tn.endpoint)),
        "{listed:?}"
    );

    // Newer entries keep being followed.
    let enrolled = enroll_through_cli(&tn.endpoint, &tn_admin, "TN-P-3").await;
    assert!(enrolled.0, "{enrolled:?}");
    assert_eq!(wait_verified(&ms.endpoint, "TN", 3).await, 3);

    // Offline editing is refused while the node holds its directory.
    let ms_dir = ms_data.to_str().expect("utf-8 path");
    let offline = peerreg_cli(&["trust", "remove", "--data-dir", ms_dir, "--state", "TN"], "").await;
    assert!(!offline.0, "{offline:?}");
    assert!(
        offline.2.contains("FAILED_PRECONDITION") && offline.2.contains("--node"),
        "{}",
        offline.2
    );

    // Bad input: the right status, and trust.toml unchanged.
    let clerk = peerreg_cli(
        &[
            "token",
            "add",
            "clerk",
            "--rights",
            "view_records",
            "--endpoint",
            &ms.endpoint,
        ],
        &admin,
    )
    .await;
    assert!(clerk.0, "{clerk:?}");
    let clerk = clerk
        .1
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .expect("a secret")
        .to_string();
    let refusals = [
        (
            add("ZZ", tn.verifier_key.clone())(admin.clone()).await,
            "INVALID_ARGUMENT",
        ),
        (add("VA", "not-a-key".into())(admin.clone()).await, "INVALID_ARGUMENT"),
        (
            add("VA", tn.verifier_key.clone())(admin.clone()).await,
            "ALREADY_EXISTS",
        ),
        (
            add("TN", tn.verifier_key.clone())(admin.clone()).await,
            "ALREADY_EXISTS",
        ),
        (
            add("MS", ms.verifier_key.clone())(admin.clone()).await,
            "INVALID_ARGUMENT",
        ),
        (
            add("VA", ms.verifier_key.clone())(clerk.clone()).await,
            "PERMISSION_DENIED",
        ),
    ];
    for (refused, code) in refusals {
        assert!(!refused.0, "{refused:?}");
        assert!(refused.2.contains(code), "expected {code}: {}", refused.2);
        assert_eq!(
            trust_file(&ms_data),
            Some(saved.clone()),
            "nothing changed: {}",
            refused.2
        );
    }
    let denied = peerreg_cli(&["trust", "remove", "--node", &ms.endpoint, "--state", "TN"], &clerk).await;
    assert!(!denied.0 && denied.2.contains("PERMISSION_DENIED"), "{denied:?}");
    assert_eq!(verified_by(&ms.endpoint, "TN").await, Some(3), "still followed");

    // Removed: no longer followed; what was verified stays on disk, set aside.
    let removed = peerreg_cli(&["trust", "remove", "--node", &ms.endpoint, "--state", "tn"], &admin).await;
    assert!(removed.0, "{removed:?}");
    assert!(
        removed.1.contains("TN is no longer trusted") && removed.1.contains("kept at"),
        "{}",
        removed.1
    );
    let kept = removed.1.split("kept at ").nth(1).expect("a path").trim();
    assert!(
        std::path::Path::new(kept).exists(),
        "the verified copy is kept at {kept}"
    );
    assert_eq!(verified_by(&ms.endpoint, "TN").await, None, "no follower for TN");
    let listed = peerreg_cli(&["trust", "list", "--node", &ms.endpoint], &admin).await;
    assert!(listed.0 && listed.1.contains("no trusted states"), "{listed:?}");
    let again = peerreg_cli(&["trust", "remove", "--node", &ms.endpoint, "--state", "TN"], &admin).await;
    assert!(!again.0 && again.2.contains("NOT_FOUND"), "{again:?}");

    // Trusted again: a fresh copy verifies TN's log from the start.
    let added = add("TN", tn.verifier_key.clone())(admin.clone()).await;
    assert!(added.0, "{added:?}");
    assert_eq!(wait_verified(&ms.endpoint, "TN", 3).await, 3);
}
