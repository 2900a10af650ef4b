//! Conformance with Debezium: every case of `tests/conformance/cases` runs through the real
//! `pgoutput-decoder` binary against a throwaway PostgreSQL cluster, and its output is
//! compared with what Debezium 3.6.3 emitted (`tests/conformance/expected`).
//!
//! On failure the message lists the differences and the CLI's stderr, and names a kept
//! directory with the connector.properties, the output, the CLI log and the server log.
//! `PGOUTPUT_DECODER_LOG=debug` is passed on to the CLI.
//!
//! The cases of `tests/conformance/transform-cases` (single message transforms) run the same
//! way; their records are compared as the kit's compare.py compares flattened records (topic
//! in full, key and value exactly, tombstones included, volatile added fields left out).

mod support;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        /// The cases that have a test below.
        const CASES: &[&str] = &[$(stringify!($name)),*];

        $(
            #[test]
            fn $name() {
                support::case::run(stringify!($name));
            }
        )*
    };
}

cases!(
    crud_basic,
    identity_full,
    composite_pk_schema,
    schema_change,
    no_pk,
    toast_unchanged,
    transaction_metadata,
    truncate,
    types_scalar,
    types_array,
    logical_message,
    types_modes,
    types_modes_double,
    types_extra,
    types_special,
    types_hstore_map,
    toast_types,
    toast_placeholder,
    replica_identity_modes,
    filters_keys,
    array_multidim,
    schemas_scalar,
    schemas_modes,
    schemas_modes_double,
    schemas_events,
);

/// The recorded snapshot cases (`tests/conformance/snapshot-cases`).
mod snapshot {
    #[test]
    fn snapshot_initial() {
        super::support::case::run_snapshot("snapshot_initial");
    }
}

/// A case added to the kit without a test here would silently not run.
#[test]
fn every_case_has_a_test() {
    let dir = support::case::conformance_dir().join("cases");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("could not list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry"))
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut tested: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    tested.sort();
    assert_eq!(
        on_disk,
        tested,
        "cases in {} vs tests in conformance.rs",
        dir.display()
    );
}

macro_rules! transform_cases {
    ($($name:ident),* $(,)?) => {
        /// The transform cases that have a test below.
        const TRANSFORM_CASES: &[&str] = &[$(stringify!($name)),*];

        mod transform {
            $(
                #[test]
                fn $name() {
                    super::support::case::run_transform(stringify!($name));
                }
            )*
        }
    };
}

transform_cases!(
    smt_unwrap,
    unwrap_add_fields,
    unwrap_default,
    unwrap_delete_to_tombstone,
    unwrap_delete_to_tombstone_no_connector_tombstones,
    unwrap_drop,
    unwrap_regex_router,
    unwrap_rewrite_with_tombstone,
    unwrap_rewrite_with_tombstone_no_connector_tombstones,
    unwrap_route_by_field,
    unwrap_tombstone,
    unwrap_tombstone_no_connector_tombstones,
    regex_router,
    by_logical_table_router,
    by_logical_table_router_key_field,
    by_logical_table_router_no_uniqueness,
    predicate_topic_matches,
    predicate_topic_matches_negate,
    unwrap_truncate,
    unwrap_message,
    unwrap_transaction_metadata,
    unwrap_rewrite_identity_default,
    unwrap_add_headers,
    unwrap_add_headers_no_schemas,
    unwrap_schemas,
    unwrap_replace_null_with_default_true,
    unwrap_replace_null_with_default_false,
    unwrap_replace_null_with_default_true_converter_off,
    unwrap_replace_null_with_default_false_converter_off,
    unwrap_drop_fields_header,
    unwrap_drop_fields_header_incompatible,
);

/// Recorded cases whose settings are refused at start-up, and the error they must give
/// (none at the moment).
const REFUSED_TRANSFORM_CASES: &[(&str, &str)] = &[];

/// The CLI refuses these cases' settings with a clear error before connecting.
#[test]
fn refused_transform_cases_fail_with_a_clear_error() {
    let root = support::case::transform_cases_dir();
    for (case, error) in REFUSED_TRANSFORM_CASES {
        let dir = tempfile::tempdir().expect("temporary directory");
        let props =
            std::fs::read_to_string(root.join("cases").join(case).join("connector.properties"))
                .expect("connector.properties");
        let config = dir.path().join("c.properties");
        std::fs::write(
            &config,
            format!("topic.prefix=dbz\ndatabase.hostname=127.0.0.1\ndatabase.port=1\n{props}"),
        )
        .expect("write the configuration");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pgoutput-decoder"))
            .arg("stream")
            .arg("--config")
            .arg(&config)
            .args(["--output", "-"])
            .output()
            .expect("run pgoutput-decoder");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{case}: the CLI accepted it");
        assert!(stderr.contains(error), "{case}: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{case}: wrote {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// A recorded transform case without a test here would silently not run. (A case folder
/// whose recording has not arrived yet, with no `expected/<name>.jsonl`, is not a case.)
#[test]
fn every_transform_case_has_a_test() {
    let root = support::case::transform_cases_dir();
    let mut on_disk: Vec<String> = std::fs::read_dir(root.join("cases"))
        .unwrap_or_else(|e| panic!("could not list {}: {e}", root.display()))
        .map(|entry| entry.expect("directory entry"))
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            root.join("expected")
                .join(format!("{name}.jsonl"))
                .is_file()
        })
        .collect();
    on_disk.sort();
    let mut tested: Vec<String> = TRANSFORM_CASES
        .iter()
        .chain(REFUSED_TRANSFORM_CASES.iter().map(|(case, _)| case))
        .map(|s| s.to_string())
        .collect();
    tested.sort();
    assert_eq!(
        on_disk,
        tested,
        "recorded cases in {} vs transform_cases! in conformance.rs",
        root.display()
    );
}
