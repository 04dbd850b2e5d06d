//! `cargo bench --bench harness`: the whole benchmark harness at full scale
//! (`PEERREG_BENCH_SCALE=tiny` for a quick look, `PEERREG_BENCH_ONLY=replay`
//! for one scenario). Same as `peerreg bench`.

#[tokio::main]
async fn main() {
    let scale = match std::env::var("PEERREG_BENCH_SCALE").as_deref() {
        Ok("tiny") => peerreg::bench::Scale::tiny(),
        _ => peerreg::bench::Scale::full(),
    };
    let only = std::env::var("PEERREG_BENCH_ONLY").ok();
    match peerreg::bench::run(&scale, only.as_deref()).await {
        Ok(report) => println!("\n{}", report.table()),
        Err(e) => {
            eprintln!("benchmark failed: {}: {e}", e.code_name());
            std::process::exit(1);
        }
    }
}
