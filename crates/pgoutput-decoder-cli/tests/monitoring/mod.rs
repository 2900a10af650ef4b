//! Shared code of the monitoring tests: a tiny HTTP client and a throwaway Prometheus server.

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
