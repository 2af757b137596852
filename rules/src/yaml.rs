//! The one module that touches the YAML libraries (serde_yaml is deprecated
//! upstream; keeping it behind this wall makes a later swap one file).
//!
//! serde_yaml gives typed values and line numbers for its own errors, but
//! not for the nodes we validate afterwards. So the text is also walked once
//! with yaml-rust2's event parser to record the line of every node by its
//! dotted path (`rules[0].tables.t_order.actualDataNodes`); validation
//! errors look their line up there.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use crate::error::{ConfigError, ConfigErrorKind};

/// Lines of the nodes of one YAML document, by dotted path.
#[derive(Debug, Default, Clone)]
pub(crate) struct LineIndex {
    lines: HashMap<String, usize>,
}

impl LineIndex {
    /// The line of `path`, or of its nearest ancestor that has one.
    pub(crate) fn line_of(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(line) = self.lines.get(p) {
                return Some(*line);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

/// Where the walker is inside a collection.
enum Frame {
    /// In a mapping: the path of the mapping, and the key whose value comes
    /// next (`None` while the next scalar is a key).
    Mapping {
        path: String,
        key: Option<String>,
    },
    Sequence {
        path: String,
        index: usize,
    },
}

#[derive(Default)]
struct Walker {
    stack: Vec<Frame>,
    index: LineIndex,
}

impl Walker {
    /// Path of the node that starts now, and marks a mapping's key as used.
    /// Returns `None` when the node is a mapping key (a scalar) itself.
    fn node_path(&mut self, scalar: Option<&str>, line: usize) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Sequence { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                Some(p)
            }
            Some(Frame::Mapping { path, key }) => match key.take() {
                Some(k) => Some(join(path, &k)),
                None => {
                    // A key: its line is the best line for its value too,
                    // which may start on the next line (a nested mapping).
                    let k = scalar.unwrap_or("?").to_owned();
                    self.index.lines.insert(join(path, &k), line);
                    *key = Some(k);
                    None
                }
            },
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(value, ..) => {
                if let Some(p) = self.node_path(Some(&value), line) {
                    self.index.lines.entry(p).or_insert(line);
                }
            }
            Event::Alias(_) => {
                if let Some(p) = self.node_path(None, line) {
                    self.index.lines.entry(p).or_insert(line);
                }
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                // A collection used as a mapping key is not something our
                // files have; give it a placeholder name rather than fail.
                let path = self
                    .node_path(Some("<complex key>"), line)
                    .unwrap_or_else(|| "<complex key>".to_owned());
                self.index.lines.entry(path.clone()).or_insert(line);
                self.stack.push(if is_map {
                    Frame::Mapping { path, key: None }
                } else {
                    Frame::Sequence { path, index: 0 }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

/// Parses `text` (the contents of `file`) into `T`, and indexes its lines.
pub(crate) fn parse<T: DeserializeOwned>(
    file: &Path,
    text: &str,
) -> Result<(T, LineIndex), ConfigError> {
    let value: T = serde_yaml::from_str(text).map_err(|e| from_serde(file, &e))?;
    let mut walker = Walker::default();
    // serde_yaml accepted the text, so a scan error here would be a
    // disagreement between the two parsers; lines are then just unknown.
    let _ = Parser::new_from_str(text).load(&mut walker, false);
    Ok((value, walker.index))
}

/// Turns a serde_yaml error into a `ConfigError`, recognising the unknown
/// keys that `deny_unknown_fields` reports.
fn from_serde(file: &Path, e: &serde_yaml::Error) -> ConfigError {
    let message = e.to_string();
    // serde_yaml prefixes the message with the path: "a.b: unknown field ..."
    let (path, detail) = match message.split_once(": ") {
        Some((p, d)) if !p.contains(' ') => (p.to_owned(), d.to_owned()),
        _ => (String::new(), message.clone()),
    };
    let detail = detail
        .split(" at line ")
        .next()
        .unwrap_or(&detail)
        .to_owned();
    let (kind, detail) = if detail.starts_with("unknown field `password`") {
        (
            ConfigErrorKind::PasswordMisplaced,
            "`password` is not accepted here: passwords belong only in \
             `authority.users[].password` (global.yaml) and \
             `dataSources.<name>.password` (database files)"
                .to_owned(),
        )
    } else if detail.starts_with("unknown field") {
        (ConfigErrorKind::UnknownKey, detail)
    } else {
        (ConfigErrorKind::Syntax, detail)
    };
    let message = if path.is_empty() {
        detail
    } else {
        format!("{path}: {detail}")
    };
    ConfigError {
        file: file.to_owned(),
        line: e.location().map(|l| l.line()),
        path,
        kind,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_nested_paths_with_lines() {
        let text = "a: 1\nrules:\n- !SHARDING\n  tables:\n    t_order:\n      actualDataNodes: ds_${0..1}.t\n";
        let (_, idx): (serde_yaml::Value, _) = parse(Path::new("x.yaml"), text).unwrap();
        assert_eq!(idx.line_of("a"), Some(1));
        assert_eq!(idx.line_of("rules[0].tables.t_order"), Some(5));
        assert_eq!(
            idx.line_of("rules[0].tables.t_order.actualDataNodes"),
            Some(6)
        );
        // Unknown leaves fall back to their nearest ancestor.
        assert_eq!(idx.line_of("rules[0].tables.t_order.nope"), Some(5));
    }

    #[test]
    fn unknown_password_key_is_its_own_kind() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct S {
            a: i32,
        }
        let err = parse::<S>(Path::new("g.yaml"), "a: 1\npassword: x\n").unwrap_err();
        assert_eq!(err.kind, ConfigErrorKind::PasswordMisplaced);
        assert_eq!(err.line, Some(2));
        let err = parse::<S>(Path::new("g.yaml"), "a: 1\nb: x\n").unwrap_err();
        assert_eq!(err.kind, ConfigErrorKind::UnknownKey);
        assert!(err.message.contains("unknown field `b`"), "{}", err.message);
    }
}
