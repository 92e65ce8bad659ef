//! The `anliegen` binary's library: configuration, wiring of store, web and workers, the
//! first-start admin, and the demo data. `main.rs` is only the command line on top.

pub mod automation;
pub mod config;
pub mod demo;
pub mod mail;
pub mod maintenance;
pub mod server;

pub use config::Settings;
pub use server::{Running, start};

/// The global Prometheus recorder (installed once per process; later calls reuse it).
pub fn metrics_handle() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ];
            metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets(&buckets)
                .ok()?
                .install_recorder()
                .map_err(|e| tracing::warn!(error = %e, "metrics recorder not installed"))
                .ok()
        })
        .clone()
}
