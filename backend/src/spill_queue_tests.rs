use std::sync::Arc;

use bytes::Bytes;
use shardwire_protocol::pg::DataRow;

use super::*;
use crate::pg::QueryEvent;

fn row(i: usize) -> QueryEvent {
    let value = format!("{i:0>90}");
    QueryEvent::Row(DataRow::from_values([Some(value.as_bytes())]).unwrap())
}

fn value_of(event: &QueryEvent) -> String {
    match event {
        QueryEvent::Row(r) => {
            String::from_utf8(r.columns().next().unwrap().unwrap().to_vec()).unwrap()
        }
        QueryEvent::CommandComplete(tag) => tag.clone(),
        other => panic!("unexpected {other:?}"),
    }
}

async fn drain(rx: &mut SpillReceiver<QueryEvent>) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(item) = rx.recv().await {
        out.push(value_of(&item.unwrap()));
    }
    out
}

#[tokio::test]
async fn under_the_budget_nothing_spills_and_all_is_given_back() {
    let budget = Budget::new(1 << 20);
    let (tx, mut rx) = spill_queue(Arc::clone(&budget));
    for i in 0..100 {
        assert!(tx.send(Ok(row(i))));
    }
    assert!(tx.send(Ok(QueryEvent::CommandComplete("SELECT 100".into()))));
    drop(tx);
    assert!(budget.used() > 0);
    let got = drain(&mut rx).await;
    assert_eq!(got.len(), 101);
    assert_eq!(got[99], format!("{:0>90}", 99));
    assert_eq!(got[100], "SELECT 100");
    assert_eq!(budget.spilled(), 0);
    assert_eq!(budget.used(), 0);
}

#[tokio::test]
async fn past_the_budget_rows_spill_and_come_back_in_order() {
    let limit = 4096;
    let budget = Budget::new(limit);
    let (tx, mut rx) = spill_queue(Arc::clone(&budget));
    let mut expected = Vec::new();
    let mut tags = 0;
    for i in 0..20_000 {
        assert!(tx.send(Ok(row(i))));
        expected.push(format!("{i:0>90}"));
        if i % 5000 == 4999 {
            // Non-row events keep their place between spilled runs.
            let tag = format!("SELECT {i}");
            assert!(tx.send(Ok(QueryEvent::CommandComplete(tag.clone()))));
            expected.push(tag);
            tags += 1;
        }
        // Rows never take memory past the limit; the tags, which do not
        // spill, may.
        let allowed = limit + tags * QueryEvent::EmptyQuery.weight();
        assert!(
            budget.used() <= allowed,
            "memory {} over {allowed}",
            budget.used()
        );
    }
    drop(tx);
    assert!(budget.spilled() > 1_000_000, "spilled {}", budget.spilled());
    assert_eq!(drain(&mut rx).await, expected);
    assert_eq!(budget.used(), 0);
}

#[tokio::test]
async fn queues_of_one_statement_share_the_budget() {
    let budget = Budget::new(10 * row(0).weight());
    let (tx1, mut rx1) = spill_queue(Arc::clone(&budget));
    let (tx2, mut rx2) = spill_queue(Arc::clone(&budget));
    for i in 0..10 {
        tx1.send(Ok(row(i)));
    }
    assert_eq!(budget.spilled(), 0);
    for i in 0..10 {
        tx2.send(Ok(row(100 + i)));
    }
    assert!(
        budget.spilled() > 0,
        "the second queue found the budget full"
    );
    drop((tx1, tx2));
    assert_eq!(drain(&mut rx2).await.len(), 10);
    assert_eq!(drain(&mut rx1).await.len(), 10);
    assert_eq!(budget.used(), 0);
}

#[tokio::test]
async fn a_reader_that_leaves_stops_the_writer_and_frees_its_memory() {
    let budget = Budget::new(1 << 20);
    let (tx, rx) = spill_queue(Arc::clone(&budget));
    assert!(tx.send(Ok(row(1))));
    drop(rx);
    assert_eq!(budget.used(), 0);
    assert!(!tx.send(Ok(row(2))));
    assert_eq!(budget.used(), 0);
}

#[tokio::test]
async fn a_slow_reader_keeps_memory_at_the_budget_while_the_writer_runs_ahead() {
    let limit = 16 * 1024;
    let budget = Budget::new(limit);
    let (tx, mut rx) = spill_queue(Arc::clone(&budget));
    let writer = tokio::spawn(async move {
        for i in 0..5_000 {
            if !tx.send(Ok(row(i))) {
                return false;
            }
            if i % 100 == 0 {
                tokio::task::yield_now().await;
            }
        }
        true
    });
    let mut n = 0;
    while let Some(item) = rx.recv().await {
        assert_eq!(value_of(&item.unwrap()), format!("{n:0>90}"));
        assert!(budget.used() <= limit);
        n += 1;
        if n % 50 == 0 {
            tokio::task::yield_now().await;
        }
    }
    assert!(writer.await.unwrap());
    assert_eq!(n, 5_000);
}

#[tokio::test]
async fn errors_pass_through_in_order() {
    let budget = Budget::new(0);
    let (tx, mut rx) = spill_queue::<QueryEvent>(budget);
    tx.send(Ok(row(1)));
    tx.send(Err(BackendError::Internal("boom")));
    drop(tx);
    assert!(rx.recv().await.unwrap().is_ok());
    assert!(matches!(
        rx.recv().await,
        Some(Err(BackendError::Internal("boom")))
    ));
    assert!(rx.recv().await.is_none());
}

#[tokio::test]
async fn a_flood_of_events_that_cannot_spill_ends_the_unit_with_an_error() {
    let budget = Budget::new(0);
    let (tx, mut rx) = spill_queue::<QueryEvent>(Arc::clone(&budget));
    let mut sent = 0;
    while tx.send(Ok(QueryEvent::EmptyQuery)) {
        sent += 1;
        assert!(sent < 1_000_000, "the margin never ran out");
    }
    assert!(budget.used() <= OVER_BUDGET);
    drop(tx);
    let mut last = None;
    while let Some(item) = rx.recv().await {
        last = Some(item);
    }
    let e = last.unwrap().unwrap_err().to_string();
    assert!(e.contains("past the memory budget"), "{e}");
    assert_eq!(budget.used(), 0);
}

#[test]
fn a_record_of_unknown_kind_is_an_error_not_a_panic() {
    assert!(QueryEvent::from_record(99, 0, Bytes::from_static(b"x")).is_err());
    // A row body that does not hold what it says.
    assert!(QueryEvent::from_record(1, 0, Bytes::from_static(&[0, 5, 0])).is_err());
}

#[test]
fn mysql_rows_come_back_as_they_went() {
    use crate::mysql::{MySqlEvent, MySqlRow};
    use bytes::BytesMut;
    use shardwire_protocol::mysql::{BinaryRow, TextRow};

    let mut raw = BytesMut::new();
    TextRow::encode([Some(&b"42"[..]), None, Some(&b"x"[..])], &mut raw);
    let text = MySqlEvent::Row(MySqlRow::Text(TextRow::decode(raw.freeze(), 3).unwrap()));
    let binary = MySqlEvent::Row(MySqlRow::Binary(BinaryRow::from_raw(Bytes::from_static(
        &[0, 0, 1, 2, 3],
    ))));
    for event in [text, binary] {
        let record = event.record().unwrap();
        let back = MySqlEvent::from_record(
            record.kind,
            record.aux,
            Bytes::copy_from_slice(record.bytes),
        )
        .unwrap();
        assert_eq!(back, event);
    }
    // A text row that does not hold the columns its record says.
    assert!(MySqlEvent::from_record(3, 4, Bytes::from_static(b"\x0242")).is_err());
}
