//! Reading a conf directory and validating it into a [`RuleSnapshot`].
//! Every error names the file, the line and the problem.
//!
//! # Layout
//! - `global`: global.yaml into [`GlobalSettings`].
//! - `database`: a database file into a [`LogicalDatabase`].
//! - `sharding`: the `!SHARDING` rule: algorithms, nodes, strategies,
//!   binding groups.

mod database;
mod global;
mod sharding;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use crate::config::{DatabaseConfig, GlobalConfig};
use crate::error::{ConfigError, ConfigErrorKind};
use crate::snapshot::{GlobalSettings, LogicalDatabase, RuleSnapshot};
use crate::yaml::{self, LineIndex};

/// Builds errors for one file, finding each node's line by its path.
pub(crate) struct Ctx<'a> {
    pub file: &'a Path,
    pub lines: &'a LineIndex,
}

impl Ctx<'_> {
    pub fn err(
        &self,
        kind: ConfigErrorKind,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        let path = path.into();
        let message = message.into();
        ConfigError {
            file: self.file.to_owned(),
            line: self.lines.line_of(&path),
            message: if path.is_empty() {
                message
            } else {
                format!("{path}: {message}")
            },
            path,
            kind,
        }
    }
}

fn read(file: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(file).map_err(|e| ConfigError {
        file: file.to_owned(),
        line: None,
        path: String::new(),
        kind: ConfigErrorKind::Io,
        message: format!("cannot read: {e}"),
    })
}

/// Loads `global.yaml` (or ShardingSphere's older `server.yaml`) and every
/// `database-*.yaml` (or older `config-*.yaml`) of `dir`.
pub fn load_dir(dir: &Path) -> Result<RuleSnapshot, ConfigError> {
    let global_file = ["global.yaml", "server.yaml"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| ConfigError {
            file: dir.join("global.yaml"),
            line: None,
            path: String::new(),
            kind: ConfigErrorKind::MissingFile,
            message: "no global.yaml (or server.yaml) in the conf directory".into(),
        })?;
    let global_text = read(&global_file)?;
    let (global_cfg, global_lines) = yaml::parse::<GlobalConfig>(&global_file, &global_text)?;

    let mut databases: IndexMap<String, Arc<LogicalDatabase>> = IndexMap::new();
    for file in database_files(dir)? {
        let db = load_database_file(&file)?;
        if let Some(prev) = databases.get(&db.name) {
            return Err(ConfigError {
                file: file.clone(),
                line: None,
                path: "databaseName".into(),
                kind: ConfigErrorKind::DuplicateDatabase,
                message: format!(
                    "databaseName: `{}` is already defined in {}",
                    db.name, prev.source_file
                ),
            });
        }
        databases.insert(db.name.clone(), Arc::new(db));
    }
    let ctx = Ctx {
        file: &global_file,
        lines: &global_lines,
    };
    let global = global::build(&ctx, global_cfg, &databases)?;
    Ok(RuleSnapshot { global, databases })
}

fn database_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ConfigError {
        file: dir.to_owned(),
        line: None,
        path: String::new(),
        kind: ConfigErrorKind::Io,
        message: format!("cannot list the conf directory: {e}"),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            (name.starts_with("database-") || name.starts_with("config-"))
                && (name.ends_with(".yaml") || name.ends_with(".yml"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Loads one database file.
pub fn load_database_file(file: &Path) -> Result<LogicalDatabase, ConfigError> {
    let text = read(file)?;
    parse_database(file, &text)
}

/// Validates database-file text; `file` is used in messages only.
pub fn parse_database(file: &Path, text: &str) -> Result<LogicalDatabase, ConfigError> {
    let (cfg, lines) = yaml::parse::<DatabaseConfig>(file, text)?;
    let ctx = Ctx {
        file,
        lines: &lines,
    };
    database::build(&ctx, cfg)
}

/// Validates global.yaml text against already loaded databases.
pub fn parse_global(
    file: &Path,
    text: &str,
    databases: &IndexMap<String, Arc<LogicalDatabase>>,
) -> Result<GlobalSettings, ConfigError> {
    let (cfg, lines) = yaml::parse::<GlobalConfig>(file, text)?;
    let ctx = Ctx {
        file,
        lines: &lines,
    };
    global::build(&ctx, cfg, databases)
}
