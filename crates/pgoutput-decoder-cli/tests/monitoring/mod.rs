//! Shared code of the monitoring tests: a tiny HTTP client, a throwaway Prometheus server, and
//! the metric names the shipped dashboard and alert rules use.
// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

pub mod http;
pub mod prometheus;

/// A Debian tool the setup installs (`make setup`): its path, `None` when it is missing and
/// the test may be skipped. Under `CI=true` a missing tool fails the test instead.
pub fn tool(env: &str, name: &str) -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(path.into());
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is missing: run `make setup` (or set {env})"
        );
        eprintln!("skipped: no {name} (run `make setup`, or set {env})");
    }
    found
}

/// A TCP port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The repository's `deploy/monitoring` directory (scrape config, alert rules, dashboard).
pub fn deploy_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/monitoring")
}

/// The `pgoutput_decoder_*` metric names a text mentions (PromQL, a dashboard, rules), sorted.
pub fn metric_names(text: &str) -> Vec<String> {
    const PREFIX: &str = "pgoutput_decoder_";
    let mut names: Vec<String> = text
        .match_indices(PREFIX)
        .filter(|(at, _)| {
            // Not the tail of a longer identifier.
            !text[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(|(at, _)| {
            text[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The metric names the dashboard and the alert rules use.
pub fn shipped_metric_names() -> Vec<String> {
    let dir = deploy_dir();
    let mut text = std::fs::read_to_string(dir.join("grafana-dashboard.json")).unwrap();
    text += &std::fs::read_to_string(dir.join("alerts.yml")).unwrap();
    metric_names(&text)
}

/// The README's "Monitoring" section.
pub fn readme_monitoring() -> String {
    let readme = std::fs::read_to_string(deploy_dir().join("../../README.md")).expect("the README");
    let start = readme
        .find("\n## Monitoring\n")
        .expect("a Monitoring section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_owned()
}

/// The SQL of the README's FAQ on lag.
pub fn faq_sql() -> String {
    let section = readme_monitoring();
    let start = section.find("```sql\n").expect("the FAQ's SQL") + 7;
    section[start..start + section[start..].find("```").unwrap()].to_owned()
}
