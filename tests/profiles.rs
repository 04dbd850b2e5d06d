//! The example profiles as shipped on disk: every file in `profiles/` loads, is
//! valid, says it is an example, and is embedded in the binary, so that a new
//! file cannot be added to the folder and forgotten in the code (or the reverse).

use std::collections::BTreeMap;
use std::path::Path;

use peerreg::domain::profile::RequirementProfile;

#[test]
fn every_profile_file_loads_is_an_example_and_is_shipped() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let mut on_disk = BTreeMap::new();
    for item in std::fs::read_dir(&folder).expect("read profiles/") {
        let path = item.expect("a directory entry").path();
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        let history = peerreg::config::read_profile(&path).unwrap_or_else(|e| panic!("{e}"));
        for version in history.versions() {
            let profile = &version.profile;
            assert_eq!(profile.validate(&path.display().to_string()), Ok(()));
            assert!(profile.example, "{} must say example = true", path.display());
        }
        let name = path.file_name().and_then(|n| n.to_str()).expect("a UTF-8 file name");
        on_disk.insert(name.to_string(), std::fs::read_to_string(&path).expect("read profile"));
    }
    assert!(!on_disk.is_empty(), "no profiles in {}", folder.display());

    let shipped: BTreeMap<String, String> = RequirementProfile::shipped_examples()
        .into_iter()
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .collect();
    let names = |files: &BTreeMap<String, String>| files.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&shipped),
        names(&on_disk),
        "shipped_examples() and profiles/*.toml differ"
    );
    assert_eq!(shipped, on_disk, "an embedded example differs from its file");
}
