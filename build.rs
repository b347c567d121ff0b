//! Link options that keep the release `klaxon` executable's resident
//! memory small, for x86_64 Linux with glibc, where rustc links with its own
//! LLD (the default since Rust 1.90; GNU ld has neither option). The code
//! and the instructions are the same; only the file's layout changes.
//!
//! - Symbol order. Functions are laid out in the order a real run executes
//!   them (`link/klaxon.symbol-order`, made by `bench/symbol-order.sh`). The
//!   kernel maps executable code 64 KB at a time, so code that runs scattered
//!   among code that never runs makes most of the executable resident; in
//!   order, the functions a running evaluator uses sit together and the rest
//!   is never read. A stale file costs memory, not correctness: names it
//!   lists that no longer exist are skipped, and functions it does not list
//!   follow the listed ones. `KLAXON_SYMBOL_ORDER=0` turns it off.
//! - Packed relocations (`-z pack-relative-relocs`, DT_RELR). A
//!   position-independent executable carries one 24-byte record for every
//!   pointer the loader adjusts at start (half a megabyte for klaxon), all
//!   read at start; packed, they take a few kilobytes. Needs glibc 2.36 or
//!   newer at run time, so it is used only when the build machine has that.

use std::env;
use std::path::Path;
use std::process::Command;

const ORDER_FILE: &str = "link/klaxon.symbol-order";

fn main() {
    println!("cargo:rerun-if-changed={ORDER_FILE}");
    println!("cargo:rerun-if-env-changed=KLAXON_SYMBOL_ORDER");
    if !release_with_lld() {
        return;
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR")).join(ORDER_FILE);
    if var("KLAXON_SYMBOL_ORDER") != "0" && order.is_file() {
        let path = order.display();
        println!("cargo:rustc-link-arg-bin=klaxon=-Wl,--symbol-ordering-file={path}");
        println!("cargo:rustc-link-arg-bin=klaxon=-Wl,--no-warn-symbol-ordering");
    }
    if glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bin=klaxon=-Wl,-z,pack-relative-relocs");
    }
}

fn var(name: &str) -> String {
    env::var(name).unwrap_or_default()
}

/// A release build for x86_64 Linux with glibc, with no flag that picks
/// another linker than rustc's LLD.
fn release_with_lld() -> bool {
    if var("PROFILE") != "release" {
        return false;
    }
    let target = (
        var("CARGO_CFG_TARGET_ARCH"),
        var("CARGO_CFG_TARGET_OS"),
        var("CARGO_CFG_TARGET_ENV"),
    );
    if target != ("x86_64".into(), "linux".into(), "gnu".into()) {
        return false;
    }
    let rustflags = var("CARGO_ENCODED_RUSTFLAGS");
    !["linker", "link-self-contained", "fuse-ld"]
        .iter()
        .any(|flag| rustflags.contains(flag))
}

/// Whether this machine's glibc (`getconf GNU_LIBC_VERSION`: "glibc 2.36")
/// is at least MAJOR.MINOR; false when it cannot tell.
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(output) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let mut numbers = text
        .trim()
        .trim_start_matches("glibc ")
        .split('.')
        .map(|part| part.parse::<u32>().ok());
    match (numbers.next().flatten(), numbers.next().flatten()) {
        (Some(have_major), Some(have_minor)) => (have_major, have_minor) >= (major, minor),
        _ => false,
    }
}
