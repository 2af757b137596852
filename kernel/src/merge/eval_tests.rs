//! Unit tests of `eval`. Expected values were read off PostgreSQL 15 and
//! MariaDB 10.11 (`SELECT <the same expression>`).

use super::*;

fn d(s: &str) -> Expr {
    Expr::Literal(Literal::Decimal(Decimal::parse(s).unwrap()))
}

fn i(v: i64) -> Expr {
    Expr::Literal(Literal::Int(v))
}

fn null() -> Expr {
    Expr::Literal(Literal::Null)
}

fn bin(op: BinOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
    }
}

fn round(e: Expr, digits: Option<i64>) -> Expr {
    Expr::Round {
        expr: Box::new(e),
        digits,
    }
}

fn ctx(dialect: Dialect) -> Context<'static> {
    Context {
        dialect,
        collation: Collation::Binary,
        what: "expression",
        column: 0,
        types: &[],
    }
}

/// The value as the client's text: decimals with their scale.
fn run(dialect: Dialect, e: &Expr) -> String {
    match evaluate(e, &Row::default(), &ctx(dialect)) {
        Ok(Value::Null) => "NULL".into(),
        Ok(Value::Int(v)) => v.to_string(),
        Ok(Value::Decimal(v)) => v.to_string(),
        Ok(Value::Float(v)) => format!("{v}f"),
        Ok(Value::Bool(b)) => b.to_string(),
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("error: {e}"),
    }
}

fn my(e: &Expr) -> String {
    run(Dialect::MySql, e)
}

fn pg(e: &Expr) -> String {
    run(Dialect::PostgreSql, e)
}

#[test]
fn mysql_division_keeps_hidden_digits() {
    use BinOp::*;
    assert_eq!(my(&bin(Mul, bin(Div, i(1), i(3)), i(3))), "1.0000");
    assert_eq!(my(&bin(Div, i(2), i(3))), "0.6667");
    assert_eq!(my(&bin(Div, i(1), i(8))), "0.1250");
    assert_eq!(my(&bin(Div, d("1.00"), i(3))), "0.333333");
    assert_eq!(my(&bin(Div, i(1), d("3.000"))), "0.3333");
    let third = bin(Div, i(1), i(3));
    assert_eq!(my(&bin(Mul, third.clone(), third.clone())), "0.11111111");
    assert_eq!(my(&bin(Div, i(1), third.clone())), "3.0000");
    // Truncated internally, not rounded: 0.666666666 padded.
    assert_eq!(my(&round(bin(Div, i(2), i(3)), Some(10))), "0.6666666660");
    assert_eq!(
        my(&bin(Mul, third.clone(), i(1_000_000_000_000))),
        "333333333000.0000"
    );
    // Both inputs with decimals: two words of quotient digits.
    let big = i(1_000_000_000_000_000_000);
    assert_eq!(
        my(&bin(Mul, bin(Div, d("1.00"), d("3.00")), big.clone())),
        "333333333333333333.000000"
    );
    assert_eq!(
        my(&bin(Mul, bin(Div, d("1.00"), i(3)), big.clone())),
        "333333333000000000.000000"
    );
    assert_eq!(
        my(&bin(Mul, bin(Div, d("1.0000000"), i(3)), big)),
        "333333333333333333.00000000000"
    );
}

#[test]
fn mysql_integer_division_modulo_and_zero() {
    use BinOp::*;
    assert_eq!(my(&bin(IntDiv, i(7), i(2))), "3");
    assert_eq!(my(&bin(IntDiv, i(-7), i(2))), "-3");
    assert_eq!(my(&bin(Mod, i(-7), i(3))), "-1");
    // MariaDB's default sql_mode warns: NULL, not an error, in a SELECT.
    assert_eq!(my(&bin(Div, i(1), i(0))), "NULL");
    assert_eq!(my(&bin(IntDiv, i(5), i(0))), "NULL");
    assert_eq!(my(&bin(Mod, i(5), i(0))), "NULL");
    assert_eq!(my(&bin(Div, d("1.5"), d("0.00"))), "NULL");
    assert_eq!(
        my(&bin(Mul, i(i64::MAX), i(2))),
        "error: expression of column 0 overflowed"
    );
}

#[test]
fn rounding_per_dialect() {
    assert_eq!(my(&round(d("1.5"), Some(3))), "1.500");
    assert_eq!(pg(&round(d("1.5"), Some(3))), "1.500");
    assert_eq!(my(&round(i(5), Some(2))), "5");
    assert_eq!(pg(&round(i(5), Some(2))), "5.00");
    // round(integer) is round(double precision) on PostgreSQL.
    assert_eq!(pg(&round(i(5), None)), "5f");
    assert_eq!(my(&round(d("2.5"), None)), "3");
    assert_eq!(my(&round(d("-2.5"), None)), "-3");
    assert_eq!(pg(&round(d("-2.5"), None)), "-3");
    assert_eq!(my(&round(d("1234.5"), Some(-2))), "1200");
    assert_eq!(pg(&round(d("1234.5"), Some(-2))), "1200");
    assert!(pg(&round(Expr::Literal(Literal::Null), Some(2))) == "NULL");
}

#[test]
fn postgresql_division_and_scales() {
    use BinOp::*;
    assert_eq!(pg(&bin(Div, i(7), i(2))), "3");
    assert_eq!(pg(&bin(Div, i(-7), i(2))), "-3");
    assert_eq!(pg(&bin(Mod, i(-7), i(3))), "-1");
    assert_eq!(pg(&bin(Mod, d("7.5"), i(2))), "1.5");
    assert_eq!(pg(&bin(Mod, i(7), d("2.00"))), "1.00");
    assert_eq!(pg(&bin(Div, i(1), d("3.0"))), "0.33333333333333333333");
    assert_eq!(pg(&bin(Div, d("2.0"), i(3))), "0.66666666666666666667");
    assert_eq!(pg(&bin(Div, d("10.00"), i(4))), "2.5000000000000000");
    assert_eq!(pg(&bin(Mul, d("1.5"), d("1.25"))), "1.875");
    assert_eq!(
        pg(&bin(Div, d("100000000000.0"), i(3))),
        "33333333333.33333333"
    );
    assert_eq!(
        pg(&bin(Div, i(1), d("7.000000000000000000000"))),
        "0.142857142857142857143"
    );
}

#[test]
fn postgresql_division_by_zero_fails() {
    use BinOp::*;
    for e in [
        bin(Div, i(1), i(0)),
        bin(Div, d("1.0"), i(0)),
        bin(Mod, i(5), i(0)),
    ] {
        assert_eq!(pg(&e), "error: division by zero", "{e}");
    }
    // NULL comes first: NULL / 0 is NULL.
    assert_eq!(pg(&bin(Div, null(), i(0))), "NULL");
}

#[test]
fn nulls_and_logic() {
    use BinOp::*;
    assert_eq!(pg(&bin(Add, null(), i(1))), "NULL");
    assert_eq!(pg(&bin(Eq, i(1), null())), "NULL");
    assert_eq!(pg(&bin(Gt, i(5), i(3))), "true");
    assert_eq!(my(&bin(Gt, i(5), i(3))), "1");
    assert_eq!(my(&bin(Eq, d("1.00"), i(1))), "1");
    let unknown = bin(Eq, i(1), null());
    let yes = bin(Eq, i(1), i(1));
    let no = bin(Eq, i(1), i(2));
    assert_eq!(pg(&bin(And, unknown.clone(), no.clone())), "false");
    assert_eq!(pg(&bin(And, unknown.clone(), yes.clone())), "NULL");
    assert_eq!(pg(&bin(Or, unknown.clone(), yes.clone())), "true");
    assert_eq!(my(&bin(Or, unknown.clone(), no.clone())), "NULL");
    assert_eq!(pg(&Expr::Not(Box::new(unknown.clone()))), "NULL");
    assert_eq!(my(&Expr::Not(Box::new(no))), "1");
    let is_null = Expr::IsNull {
        expr: Box::new(null()),
        negated: false,
    };
    assert_eq!(pg(&is_null), "true");
    assert_eq!(pg(&Expr::Coalesce(vec![null(), d("0.50"), i(1)])), "0.50");
    assert!(!holds(&unknown, &Row::default(), &ctx(Dialect::PostgreSql)).unwrap());
    assert!(holds(&yes, &Row::default(), &ctx(Dialect::MySql)).unwrap());
}

#[test]
fn casts_and_abs() {
    let cast = |e: Expr, to| Expr::Cast {
        expr: Box::new(e),
        to,
    };
    let int = CastTo::Integer { bits32: true };
    assert_eq!(pg(&cast(d("2.5"), int)), "3");
    assert_eq!(
        pg(&cast(d("-2.5"), CastTo::Integer { bits32: false })),
        "-3"
    );
    assert_eq!(
        pg(&cast(d("123.456"), CastTo::Numeric(Some((5, 1))))),
        "123.5"
    );
    assert_eq!(
        pg(&cast(d("123.456"), CastTo::Numeric(Some((3, 1))))),
        "error: expression of column 0 overflowed"
    );
    // MySQL clamps to the type's largest value.
    assert_eq!(
        my(&cast(d("123.456"), CastTo::Numeric(Some((3, 1))))),
        "99.9"
    );
    assert_eq!(
        pg(&cast(i(3_000_000_000), int)),
        "error: expression of column 0 overflowed"
    );
    assert_eq!(pg(&Expr::Abs(Box::new(d("-1.50")))), "1.50");
    assert_eq!(my(&Expr::Abs(Box::new(i(-4)))), "4");
}

#[test]
fn columns_and_averages_read_the_row() {
    // AVG inside an expression: sum #0 over count #1, as the server's AVG.
    let row = Row::new(vec![
        Value::Decimal(Decimal::parse("10.00").unwrap()),
        Value::Int(3),
        Value::Text("new".into()),
    ]);
    let avg = Expr::Avg { sum: 0, count: 1 };
    let on = |dialect, e: &Expr| evaluate(e, &row, &ctx(dialect)).unwrap();
    assert_eq!(
        on(Dialect::MySql, &avg),
        Value::Decimal(Decimal::parse("3.333333").unwrap())
    );
    assert_eq!(
        on(Dialect::MySql, &bin(BinOp::Mul, avg.clone(), i(3))).to_owned(),
        Value::Decimal(Decimal::parse("10.000000").unwrap())
    );
    assert_eq!(
        on(Dialect::PostgreSql, &avg),
        Value::Decimal(Decimal::parse("3.3333333333333333").unwrap())
    );
    let text = bin(
        BinOp::Eq,
        Expr::Column(2),
        Expr::Literal(Literal::Text("NEW".into())),
    );
    let ci = Context {
        collation: Collation::CaseInsensitive,
        ..ctx(Dialect::MySql)
    };
    assert!(holds(&text, &row, &ci).unwrap());
    assert!(!holds(&text, &row, &ctx(Dialect::PostgreSql)).unwrap());
    // Text in arithmetic is an error, never a guess.
    assert!(evaluate(
        &bin(BinOp::Add, Expr::Column(2), i(1)),
        &row,
        &ctx(Dialect::MySql)
    )
    .is_err());
    let mut cols = Vec::new();
    bin(BinOp::Add, avg, Expr::Column(2)).columns(&mut cols);
    assert_eq!(cols, vec![0, 1, 2]);
}

#[test]
fn having_conditions_stop_at_the_first_that_is_not_true() {
    use BinOp::*;
    let fails = bin(Gt, bin(Div, i(1), i(0)), i(0));
    let unknown = bin(Eq, i(1), null());
    let yes = bin(Eq, i(1), i(1));
    let pg = ctx(Dialect::PostgreSql);
    let row = Row::default();
    // NULL drops the group before the division matters, in either order.
    assert!(!holds(&bin(And, unknown.clone(), fails.clone()), &row, &pg).unwrap());
    assert!(!holds(&bin(And, fails.clone(), unknown), &row, &pg).unwrap());
    assert!(matches!(
        holds(&bin(And, yes, fails), &row, &pg),
        Err(MergeError::DivisionByZero)
    ));
}

#[test]
fn mysql_coalesce_takes_the_widest_decimals() {
    // coalesce(int, 2.50) is a DECIMAL(.., 2) even when the int is chosen.
    assert_eq!(my(&Expr::Coalesce(vec![i(7), d("2.50")])), "7.00");
    assert_eq!(pg(&Expr::Coalesce(vec![i(7), d("2.50")])), "7");
    assert_eq!(my(&Expr::Coalesce(vec![null(), i(3)])), "3");
}

#[test]
fn postgresql_casts_floats_as_the_server() {
    let cast = |e: Expr, to| Expr::Cast {
        expr: Box::new(e),
        to,
    };
    // round(integer) is a float; 9.5 / 2.5 to bigint rounds half to even.
    let half = |v| Expr::Binary {
        op: BinOp::Div,
        left: Box::new(round(i(v), None)),
        right: Box::new(i(2)),
    };
    let big = CastTo::Integer { bits32: false };
    assert_eq!(pg(&cast(half(19), big)), "10");
    assert_eq!(pg(&cast(half(21), big)), "10");
    assert_eq!(pg(&cast(half(19), CastTo::Numeric(None))), "9.5");
    assert_eq!(pg(&round(half(5), None)), "2f");
}

/// `e` over `values` whose columns have `types`, as the client's text.
fn typed(dialect: Dialect, e: &Expr, values: Vec<Value>, types: &[ColumnType]) -> String {
    let context = Context {
        types,
        ..ctx(dialect)
    };
    match evaluate(e, &Row::new(values), &context) {
        Ok(Value::Null) => "NULL".into(),
        Ok(Value::Int(v)) => v.to_string(),
        Ok(Value::Decimal(v)) => v.to_string(),
        Ok(other) => format!("{other:?}"),
        Err(e) => format!("error: {e}"),
    }
}

fn int(bits: u8) -> ColumnType {
    ColumnType {
        int_bits: Some(bits),
        decimals: None,
    }
}

#[test]
fn postgresql_integer_arithmetic_fails_at_its_operands_width() {
    use BinOp::*;
    let col = Expr::Column(0);
    let max4 = || vec![Value::Int(i64::from(i32::MAX))];
    // max(int4) + 1: `integer out of range` on the server.
    let plus_one = bin(Add, col.clone(), i(1));
    assert_eq!(
        typed(Dialect::PostgreSql, &plus_one, max4(), &[int(32)]),
        "error: integer out of range"
    );
    // An int8 operand widens it; a literal past 32 bits is an int8.
    assert_eq!(
        typed(Dialect::PostgreSql, &plus_one, max4(), &[int(64)]),
        "2147483648"
    );
    let plus_big = bin(Add, col.clone(), i(1 << 40));
    assert_eq!(
        typed(
            Dialect::PostgreSql,
            &plus_big,
            vec![Value::Int(0)],
            &[int(32)]
        ),
        "1099511627776"
    );
    // Intermediate results count: (x * 2) / 2 overflows in the product.
    let twice_halved = bin(Div, bin(Mul, col.clone(), i(2)), i(2));
    assert_eq!(
        typed(Dialect::PostgreSql, &twice_halved, max4(), &[int(32)]),
        "error: integer out of range"
    );
    let small = vec![Value::Int(20_000)];
    assert_eq!(
        typed(
            Dialect::PostgreSql,
            &bin(Add, col.clone(), col.clone()),
            small.clone(),
            &[int(16)]
        ),
        "error: smallint out of range"
    );
    // int2 + int4 literal is an int4.
    assert_eq!(
        typed(
            Dialect::PostgreSql,
            &bin(Add, col.clone(), i(20_000)),
            small,
            &[int(16)]
        ),
        "40000"
    );
    let min8 = vec![Value::Int(i64::MIN)];
    assert_eq!(
        typed(
            Dialect::PostgreSql,
            &Expr::Neg(Box::new(col.clone())),
            min8,
            &[int(64)]
        ),
        "error: bigint out of range"
    );
    // MySQL computes integers in 64 bits.
    assert_eq!(
        typed(Dialect::MySql, &plus_one, max4(), &[int(32)]),
        "2147483648"
    );
}
