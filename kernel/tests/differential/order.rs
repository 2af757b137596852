//! ORDER BY names resolved as the server resolves them: an output column
//! (alias, or PostgreSQL's implicit name of an unaliased item such as
//! `amount::text`) before an input column of the same name, positions,
//! expressions over a shadowed name (input column in both dialects), keys
//! missing from the select list, keys equal to an item, and DISTINCT.
//! Every ORDER BY ends in a unique key, so the expected order is total.

use shardwire_kernel::Dialect;

/// (template, SQL with `{w}` for the predicate, ordered, AVG columns), as
/// `agg::handwritten`.
pub(super) fn handwritten(dialect: Dialect) -> Vec<(&'static str, String, bool, Vec<usize>)> {
    let pg = dialect == Dialect::PostgreSql;
    // Text whose order differs from the numeric one ('-0.05' < '10.00' <
    // '9.50').
    let txt = if pg {
        "amount::text"
    } else {
        "CAST(amount AS CHAR)"
    };
    let mut out = Vec::new();
    let mut add = |sql: String, ordered: bool| out.push(("hand_order", sql, ordered, Vec::new()));
    // An alias shadowing the input column: ORDER BY sorts the output.
    add(
        format!("SELECT {txt} AS amount, order_id FROM t_order{{w}} ORDER BY amount, order_id"),
        true,
    );
    add(
        format!(
            "SELECT order_id, {txt} AS amount FROM t_order{{w}} ORDER BY amount DESC, order_id"
        ),
        true,
    );
    // Unaliased: PostgreSQL names the column `amount` and sorts it as text;
    // MySQL names it by its expression, so `amount` is the input column.
    add(
        format!("SELECT {txt}, order_id FROM t_order{{w}} ORDER BY amount, order_id"),
        true,
    );
    add(
        format!("SELECT order_id, {txt} AS amount FROM t_order{{w}} ORDER BY 2, 1"),
        true,
    );
    // An expression over the shadowed name reads the input column.
    add(
        format!("SELECT {txt} AS amount, order_id FROM t_order{{w}} ORDER BY amount + 0, order_id"),
        true,
    );
    add(
        "SELECT order_id, status AS amount FROM t_order{w} ORDER BY amount DESC, order_id".into(),
        true,
    );
    // Not in the select list: a derived column the merge drops.
    add(
        "SELECT order_id, status FROM t_order{w} ORDER BY amount DESC, order_id".into(),
        true,
    );
    // Equal to a select item.
    add(
        "SELECT order_id, amount * 2 AS dbl FROM t_order{w} ORDER BY amount * 2, order_id".into(),
        true,
    );
    add(
        format!("SELECT DISTINCT {txt} AS amount FROM t_order{{w}} ORDER BY amount"),
        true,
    );
    // Groups arrive sorted by the shards' ORDER BY, which must name the
    // grouped input column, not the output column of the same name.
    add(
        format!("SELECT {txt}, COUNT(*) FROM t_order{{w}} GROUP BY amount"),
        false,
    );
    if pg {
        add(
            "SELECT DISTINCT amount::text FROM t_order{w} ORDER BY amount".into(),
            true,
        );
        add(
            "SELECT upper(status), order_id FROM t_order{w} ORDER BY upper, order_id".into(),
            true,
        );
        add(
            "SELECT CAST(amount AS text), order_id FROM t_order{w} ORDER BY amount DESC, order_id"
                .into(),
            true,
        );
    }
    out
}

/// (SQL, construct the refusal must name).
pub(super) fn refused_by_name(dialect: Dialect) -> Vec<(&'static str, &'static str)> {
    // PostgreSQL and MySQL 8 reject it; MariaDB sorts by the key of
    // whichever duplicate its scan kept.
    let distinct = (
        "SELECT DISTINCT status FROM t_order ORDER BY amount",
        "not in the select list of a SELECT DISTINCT",
    );
    match dialect {
        // PostgreSQL fails these as ambiguous: two output columns of that
        // name with different expressions.
        Dialect::PostgreSql => vec![
            distinct,
            (
                "SELECT amount::text AS amount, amount FROM t_order ORDER BY amount",
                "ambiguous",
            ),
            (
                "SELECT amount::text, amount FROM t_order ORDER BY amount",
                "ambiguous",
            ),
        ],
        Dialect::MySql => vec![distinct],
    }
}
