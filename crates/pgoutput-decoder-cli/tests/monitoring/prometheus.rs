//! A throwaway Prometheus server (Debian's `prometheus`) scraping given targets every second,
//! with its storage in a temporary directory; stopped when dropped.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::http;

pub struct Prometheus {
    process: Child,
    pub addr: String,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (`HOST:PORT`, path `/metrics`) every second and
    /// waits until it is ready; `None` when there is no `prometheus` binary (see
    /// [`super::tool`]).
    pub fn start(targets: &[String]) -> Option<Prometheus> {
        let binary = super::tool("PROMETHEUS_BIN", "prometheus")?;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: pgoutput-decoder\n    static_configs:\n\
                 \x20     - targets: [{}]\n",
                targets.join(", ")
            ),
        )
        .unwrap();
        let addr = format!("127.0.0.1:{}", super::free_port());
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let process = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let prometheus = Prometheus { process, addr, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !http::get(&prometheus.addr, "/-/ready").is_ok_and(|a| a.status == 200) {
            assert!(
                Instant::now() < deadline,
                "Prometheus did not become ready:\n{}",
                prometheus.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(prometheus)
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// The value of an instant query with one result (`None`: no result).
    pub fn query(&self, promql: &str) -> Option<f64> {
        let path = format!("/api/v1/query?query={}", http::encode(promql));
        let answer = http::get(&self.addr, &path).expect("query Prometheus");
        let json: serde_json::Value =
            serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {}", answer.body));
        assert_eq!(json["status"], "success", "{}", answer.body);
        let result = json["data"]["result"].as_array()?;
        let value = result.first()?["value"][1].as_str()?;
        value.parse().ok()
    }

    /// Waits up to `timeout` until `promql` has a value for which `ok` holds; returns it.
    pub fn wait_for(&self, promql: &str, timeout: Duration, ok: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            last = self.query(promql).or(last);
            if let Some(v) = last.filter(|v| ok(*v)) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "{promql} never reached the expected value (last: {last:?})"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
