//! Start-up checks, cheapest first: configuration, build, privilege, bpffs,
//! then loading the programs and a loopback self-test, which is what
//! finally proves kernel support (a kernel can accept the programs and still
//! lack a helper or a redirect behaviour the splice needs).
use std::fs;

use crate::config::FastPathConfig;
use crate::kernel::{self, KernelPath};
use crate::{probe, sys};

const BPFFS: &str = "/sys/fs/bpf";
const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_BPF: u32 = 39;

/// What detection found, for the one start-up log line.
#[derive(Debug, Clone)]
pub(crate) struct Findings {
    pub(crate) kernel_release: String,
    pub(crate) bpffs: String,
}

pub(crate) fn detect(config: &FastPathConfig) -> (Result<KernelPath, String>, Findings) {
    let mut findings = Findings {
        kernel_release: fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".to_string()),
        bpffs: "not checked".to_string(),
    };
    let result = checks(config, &mut findings);
    (result, findings)
}

fn checks(config: &FastPathConfig, findings: &mut Findings) -> Result<KernelPath, String> {
    if config.force_user_space {
        return Err("forced by configuration".to_string());
    }
    if !kernel::object_built() {
        return Err(format!(
            "built without the BPF object: {}",
            kernel::BUILD_STATUS.trim()
        ));
    }
    privileges()?;
    findings.bpffs = bpffs(config.mount_bpffs);
    let loaded = KernelPath::load(config.max_kernel_sessions.max(1)).map_err(|e| {
        format!(
            "kernel {} refused the sk_skb programs: {e}",
            findings.kernel_release
        )
    })?;
    probe::run(&loaded).map_err(|e| format!("kernel splice self-test failed: {e}"))?;
    Ok(loaded)
}

/// Loading sk_skb programs needs CAP_BPF (or CAP_SYS_ADMIN before 5.8) and
/// CAP_NET_ADMIN; checked up front for a clear reason instead of EPERM.
fn privileges() -> Result<(), String> {
    let status = fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status to check privileges: {e}"))?;
    capabilities_allow(&status)
}

/// For tests elsewhere in the crate that need the kernel path.
#[cfg(test)]
pub(crate) fn tests_privileged() -> Result<(), String> {
    privileges()
}

fn capabilities_allow(status: &str) -> Result<(), String> {
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .ok_or_else(|| "no CapEff line in /proc/self/status".to_string())?;
    let has = |cap: u32| caps & (1u64 << cap) != 0;
    if has(CAP_NET_ADMIN) && (has(CAP_BPF) || has(CAP_SYS_ADMIN)) {
        Ok(())
    } else {
        Err(format!(
            "not privileged: loading sk_skb programs needs CAP_BPF and CAP_NET_ADMIN \
             (effective capabilities {caps:#x}); run as root or grant them"
        ))
    }
}

/// Reports whether bpffs is mounted, mounting it when allowed. The splice
/// pins nothing, so this never blocks the kernel path.
fn bpffs(mount_allowed: bool) -> String {
    let mounted = fs::read_to_string("/proc/self/mounts")
        .map(|m| {
            m.lines().any(|l| {
                let mut f = l.split_whitespace();
                let (_, target, kind) = (f.next(), f.next(), f.next());
                target == Some(BPFFS) && kind == Some("bpf")
            })
        })
        .unwrap_or(false);
    if mounted {
        return format!("bpffs mounted at {BPFFS}");
    }
    if !mount_allowed {
        return format!("bpffs not mounted at {BPFFS} (not needed; mount_bpffs is off)");
    }
    match sys::mount_bpffs(BPFFS) {
        Ok(()) => format!("bpffs mounted at {BPFFS} by us"),
        Err(e) => format!("bpffs not mounted at {BPFFS}: mounting failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_capabilities_allow_loading() {
        assert!(capabilities_allow("Name:\tx\nCapEff:\t000001ffffffffff\n").is_ok());
    }

    #[test]
    fn bpf_and_net_admin_are_enough_and_both_needed() {
        let bpf_net = (1u64 << CAP_BPF) | (1u64 << CAP_NET_ADMIN);
        assert!(capabilities_allow(&format!("CapEff:\t{bpf_net:016x}\n")).is_ok());
        let only_bpf = 1u64 << CAP_BPF;
        let err = capabilities_allow(&format!("CapEff:\t{only_bpf:016x}\n")).unwrap_err();
        assert!(err.contains("not privileged"), "{err}");
    }

    #[test]
    fn unreadable_status_is_an_error_not_a_pass() {
        assert!(capabilities_allow("Name:\tx\n").is_err());
        assert!(capabilities_allow("CapEff:\tzz\n").is_err());
    }

    #[test]
    fn forcing_user_space_says_so() {
        let config = FastPathConfig {
            force_user_space: true,
            ..FastPathConfig::default()
        };
        let (result, _) = detect(&config);
        assert_eq!(result.err().as_deref(), Some("forced by configuration"));
    }
}
