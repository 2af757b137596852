//! Golden cases for the kernel: SQL and rules in, route units and rewritten
//! SQL (or an error) out. Each `tests/golden/*.case` file holds cases:
//!
//! ```text
//! == name of the case
//! config: quickstart            (examples/quickstart/conf, else rules/tests/fixtures/<name>)
//! database: sharding_db         (optional: the only / first database)
//! dialect: mysql | postgresql
//! params: 1, 'text'             (optional: placeholder values)
//! hints: 3                      (optional: hint values for hint strategies)
//! keygen: 100 | 'k'             (optional: generated keys are 100, 101, ...
//!                                or 'k1', 'k2', ...; default 1, 2, ...)
//! metadata: t_order(id, user_id) (optional, repeatable: a logical table's
//!                                columns as the planner's metadata; without
//!                                any, the planner is given none)
//! sql: SELECT ...               (may continue on the following lines)
//! -- expect
//! ds_0: SELECT ...              (one line per unit, in route order)
//! merge: order_by=[...] ...     (a query answered by several units)
//! keys: order_id = 1, 2         (an INSERT that got generated keys)
//! error: substring of the error message
//! ```
//!
//! Key generators are replaced by a deterministic sequence (the real ones
//! are time-based or random); `tests/keygen.rs` checks the real ones.
//!
//! `SHARDWIRE_BLESS=1 cargo test -p shardwire-kernel --test golden`
//! rewrites the expectations from the actual output: read every change.

// A panic in a test helper is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use shardwire_kernel::merge::{AggregateKind, MergePlan, ALL_COLUMNS};
use shardwire_kernel::{
    parse_one, plan_statement, plan_with, ColumnMeta, Dialect, MetadataSource, ParseCache,
    PlanOptions, TableMeta,
};
use shardwire_rules::keygen::{GeneratedKey, KeyGenerator};
use shardwire_rules::{AlgorithmError, RuleSnapshot, ShardingValue};

/// A deterministic key generator: `start`, `start + 1`, ... as integers, or
/// with a text prefix as `prefix1`, `prefix2`, ...
#[derive(Debug)]
struct Sequence {
    next: AtomicI64,
    prefix: Option<String>,
}

impl KeyGenerator for Sequence {
    fn type_name(&self) -> &'static str {
        "SEQUENCE"
    }
    fn next_key(&self) -> Result<GeneratedKey, AlgorithmError> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        Ok(match &self.prefix {
            Some(p) => GeneratedKey::Text(format!("{p}{n}")),
            None => GeneratedKey::Int(n),
        })
    }
}

fn describe_merge(m: &MergePlan) -> String {
    let mut out = String::from("merge:");
    let sort: Vec<String> = m
        .order_by
        .iter()
        .map(|k| {
            format!(
                "#{} {} NULLS {}",
                k.column,
                if k.descending { "DESC" } else { "ASC" },
                if k.nulls_first { "FIRST" } else { "LAST" }
            )
        })
        .collect();
    if !sort.is_empty() {
        write!(out, " order_by=[{}]", sort.join(", ")).unwrap();
    }
    if !m.group_by.is_empty() {
        let g: Vec<String> = m.group_by.iter().map(|c| format!("#{c}")).collect();
        write!(out, " group_by=[{}]", g.join(", ")).unwrap();
    }
    if !m.aggregates.is_empty() {
        let a: Vec<String> = m
            .aggregates
            .iter()
            .map(|a| match a.kind {
                AggregateKind::Avg { sum_col, count_col } => {
                    format!("AVG #{} = #{sum_col} / #{count_col}", a.column)
                }
                AggregateKind::CountDistinct { arg } => {
                    format!("COUNT(DISTINCT #{arg}) #{}", a.column)
                }
                AggregateKind::SumDistinct { arg } => {
                    format!("SUM(DISTINCT #{arg}) #{}", a.column)
                }
                AggregateKind::AvgDistinct { arg } => {
                    format!("AVG(DISTINCT #{arg}) #{}", a.column)
                }
                kind => format!("{} #{}", format!("{kind:?}").to_uppercase(), a.column),
            })
            .collect();
        write!(out, " aggregates=[{}]", a.join(", ")).unwrap();
    }
    if let Some(post) = &m.post {
        if !post.computed.is_empty() {
            let c: Vec<String> = post
                .computed
                .iter()
                .map(|(column, expr)| format!("#{column} = {expr}"))
                .collect();
            write!(out, " computed=[{}]", c.join(", ")).unwrap();
        }
        if let Some(having) = &post.having {
            write!(out, " having={having}").unwrap();
        }
    }
    if m.distinct {
        out.push_str(" distinct");
    }
    if m.offset > 0 {
        write!(out, " offset={}", m.offset).unwrap();
    }
    if let Some(limit) = m.limit {
        write!(out, " limit={limit}").unwrap();
    }
    if m.output_columns == ALL_COLUMNS {
        out.push_str(" columns=all");
    } else {
        write!(out, " columns={}", m.output_columns).unwrap();
    }
    // With a wildcard, `#n` counts as if `*` stood for no columns; the
    // shape below is what turns those numbers into positions at merge time.
    if let Some(w) = &m.wildcard {
        write!(
            out,
            " wildcard(leading={} trailing={} derived={})",
            w.leading, w.trailing, w.derived
        )
        .unwrap();
    }
    out
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn config_dir(name: &str) -> PathBuf {
    if name == "quickstart" {
        repo().join("examples/quickstart/conf")
    } else {
        repo().join("rules/tests/fixtures").join(name)
    }
}

struct Case {
    /// Everything from `== name` to `-- expect`, verbatim.
    header: String,
    name: String,
    config: String,
    database: Option<String>,
    dialect: Dialect,
    params: Vec<ShardingValue>,
    hints: Vec<ShardingValue>,
    keygen: (i64, Option<String>),
    metadata: Option<HashMap<String, Arc<TableMeta>>>,
    sql: String,
    expected: String,
}

fn parse_params(text: &str) -> Vec<ShardingValue> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(
            |p| match p.strip_prefix('\'').and_then(|p| p.strip_suffix('\'')) {
                Some(s) => ShardingValue::Text(s.to_owned()),
                None => ShardingValue::Int(p.parse().unwrap_or_else(|_| panic!("bad param {p}"))),
            },
        )
        .collect()
}

/// `t_order(order_id, user_id)`: a table and its columns, in order.
fn parse_metadata(text: &str) -> (String, TableMeta) {
    let (table, columns) = text
        .strip_suffix(')')
        .and_then(|t| t.split_once('('))
        .unwrap_or_else(|| panic!("bad metadata {text}"));
    let columns = columns
        .split(',')
        .map(|c| ColumnMeta {
            name: c.trim().to_owned(),
            data_type: "integer".into(),
            nullable: true,
            primary_key: false,
        })
        .collect();
    (table.trim().to_ascii_lowercase(), TableMeta { columns })
}

fn parse_file(path: &Path) -> (String, Vec<Case>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut preamble = String::new();
    let mut chunks: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("== ") {
            chunks.push(String::new());
        }
        match chunks.last_mut() {
            Some(chunk) => writeln!(chunk, "{line}").unwrap(),
            None => writeln!(preamble, "{line}").unwrap(),
        }
    }
    let cases = chunks
        .into_iter()
        .map(|chunk| {
            let (header, expected) = chunk
                .split_once("-- expect\n")
                .unwrap_or_else(|| panic!("{}: case without `-- expect`: {chunk}", path.display()));
            let mut case = Case {
                header: header.to_owned(),
                name: String::new(),
                config: String::new(),
                database: None,
                dialect: Dialect::MySql,
                params: Vec::new(),
                hints: Vec::new(),
                keygen: (1, None),
                metadata: None,
                sql: String::new(),
                expected: expected.trim_end().to_owned(),
            };
            let mut in_sql = false;
            for line in header.lines() {
                if let Some(name) = line.strip_prefix("== ") {
                    case.name = name.trim().to_owned();
                } else if in_sql {
                    case.sql.push('\n');
                    case.sql.push_str(line);
                } else if line.trim_start().starts_with('#') || line.trim().is_empty() {
                } else if let Some((key, value)) = line.split_once(':') {
                    let value = value.trim();
                    match key.trim() {
                        "config" => case.config = value.to_owned(),
                        "database" => case.database = Some(value.to_owned()),
                        "dialect" => {
                            case.dialect = match value {
                                "mysql" => Dialect::MySql,
                                "postgresql" => Dialect::PostgreSql,
                                other => panic!("unknown dialect {other}"),
                            }
                        }
                        "params" => case.params = parse_params(value),
                        "hints" => case.hints = parse_params(value),
                        "keygen" => {
                            case.keygen = match parse_params(value).as_slice() {
                                [ShardingValue::Int(n)] => (*n, None),
                                [ShardingValue::Text(p)] => (1, Some(p.clone())),
                                _ => panic!("{}: bad keygen {value}", path.display()),
                            }
                        }
                        "metadata" => {
                            let (table, meta) = parse_metadata(value);
                            case.metadata
                                .get_or_insert_with(HashMap::new)
                                .insert(table, Arc::new(meta));
                        }
                        "sql" => {
                            case.sql = value.to_owned();
                            in_sql = true;
                        }
                        other => panic!("{}: unknown key {other}", path.display()),
                    }
                } else {
                    panic!("{}: bad line {line:?}", path.display());
                }
            }
            case.sql = case.sql.trim().to_owned();
            assert!(!case.config.is_empty(), "{}: no config", case.name);
            case
        })
        .collect();
    (preamble, cases)
}

fn run(
    case: &Case,
    configs: &mut HashMap<String, Arc<RuleSnapshot>>,
    cache: &ParseCache,
) -> Result<String, String> {
    let snapshot = configs
        .entry(case.config.clone())
        .or_insert_with(|| {
            let dir = config_dir(&case.config);
            Arc::new(
                shardwire_rules::load_dir(&dir)
                    .unwrap_or_else(|e| panic!("{}: {e}", dir.display())),
            )
        })
        .clone();
    let db = match &case.database {
        Some(name) => snapshot.database(name).unwrap(),
        None => snapshot.databases.values().next().unwrap(),
    };
    let generator = Sequence {
        next: AtomicI64::new(case.keygen.0),
        prefix: case.keygen.1.clone(),
    };
    let options = PlanOptions {
        hints: &case.hints,
        key_generator: Some(&generator),
        metadata: case.metadata.as_ref().map(|m| m as &dyn MetadataSource),
        ..PlanOptions::default()
    };
    match plan_with(cache, db, case.dialect, &case.sql, &case.params, &options) {
        Ok(plan) => {
            same_as_printed(case, db, &plan)?;
            let mut lines: Vec<String> = plan
                .units
                .iter()
                .map(|u| format!("{}: {}", u.data_source, u.sql))
                .collect();
            if let Some(m) = &plan.merge {
                lines.push(describe_merge(m));
            }
            if let Some(k) = &plan.generated_keys {
                let keys: Vec<String> = k
                    .keys
                    .iter()
                    .map(|k| match k {
                        GeneratedKey::Int(v) => v.to_string(),
                        GeneratedKey::Text(s) => format!("'{s}'"),
                    })
                    .collect();
                lines.push(format!("keys: {} = {}", k.column, keys.join(", ")));
            }
            Ok(lines.join("\n"))
        }
        Err(e) => Err(format!("error: {e}")),
    }
}

/// `plan_with` splices the client's text where it can; `plan_statement`
/// always prints the AST. Their units must be the same statements: equal
/// once parsed and printed again.
fn same_as_printed(
    case: &Case,
    db: &shardwire_rules::snapshot::LogicalDatabase,
    spliced: &shardwire_kernel::Plan,
) -> Result<(), String> {
    let generator = Sequence {
        next: AtomicI64::new(case.keygen.0),
        prefix: case.keygen.1.clone(),
    };
    let options = PlanOptions {
        hints: &case.hints,
        key_generator: Some(&generator),
        metadata: case.metadata.as_ref().map(|m| m as &dyn MetadataSource),
        ..PlanOptions::default()
    };
    let statement = parse_one(case.dialect, &case.sql).map_err(|e| e.to_string())?;
    let printed = plan_statement(&statement, db, case.dialect, &case.params, &options)
        .map_err(|e| format!("plan_statement fails where plan_with does not: {e}"))?;
    let normal = |sql: &str| {
        parse_one(case.dialect, sql)
            .map(|s| s.to_string())
            .map_err(|e| format!("unit SQL `{sql}` does not parse: {e}"))
    };
    let mut same = spliced.units.len() == printed.units.len();
    for (a, b) in spliced.units.iter().zip(&printed.units) {
        same &= a.data_source == b.data_source && normal(&a.sql)? == normal(&b.sql)?;
    }
    if same {
        Ok(())
    } else {
        Err(format!(
            "spliced units {:?} differ from printed units {:?}",
            spliced.units, printed.units
        ))
    }
}

#[test]
fn golden() {
    let bless = std::env::var("SHARDWIRE_BLESS").is_ok_and(|v| v == "1");
    let mut configs = HashMap::new();
    let cache = ParseCache::new(64);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "case"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut total = 0;
    for path in &files {
        let (preamble, cases) = parse_file(path);
        let mut blessed = preamble;
        for case in &cases {
            total += 1;
            let actual = run(case, &mut configs, &cache);
            let ok = match (&actual, case.expected.strip_prefix("error: ")) {
                (Err(message), Some(expected)) => message.contains(expected),
                (Ok(out), None) => *out == case.expected,
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{} / {}\n  sql: {}\n  expected:\n{}\n  actual:\n{}",
                    path.file_name().unwrap().to_string_lossy(),
                    case.name,
                    case.sql,
                    case.expected,
                    actual.as_ref().unwrap_or_else(|e| e)
                ));
            }
            let output = if ok {
                case.expected.clone()
            } else {
                actual.unwrap_or_else(|e| e)
            };
            write!(
                blessed,
                "{}-- expect\n{output}\n\n",
                case.header.trim_end_matches('\n').to_owned() + "\n"
            )
            .unwrap();
        }
        if bless {
            std::fs::write(path, blessed.trim_end().to_owned() + "\n").unwrap();
        }
    }
    assert!(total > 0, "no golden cases in {}", dir.display());
    eprintln!("{total} golden cases, {} failed", failures.len());
    if !bless {
        assert!(
            failures.is_empty(),
            "{} of {total} golden cases failed:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}
