//! `shardwire serve --config <dir>`: load the rules, bind the listeners,
//! and serve until SIGINT / SIGTERM.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use shardwire_frontend::Frontend;
use shardwire_rules::load_dir;

/// Runs the proxy. Returns when a shutdown signal arrives, or with the
/// reason it could not start.
pub fn serve(config: &Path) -> anyhow::Result<()> {
    let snapshot = load_dir(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let frontend = Frontend::new(Arc::new(snapshot), config).map_err(anyhow::Error::msg)?;
        tracing::info!("passthrough sessions: {}", frontend.fastpath.describe());
        let listeners = frontend.bind().await?;
        if listeners.is_empty() {
            anyhow::bail!("no listener configured");
        }
        for (protocol, listener) in &listeners {
            tracing::info!(?protocol, address = %listener.local_addr()?, "accepting connections");
        }
        for (name, db) in &frontend.databases {
            let mode = if db.rules.is_passthrough() { "passthrough" } else { "sharded" };
            tracing::info!(database = %name, mode, data_sources = db.rules.data_sources.len(), "serving");
        }
        let serving = tokio::spawn(Arc::clone(&frontend).serve(listeners));
        let reporting = tokio::spawn(report_on_sigusr1(Arc::clone(&frontend)));
        shutdown_signal().await;
        tracing::info!("shutting down");
        serving.abort();
        reporting.abort();
        for db in frontend.databases.values() {
            if let Some(cluster) = &db.pg {
                cluster.close();
            }
        }
        Ok(())
    })
}

/// `kill -USR1 <pid>`: one log line with the passthrough fast path's
/// counters and the entries in its BPF maps, so a DBA (or a test) can see
/// that finished sessions left nothing behind without attaching bpftool.
async fn report_on_sigusr1(frontend: Arc<Frontend>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
            return;
        };
        while usr1.recv().await.is_some() {
            let fast = &frontend.fastpath;
            let s = fast.stats();
            let maps = match fast.map_entries() {
                Some(m) => format!(
                    "intercept={} targets={} peers={} pair_bytes={} pairs={}",
                    m.intercept, m.targets, m.peers, m.pair_bytes, m.pairs
                ),
                None => "none (user-space mode)".to_owned(),
            };
            tracing::info!(
                "fast path report: kernel_active={} user_space_active={} sessions_total={} kernel_setup_failures={} demoted={} client_to_backend={} backend_to_client={} live_pairs={}; map entries: {maps}",
                s.kernel_active,
                s.user_space_active,
                s.sessions_total,
                s.kernel_setup_failures,
                s.demoted,
                s.client_to_backend,
                s.backend_to_client,
                fast.live_pairs().len(),
            );
        }
    }
    #[cfg(not(unix))]
    std::future::pending::<()>().await;
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
