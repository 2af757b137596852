//! Every kind of bad config is refused with its own error, naming the file,
//! the line and the problem. Each case is the bad file itself.

// Helpers outside #[test] fns may unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use shardwire_rules::load::parse_database;
use shardwire_rules::{load_dir, ConfigError, ConfigErrorKind};

const HEAD: &str = "databaseName: db
dataSources:
  ds_0:
    url: jdbc:mysql://127.0.0.1:3306/d0
    username: root
    password: pw
  ds_1:
    url: jdbc:mysql://127.0.0.1:3306/d1
    username: root
    password: pw
";

fn bad(text: &str) -> ConfigError {
    match parse_database(Path::new("database-bad.yaml"), text) {
        Ok(db) => panic!("accepted a bad config: {db:?}"),
        Err(e) => e,
    }
}

fn expect(text: &str, kind: ConfigErrorKind, line: usize, fragment: &str) {
    let e = bad(text);
    assert_eq!(e.kind, kind, "{e}");
    assert_eq!(e.line, Some(line), "{e}");
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("database-bad.yaml:{line}: ")),
        "{shown}"
    );
    assert!(shown.contains(fragment), "`{shown}` lacks `{fragment}`");
}

#[test]
fn unknown_algorithm_name() {
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  tables:
    t_order:
      actualDataNodes: ds_${{0..1}}.t_order
      databaseStrategy:
        standard:
          shardingColumn: user_id
          shardingAlgorithmName: no_such_alg
  shardingAlgorithms:
    db_mod:
      type: MOD
      props:
        sharding-count: 2
"
    );
    expect(
        &text,
        ConfigErrorKind::UnknownAlgorithm,
        19,
        "`no_such_alg` is not defined",
    );
}

#[test]
fn unknown_algorithm_type() {
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  shardingAlgorithms:
    db_mod:
      type: MODULO
"
    );
    expect(
        &text,
        ConfigErrorKind::UnknownAlgorithm,
        15,
        "unknown sharding algorithm type `MODULO`",
    );
}

#[test]
fn unknown_key_generator() {
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  tables:
    t_order:
      actualDataNodes: ds_0.t_order
      keyGenerateStrategy:
        column: id
        keyGeneratorName: nope
"
    );
    expect(
        &text,
        ConfigErrorKind::UnknownKeyGenerator,
        18,
        "key generator `nope`",
    );
}

#[test]
fn data_node_outside_declared_data_sources() {
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  tables:
    t_order:
      actualDataNodes: ds_${{0..2}}.t_order_${{0..1}}
"
    );
    expect(
        &text,
        ConfigErrorKind::DataNodeOutsideDataSources,
        15,
        "data node `ds_2.t_order_0`",
    );
}

#[test]
fn binding_tables_with_different_data_nodes() {
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  tables:
    t_order:
      actualDataNodes: ds_${{0..1}}.t_order_${{0..1}}
    t_order_item:
      actualDataNodes: ds_${{0..1}}.t_order_item_${{0..2}}
  bindingTables:
    - t_order, t_order_item
"
    );
    expect(
        &text,
        ConfigErrorKind::BindingTablesMismatch,
        19,
        "binding tables `t_order` and `t_order_item` have different data nodes",
    );
}

#[test]
fn binding_table_that_is_not_sharded() {
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  tables:
    t_order:
      actualDataNodes: ds_0.t_order
  bindingTables:
    - t_order,t_missing
"
    );
    expect(
        &text,
        ConfigErrorKind::BindingTablesMismatch,
        17,
        "`t_missing` is not a sharding table",
    );
}

#[test]
fn duplicate_logical_tables() {
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  tables:
    t_order:
      actualDataNodes: ds_0.t_order
  autoTables:
    T_ORDER:
      shardingStrategy:
        standard:
          shardingColumn: id
          shardingAlgorithmName: m
  shardingAlgorithms:
    m:
      type: MOD
      props:
        sharding-count: 2
"
    );
    expect(
        &text,
        ConfigErrorKind::DuplicateLogicalTable,
        17,
        "`T_ORDER` is already defined",
    );
}

#[test]
fn sharding_table_also_broadcast() {
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  tables:
    t_order:
      actualDataNodes: ds_0.t_order
- !BROADCAST
  tables:
    - t_order
"
    );
    let e = bad(&text);
    assert_eq!(e.kind, ConfigErrorKind::DuplicateLogicalTable, "{e}");
    assert!(
        e.to_string()
            .contains("both a sharding table and a broadcast table"),
        "{e}"
    );
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  tables:
    t_order:
      actualDataNode: ds_0.t_order
"
    );
    expect(
        &text,
        ConfigErrorKind::UnknownKey,
        15,
        "unknown field `actualDataNode`",
    );
    let text = format!("{HEAD}  ds_2:\n    url: jdbc:mysql://h/d\n    maxPoolSiz: 3\n");
    expect(
        &text,
        ConfigErrorKind::UnknownKey,
        13,
        "unknown field `maxPoolSiz`",
    );
}

#[test]
fn unknown_rule_tag() {
    let text = format!("{HEAD}rules:\n- !ENCRYPT\n  tables: {{}}\n");
    let e = bad(&text);
    assert_eq!(e.kind, ConfigErrorKind::Syntax, "{e}");
    assert!(e.to_string().contains("ENCRYPT"), "{e}");
    assert_eq!(e.line, Some(12), "{e}");
}

#[test]
fn password_in_the_wrong_place() {
    // In a rule.
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  tables:
    t_order:
      actualDataNodes: ds_0.t_order
      password: secret
"
    );
    expect(
        &text,
        ConfigErrorKind::PasswordMisplaced,
        16,
        "`password` is not accepted here",
    );
    // Inside the URL, where it would be logged.
    let text =
        "databaseName: db\ndataSources:\n  ds_0:\n    url: mysql://root:secret@127.0.0.1/d0\n";
    expect(
        text,
        ConfigErrorKind::PasswordMisplaced,
        4,
        "the URL carries a password",
    );
    let text =
        "databaseName: db\ndataSources:\n  ds_0:\n    url: jdbc:postgresql://h/d0?user=u&password=x\n";
    expect(
        text,
        ConfigErrorKind::PasswordMisplaced,
        4,
        "the URL carries a password",
    );
}

#[test]
fn bad_data_source_url() {
    let text = "databaseName: db\ndataSources:\n  ds_0:\n    url: jdbc:oracle:thin:@h:1521/x\n";
    let e = bad(text);
    assert_eq!(e.kind, ConfigErrorKind::BadDataSource, "{e}");
    let text = "databaseName: db\ndataSources:\n  ds_0:\n    url: jdbc:sqlserver://h/x\n";
    expect(
        text,
        ConfigErrorKind::BadDataSource,
        4,
        "unsupported database `sqlserver`",
    );
    let text = "databaseName: db\ndataSources:\n  ds_0:\n    username: root\n";
    expect(text, ConfigErrorKind::BadDataSource, 3, "missing `url`");
}

#[test]
fn bad_inline_expression() {
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  tables:
    t_order:
      actualDataNodes: ds_${{0..1}}}}.t_order
"
    );
    expect(
        &text,
        ConfigErrorKind::BadInlineExpression,
        15,
        "inline expression",
    );
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  tables:
    t_order:
      actualDataNodes: t_order_${{0..1}}
"
    );
    expect(
        &text,
        ConfigErrorKind::BadInlineExpression,
        15,
        "not of the form `data_source.table`",
    );
}

#[test]
fn strategy_algorithm_shape_mismatch() {
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  tables:
    t_order:
      actualDataNodes: ds_0.t_order_${{0..1}}
      tableStrategy:
        complex:
          shardingColumns: a,b
          shardingAlgorithmName: m
  shardingAlgorithms:
    m:
      type: MOD
      props:
        sharding-count: 2
"
    );
    expect(
        &text,
        ConfigErrorKind::BadStrategy,
        19,
        "cannot serve a Complex strategy",
    );
}

#[test]
fn algorithm_props_are_checked_at_load() {
    let text = format!(
        "{HEAD}rules:
- !SHARDING
  shardingAlgorithms:
    m:
      type: MOD
      props:
        sharding-count: four
"
    );
    expect(&text, ConfigErrorKind::BadAlgorithm, 16, "sharding-count");
}

fn write_dir(global: &str, db: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("global.yaml"), global).unwrap();
    std::fs::write(dir.path().join("database-a.yaml"), db).unwrap();
    dir
}

#[test]
fn global_yaml_errors() {
    let db = "databaseName: a\ndataSources:\n  ds:\n    url: postgres://h/d\n";
    // A password under props.
    let dir = write_dir("props:\n  sql-show: true\n  password: x\n", db);
    let e = load_dir(dir.path()).unwrap_err();
    assert_eq!(
        (e.kind, e.line),
        (ConfigErrorKind::PasswordMisplaced, Some(3)),
        "{e}"
    );
    assert!(e.to_string().contains("global.yaml:3:"), "{e}");
    // An unknown prop.
    let dir = write_dir("props:\n  sql-shows: true\n", db);
    let e = load_dir(dir.path()).unwrap_err();
    assert_eq!(
        (e.kind, e.line),
        (ConfigErrorKind::UnknownKey, Some(2)),
        "{e}"
    );
    // A mapping to a database that does not exist.
    let dir = write_dir(
        "authority:\n  users:\n    - user: u@%\n      password: p\n  privilege:\n    type: DATABASE_PERMITTED\n    props:\n      user-database-mappings: u@%=nope\n",
        db,
    );
    let e = load_dir(dir.path()).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::BadAuthority, "{e}");
    assert!(e.to_string().contains("no logical database `nope`"), "{e}");
    // An authenticator that is not defined, and one of an unknown type.
    let dir = write_dir(
        "authority:\n  users:\n    - user: u@%\n      password: p\n      authenticationMethodName: md5\n",
        db,
    );
    let e = load_dir(dir.path()).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::BadAuthority, "{e}");
    assert!(
        e.to_string().contains("authenticator `md5` is not defined"),
        "{e}"
    );
    let dir = write_dir(
        "authority:\n  users:\n    - user: u@%\n      password: p\n  authenticators:\n    a:\n      type: KERBEROS\n  defaultAuthenticator: a\n",
        db,
    );
    let e = load_dir(dir.path()).unwrap_err();
    assert!(e.to_string().contains("`KERBEROS` is not supported"), "{e}");
    // A bad listener.
    let dir = write_dir(
        "listeners:\n  - protocol: redis\n    address: 127.0.0.1:1\n",
        db,
    );
    let e = load_dir(dir.path()).unwrap_err();
    assert_eq!(
        (e.kind, e.line),
        (ConfigErrorKind::BadListener, Some(2)),
        "{e}"
    );
    // No global.yaml at all.
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        load_dir(empty.path()).unwrap_err().kind,
        ConfigErrorKind::MissingFile
    );
}

#[test]
fn duplicate_database_names_across_files() {
    let dir = write_dir("", "databaseName: a\n");
    std::fs::write(dir.path().join("database-b.yaml"), "databaseName: a\n").unwrap();
    let e = load_dir(dir.path()).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::DuplicateDatabase, "{e}");
    assert!(e.to_string().contains("database-b.yaml"), "{e}");
}

#[test]
fn yaml_syntax_error_has_a_line() {
    let e = bad("databaseName: db\ndataSources:\n  ds_0: [\n");
    assert_eq!(e.kind, ConfigErrorKind::Syntax, "{e}");
    assert!(e.line.is_some(), "{e}");
}

#[test]
fn opengauss_sha256_iterations_default_and_range() {
    let db = "databaseName: a\ndataSources:\n  ds:\n    url: postgres://h/d\n";
    let dir = write_dir("props:\n  sql-show: true\n", db);
    let snapshot = load_dir(dir.path()).unwrap();
    assert_eq!(snapshot.global.opengauss_sha256_iterations, 10_000);
    let dir = write_dir("props:\n  opengauss-sha256-iterations: 4096\n", db);
    let snapshot = load_dir(dir.path()).unwrap();
    assert_eq!(snapshot.global.opengauss_sha256_iterations, 4096);
    for bad in ["0", "10000001"] {
        let dir = write_dir(
            &format!("props:\n  opengauss-sha256-iterations: {bad}\n"),
            db,
        );
        let e = load_dir(dir.path()).unwrap_err();
        assert!(e.to_string().contains("opengauss-sha256-iterations"), "{e}");
    }
}
