//! Conformance with Debezium: every case of `tests/conformance/cases` runs through the real
//! `pgoutput-decoder` binary against a throwaway PostgreSQL cluster, and its output is
//! compared with what Debezium 3.6.3 emitted (`tests/conformance/expected`).
//!
//! On failure the message lists the differences and the CLI's stderr, and names a kept
//! directory with the connector.properties, the output, the CLI log and the server log.
//! `PGOUTPUT_DECODER_LOG=debug` is passed on to the CLI.

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
