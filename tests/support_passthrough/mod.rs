//! What the passthrough tests of both protocols share: which fast path the
//! proxy took, its pid and open file descriptors, and its fast-path report
//! (SIGUSR1).
#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::Path;
use std::time::{Duration, Instant};

use shardwire_testkit::ShardwireProcess;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Kernel,
    UserSpace,
}

/// One scenario as two tests, `<name>::kernel` and `<name>::user_space`:
/// what a passthrough session does must hold on both paths. `async`
/// scenarios run on a two-worker tokio runtime.
macro_rules! in_both_modes {
    ($name:ident => $scenario:ident) => {
        mod $name {
            use super::*;
            #[test]
            fn kernel() {
                $scenario(Mode::Kernel);
            }
            #[test]
            fn user_space() {
                $scenario(Mode::UserSpace);
            }
        }
    };
    ($name:ident => async $scenario:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn kernel() {
                $scenario(Mode::Kernel).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn user_space() {
                $scenario(Mode::UserSpace).await;
            }
        }
    };
}

/// The global.yaml edit that forces the user-space copy.
pub fn force_user_space(global: &str) -> String {
    global.replace("props:\n", "props:\n  proxy-fastpath-enabled: false\n")
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

/// The proxy said at start-up which path passthrough sessions take; the
/// kernel one when asked for and running as root.
pub fn assert_start_mode(proxy: &ShardwireProcess, mode: Mode) {
    // The line is written before the listener binds, but the log file can
    // lag the accepting port under load: look for up to 5 s.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut log = full_log(proxy);
    while !log.contains("passthrough sessions") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        log = full_log(proxy);
    }
    match mode {
        Mode::Kernel if is_root() => assert!(
            log.contains("spliced in the kernel"),
            "expected the kernel splice: {log}"
        ),
        Mode::Kernel => eprintln!("not root: the kernel path is not available"),
        Mode::UserSpace => assert!(log.contains("copied in user space"), "{log}"),
    }
}

/// The whole log so far (`log_tail` keeps only the last lines).
fn full_log(proxy: &ShardwireProcess) -> String {
    std::fs::read_to_string(proxy.log_path()).unwrap_or_default()
}

/// The proxy's pid: the process whose command line names this
/// deployment's (unique, temporary) config directory.
pub fn proxy_pid(conf: &Path) -> u32 {
    let conf = conf.to_string_lossy().into_owned();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.iter().any(|a| a == "serve") && args.contains(&conf) {
            return pid;
        }
    }
    panic!("no shardwire process serving {conf}");
}

pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Asks the proxy for its fast-path report (SIGUSR1) and returns the line.
pub fn fast_path_report(proxy: &ShardwireProcess, pid: u32) -> String {
    let before = full_log(proxy).matches("fast path report").count();
    let ok = std::process::Command::new("kill")
        .args(["-USR1", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -USR1 {pid} failed");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = full_log(proxy);
        if log.matches("fast path report").count() > before {
            return log
                .lines()
                .rev()
                .find(|l| l.contains("fast path report"))
                .unwrap()
                .to_owned();
        }
        assert!(Instant::now() < deadline, "no report in the log: {log}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A counter of the report line, `name=value`.
pub fn report_value(report: &str, name: &str) -> u64 {
    let key = format!(" {name}=");
    let at = report
        .find(&key)
        .unwrap_or_else(|| panic!("{name} not in {report}"));
    let digits: String = report[at + key.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

/// The sessions so far took the path the mode asks for: in kernel mode none
/// fell back or left the kernel. Returns the report.
pub fn assert_path(proxy: &ShardwireProcess, pid: u32, mode: Mode) -> String {
    assert_path_allowing(proxy, pid, mode, 0)
}

/// [`assert_path`], allowing up to `fallbacks` sessions whose kernel set-up
/// failed and that were copied in user space instead (still served). The
/// proxy's log says why for each; they are printed when there are any.
fn assert_path_allowing(proxy: &ShardwireProcess, pid: u32, mode: Mode, fallbacks: u64) -> String {
    let report = fast_path_report(proxy, pid);
    assert!(report_value(&report, "sessions_total") > 0, "{report}");
    if mode == Mode::Kernel && is_root() {
        let failures = report_value(&report, "kernel_setup_failures");
        if failures > 0 {
            let log = full_log(proxy);
            let why = log
                .lines()
                .filter(|l| l.contains("WARN") && l.contains("splice"))
                .collect::<Vec<_>>()
                .join("\n");
            eprintln!("{failures} kernel set-up failure(s):\n{why}");
            assert!(failures <= fallbacks, "{report}\n{why}");
        }
        assert_eq!(report_value(&report, "demoted"), 0, "{report}");
        assert!(!report.contains("user-space mode"), "{report}");
    } else {
        assert!(
            report.contains("map entries: none (user-space mode)"),
            "{report}"
        );
    }
    report
}

/// After many sessions: none is active, no pair is left in any BPF map,
/// and the proxy holds at most `slack` more descriptors than `fds_before`
/// (pool connections). One session in a hundred may have been copied in
/// user space after a failed kernel set-up: the kernel has transient
/// refusals a retry does not always outlast on a loaded machine (once in
/// CI: 1 of 1001), and such a session is still served; what this test
/// guards is that none leaks.
pub fn assert_nothing_left(
    proxy: &ShardwireProcess,
    pid: u32,
    mode: Mode,
    (sessions, fds_before, slack): (u64, usize, usize),
) {
    let mut report = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        report = assert_path_allowing(proxy, pid, mode, sessions / 100);
        if report_value(&report, "kernel_active") == 0
            && report_value(&report, "user_space_active") == 0
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        report_value(&report, "sessions_total") >= sessions,
        "{report}"
    );
    for counter in ["kernel_active", "user_space_active", "live_pairs"] {
        assert_eq!(report_value(&report, counter), 0, "{counter}: {report}");
    }
    if mode == Mode::Kernel && is_root() {
        for map in ["intercept", "targets", "peers", "pair_bytes", "pairs"] {
            assert_eq!(report_value(&report, map), 0, "{map}: {report}");
        }
    }
    let fds_after = fd_count(pid);
    assert!(
        fds_after <= fds_before + slack,
        "fds before {fds_before}, after {fds_after}: {report}"
    );
}

pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
