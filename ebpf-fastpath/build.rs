//! Compiles bpf/splice.bpf.c with clang into $OUT_DIR/splice.bpf.o.
//!
//! Without a usable clang the crate must still build: an empty object is
//! written instead and $OUT_DIR/bpf_status.txt says why, which
//! `FastPath::detect` reports as the reason the kernel path is unavailable.
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=bpf/splice.bpf.c");
    println!("cargo:rerun-if-changed=bpf/helpers.h");
    println!("cargo:rerun-if-env-changed=SHARDWIRE_CLANG");
    println!("cargo:rerun-if-env-changed=SHARDWIRE_NO_BPF");

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let object = out_dir.join("splice.bpf.o");
    let status = out_dir.join("bpf_status.txt");

    let result = if env::var_os("SHARDWIRE_NO_BPF").is_some() {
        Err("built with SHARDWIRE_NO_BPF set".to_string())
    } else {
        compile(&object)
    };
    let (bytes, message) = match result {
        Ok(()) => (None, String::new()),
        Err(reason) => {
            println!("cargo:warning=eBPF fast path disabled: {reason}");
            // Cargo reruns a script whose watched path is missing, so a
            // clang installed after this build is picked up by the next
            // one instead of needing `cargo clean`.
            println!(
                "cargo:rerun-if-changed={}",
                out_dir.join("rerun-until-bpf-builds").display()
            );
            (Some(Vec::new()), reason)
        }
    };
    if let Some(empty) = bytes {
        write(&object, &empty);
    }
    write(&status, message.as_bytes());
}

fn write(path: &Path, bytes: &[u8]) {
    if let Err(e) = fs::write(path, bytes) {
        // A build script has no caller to return an error to; failing the
        // build with the path is the clearest report.
        panic!("cannot write {}: {e}", path.display());
    }
}

fn compile(object: &Path) -> Result<(), String> {
    let clang = env::var("SHARDWIRE_CLANG").unwrap_or_else(|_| "clang".to_string());
    let mut cmd = Command::new(&clang);
    cmd.args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"]);
    // <linux/bpf.h> includes <asm/types.h>, which Debian keeps under the
    // multiarch directory that clang does not search for -target bpf.
    if let Some(dir) = multiarch_include() {
        cmd.arg(format!("-I{}", dir.display()));
    }
    cmd.args(["-c", "bpf/splice.bpf.c", "-o"]).arg(object);
    let output = cmd
        .output()
        .map_err(|e| format!("clang not found ({clang}: {e}); install clang and linux-libc-dev"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{clang} failed to compile bpf/splice.bpf.c: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn multiarch_include() -> Option<PathBuf> {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").ok()?;
    let triple = match arch.as_str() {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        "riscv64" => "riscv64-linux-gnu",
        "powerpc64" => "powerpc64le-linux-gnu",
        "s390x" => "s390x-linux-gnu",
        _ => return None,
    };
    let dir = Path::new("/usr/include").join(triple);
    dir.is_dir().then_some(dir)
}
