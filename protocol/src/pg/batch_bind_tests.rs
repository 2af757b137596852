use super::*;

fn sample() -> BatchBind {
    BatchBind {
        statement: "S_1".into(),
        portal: String::new(),
        param_formats: vec![0, 1],
        result_formats: vec![0],
        params_per_row: 2,
        rows: vec![
            vec![Some(Bytes::from_static(b"1")), None],
            vec![
                Some(Bytes::from_static(b"")),
                Some(Bytes::from_static(b"\x00\x01")),
            ],
            vec![None, Some(Bytes::from_static(b"abc"))],
        ],
    }
}

/// The body of `b`, without tag and length.
fn body(b: &BatchBind) -> BytesMut {
    let mut buf = BytesMut::new();
    b.encode(&mut buf).unwrap();
    assert_eq!(buf[0], b'U');
    let len = i32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
    assert_eq!(len as usize, buf.len() - 1);
    buf.split_off(5)
}

fn err(body: &[u8]) -> String {
    BatchBind::decode(Bytes::copy_from_slice(body))
        .unwrap_err()
        .to_string()
}

/// Offset of the rows in `sample()`'s body.
const ROWS_AT: usize = 4 + 1 + 4 + 2 + 4 + 2 + 2 + 2;

#[test]
fn round_trips() {
    for b in [
        sample(),
        BatchBind::default(),
        BatchBind {
            rows: vec![vec![]; 3],
            ..BatchBind::default()
        },
    ] {
        let decoded = BatchBind::decode(body(&b).freeze()).unwrap();
        assert_eq!(decoded, b);
    }
}

#[test]
fn to_message_is_the_same_frame() {
    let b = sample();
    let mut direct = BytesMut::new();
    b.encode(&mut direct).unwrap();
    let mut via = BytesMut::new();
    b.to_message().unwrap().encode(&mut via).unwrap();
    assert_eq!(direct, via);
}

#[test]
fn forged_counts_are_refused_before_allocating() {
    let mut b = body(&sample());
    b[..4].copy_from_slice(&i32::MAX.to_be_bytes());
    assert!(err(&b).contains("fewer rows than the batch count 2147483647"));
    b[..4].copy_from_slice(&(-1i32).to_be_bytes());
    assert!(err(&b).contains("negative batch count"));
    // Zero parameters per row: the body cannot bound the count.
    let mut b = body(&BatchBind::default());
    b[..4].copy_from_slice(&(1i32 << 30).to_be_bytes());
    assert!(err(&b).contains("without parameters exceeds"));
    // A format count far beyond the body.
    let mut b = body(&sample());
    b[9..11].copy_from_slice(&i16::MAX.to_be_bytes());
    assert!(err(&b).contains("truncated parameter formats"));
}

#[test]
fn fewer_rows_than_the_count() {
    let mut b = body(&sample());
    b[..4].copy_from_slice(&4i32.to_be_bytes());
    // 4 rows x 2 values x 4 bytes = 32 > the bytes left.
    assert!(err(&b).contains("fewer rows"), "{}", err(&b));
    // Enough bytes for the bound, but the rows end early.
    let one_row = BatchBind {
        param_formats: vec![],
        params_per_row: 1,
        rows: vec![vec![Some(Bytes::from(vec![7u8; 20]))]],
        ..sample()
    };
    let mut b = body(&one_row);
    b[..4].copy_from_slice(&2i32.to_be_bytes());
    assert!(
        err(&b).contains("fewer rows than the batch count (1 of 2)"),
        "{}",
        err(&b)
    );
}

#[test]
fn more_rows_than_the_count() {
    let mut b = body(&sample());
    b[..4].copy_from_slice(&2i32.to_be_bytes());
    assert!(err(&b).contains("more rows than the batch count (2 declared, 3 sent)"));
}

#[test]
fn truncated_value_and_trailing_bytes() {
    let b = body(&sample());
    // Cut inside row 2's "abc".
    let e = err(&b[..b.len() - 1]);
    assert!(e.contains("truncated value of row 2 parameter 1"), "{e}");
    let mut long = b.clone();
    long.extend_from_slice(&[0, 0]);
    let e = err(&long);
    assert!(e.contains("2 trailing bytes"), "{e}");
    // A value length that is neither -1 nor a length.
    let mut bad = b.clone();
    bad[ROWS_AT..ROWS_AT + 4].copy_from_slice(&(-5i32).to_be_bytes());
    assert!(err(&bad).contains("invalid value of row 0 parameter 0 length -5"));
}

#[test]
fn wrong_number_of_parameters_per_row() {
    let mut b = body(&sample());
    // Two formats, three parameters per row.
    b[ROWS_AT - 2..ROWS_AT].copy_from_slice(&3i16.to_be_bytes());
    assert!(err(&b).contains("wrong number of parameters per row: 3"));
    let e = sample().check_params(3).unwrap_err().to_string();
    assert!(e.contains("statement \"S_1\" takes 3"), "{e}");
    sample().check_params(2).unwrap();
    // The encoder refuses ragged rows.
    let mut ragged = sample();
    ragged.rows[1].pop();
    let e = ragged.encode(&mut BytesMut::new()).unwrap_err().to_string();
    assert!(e.contains("row 1 has 1 values"), "{e}");
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let b = body(&sample());
    for cut in 0..b.len() {
        assert!(
            BatchBind::decode(Bytes::copy_from_slice(&b[..cut])).is_err(),
            "{cut}"
        );
    }
}

#[test]
fn embedded_execute_follows_the_rows() {
    let b = BatchBind {
        statement: "s1".into(),
        ..sample()
    };
    let mut plain = BytesMut::new();
    encode_batch_bind(
        &mut plain,
        "s1",
        "",
        &b.param_formats,
        &[],
        2,
        b.rows.iter().map(Vec::as_slice),
    )
    .unwrap();
    let mut with = BytesMut::new();
    encode_batch_bind_execute(
        &mut with,
        "s1",
        &b.param_formats,
        2,
        b.rows.iter().map(Vec::as_slice),
    )
    .unwrap();
    assert_eq!(with.len(), plain.len() + EMBEDDED_EXECUTE.len());
    assert!(with.ends_with(&EMBEDDED_EXECUTE));
    assert_eq!(&with[5..plain.len()], &plain[5..]);
    // The rows decode once the Execute is taken off; with it, the decoder
    // names the extra bytes.
    let body = with.split_off(5).freeze();
    let rows_end = body.len() - EMBEDDED_EXECUTE.len();
    let decoded = BatchBind::decode(body.slice(..rows_end)).unwrap();
    assert_eq!(decoded.rows, b.rows);
    assert!(BatchBind::decode(body).is_err());
}
