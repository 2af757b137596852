//! Generated keys: an INSERT into a sharding table with a key generator that
//! leaves the key column out gets the column and one generated value per
//! row, before routing, so that a generated sharding column routes the row.

use shardwire_rules::keygen::{GeneratedKey, KeyGenerator};
use shardwire_rules::snapshot::LogicalDatabase;
use sqlparser::ast::{
    Expr, Ident, ObjectName, ObjectNamePart, SetExpr, Statement, TableObject, Value,
};

use crate::error::KernelError;

/// The keys generated for one INSERT, in row order: what the frontend
/// reports as LAST_INSERT_ID / RETURNING.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKeys {
    /// The key column, as the rules name it.
    pub column: String,
    pub keys: Vec<GeneratedKey>,
}

/// The INSERT with generated keys added, when it needs them. `generator`
/// overrides the table's (tests use a deterministic one).
pub(crate) fn add_generated_keys(
    statement: &Statement,
    db: &LogicalDatabase,
    generator: Option<&dyn KeyGenerator>,
) -> Result<Option<(Statement, GeneratedKeys)>, KernelError> {
    let Statement::Insert(insert) = statement else {
        return Ok(None);
    };
    let TableObject::TableName(name) = &insert.table else {
        return Ok(None);
    };
    let Some(ObjectNamePart::Identifier(table)) = name.0.last() else {
        return Ok(None);
    };
    let Some(table) = db.sharding.table(&table.value) else {
        return Ok(None);
    };
    let Some(key_generate) = &table.key_generate else {
        return Ok(None);
    };
    // Without a column list the values cannot be matched to columns (the
    // router refuses such INSERTs); with the key column the client chose it.
    if insert.columns.is_empty()
        || insert
            .columns
            .iter()
            .any(|c| matches!(c.0.last(), Some(ObjectNamePart::Identifier(id)) if id.value.eq_ignore_ascii_case(&key_generate.column)))
    {
        return Ok(None);
    }
    let Some(SetExpr::Values(values)) = insert.source.as_ref().map(|q| q.body.as_ref()) else {
        return Ok(None);
    };
    let generator = generator.unwrap_or(key_generate.generator.as_ref());
    let mut keys = Vec::with_capacity(values.rows.len());
    let mut literals = Vec::with_capacity(values.rows.len());
    for _ in &values.rows {
        let key = generator.next_key()?;
        let literal = match &key {
            GeneratedKey::Int(v) => Value::Number(v.to_string(), false),
            GeneratedKey::Text(s) => {
                // sqlparser prints a quote already followed by a quote (or
                // preceded by a backslash) as if it were escaped, and MySQL
                // may read a backslash as an escape: such a key could not be
                // written faithfully, so it is refused rather than mangled.
                if s.contains(['\'', '\\']) {
                    return Err(KernelError::unsupported(
                        "generated key containing a quote or backslash",
                        [table.logic_name.as_str()],
                        format!("the key {s:?} cannot be written as a literal faithfully"),
                    ));
                }
                Value::SingleQuotedString(s.clone())
            }
        };
        keys.push(key);
        literals.push(Expr::value(literal));
    }
    let mut statement = statement.clone();
    if let Statement::Insert(insert) = &mut statement {
        insert
            .columns
            .push(ObjectName(vec![ObjectNamePart::Identifier(Ident::new(
                key_generate.column.clone(),
            ))]));
        if let Some(SetExpr::Values(values)) = insert.source.as_mut().map(|q| q.body.as_mut()) {
            for (row, literal) in values.rows.iter_mut().zip(literals) {
                row.push(literal);
            }
        }
    }
    Ok(Some((
        statement,
        GeneratedKeys {
            column: key_generate.column.clone(),
            keys,
        },
    )))
}
