//! Matching numeric shard indices to target names.
//!
//! The auto-table algorithms (MOD, HASH_MOD, the range ones, AUTO_INTERVAL)
//! compute a shard number and ShardingSphere picks the data node whose name
//! is the logical prefix followed by that number. We only see the target
//! names, so a target belongs to shard `n` when its trailing run of decimal
//! digits is `n`: `t_order_1` is shard 1, `t_order_11` is shard 11 and never
//! shard 1.
//!
//! ShardingSphere also pads suffixes with zeros when the data nodes are
//! written that way (`t_order_01`, its `DataNodeInfo` padding). A name whose
//! digit run has leading zeros therefore matches its numeric value, but only
//! when no name matches the digits exactly, so `t_order_1` wins over
//! `t_order_01` in a (strange) configuration that has both.

use crate::error::AlgorithmError;

/// The whole trailing run of ASCII digits of `name`, if any.
pub(crate) fn trailing_digits(name: &str) -> Option<&str> {
    let start = name
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit())
        .last()
        .map(|(i, _)| i)?;
    Some(&name[start..])
}

/// The shard number a target name stands for: its trailing digit run read
/// as a number. `None` without digits or when the run overflows `u64`.
pub(crate) fn shard_of(name: &str) -> Option<u64> {
    trailing_digits(name)?.parse().ok()
}

/// The target of shard `shard`: an exact digit-run match first, else the
/// first zero-padded one.
pub(crate) fn find_shard(targets: &[String], shard: u64) -> Option<usize> {
    let digits = shard.to_string();
    targets
        .iter()
        .position(|t| trailing_digits(t) == Some(digits.as_str()))
        .or_else(|| targets.iter().position(|t| shard_of(t) == Some(shard)))
}

/// Like [`find_shard`], but a missing target is the algorithm's `NoTarget`
/// error naming the value and the suffix it looked for.
pub(crate) fn require_shard(
    algorithm: &str,
    targets: &[String],
    shard: u64,
    value: &dyn std::fmt::Display,
) -> Result<usize, AlgorithmError> {
    find_shard(targets, shard).ok_or_else(|| AlgorithmError::NoTarget {
        algorithm: algorithm.to_owned(),
        value: value.to_string(),
        detail: format!("shard {shard}: no available target ends with suffix `{shard}`"),
    })
}

/// Every target whose shard number satisfies `wanted`, ascending by index.
/// Range answers go through here rather than through [`find_shard`] per
/// shard so that a range of a billion shards costs one pass over the
/// targets, and so that a padded and an unpadded name for the same shard
/// are both kept (a range must never return too few targets).
pub(crate) fn shards_where(targets: &[String], wanted: impl Fn(u64) -> bool) -> Vec<usize> {
    targets
        .iter()
        .enumerate()
        .filter(|(_, t)| shard_of(t).is_some_and(&wanted))
        .map(|(i, _)| i)
        .collect()
}

/// Every target whose shard number lies in `first..=last`.
pub(crate) fn shards_between(targets: &[String], first: u64, last: u64) -> Vec<usize> {
    shards_where(targets, |n| first <= n && n <= last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn trailing_digit_run_is_whole() {
        assert_eq!(trailing_digits("t_order_11"), Some("11"));
        assert_eq!(trailing_digits("ds_0.t_order_7"), Some("7"));
        assert_eq!(trailing_digits("t_order"), None);
        assert_eq!(trailing_digits(""), None);
        assert_eq!(trailing_digits("123"), Some("123"));
        assert_eq!(shard_of("t_99999999999999999999999"), None);
    }

    #[test]
    fn one_does_not_match_eleven() {
        let t = names(&["t_order_11", "t_order_1", "t_order_21"]);
        assert_eq!(find_shard(&t, 1), Some(1));
        assert_eq!(find_shard(&t, 11), Some(0));
        assert_eq!(find_shard(&t, 2), None);
        let only_eleven = names(&["t_order_11"]);
        assert_eq!(find_shard(&only_eleven, 1), None);
    }

    #[test]
    fn zero_padded_names_match_when_unpadded_absent() {
        let padded = names(&["t_order_00", "t_order_01", "t_order_02"]);
        assert_eq!(find_shard(&padded, 1), Some(1));
        assert_eq!(find_shard(&padded, 0), Some(0));
        let both = names(&["t_order_01", "t_order_1"]);
        assert_eq!(find_shard(&both, 1), Some(1));
        assert_eq!(shards_between(&both, 1, 1), vec![0, 1]);
    }

    #[test]
    fn require_shard_names_value_and_suffix() {
        let t = names(&["t_0", "t_1"]);
        assert_eq!(require_shard("MOD", &t, 1, &7), Ok(1));
        let err = require_shard("MOD", &t, 5, &"'x'").unwrap_err();
        assert_eq!(
            err,
            AlgorithmError::NoTarget {
                algorithm: "MOD".into(),
                value: "'x'".into(),
                detail: "shard 5: no available target ends with suffix `5`".into(),
            }
        );
    }

    #[test]
    fn shards_between_is_ascending_by_index() {
        let t = names(&["t_3", "t_0", "t_2", "t_x", "t_1"]);
        assert_eq!(shards_between(&t, 1, 2), vec![2, 4]);
        assert_eq!(shards_between(&t, 0, u64::MAX), vec![0, 1, 2, 4]);
        assert_eq!(shards_between(&t, 5, 9), Vec::<usize>::new());
    }
}
