//! The operations side shipped in deploy/monitoring: the scrape config and the alert rules
//! pass promtool (its checks and the rules' unit tests in alerts_test.yml), and the Grafana
//! dashboard is valid JSON whose queries use only metrics the endpoint serves. (That the
//! running CLI serves every one of them is checked in metrics.rs.)

mod monitoring;

use std::process::Command;

use monitoring::{deploy_dir, metric_names, readme_monitoring, shipped_metric_names, tool};
use pgoutput_decoder::monitor::prometheus::METRICS;

fn promtool(args: &[&str]) {
    let Some(promtool) = tool("PROMTOOL_BIN", "promtool") else {
        return;
    };
    let out = Command::new(promtool)
        .args(args)
        .current_dir(deploy_dir())
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    promtool(&["check", "rules", "alerts.yml"]);
    promtool(&["test", "rules", "alerts_test.yml"]);
}

#[test]
fn the_scrape_config_passes_promtool() {
    promtool(&["check", "config", "prometheus.yml"]);
}

#[test]
fn the_dashboard_is_json_with_queries_on_served_metrics() {
    let text = std::fs::read_to_string(deploy_dir().join("grafana-dashboard.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(!panels.is_empty());
    let mut ids = Vec::new();
    for panel in panels {
        ids.push(panel["id"].as_u64().expect("a panel id"));
        assert!(panel["gridPos"]["w"].is_u64(), "{panel}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{}", panel["title"]);
        for target in targets {
            let expr = target["expr"].as_str().expect("an expr");
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{expr}");
            for name in names {
                assert!(
                    METRICS.iter().any(|m| m.name == name),
                    "the dashboard queries {name}, which /metrics does not serve"
                );
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    for name in shipped_metric_names() {
        assert!(
            METRICS.iter().any(|m| m.name == name),
            "{name} is used in deploy/monitoring but not served"
        );
    }
}

#[test]
fn the_readme_metric_table_is_the_served_metrics() {
    let section = readme_monitoring();
    let rows: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| `pgoutput_decoder_"))
        .collect();
    let documented: Vec<String> = rows
        .iter()
        .map(|r| r.split('`').nth(1).unwrap().to_owned())
        .collect();
    let served: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
    assert_eq!(
        documented, served,
        "the README's table, in the order served"
    );
    for (row, metric) in rows.iter().zip(METRICS) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[2], metric.kind, "{row}");
        // The Debezium attribute named in the code is named in the table.
        for attribute in metric.debezium.split([' ', '(', ')', ',']) {
            if attribute.chars().next().is_some_and(char::is_uppercase) && !attribute.contains('{')
            {
                assert!(cells[4].contains(attribute), "{attribute} missing in {row}");
            }
        }
    }
}

/// Every alert of the rules is in the README's alert table. (The FAQ's SQL runs against
/// PostgreSQL in metrics.rs.)
#[test]
fn the_readme_lists_every_alert() {
    let section = readme_monitoring();
    let rules = std::fs::read_to_string(deploy_dir().join("alerts.yml")).unwrap();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert_eq!(alerts.len(), 10);
    for alert in alerts {
        assert!(section.contains(&format!("| `{alert}` |")), "{alert}");
    }
}

#[test]
fn metric_names_are_found_whole() {
    assert_eq!(
        metric_names("rate(pgoutput_decoder_events_total{op=\"c\"}[1m]) + x_pgoutput_decoder_no"),
        ["pgoutput_decoder_events_total"]
    );
}
