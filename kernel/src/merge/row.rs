//! [`Row`]: one result row as the merge sees it.

use super::value::Value;

/// A result row: the decoded cells plus, optionally, the row exactly as the
/// backend encoded it. The raw form lets the frontend forward rows the merge
/// only reordered without encoding them again; any change to the cells drops
/// it, so it is never stale.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    values: Vec<Value>,
    raw: Option<Vec<u8>>,
}

impl Row {
    pub fn new(values: Vec<Value>) -> Self {
        Self { values, raw: None }
    }

    /// A row that still carries its backend encoding.
    pub fn with_raw(values: Vec<Value>, raw: Vec<u8>) -> Self {
        Self {
            values,
            raw: Some(raw),
        }
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The cell at `column`; `Null` past the end, so a short row sorts like
    /// one with trailing NULLs instead of panicking the proxy.
    pub fn get(&self, column: usize) -> &Value {
        self.values.get(column).unwrap_or(&Value::Null)
    }

    /// The backend's encoding, if no cell has changed since it was read.
    pub fn raw(&self) -> Option<&[u8]> {
        self.raw.as_deref()
    }

    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// Sets a cell, growing the row with NULLs if needed.
    pub(crate) fn set(&mut self, column: usize, value: Value) {
        if self.values.len() <= column {
            self.values.resize(column + 1, Value::Null);
        }
        self.values[column] = value;
        self.raw = None;
    }

    /// Drops derived columns the client never asked for.
    pub(crate) fn truncate(&mut self, columns: usize) {
        if self.values.len() > columns {
            self.values.truncate(columns);
            self.raw = None;
        }
    }

    /// A rough count of the bytes this row holds, for memory budgets.
    pub(crate) fn estimated_size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.values.iter().map(Value::estimated_size).sum::<usize>()
            + self.raw.as_ref().map_or(0, Vec::len)
    }
}

impl From<Vec<Value>> for Row {
    fn from(values: Vec<Value>) -> Self {
        Self::new(values)
    }
}
