//! The benchmark harness runs end to end at a tiny size, so it cannot rot.
//! Speed is not asserted here (benchmarks are not timed tests); that every
//! scenario produced its rows with sane numbers is.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_runs_every_scenario_at_a_tiny_size() {
    let report = peerreg::bench::run(&peerreg::bench::Scale::tiny(), None)
        .await
        .expect("the harness runs");
    for scenario in [
        "commands", "checks", "mixed", "replay", "growth", "storage", "import", "register", "web",
    ] {
        assert!(
            report.rows.iter().any(|r| r.scenario.contains(scenario)),
            "no row for {scenario}:\n{}",
            report.table()
        );
    }
    for row in &report.rows {
        assert!(row.figure.is_finite() && row.figure > 0.0, "{row:?}");
        assert!(row.baseline.is_finite() && row.baseline > 0.0, "{row:?}");
    }
}
