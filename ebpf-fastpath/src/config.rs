//! What the proxy's configuration decides about the fast path.
use std::time::Duration;

/// Start-up options for [`crate::FastPath::detect_with`].
#[derive(Debug, Clone)]
pub struct FastPathConfig {
    /// Use the user-space copy even where the kernel path would work.
    /// Default: false.
    pub force_user_space: bool,
    /// Mount bpffs on /sys/fs/bpf when it is not mounted. The splice does not
    /// pin anything, so this only helps operators who inspect the maps with
    /// bpftool through pins; default: false (a library should not mount
    /// filesystems unasked).
    pub mount_bpffs: bool,
    /// Most sessions spliced in the kernel at once; the BPF maps are sized
    /// for it, and a session beyond it is copied in user space. Default: 65536.
    pub max_kernel_sessions: u32,
    /// When one side closes, how long the kernel path waits for bytes the
    /// kernel already accepted to be handed to the other side's socket
    /// before tearing the pair down anyway (a peer that stopped reading can
    /// hold them back for ever). Default: 5 s.
    pub drain_timeout: Duration,
    /// Most bytes the kernel may hold for a side that reads slower than the
    /// other side sends. Redirected bytes get no TCP backpressure, so past
    /// this the session moves to the user-space copy, which has it.
    /// Default: 4 MiB.
    pub max_in_flight: u64,
    /// How often a kernel session with nothing held back checks that
    /// neither side fell behind (it checks every 5 ms while something is
    /// held). Each check is a timer wake-up and three syscalls: with many
    /// idle spliced sessions a longer interval saves CPU, at the price of a
    /// sender running further past `max_in_flight` in a burst before it is
    /// seen. Default: 100 ms.
    pub idle_check: Duration,
}

impl Default for FastPathConfig {
    fn default() -> Self {
        Self {
            force_user_space: false,
            mount_bpffs: false,
            max_kernel_sessions: 65536,
            drain_timeout: Duration::from_secs(5),
            max_in_flight: 4 << 20,
            idle_check: Duration::from_millis(100),
        }
    }
}
