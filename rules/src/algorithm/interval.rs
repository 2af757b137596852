//! INTERVAL: one target per time interval, named by a date suffix.
//!
//! Intervals start at `datetime-lower` and step by `datetime-interval-amount`
//! `datetime-interval-unit`s; interval n is [start(n), start(n + 1)) and
//! exists while start(n) <= `datetime-upper`, so the last interval may reach
//! past the upper bound (as in ShardingSphere's `while (!t.isAfter(upper))`
//! loop). A target belongs to interval n when its name ends with start(n)
//! formatted by `sharding-suffix-pattern`.
//!
//! Differences from ShardingSphere, both deliberate:
//! - start(n) is computed from lower (`lower + n * step`) rather than by
//!   repeated addition, so a month step from Jan 31 gives Feb 28, Mar 31,
//!   Apr 30 (repeated addition would drift to the 28th for good).
//! - without `datetime-upper` the upper bound is "now" at each call, not at
//!   load time, so a long-running proxy routes to the new month's table.
//!
//! Instead of walking every interval from lower, the interval of a time is
//! computed directly, so a value costs O(1) and a range costs the intervals
//! it covers.

use std::collections::HashMap;
use std::ops::Bound;

use chrono::{Datelike, Months, NaiveDateTime, TimeDelta};

use super::datetime::JavaPattern;
use super::{all_targets, bad_value, describe_range, AlgorithmShape, ShardingAlgorithm};
use crate::error::AlgorithmError;
use crate::props::Props;
use crate::value::{ShardingValue, ValueRange};

const TYPE: &str = "INTERVAL";

/// A range covering more intervals than this is answered with every target
/// (always a correct answer) rather than formatting millions of suffixes.
const MAX_SCANNED_INTERVALS: u64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Seconds(i64),
    Months(u32),
}

#[derive(Debug)]
pub(crate) struct Interval {
    pattern: JavaPattern,
    suffix: JavaPattern,
    lower: NaiveDateTime,
    /// `None`: now, read at each call.
    upper: Option<NaiveDateTime>,
    step: Step,
}

impl Interval {
    pub(crate) fn new(props: &Props) -> Result<Self, AlgorithmError> {
        let pattern_text = props.require("datetime-pattern")?;
        let pattern = JavaPattern::compile(pattern_text)
            .map_err(|e| props.bad("datetime-pattern", pattern_text, &e))?;
        let read = |key: &str, text: &str| {
            pattern
                .parse(text)
                .map_err(|e| props.bad(key, text, &format!("does not match `{pattern_text}`: {e}")))
        };
        let lower = read("datetime-lower", props.require("datetime-lower")?)?;
        let upper = match props.get("datetime-upper") {
            None => None,
            Some(text) => {
                let upper = read("datetime-upper", text)?;
                if upper < lower {
                    return Err(props.bad("datetime-upper", text, "is before datetime-lower"));
                }
                Some(upper)
            }
        };
        let suffix_text = props.require("sharding-suffix-pattern")?;
        let suffix = JavaPattern::compile(suffix_text)
            .map_err(|e| props.bad("sharding-suffix-pattern", suffix_text, &e))?;
        let amount = props.get_i64("datetime-interval-amount")?.unwrap_or(1);
        if amount <= 0 {
            return Err(props.bad(
                "datetime-interval-amount",
                &amount.to_string(),
                "must be a positive integer",
            ));
        }
        let unit = props.get("datetime-interval-unit").unwrap_or("DAYS");
        let step = step(unit, amount).ok_or_else(|| {
            props.bad(
                "datetime-interval-unit",
                unit,
                "expected one of SECONDS, MINUTES, HOURS, HALF_DAYS, DAYS, WEEKS, MONTHS, \
                 YEARS, DECADES, CENTURIES, MILLENNIA (with datetime-interval-amount not \
                 overflowing)",
            )
        })?;
        Ok(Interval {
            pattern,
            suffix,
            lower,
            upper,
            step,
        })
    }

    fn upper(&self) -> NaiveDateTime {
        self.upper
            .unwrap_or_else(|| chrono::Local::now().naive_local())
    }

    /// Start of interval `n`; `None` past chrono's range.
    fn start(&self, n: u64) -> Option<NaiveDateTime> {
        match self.step {
            Step::Seconds(s) => {
                let secs = i64::try_from(n).ok()?.checked_mul(s)?;
                self.lower.checked_add_signed(TimeDelta::try_seconds(secs)?)
            }
            Step::Months(m) => {
                let months = u32::try_from(n).ok()?.checked_mul(m)?;
                self.lower.checked_add_months(Months::new(months))
            }
        }
    }

    /// The interval `t` falls in: the last n with start(n) <= t. `None`
    /// before lower.
    fn index_of(&self, t: NaiveDateTime) -> Option<u64> {
        if t < self.lower {
            return None;
        }
        match self.step {
            Step::Seconds(s) => {
                // t >= lower, so the whole seconds round down.
                let secs = t.signed_duration_since(self.lower).num_seconds();
                Some((secs / s) as u64)
            }
            Step::Months(m) => {
                let months = i64::from(t.year() - self.lower.year()) * 12 + i64::from(t.month0())
                    - i64::from(self.lower.month0());
                // Month arithmetic clamps the day, so the estimate from
                // calendar months can be one interval off either way.
                let mut n = (months.max(0) / i64::from(m)) as u64;
                while n > 0 && self.start(n).is_none_or(|s| s > t) {
                    n -= 1;
                }
                while self.start(n + 1).is_some_and(|s| s <= t) {
                    n += 1;
                }
                Some(n)
            }
        }
    }

    fn read(&self, value: &ShardingValue) -> Result<NaiveDateTime, AlgorithmError> {
        let text = match value {
            ShardingValue::Text(s) => s.clone(),
            // ShardingSphere reads `value.toString()`: 20210105 under yyyyMMdd.
            ShardingValue::Int(v) => v.to_string(),
            ShardingValue::Null => return Err(bad_value(TYPE, value, "NULL is no date-time")),
        };
        self.pattern
            .parse(&text)
            .map_err(|e| bad_value(TYPE, value, &format!("not a date-time: {e}")))
    }

    fn suffix_of(&self, n: u64) -> Option<String> {
        self.start(n).map(|s| self.suffix.format(&s))
    }
}

fn step(unit: &str, amount: i64) -> Option<Step> {
    let seconds = |per: i64| amount.checked_mul(per).map(Step::Seconds);
    let months = |per: u32| {
        u32::try_from(amount)
            .ok()?
            .checked_mul(per)
            .map(Step::Months)
    };
    match unit.trim().to_ascii_uppercase().as_str() {
        "SECONDS" => seconds(1),
        "MINUTES" => seconds(60),
        "HOURS" => seconds(3_600),
        "HALF_DAYS" => seconds(43_200),
        "DAYS" => seconds(86_400),
        "WEEKS" => seconds(604_800),
        "MONTHS" => months(1),
        "YEARS" => months(12),
        "DECADES" => months(120),
        "CENTURIES" => months(1_200),
        "MILLENNIA" => months(12_000),
        _ => None,
    }
}

impl ShardingAlgorithm for Interval {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn shape(&self) -> AlgorithmShape {
        AlgorithmShape::Standard
    }

    fn precise(
        &self,
        targets: &[String],
        _column: &str,
        value: &ShardingValue,
    ) -> Result<usize, AlgorithmError> {
        let t = self.read(value)?;
        let no_target = |detail: String| AlgorithmError::NoTarget {
            algorithm: TYPE.to_owned(),
            value: value.to_string(),
            detail,
        };
        let upper = self.upper();
        let last = self.index_of(upper);
        let n = match (self.index_of(t), last) {
            (Some(n), Some(last)) if n <= last => n,
            _ => {
                return Err(no_target(format!(
                    "outside the intervals from {} to {}",
                    self.pattern.format(&self.lower),
                    self.pattern.format(&upper)
                )))
            }
        };
        let suffix = self
            .suffix_of(n)
            .ok_or_else(|| no_target("past the supported date range".to_owned()))?;
        targets
            .iter()
            .position(|t| t.ends_with(&suffix))
            .ok_or_else(|| no_target(format!("no available target ends with suffix `{suffix}`")))
    }

    fn range(
        &self,
        targets: &[String],
        _column: &str,
        range: &ValueRange,
    ) -> Result<Vec<usize>, AlgorithmError> {
        let upper = self.upper();
        let Some(last_interval) = self.index_of(upper) else {
            return Ok(Vec::new());
        };
        let bad = |e: AlgorithmError| match e {
            AlgorithmError::BadValue { reason, .. } => {
                bad_value(TYPE, &describe_range(range), &reason)
            }
            other => other,
        };
        // Times have nanosecond resolution, so an exclusive end is the
        // inclusive end one nanosecond inside.
        // At chrono's limits the end stays as it is: one more interval at
        // worst, never one too few.
        let nano = TimeDelta::nanoseconds(1);
        let from = match &range.lower {
            Bound::Unbounded => None,
            Bound::Included(v) => Some(self.read(v).map_err(bad)?),
            Bound::Excluded(v) => {
                let t = self.read(v).map_err(bad)?;
                Some(t.checked_add_signed(nano).unwrap_or(t))
            }
        };
        let to = match &range.upper {
            Bound::Unbounded => None,
            Bound::Included(v) => Some(self.read(v).map_err(bad)?),
            Bound::Excluded(v) => {
                let t = self.read(v).map_err(bad)?;
                Some(t.checked_sub_signed(nano).unwrap_or(t))
            }
        };
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Ok(Vec::new());
            }
        }
        let first = match from {
            None => 0,
            Some(from) => self.index_of(from).unwrap_or(0),
        };
        let last = match to {
            None => last_interval,
            Some(to) => match self.index_of(to) {
                None => return Ok(Vec::new()),
                Some(n) => n.min(last_interval),
            },
        };
        if first > last {
            return Ok(Vec::new());
        }
        if last - first >= MAX_SCANNED_INTERVALS {
            return Ok(all_targets(targets));
        }
        let mut hit = vec![false; targets.len()];
        let mut remaining = targets.len();
        // Few intervals: test each target. Many (ten years of days): index
        // every tail of every name once, so each suffix is one lookup.
        let by_tail = (last - first >= TAIL_INDEX_FROM).then(|| tail_index(targets));
        let mut previous: Option<String> = None;
        for n in first..=last {
            let Some(suffix) = self.suffix_of(n) else {
                break;
            };
            // A day step under a month suffix repeats each suffix ~30 times.
            if previous.as_deref() == Some(suffix.as_str()) {
                continue;
            }
            let mut mark = |i: usize| {
                if !hit[i] {
                    hit[i] = true;
                    remaining -= 1;
                }
            };
            match &by_tail {
                Some(index) => index
                    .get(suffix.as_str())
                    .into_iter()
                    .flatten()
                    .for_each(|&i| mark(i)),
                None => (0..targets.len())
                    .filter(|&i| targets[i].ends_with(&suffix))
                    .for_each(mark),
            }
            if remaining == 0 {
                break;
            }
            previous = Some(suffix);
        }
        Ok(hit
            .iter()
            .enumerate()
            .filter(|(_, h)| **h)
            .map(|(i, _)| i)
            .collect())
    }
}

/// Ranges covering at least this many intervals look suffixes up in a
/// [`tail_index`] instead of testing every target against each.
const TAIL_INDEX_FROM: u64 = 32;

/// Every tail of every target name (`t_1`, `_1`, `1`) to the targets that
/// end with it.
fn tail_index(targets: &[String]) -> HashMap<&str, Vec<usize>> {
    let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, name) in targets.iter().enumerate() {
        for (start, _) in name.char_indices() {
            index.entry(&name[start..]).or_default().push(i);
        }
    }
    index
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    const PATTERN: &str = "yyyy-MM-dd HH:mm:ss";

    fn props(lower: &str, upper: &str, suffix: &str, amount: i64, unit: &str) -> Props {
        Props::new(TYPE)
            .with("datetime-pattern", PATTERN)
            .with("datetime-lower", lower)
            .with("datetime-upper", upper)
            .with("sharding-suffix-pattern", suffix)
            .with("datetime-interval-amount", amount)
            .with("datetime-interval-unit", unit)
    }

    fn monthly() -> Interval {
        Interval::new(&props(
            "2021-01-01 00:00:00",
            "2021-12-31 23:59:59",
            "yyyyMM",
            1,
            "MONTHS",
        ))
        .expect("valid")
    }

    fn month_tables(year: i32) -> Vec<String> {
        (1..=12).map(|m| format!("t_order_{year}{m:02}")).collect()
    }

    fn text(s: &str) -> ShardingValue {
        ShardingValue::Text(s.to_owned())
    }

    fn range(lower: Bound<&str>, upper: Bound<&str>) -> ValueRange {
        let map = |b: Bound<&str>| match b {
            Bound::Included(s) => Bound::Included(text(s)),
            Bound::Excluded(s) => Bound::Excluded(text(s)),
            Bound::Unbounded => Bound::Unbounded,
        };
        ValueRange {
            lower: map(lower),
            upper: map(upper),
        }
    }

    #[test]
    fn precise_monthly() {
        let a = monthly();
        let t = month_tables(2021);
        let p = |v: &str| a.precise(&t, "c", &text(v));
        assert_eq!(p("2021-01-01 00:00:00"), Ok(0));
        assert_eq!(p("2021-01-31 23:59:59"), Ok(0));
        assert_eq!(p("2021-02-01 00:00:00"), Ok(1));
        assert_eq!(p("2021-02-28 12:00:00"), Ok(1));
        assert_eq!(p("2021-03-01"), Ok(2));
        assert_eq!(p("2021-06-15T08:30:00"), Ok(5));
        assert_eq!(p("2021-07-31 23:59:59.999"), Ok(6));
        assert_eq!(p("2021-12-31 23:59:59"), Ok(11));
    }

    #[test]
    fn precise_outside_bounds_is_no_target() {
        let a = monthly();
        let t = month_tables(2021);
        assert_eq!(
            a.precise(&t, "c", &text("2020-12-31 23:59:59")),
            Err(AlgorithmError::NoTarget {
                algorithm: TYPE.into(),
                value: "'2020-12-31 23:59:59'".into(),
                detail: "outside the intervals from 2021-01-01 00:00:00 to 2021-12-31 23:59:59"
                    .into(),
            })
        );
        assert_eq!(
            a.precise(&t, "c", &text("2022-01-01 00:00:00")),
            Err(AlgorithmError::NoTarget {
                algorithm: TYPE.into(),
                value: "'2022-01-01 00:00:00'".into(),
                detail: "outside the intervals from 2021-01-01 00:00:00 to 2021-12-31 23:59:59"
                    .into(),
            })
        );
    }

    #[test]
    fn last_interval_reaches_past_upper() {
        // Upper inside December: December is an interval, and all of it
        // belongs to t_order_202112, as in ShardingSphere.
        let a = Interval::new(&props(
            "2021-01-01 00:00:00",
            "2021-12-15 00:00:00",
            "yyyyMM",
            1,
            "MONTHS",
        ))
        .expect("valid");
        let t = month_tables(2021);
        assert_eq!(a.precise(&t, "c", &text("2021-12-20 00:00:00")), Ok(11));
        assert!(a.precise(&t, "c", &text("2022-01-01 00:00:00")).is_err());
    }

    #[test]
    fn precise_missing_target_and_bad_values() {
        let a = monthly();
        let t = month_tables(2021)[..6].to_vec();
        assert_eq!(
            a.precise(&t, "c", &text("2021-08-08 00:00:00")),
            Err(AlgorithmError::NoTarget {
                algorithm: TYPE.into(),
                value: "'2021-08-08 00:00:00'".into(),
                detail: "no available target ends with suffix `202108`".into(),
            })
        );
        assert_eq!(
            a.precise(&t, "c", &text("08/08/2021")),
            Err(AlgorithmError::BadValue {
                algorithm: TYPE.into(),
                value: "'08/08/2021'".into(),
                reason: "not a date-time: expected 4 digits at `08/08/2021`".into(),
            })
        );
        assert_eq!(
            a.precise(&t, "c", &ShardingValue::Int(5)),
            Err(AlgorithmError::BadValue {
                algorithm: TYPE.into(),
                value: "5".into(),
                reason: "not a date-time: expected 4 digits at `5`".into(),
            })
        );
    }

    #[test]
    fn integer_values_under_a_digit_pattern() {
        let a = Interval::new(
            &Props::new(TYPE)
                .with("datetime-pattern", "yyyyMMdd")
                .with("datetime-lower", "20210101")
                .with("datetime-upper", "20210110")
                .with("sharding-suffix-pattern", "yyyyMMdd"),
        )
        .expect("valid");
        let t: Vec<String> = (1..=10).map(|d| format!("t_202101{d:02}")).collect();
        assert_eq!(a.precise(&t, "c", &ShardingValue::Int(20_210_105)), Ok(4));
        assert_eq!(
            a.range(&t, "c", &ValueRange::closed(20_210_109, 20_210_131)),
            Ok(vec![8, 9])
        );
    }

    #[test]
    fn range_across_month_boundaries() {
        let a = monthly();
        let t = month_tables(2021);
        use Bound::*;
        let r = |lo, hi| a.range(&t, "c", &range(lo, hi));
        assert_eq!(
            r(
                Included("2021-01-15 00:00:00"),
                Included("2021-03-01 00:00:00")
            ),
            Ok(vec![0, 1, 2])
        );
        assert_eq!(
            r(
                Included("2021-01-15 00:00:00"),
                Excluded("2021-03-01 00:00:00")
            ),
            Ok(vec![0, 1])
        );
        // `> 23:59:59` still holds 23:59:59.5, in January.
        assert_eq!(
            r(
                Excluded("2021-01-31 23:59:59"),
                Included("2021-02-01 00:00:00")
            ),
            Ok(vec![0, 1])
        );
        assert_eq!(
            r(
                Excluded("2021-01-31 23:59:59.999999999"),
                Included("2021-02-01 00:00:00")
            ),
            Ok(vec![1])
        );
        assert_eq!(
            r(
                Excluded("2021-01-31 23:59:59.5"),
                Excluded("2021-02-01 00:00:00.5")
            ),
            Ok(vec![0, 1])
        );
        assert_eq!(
            r(Included("2021-02-10"), Included("2021-02-20")),
            Ok(vec![1])
        );
        assert_eq!(r(Unbounded, Excluded("2021-02-01 00:00:00")), Ok(vec![0]));
        assert_eq!(
            r(Included("2021-11-01 00:00:00"), Unbounded),
            Ok(vec![10, 11])
        );
        assert_eq!(r(Unbounded, Unbounded), Ok((0..12).collect()));
        assert_eq!(
            r(
                Included("2021-03-01 00:00:00"),
                Included("2021-02-01 00:00:00")
            ),
            Ok(vec![])
        );
    }

    #[test]
    fn range_outside_bounds() {
        let a = monthly();
        let t = month_tables(2021);
        use Bound::*;
        let r = |lo, hi| a.range(&t, "c", &range(lo, hi));
        assert_eq!(
            r(
                Included("2019-01-01 00:00:00"),
                Included("2020-12-31 23:59:59")
            ),
            Ok(vec![])
        );
        assert_eq!(
            r(
                Included("2022-01-01 00:00:00"),
                Included("2023-01-01 00:00:00")
            ),
            Ok(vec![])
        );
        assert_eq!(
            r(
                Included("2020-06-01 00:00:00"),
                Included("2021-01-01 00:00:00")
            ),
            Ok(vec![0])
        );
        assert_eq!(
            r(
                Included("2021-12-31 00:00:00"),
                Included("2030-01-01 00:00:00")
            ),
            Ok(vec![11])
        );
        assert_eq!(r(Unbounded, Excluded("2021-01-01 00:00:00")), Ok(vec![]));
    }

    #[test]
    fn range_across_year_boundary_with_yearly_tables_too() {
        let a = Interval::new(&props(
            "2020-01-01 00:00:00",
            "2022-12-31 00:00:00",
            "yyyyMM",
            1,
            "MONTHS",
        ))
        .expect("valid");
        let mut t = month_tables(2020);
        t.extend(month_tables(2021));
        use Bound::*;
        assert_eq!(
            a.range(
                &t,
                "c",
                &range(
                    Included("2020-12-15 00:00:00"),
                    Included("2021-01-15 00:00:00")
                )
            ),
            Ok(vec![11, 12])
        );
        assert_eq!(a.precise(&t, "c", &text("2021-01-01 00:00:00")), Ok(12));
        // January 2022 has no table: skipped in ranges.
        assert_eq!(
            a.range(
                &t,
                "c",
                &range(
                    Included("2021-12-15 00:00:00"),
                    Included("2022-01-15 00:00:00")
                )
            ),
            Ok(vec![23])
        );

        let yearly = Interval::new(&props(
            "2019-07-01 00:00:00",
            "2023-01-01 00:00:00",
            "yyyy",
            1,
            "YEARS",
        ))
        .expect("valid");
        let ty: Vec<String> = (2019..=2023).map(|y| format!("t_{y}")).collect();
        // Intervals start on July 1st: 2021-03 is in the one named 2020.
        assert_eq!(
            yearly.precise(&ty, "c", &text("2021-03-01 00:00:00")),
            Ok(1)
        );
        assert_eq!(
            yearly.precise(&ty, "c", &text("2021-07-01 00:00:00")),
            Ok(2)
        );
        assert_eq!(
            yearly.range(
                &ty,
                "c",
                &range(
                    Included("2020-12-31 00:00:00"),
                    Included("2021-01-01 00:00:00")
                )
            ),
            Ok(vec![1])
        );
        assert_eq!(
            yearly.range(&ty, "c", &range(Included("2022-08-01 00:00:00"), Unbounded)),
            Ok(vec![3])
        );
    }

    #[test]
    fn month_steps_from_the_31st_clamp_without_drift() {
        let a = Interval::new(&props(
            "2021-01-31 00:00:00",
            "2021-06-30 00:00:00",
            "yyyyMMdd",
            1,
            "MONTHS",
        ))
        .expect("valid");
        let t: Vec<String> = ["20210131", "20210228", "20210331", "20210430", "20210531"]
            .iter()
            .map(|s| format!("t_{s}"))
            .collect();
        let p = |v: &str| a.precise(&t, "c", &text(v));
        assert_eq!(p("2021-02-27 23:59:59"), Ok(0));
        assert_eq!(p("2021-02-28 00:00:00"), Ok(1));
        assert_eq!(p("2021-03-30 23:59:59"), Ok(1));
        assert_eq!(p("2021-03-31 00:00:00"), Ok(2));
        assert_eq!(p("2021-04-30 00:00:00"), Ok(3));
        assert_eq!(p("2021-05-30 23:59:59"), Ok(3));
        assert_eq!(p("2021-05-31 00:00:00"), Ok(4));
        assert_eq!(a.index_of(a.lower), Some(0));
        assert_eq!(
            a.start(5),
            NaiveDate::from_ymd_opt(2021, 6, 30).and_then(|d| d.and_hms_opt(0, 0, 0))
        );
    }

    #[test]
    fn day_steps_under_month_suffixes() {
        let a = Interval::new(&props(
            "2021-01-01 00:00:00",
            "2021-03-31 00:00:00",
            "yyyyMM",
            7,
            "DAYS",
        ))
        .expect("valid");
        let t = month_tables(2021);
        // The week starting Jan 29 is named 202101 and reaches into Feb 4.
        assert_eq!(a.precise(&t, "c", &text("2021-02-04 12:00:00")), Ok(0));
        assert_eq!(a.precise(&t, "c", &text("2021-02-05 00:00:00")), Ok(1));
        assert_eq!(
            a.range(
                &t,
                "c",
                &range(
                    Bound::Included("2021-02-02 00:00:00"),
                    Bound::Included("2021-02-03 00:00:00")
                )
            ),
            Ok(vec![0])
        );
    }

    #[test]
    fn hour_steps_and_date_only_pattern() {
        let a = Interval::new(&props(
            "2021-01-01 00:00:00",
            "2021-01-01 23:00:00",
            "HH",
            6,
            "HOURS",
        ))
        .expect("valid");
        let t: Vec<String> = ["00", "06", "12", "18"]
            .iter()
            .map(|h| format!("t_{h}"))
            .collect();
        assert_eq!(a.precise(&t, "c", &text("2021-01-01 05:59:59")), Ok(0));
        assert_eq!(a.precise(&t, "c", &text("2021-01-01 06:00:00")), Ok(1));
        assert_eq!(a.precise(&t, "c", &text("2021-01-01 23:59:59")), Ok(3));

        let d = Interval::new(
            &Props::new(TYPE)
                .with("datetime-pattern", "yyyy-MM-dd")
                .with("datetime-lower", "2021-01-01")
                .with("datetime-upper", "2021-01-31")
                .with("sharding-suffix-pattern", "MMdd"),
        )
        .expect("valid");
        let td: Vec<String> = (1..=31).map(|day| format!("t_01{day:02}")).collect();
        assert_eq!(d.precise(&td, "c", &text("2021-01-09")), Ok(8));
        assert_eq!(d.precise(&td, "c", &text("2021-01-09 17:00:00")), Ok(8));
        assert_eq!(
            d.range(
                &td,
                "c",
                &range(Bound::Excluded("2021-01-29"), Bound::Unbounded)
            ),
            Ok(vec![28, 29, 30])
        );
    }

    #[test]
    fn default_upper_is_now() {
        let a = Interval::new(
            &Props::new(TYPE)
                .with("datetime-pattern", PATTERN)
                .with("datetime-lower", "2000-01-01 00:00:00")
                .with("sharding-suffix-pattern", "yyyy")
                .with("datetime-interval-unit", "years"),
        )
        .expect("valid");
        let now = chrono::Local::now().naive_local();
        let this_year = format!("t_{}", now.year());
        let t = vec!["t_2000".to_owned(), this_year];
        let value = text(&a.pattern.format(&now));
        assert_eq!(a.precise(&t, "c", &value), Ok(1));
        let next_year = format!("{}-06-01 00:00:00", now.year() + 1);
        assert!(matches!(
            a.precise(&t, "c", &text(&next_year)),
            Err(AlgorithmError::NoTarget { .. })
        ));
    }

    #[test]
    fn huge_ranges_are_all_targets() {
        let a = Interval::new(&props(
            "2000-01-01 00:00:00",
            "2030-01-01 00:00:00",
            "yyyyMMddHHmmss",
            1,
            "SECONDS",
        ))
        .expect("valid");
        let t = vec!["t_20100101000000".to_owned(), "t_x".to_owned()];
        assert_eq!(
            a.range(
                &t,
                "c",
                &range(Bound::Included("2005-01-01 00:00:00"), Bound::Unbounded)
            ),
            Ok(vec![0, 1])
        );
        assert_eq!(
            a.range(
                &t,
                "c",
                &ValueRange::closed("2010-01-01 00:00:00", "2010-01-01 00:00:01")
            ),
            Ok(vec![0])
        );
    }

    #[test]
    fn long_ranges_use_the_tail_index_with_the_same_answer() {
        let a = Interval::new(&props(
            "2010-01-01 00:00:00",
            "2029-12-31 00:00:00",
            "yyyyMMdd",
            1,
            "DAYS",
        ))
        .expect("valid");
        // One table per day of 2015, plus look-alikes that must not match.
        let start = NaiveDate::from_ymd_opt(2015, 1, 1).expect("valid");
        let mut t: Vec<String> = (0..365)
            .map(|d| format!("t_log_{}", (start + TimeDelta::days(d)).format("%Y%m%d")))
            .collect();
        t.push("t_log_2015010".to_owned());
        t.push("t_log_x".to_owned());
        let long = ValueRange::closed("2014-12-01 00:00:00", "2015-02-10 12:00:00");
        let expected: Vec<usize> = (0..41).collect();
        assert_eq!(a.range(&t, "c", &long), Ok(expected));
        // Short range, direct scan.
        let short = ValueRange::closed("2015-01-30 00:00:00", "2015-02-01 00:00:00");
        assert_eq!(a.range(&t, "c", &short), Ok(vec![29, 30, 31]));
        // The whole span: every dated table, no look-alike.
        assert_eq!(
            a.range(&t, "c", &range(Bound::Unbounded, Bound::Unbounded)),
            Ok((0..365).collect())
        );
        assert_eq!(tail_index(&t[..1]).get("20150101"), Some(&vec![0]));
        assert_eq!(tail_index(&t[..1]).len(), "t_log_20150101".len());
    }

    #[test]
    fn range_with_bad_end() {
        let a = monthly();
        assert_eq!(
            a.range(
                &month_tables(2021),
                "c",
                &ValueRange::closed("2021-01-01 00:00:00", "soon")
            ),
            Err(AlgorithmError::BadValue {
                algorithm: TYPE.into(),
                value: "['2021-01-01 00:00:00', 'soon']".into(),
                reason: "not a date-time: expected 4 digits at `soon`".into(),
            })
        );
    }

    #[test]
    fn props_are_checked() {
        let full = props(
            "2021-01-01 00:00:00",
            "2021-12-31 00:00:00",
            "yyyyMM",
            1,
            "MONTHS",
        );
        for missing in [
            "datetime-pattern",
            "datetime-lower",
            "sharding-suffix-pattern",
        ] {
            let mut p = full.clone();
            p.values.remove(missing);
            assert_eq!(
                Interval::new(&p).unwrap_err(),
                AlgorithmError::MissingProp {
                    algorithm: TYPE.into(),
                    prop: missing.into()
                },
                "{missing}"
            );
        }
        let bad = |key: &str, value: &str, reason: &str| {
            assert_eq!(
                Interval::new(&full.clone().with(key, value)).unwrap_err(),
                AlgorithmError::BadProp {
                    algorithm: TYPE.into(),
                    prop: key.into(),
                    value: value.into(),
                    reason: reason.into(),
                },
                "{key}"
            );
        };
        bad(
            "datetime-lower",
            "2021/01/01",
            "does not match `yyyy-MM-dd HH:mm:ss`: expected `-` at `/01/01`",
        );
        bad(
            "datetime-upper",
            "2020-01-01 00:00:00",
            "is before datetime-lower",
        );
        bad(
            "datetime-interval-amount",
            "0",
            "must be a positive integer",
        );
        bad("datetime-interval-amount", "x", "expected an integer");
        bad(
            "datetime-interval-unit",
            "FORTNIGHTS",
            "expected one of SECONDS, MINUTES, HOURS, HALF_DAYS, DAYS, WEEKS, MONTHS, YEARS, \
             DECADES, CENTURIES, MILLENNIA (with datetime-interval-amount not overflowing)",
        );
        bad("sharding-suffix-pattern", "", "the pattern is empty");
        bad(
            "datetime-pattern",
            "yyyy-MMM",
            "`MMM` is not supported (use yyyy, yy, MM, dd, HH, mm, ss, S..SSSSSSSSS, quoted text)",
        );
        // Defaults: 1 DAYS.
        let mut p = full.clone();
        p.values.remove("datetime-interval-amount");
        p.values.remove("datetime-interval-unit");
        assert_eq!(
            Interval::new(&p).expect("defaults").step,
            Step::Seconds(86_400)
        );
    }
}
