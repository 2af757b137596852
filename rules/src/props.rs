//! `props:` maps of algorithms and key generators. ShardingSphere reads them
//! as Java `Properties`, so every scalar is kept as its text and each
//! algorithm parses the ones it knows.

use std::collections::BTreeMap;

use crate::error::AlgorithmError;

/// An algorithm's or key generator's `props`, scalars kept as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Props {
    /// The algorithm type the props belong to, for error messages.
    pub owner: String,
    pub values: BTreeMap<String, String>,
}

impl Props {
    pub fn new(owner: impl Into<String>) -> Self {
        Props {
            owner: owner.into(),
            values: BTreeMap::new(),
        }
    }

    /// Builder used by tests and by the loader.
    pub fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.values.insert(key.to_owned(), value.to_string());
        self
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(|s| s.as_str())
    }

    pub fn require(&self, key: &str) -> Result<&str, AlgorithmError> {
        self.get(key).ok_or_else(|| AlgorithmError::MissingProp {
            algorithm: self.owner.clone(),
            prop: key.to_owned(),
        })
    }

    pub fn get_i64(&self, key: &str) -> Result<Option<i64>, AlgorithmError> {
        match self.get(key) {
            None => Ok(None),
            Some(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.bad(key, text, "expected an integer")),
        }
    }

    pub fn require_i64(&self, key: &str) -> Result<i64, AlgorithmError> {
        self.require(key)?;
        // require() has just proved the key is present.
        self.get_i64(key).map(|v| v.unwrap_or_default())
    }

    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, AlgorithmError> {
        match self.get(key).map(str::trim) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(text) => Err(self.bad(key, text, "expected true or false")),
        }
    }

    pub fn bad(&self, key: &str, value: &str, reason: &str) -> AlgorithmError {
        AlgorithmError::BadProp {
            algorithm: self.owner.clone(),
            prop: key.to_owned(),
            value: value.to_owned(),
            reason: reason.to_owned(),
        }
    }
}
