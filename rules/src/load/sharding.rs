//! The `!SHARDING` rule: build the named algorithms and key generators,
//! expand every table's data nodes, resolve strategies, check binding groups.

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;

use super::Ctx;
use crate::algorithm::{self, AlgorithmShape, ShardingAlgorithm};
use crate::config::{KeyGenerateStrategyConfig, ShardingRuleConfig, StrategyConfig};
use crate::error::{AlgorithmError, ConfigError, ConfigErrorKind};
use crate::inline;
use crate::keygen::{self, KeyGenerator};
use crate::props::Props;
use crate::snapshot::{BindingGroup, DataNode, KeyGenerate, ShardingRule, ShardingTable, Strategy};

/// What the rule needs from around it while building.
struct Builder<'a> {
    ctx: &'a Ctx<'a>,
    /// `rules[i]`
    path: &'a str,
    cfg: &'a ShardingRuleConfig,
    algorithms: HashMap<String, Arc<dyn ShardingAlgorithm>>,
    generators: HashMap<String, Arc<dyn KeyGenerator>>,
}

/// Builds the rule; also returns the broadcast tables that pre-5.4 files
/// list inside `!SHARDING`.
pub(super) fn build(
    ctx: &Ctx<'_>,
    path: &str,
    cfg: &ShardingRuleConfig,
    data_sources: &[String],
) -> Result<(ShardingRule, Vec<String>), ConfigError> {
    let mut b = Builder {
        ctx,
        path,
        cfg,
        algorithms: HashMap::new(),
        generators: HashMap::new(),
    };
    for (name, a) in &cfg.sharding_algorithms {
        let props = props_of(&a.kind, &a.props);
        let alg = algorithm::create(&a.kind, &props)
            .map_err(|e| b.algorithm_error(&format!("shardingAlgorithms.{name}"), e))?;
        b.algorithms.insert(name.clone(), alg);
    }
    for (name, g) in &cfg.key_generators {
        let props = props_of(&g.kind, &g.props);
        let gen = keygen::create(&g.kind, &props).map_err(|e| match e {
            AlgorithmError::UnknownType(t) => ctx.err(
                ConfigErrorKind::UnknownKeyGenerator,
                format!("{path}.keyGenerators.{name}.type"),
                format!(
                    "unknown key generator type `{t}`: expected one of {}",
                    keygen::KEY_GENERATOR_TYPES.join(", ")
                ),
            ),
            other => ctx.err(
                ConfigErrorKind::BadAlgorithm,
                format!("{path}.keyGenerators.{name}.props"),
                other.to_string(),
            ),
        })?;
        b.generators.insert(name.clone(), gen);
    }

    let mut rule = ShardingRule::default();
    for (name, t) in &cfg.tables {
        let tpath = format!("{path}.tables.{name}");
        let nodes = match &t.actual_data_nodes {
            Some(expr) => {
                b.expand_nodes(&format!("{tpath}.actualDataNodes"), expr, data_sources)?
            }
            None => data_sources
                .iter()
                .map(|ds| DataNode {
                    data_source: ds.clone(),
                    table: name.clone(),
                })
                .collect(),
        };
        let db_strategy = match (&t.database_strategy, &cfg.default_database_strategy) {
            (Some(s), _) => b.strategy(&format!("{tpath}.databaseStrategy"), s)?,
            (None, Some(s)) => b.strategy(&format!("{path}.defaultDatabaseStrategy"), s)?,
            (None, None) => Strategy::None,
        };
        let table_strategy = match (&t.table_strategy, &cfg.default_table_strategy) {
            (Some(s), _) => b.strategy(&format!("{tpath}.tableStrategy"), s)?,
            (None, Some(s)) => b.strategy(&format!("{path}.defaultTableStrategy"), s)?,
            (None, None) => Strategy::None,
        };
        let key = b.key_generate(&tpath, t.key_generate_strategy.as_ref())?;
        let table = table(name, false, nodes, db_strategy, table_strategy, key);
        b.insert(&mut rule, &tpath, table)?;
    }
    for (name, t) in &cfg.auto_tables {
        let tpath = format!("{path}.autoTables.{name}");
        let sources = match &t.actual_data_sources {
            Some(expr) => {
                let epath = format!("{tpath}.actualDataSources");
                let list = b.expand(&epath, expr)?;
                for ds in &list {
                    b.check_source(&epath, "", ds, data_sources)?;
                }
                list
            }
            None => data_sources.to_vec(),
        };
        if sources.is_empty() {
            return Err(ctx.err(
                ConfigErrorKind::DataNodeOutsideDataSources,
                &tpath,
                "an auto table needs at least one data source",
            ));
        }
        let spath = format!("{tpath}.shardingStrategy");
        let Some(scfg) = &t.sharding_strategy else {
            return Err(ctx.err(
                ConfigErrorKind::BadStrategy,
                &tpath,
                "an auto table needs a `shardingStrategy`",
            ));
        };
        let strategy = b.strategy(&spath, scfg)?;
        let amount = match &strategy {
            Strategy::Standard { algorithm, .. } => algorithm.auto_tables_amount(),
            _ => None,
        };
        let Some(amount) = amount else {
            return Err(ctx.err(
                ConfigErrorKind::BadStrategy,
                &spath,
                "an auto table needs a standard strategy whose algorithm sets the number \
                 of shards (MOD, HASH_MOD, VOLUME_RANGE, BOUNDARY_RANGE, AUTO_INTERVAL)",
            ));
        };
        // ShardingSphere's layout: shard i is `<table>_i` on the
        // data sources taken round-robin.
        let nodes = (0..amount)
            .map(|i| DataNode {
                data_source: sources[i % sources.len()].clone(),
                table: format!("{name}_{i}"),
            })
            .collect();
        let key = b.key_generate(&tpath, t.key_generate_strategy.as_ref())?;
        let table = table(name, true, nodes, Strategy::None, strategy, key);
        b.insert(&mut rule, &tpath, table)?;
    }
    binding_groups(&b, &mut rule)?;
    Ok((rule, cfg.broadcast_tables.clone()))
}

fn props_of(kind: &str, cfg: &crate::config::PropsConfig) -> Props {
    let mut p = Props::new(kind);
    for (k, v) in cfg {
        p.values.insert(k.clone(), v.0.clone());
    }
    p
}

fn table(
    name: &str,
    auto: bool,
    data_nodes: Vec<DataNode>,
    database_strategy: Strategy,
    table_strategy: Strategy,
    key_generate: Option<KeyGenerate>,
) -> ShardingTable {
    let mut tables_by_data_source: IndexMap<String, Vec<String>> = IndexMap::new();
    let mut actual_tables: Vec<String> = Vec::new();
    // A set beside the list: a linear `contains` per node made 10,000
    // actual tables take seconds to load (quadratic).
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for n in &data_nodes {
        tables_by_data_source
            .entry(n.data_source.clone())
            .or_default()
            .push(n.table.clone());
        if seen.insert(n.table.as_str()) {
            actual_tables.push(n.table.clone());
        }
    }
    ShardingTable {
        logic_name: name.to_owned(),
        auto,
        data_sources: tables_by_data_source.keys().cloned().collect(),
        tables_by_data_source,
        actual_tables,
        data_nodes,
        database_strategy,
        table_strategy,
        key_generate,
    }
}

impl Builder<'_> {
    fn algorithm_error(&self, apath: &str, e: AlgorithmError) -> ConfigError {
        match e {
            AlgorithmError::UnknownType(t) => self.ctx.err(
                ConfigErrorKind::UnknownAlgorithm,
                format!("{}.{apath}.type", self.path),
                format!(
                    "unknown sharding algorithm type `{t}`: expected one of {}",
                    algorithm::ALGORITHM_TYPES.join(", ")
                ),
            ),
            AlgorithmError::Inline(ie) => self.ctx.err(
                ConfigErrorKind::BadInlineExpression,
                format!("{}.{apath}.props", self.path),
                ie.to_string(),
            ),
            other => self.ctx.err(
                ConfigErrorKind::BadAlgorithm,
                format!("{}.{apath}.props", self.path),
                other.to_string(),
            ),
        }
    }

    fn expand(&self, path: &str, expr: &str) -> Result<Vec<String>, ConfigError> {
        inline::expand(expr).map_err(|e| {
            self.ctx
                .err(ConfigErrorKind::BadInlineExpression, path, e.to_string())
        })
    }

    /// `subject` says what named the data source (`data node `ds_2.t`: `),
    /// so the message points at the entry of a list, not only the list.
    fn check_source(
        &self,
        path: &str,
        subject: &str,
        ds: &str,
        data_sources: &[String],
    ) -> Result<(), ConfigError> {
        if data_sources.iter().any(|d| d == ds) {
            return Ok(());
        }
        Err(self.ctx.err(
            ConfigErrorKind::DataNodeOutsideDataSources,
            path,
            format!(
                "{subject}data source `{ds}` is not declared (declared: {})",
                if data_sources.is_empty() {
                    "none".to_owned()
                } else {
                    data_sources.join(", ")
                }
            ),
        ))
    }

    fn expand_nodes(
        &self,
        path: &str,
        expr: &str,
        data_sources: &[String],
    ) -> Result<Vec<DataNode>, ConfigError> {
        let mut nodes: Vec<DataNode> = Vec::new();
        // Checked through a set: a scan of `nodes` per node is quadratic.
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for item in self.expand(path, expr)? {
            let Some((ds, table)) = item.split_once('.') else {
                return Err(self.ctx.err(
                    ConfigErrorKind::BadInlineExpression,
                    path,
                    format!("data node `{item}` is not of the form `data_source.table`"),
                ));
            };
            if table.is_empty() || table.contains('.') {
                return Err(self.ctx.err(
                    ConfigErrorKind::BadInlineExpression,
                    path,
                    format!("data node `{item}` is not of the form `data_source.table`"),
                ));
            }
            self.check_source(path, &format!("data node `{item}`: "), ds, data_sources)?;
            let node = DataNode {
                data_source: ds.to_owned(),
                table: table.to_owned(),
            };
            if !seen.insert(item.clone()) {
                return Err(self.ctx.err(
                    ConfigErrorKind::BadInlineExpression,
                    path,
                    format!("data node `{item}` is listed twice"),
                ));
            }
            nodes.push(node);
        }
        if nodes.is_empty() {
            return Err(self.ctx.err(
                ConfigErrorKind::BadInlineExpression,
                path,
                "expands to no data node",
            ));
        }
        Ok(nodes)
    }

    fn lookup(&self, path: &str, name: &str) -> Result<Arc<dyn ShardingAlgorithm>, ConfigError> {
        self.algorithms.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.cfg.sharding_algorithms.keys().map(String::as_str).collect();
            self.ctx.err(
                ConfigErrorKind::UnknownAlgorithm,
                path,
                format!(
                    "sharding algorithm `{name}` is not defined in shardingAlgorithms (defined: {})",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
            )
        })
    }

    fn shape_check(
        &self,
        path: &str,
        name: &str,
        alg: &Arc<dyn ShardingAlgorithm>,
        want: AlgorithmShape,
    ) -> Result<(), ConfigError> {
        if alg.shape() == want {
            return Ok(());
        }
        Err(self.ctx.err(
            ConfigErrorKind::BadStrategy,
            path,
            format!(
                "algorithm `{name}` ({}) is a {:?} algorithm and cannot serve a {:?} strategy",
                alg.type_name(),
                alg.shape(),
                want
            ),
        ))
    }

    fn strategy(&self, path: &str, s: &StrategyConfig) -> Result<Strategy, ConfigError> {
        let count = [
            s.standard.is_some(),
            s.complex.is_some(),
            s.hint.is_some(),
            s.none,
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if count != 1 {
            return Err(self.ctx.err(
                ConfigErrorKind::BadStrategy,
                path,
                "a strategy has exactly one of `standard`, `complex`, `hint`, `none`",
            ));
        }
        if let Some(st) = &s.standard {
            let apath = format!("{path}.standard.shardingAlgorithmName");
            let algorithm = self.lookup(&apath, &st.sharding_algorithm_name)?;
            self.shape_check(
                &apath,
                &st.sharding_algorithm_name,
                &algorithm,
                AlgorithmShape::Standard,
            )?;
            let column = st
                .sharding_column
                .clone()
                .or_else(|| self.cfg.default_sharding_column.clone())
                .ok_or_else(|| {
                    self.ctx.err(
                        ConfigErrorKind::BadStrategy,
                        format!("{path}.standard"),
                        "missing `shardingColumn` (and no `defaultShardingColumn`)",
                    )
                })?;
            return Ok(Strategy::Standard {
                column,
                algorithm_name: st.sharding_algorithm_name.clone(),
                algorithm,
            });
        }
        if let Some(c) = &s.complex {
            let apath = format!("{path}.complex.shardingAlgorithmName");
            let algorithm = self.lookup(&apath, &c.sharding_algorithm_name)?;
            self.shape_check(
                &apath,
                &c.sharding_algorithm_name,
                &algorithm,
                AlgorithmShape::Complex,
            )?;
            let columns: Vec<String> = c
                .sharding_columns
                .split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect();
            if columns.is_empty() {
                return Err(self.ctx.err(
                    ConfigErrorKind::BadStrategy,
                    format!("{path}.complex.shardingColumns"),
                    "no column named",
                ));
            }
            return Ok(Strategy::Complex {
                columns,
                algorithm_name: c.sharding_algorithm_name.clone(),
                algorithm,
            });
        }
        if let Some(h) = &s.hint {
            let apath = format!("{path}.hint.shardingAlgorithmName");
            let algorithm = self.lookup(&apath, &h.sharding_algorithm_name)?;
            self.shape_check(
                &apath,
                &h.sharding_algorithm_name,
                &algorithm,
                AlgorithmShape::Hint,
            )?;
            return Ok(Strategy::Hint {
                algorithm_name: h.sharding_algorithm_name.clone(),
                algorithm,
            });
        }
        Ok(Strategy::None)
    }

    fn key_generate(
        &self,
        tpath: &str,
        own: Option<&KeyGenerateStrategyConfig>,
    ) -> Result<Option<KeyGenerate>, ConfigError> {
        let (cfg, path) = match (own, &self.cfg.default_key_generate_strategy) {
            (Some(k), _) => (k, format!("{tpath}.keyGenerateStrategy")),
            (None, Some(k)) => (k, format!("{}.defaultKeyGenerateStrategy", self.path)),
            (None, None) => return Ok(None),
        };
        let generator = self
            .generators
            .get(&cfg.key_generator_name)
            .cloned()
            .ok_or_else(|| {
                self.ctx.err(
                    ConfigErrorKind::UnknownKeyGenerator,
                    format!("{path}.keyGeneratorName"),
                    format!(
                        "key generator `{}` is not defined in keyGenerators",
                        cfg.key_generator_name
                    ),
                )
            })?;
        Ok(Some(KeyGenerate {
            column: cfg.column.clone(),
            generator_name: cfg.key_generator_name.clone(),
            generator,
        }))
    }

    fn insert(
        &self,
        rule: &mut ShardingRule,
        path: &str,
        table: ShardingTable,
    ) -> Result<(), ConfigError> {
        let key = table.logic_name.to_ascii_lowercase();
        if let Some(prev) = rule.tables.get(&key) {
            return Err(self.ctx.err(
                ConfigErrorKind::DuplicateLogicalTable,
                path,
                format!(
                    "logical table `{}` is already defined as `{}`{}",
                    table.logic_name,
                    prev.logic_name,
                    if prev.auto {
                        " in autoTables"
                    } else {
                        " in tables"
                    }
                ),
            ));
        }
        rule.tables.insert(key, table);
        Ok(())
    }
}

/// `bindingTables`: each entry `t_a,t_b` or `name:t_a,t_b`. Bound tables
/// must be sharding tables with the same data sources and the same number
/// of actual tables in each, or routing them together would be wrong.
fn binding_groups(b: &Builder<'_>, rule: &mut ShardingRule) -> Result<(), ConfigError> {
    for (i, entry) in b.cfg.binding_tables.iter().enumerate() {
        let path = format!("{}.bindingTables[{i}]", b.path);
        let (name, list) = match entry.split_once(':') {
            Some((n, l)) => (Some(n.trim().to_owned()), l),
            None => (None, entry.as_str()),
        };
        let tables: Vec<String> = list
            .split(',')
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        if tables.len() < 2 {
            return Err(b.ctx.err(
                ConfigErrorKind::BindingTablesMismatch,
                &path,
                format!("`{entry}`: a binding group needs at least two tables"),
            ));
        }
        let mut first: Option<&ShardingTable> = None;
        for t in &tables {
            let Some(st) = rule.tables.get(t) else {
                return Err(b.ctx.err(
                    ConfigErrorKind::BindingTablesMismatch,
                    &path,
                    format!("`{t}` is not a sharding table"),
                ));
            };
            if rule.binding_of.contains_key(t) {
                return Err(b.ctx.err(
                    ConfigErrorKind::BindingTablesMismatch,
                    &path,
                    format!("`{t}` is already in another binding group"),
                ));
            }
            match first {
                None => first = Some(st),
                Some(f) => {
                    let shape = |x: &ShardingTable| -> Vec<(String, usize)> {
                        x.tables_by_data_source
                            .iter()
                            .map(|(d, t)| (d.clone(), t.len()))
                            .collect()
                    };
                    if shape(f) != shape(st) {
                        return Err(b.ctx.err(
                            ConfigErrorKind::BindingTablesMismatch,
                            &path,
                            format!(
                                "binding tables `{}` and `{}` have different data nodes ({} vs {})",
                                f.logic_name,
                                st.logic_name,
                                describe(f),
                                describe(st)
                            ),
                        ));
                    }
                }
            }
        }
        let idx = rule.binding_groups.len();
        for t in &tables {
            rule.binding_of.insert(t.clone(), idx);
        }
        rule.binding_groups.push(BindingGroup { name, tables });
    }
    Ok(())
}

fn describe(t: &ShardingTable) -> String {
    t.tables_by_data_source
        .iter()
        .map(|(d, ts)| {
            format!(
                "{d}: {} table{}",
                ts.len(),
                if ts.len() == 1 { "" } else { "s" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
