//! A database file: data sources, then each rule in turn.

use std::collections::BTreeSet;
use std::time::Duration;

use indexmap::IndexMap;

use super::{sharding, Ctx};
use crate::config::{
    DataSourceConfig, DatabaseConfig, ReadwriteRuleConfig, RuleConfig, SingleRuleConfig,
};
use crate::error::{ConfigError, ConfigErrorKind};
use crate::snapshot::datasource::{parse_url, UrlError};
use crate::snapshot::{
    DataSource, DatabaseProtocol, LogicalDatabase, ReadwriteGroup, ShardingRule, SingleTable,
};

pub(super) fn build(ctx: &Ctx<'_>, cfg: DatabaseConfig) -> Result<LogicalDatabase, ConfigError> {
    if cfg.database_name.trim().is_empty() {
        return Err(ctx.err(ConfigErrorKind::Syntax, "databaseName", "must not be empty"));
    }
    let mut data_sources = IndexMap::new();
    for (name, ds) in &cfg.data_sources {
        data_sources.insert(name.clone(), data_source(ctx, name, ds)?);
    }

    let mut db = LogicalDatabase {
        name: cfg.database_name.clone(),
        source_file: ctx.file.display().to_string(),
        data_sources,
        sharding: ShardingRule::default(),
        broadcast_tables: BTreeSet::new(),
        single_tables: Vec::new(),
        single_default_data_source: None,
        readwrite_groups: Vec::new(),
    };

    // Read/write groups first: their names are data source names that the
    // other rules' nodes may use.
    for (i, rule) in cfg.rules.iter().enumerate() {
        if let RuleConfig::ReadwriteSplitting(rw) = rule {
            readwrite(ctx, &format!("rules[{i}]"), rw, &mut db)?;
        }
    }
    let mut seen_sharding = false;
    for (i, rule) in cfg.rules.iter().enumerate() {
        let path = format!("rules[{i}]");
        match rule {
            RuleConfig::Sharding(s) => {
                if seen_sharding {
                    return Err(ctx.err(
                        ConfigErrorKind::Syntax,
                        path,
                        "a database has at most one !SHARDING rule",
                    ));
                }
                seen_sharding = true;
                let names = storage_names(&db);
                let (rule, broadcast) = sharding::build(ctx, &path, s, &names)?;
                db.sharding = rule;
                for t in broadcast {
                    add_broadcast(ctx, &path, &t, &mut db)?;
                }
            }
            RuleConfig::Broadcast(b) => {
                for (j, t) in b.tables.iter().enumerate() {
                    add_broadcast(ctx, &format!("{path}.tables[{j}]"), t, &mut db)?;
                }
            }
            RuleConfig::Single(s) => single(ctx, &path, s, &mut db)?,
            RuleConfig::ReadwriteSplitting(_) => {}
        }
    }
    // Broadcast tables may come before or after !SHARDING; check both ways.
    for t in &db.broadcast_tables {
        if db.sharding.tables.contains_key(t) {
            return Err(ctx.err(
                ConfigErrorKind::DuplicateLogicalTable,
                "rules",
                format!("table `{t}` is both a sharding table and a broadcast table"),
            ));
        }
    }
    Ok(db)
}

/// Names a data node may use: storage units and read/write group names.
fn storage_names(db: &LogicalDatabase) -> Vec<String> {
    db.data_sources
        .keys()
        .cloned()
        .chain(db.readwrite_groups.iter().map(|g| g.name.clone()))
        .collect()
}

fn add_broadcast(
    ctx: &Ctx<'_>,
    path: &str,
    table: &str,
    db: &mut LogicalDatabase,
) -> Result<(), ConfigError> {
    if !db
        .broadcast_tables
        .insert(table.trim().to_ascii_lowercase())
    {
        return Err(ctx.err(
            ConfigErrorKind::DuplicateLogicalTable,
            path,
            format!("broadcast table `{table}` is listed twice"),
        ));
    }
    Ok(())
}

fn data_source(
    ctx: &Ctx<'_>,
    name: &str,
    ds: &DataSourceConfig,
) -> Result<DataSource, ConfigError> {
    let path = format!("dataSources.{name}");
    let url = ds
        .url
        .as_ref()
        .or(ds.jdbc_url.as_ref())
        .ok_or_else(|| ctx.err(ConfigErrorKind::BadDataSource, &path, "missing `url`"))?;
    let url_path = format!("{path}.url");
    let parsed = parse_url(url).map_err(|e| match e {
        UrlError::Password => ctx.err(
            ConfigErrorKind::PasswordMisplaced,
            &url_path,
            "the URL carries a password; put it in `password:` beside `url:` so it is \
             never logged or shown with the URL",
        ),
        UrlError::Scheme(s) => ctx.err(
            ConfigErrorKind::BadDataSource,
            &url_path,
            format!("unsupported database `{s}`: expected mysql, mariadb, postgresql or opengauss"),
        ),
        UrlError::Malformed(m) => ctx.err(ConfigErrorKind::BadDataSource, &url_path, m),
    })?;
    if parsed.database.is_empty() {
        return Err(ctx.err(
            ConfigErrorKind::BadDataSource,
            &url_path,
            "the URL names no database (`.../database`)",
        ));
    }
    let username = ds
        .username
        .clone()
        .or(parsed.username.clone())
        .unwrap_or_else(|| match parsed.protocol {
            DatabaseProtocol::MySql => "root".into(),
            _ => "postgres".into(),
        });
    let max_pool_size = ds.max_pool_size.unwrap_or(50);
    let min_pool_size = ds.min_pool_size.unwrap_or(1);
    if max_pool_size == 0 || min_pool_size > max_pool_size {
        return Err(ctx.err(
            ConfigErrorKind::BadDataSource,
            format!("{path}.maxPoolSize"),
            format!("maxPoolSize {max_pool_size} must be at least 1 and at least minPoolSize {min_pool_size}"),
        ));
    }
    Ok(DataSource {
        name: name.to_owned(),
        protocol: parsed.protocol,
        host: parsed.host,
        port: parsed.port,
        database: parsed.database,
        params: parsed.params,
        username,
        password: ds
            .password
            .as_ref()
            .map(|p| p.0.clone())
            .unwrap_or_default(),
        connection_timeout: Duration::from_millis(
            ds.connection_timeout_milliseconds.unwrap_or(30_000),
        ),
        idle_timeout: Duration::from_millis(ds.idle_timeout_milliseconds.unwrap_or(60_000)),
        max_lifetime: Duration::from_millis(ds.max_lifetime_milliseconds.unwrap_or(1_800_000)),
        max_pool_size,
        min_pool_size,
    })
}

fn readwrite(
    ctx: &Ctx<'_>,
    path: &str,
    rw: &ReadwriteRuleConfig,
    db: &mut LogicalDatabase,
) -> Result<(), ConfigError> {
    let groups = rw
        .data_source_groups
        .iter()
        .map(|g| (g, "dataSourceGroups"))
        .chain(rw.data_sources.iter().map(|g| (g, "dataSources")));
    for ((name, g), key) in groups {
        let gpath = format!("{path}.{key}.{name}");
        let (write, reads) = match (&g.write_data_source_name, &g.static_strategy) {
            (Some(w), _) => (w.clone(), g.read_data_source_names.clone()),
            (None, Some(s)) => (
                s.write_data_source_name.clone(),
                s.read_data_source_names.clone(),
            ),
            (None, None) => {
                return Err(ctx.err(
                    ConfigErrorKind::BadDataSource,
                    &gpath,
                    "missing `writeDataSourceName`",
                ))
            }
        };
        for ds in std::iter::once(&write).chain(&reads) {
            if !db.data_sources.contains_key(ds) {
                return Err(ctx.err(
                    ConfigErrorKind::UnknownDataSource,
                    &gpath,
                    format!("data source `{ds}` is not declared in dataSources"),
                ));
            }
        }
        if db.data_sources.contains_key(name) || db.readwrite_groups.iter().any(|x| &x.name == name)
        {
            return Err(ctx.err(
                ConfigErrorKind::UnknownDataSource,
                &gpath,
                format!("group name `{name}` is already a data source name"),
            ));
        }
        let (lb, lb_type) = match &g.load_balancer_name {
            None => (None, None),
            Some(lb) => match rw.load_balancers.get(lb) {
                Some(cfg) => (Some(lb.clone()), Some(cfg.kind.clone())),
                None => {
                    return Err(ctx.err(
                        ConfigErrorKind::UnknownAlgorithm,
                        format!("{gpath}.loadBalancerName"),
                        format!("load balancer `{lb}` is not defined in loadBalancers"),
                    ))
                }
            },
        };
        db.readwrite_groups.push(ReadwriteGroup {
            name: name.clone(),
            write_data_source: write,
            read_data_sources: reads,
            transactional_read_query_strategy: g
                .transactional_read_query_strategy
                .clone()
                .unwrap_or_else(|| "PRIMARY".into()),
            load_balancer: lb,
            load_balancer_type: lb_type,
        });
    }
    Ok(())
}

fn single(
    ctx: &Ctx<'_>,
    path: &str,
    s: &SingleRuleConfig,
    db: &mut LogicalDatabase,
) -> Result<(), ConfigError> {
    let names = storage_names(db);
    for (i, t) in s.tables.iter().enumerate() {
        let (ds, table) = match t.split_once('.') {
            Some((d, t)) => (d.trim(), t.trim()),
            None => ("*", t.trim()),
        };
        if ds != "*" && !names.iter().any(|n| n == ds) {
            return Err(ctx.err(
                ConfigErrorKind::DataNodeOutsideDataSources,
                format!("{path}.tables[{i}]"),
                format!("single table `{t}`: data source `{ds}` is not declared in dataSources"),
            ));
        }
        db.single_tables.push(SingleTable {
            data_source: ds.to_owned(),
            table: table.to_owned(),
        });
    }
    if let Some(d) = &s.default_data_source {
        if !names.iter().any(|n| n == d) {
            return Err(ctx.err(
                ConfigErrorKind::UnknownDataSource,
                format!("{path}.defaultDataSource"),
                format!("data source `{d}` is not declared in dataSources"),
            ));
        }
        db.single_default_data_source = Some(d.clone());
    }
    Ok(())
}
