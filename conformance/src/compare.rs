//! Comparing answers semantically: masked by [`crate::mask`], rows as a
//! multiset where the capture declares row order free and the request has
//! no ORDER BY.

use serde::Serialize;

use crate::answer::Answer;
use crate::mask::{mask_all, MaskOptions};

/// Differences a capture declares acceptable (a sharded target may answer
/// rows in another order, or hand out other generated keys).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompareOptions {
    /// Rows of requests without ORDER BY compare as a multiset.
    pub unordered_rows: bool,
    /// MySQL last insert ids are not compared.
    pub generated_keys: bool,
}

/// Where two answers first disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// Index of the first differing answer element.
    pub at: usize,
    /// A few elements from there on, as the captured server gave them.
    pub expected: Vec<String>,
    /// The same from the target.
    pub got: Vec<String>,
}

/// How many elements around a difference a report shows.
const CONTEXT: usize = 3;

/// Sorts each run of consecutive rows, carrying the originals along.
fn sort_row_runs(items: &mut [(Answer, Answer)]) {
    let mut i = 0;
    while i < items.len() {
        if !matches!(items[i].1, Answer::Row { .. }) {
            i += 1;
            continue;
        }
        let start = i;
        while i < items.len() && matches!(items[i].1, Answer::Row { .. }) {
            i += 1;
        }
        items[start..i].sort_by_key(|(_, masked)| masked.to_string());
    }
}

/// `None` when `got` answers like `expected`.
pub fn compare(
    expected: &[Answer],
    got: &[Answer],
    ordered: bool,
    opts: CompareOptions,
) -> Option<Mismatch> {
    let mask = MaskOptions {
        generated_keys: opts.generated_keys,
    };
    let pair = |answers: &[Answer]| -> Vec<(Answer, Answer)> {
        answers
            .iter()
            .cloned()
            .zip(mask_all(answers, mask))
            .collect()
    };
    let mut e = pair(expected);
    let mut g = pair(got);
    if opts.unordered_rows && !ordered {
        sort_row_runs(&mut e);
        sort_row_runs(&mut g);
    }
    let at = e
        .iter()
        .zip(&g)
        .position(|(x, y)| x.1 != y.1)
        .or_else(|| (e.len() != g.len()).then(|| e.len().min(g.len())))?;
    let show = |items: &[(Answer, Answer)]| -> Vec<String> {
        let shown: Vec<String> = items
            .iter()
            .skip(at)
            .take(CONTEXT)
            .map(|(orig, _)| orig.to_string())
            .collect();
        if shown.is_empty() {
            vec!["(nothing more)".into()]
        } else {
            shown
        }
    };
    Some(Mismatch {
        at,
        expected: show(&e),
        got: show(&g),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: &str) -> Answer {
        Answer::Row {
            values: vec![Some(v.into())],
        }
    }

    fn done() -> Answer {
        Answer::Complete {
            tag: "SELECT 2".into(),
        }
    }

    #[test]
    fn equal_answers_agree() {
        let a = vec![row("1"), row("2"), done()];
        assert_eq!(compare(&a, &a, true, CompareOptions::default()), None);
    }

    #[test]
    fn row_order_matters_unless_declared_free() {
        let a = vec![row("1"), row("2"), done()];
        let b = vec![row("2"), row("1"), done()];
        let strict = compare(&a, &b, false, CompareOptions::default()).expect("differs");
        assert_eq!(strict.at, 0);
        let free = CompareOptions {
            unordered_rows: true,
            ..CompareOptions::default()
        };
        assert_eq!(compare(&a, &b, false, free), None);
        // ORDER BY in the request keeps the order strict.
        assert!(compare(&a, &b, true, free).is_some());
    }

    #[test]
    fn multiset_still_counts_duplicates() {
        let a = vec![row("1"), row("1"), done()];
        let b = vec![row("1"), row("2"), done()];
        let free = CompareOptions {
            unordered_rows: true,
            ..CompareOptions::default()
        };
        assert!(compare(&a, &b, false, free).is_some());
    }

    #[test]
    fn errors_compare_by_code_and_missing_answers_show() {
        let e = vec![Answer::Error {
            code: "42P01".into(),
            message: "relation \"t\" does not exist".into(),
        }];
        let same_code = vec![Answer::Error {
            code: "42P01".into(),
            message: "other words".into(),
        }];
        assert_eq!(
            compare(&e, &same_code, true, CompareOptions::default()),
            None
        );
        let m = compare(&e, &[], true, CompareOptions::default()).expect("differs");
        assert_eq!(m.got, vec!["(nothing more)".to_owned()]);
        assert!(m.expected[0].contains("42P01"));
    }
}
