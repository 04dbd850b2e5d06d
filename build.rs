//! Compiles `proto/peerreg/v1/*.proto` with the pure-Rust `protox` compiler, so no
//! system `protoc` is needed. Two passes:
//! - messages only, into `OUT_DIR/messages` (the wire types the log signs, used
//!   across the library without any tonic dependency);
//! - services only, into `OUT_DIR/services`, with every message mapped back to
//!   `crate::pb` (only `service/` includes this file: only it knows tonic).
//!
//! The encoded descriptor set is written to `OUT_DIR` for gRPC server reflection.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/peerreg/v1/log.proto",
        "proto/peerreg/v1/events.proto",
        "proto/peerreg/v1/board.proto",
        "proto/peerreg/v1/federation.proto",
        "proto/peerreg/v1/admin.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("peerreg_descriptor.bin"), descriptors.encode_to_vec())?;

    let messages_dir = out_dir.join("messages");
    std::fs::create_dir_all(&messages_dir)?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(false)
        .out_dir(&messages_dir)
        .compile_fds(descriptors.clone())?;

    let services_dir = out_dir.join("services");
    std::fs::create_dir_all(&services_dir)?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .extern_path(".peerreg.v1", "crate::pb")
        .out_dir(&services_dir)
        .compile_fds(descriptors)?;
    Ok(())
}
