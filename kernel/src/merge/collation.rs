//! [`Collation`]: how the merge compares text, so that ORDER BY, GROUP BY,
//! DISTINCT, MIN and MAX across shards agree with the backend's own
//! comparison.
//!
//! The backends' defaults differ: PostgreSQL compares deterministically by
//! its database locale (the test harness and the recommended set-up use `C`,
//! which is bytewise); MySQL and MariaDB default to case-insensitive,
//! PAD SPACE collations (`utf8mb4_general_ci`), where `'New'`, `'new'` and
//! `'new  '` are one value. A merge that compared those bytewise would split
//! one group into three and interleave shard streams the shards sorted
//! differently.
//!
//! Not reproduced: locale-aware orderings (PostgreSQL `en_US.UTF-8`, ICU,
//! MySQL's UCA `*_unicode_ci` / `*_0900_ai_ci` weights beyond case and
//! Latin-1 accents). For those, the merge's order may differ from the
//! shards' where punctuation or non-Latin letters meet; use a `C` database
//! locale on PostgreSQL, and `*_general_ci` or `*_bin` on MySQL.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// How two text values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Collation {
    /// Bytewise (code point order), trailing spaces significant: PostgreSQL
    /// `C` / `POSIX`, MySQL `binary` (collation id 63) and the NO PAD `_bin`
    /// collations.
    #[default]
    Binary,
    /// Bytewise after dropping trailing spaces: MySQL / MariaDB `*_bin`
    /// collations, which are PAD SPACE.
    BinaryPadSpace,
    /// MariaDB's `utf8mb4_general_ci`: every character compares as its
    /// upper-case form (Latin-1 accented letters as their base letter), and
    /// trailing spaces are dropped (PAD SPACE).
    CaseInsensitive,
}

impl Collation {
    /// The collation a backend applies to text when the column says nothing
    /// else: MySQL's server default is case-insensitive; PostgreSQL's is
    /// deterministic, taken here as bytewise (a `C` locale).
    pub fn default_for(dialect: crate::Dialect) -> Self {
        match dialect {
            crate::Dialect::MySql => Collation::CaseInsensitive,
            crate::Dialect::PostgreSql => Collation::Binary,
        }
    }

    /// The collation of a MySQL column definition's collation id, for the
    /// ids whose comparison is known; `None` for the rest (the caller keeps
    /// the plan's default).
    pub fn from_mysql_id(id: u16) -> Option<Self> {
        match id {
            // binary (VARBINARY, BLOB), utf8mb4_0900_bin: NO PAD.
            63 | 309 => Some(Collation::Binary),
            // latin1_bin, utf8mb4_bin, ascii_bin, utf8mb3_bin: PAD SPACE.
            47 | 46 | 65 | 83 => Some(Collation::BinaryPadSpace),
            // latin1_swedish_ci, utf8mb3_general_ci, utf8mb4_general_ci,
            // utf8mb4_unicode_ci, utf8mb3_unicode_ci, utf8mb4_0900_ai_ci
            // (NO PAD in MySQL 8; trailing spaces differ there only).
            8 | 33 | 45 | 224 | 192 | 255 => Some(Collation::CaseInsensitive),
            _ => None,
        }
    }

    /// Orders two strings.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Collation::Binary => a.as_bytes().cmp(b.as_bytes()),
            Collation::BinaryPadSpace => padded_cmp(a.chars(), b.chars()),
            Collation::CaseInsensitive => padded_cmp(a.chars().map(fold), b.chars().map(fold)),
        }
    }

    /// Hashes `s` so that strings comparing equal hash equally.
    pub fn hash<H: Hasher>(self, s: &str, state: &mut H) {
        match self {
            Collation::Binary => s.hash(state),
            Collation::BinaryPadSpace => pad(s).hash(state),
            Collation::CaseInsensitive => {
                for c in pad(s).chars().map(fold) {
                    c.hash(state);
                }
                // Keeps ("ab", "c") and ("a", "bc") apart in a composite key.
                0xffu8.hash(state);
            }
        }
    }
}

/// PAD SPACE comparison: the shorter string compares as if padded with
/// spaces to the longer one's length, so `'a'` = `'a  '` but `'a\t'` <
/// `'a'` (a tab sorts below the padding space). Code point order is byte
/// order in UTF-8.
fn padded_cmp(mut a: impl Iterator<Item = char>, mut b: impl Iterator<Item = char>) -> Ordering {
    loop {
        let ord = match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (Some(x), None) => x.cmp(&' '),
            (None, Some(y)) => ' '.cmp(&y),
            (Some(x), Some(y)) => x.cmp(&y),
        };
        if ord.is_ne() {
            return ord;
        }
    }
}

/// The string without its trailing spaces: what PAD SPACE equality sees.
fn pad(s: &str) -> &str {
    s.trim_end_matches(' ')
}

/// The weight `utf8mb4_general_ci` gives a character: Latin-1 letters with
/// accents weigh as their base letter (`ß` as `S`, `ÿ` as `Y`; but `Æ`, `Ø`,
/// `Ð`, `Þ` are letters of their own), every other character as its
/// upper-case form when that is one character. Checked against MariaDB
/// 10.11 in tests/collation_mariadb.rs.
fn fold(c: char) -> char {
    match c {
        'a'..='z' => c.to_ascii_uppercase(),
        '\0'..='\u{7f}' => c,
        'À'..='Å' | 'à'..='å' => 'A',
        'Ç' | 'ç' => 'C',
        'È'..='Ë' | 'è'..='ë' => 'E',
        'Ì'..='Ï' | 'ì'..='ï' => 'I',
        'Ñ' | 'ñ' => 'N',
        'Ò'..='Ö' | 'ò'..='ö' => 'O',
        'Ù'..='Ü' | 'ù'..='ü' => 'U',
        'Ý' | 'ý' | 'ÿ' => 'Y',
        'ß' => 'S',
        // Letters of their own in general_ci, not accented base letters.
        'æ' => 'Æ',
        'ø' => 'Ø',
        'ð' => 'Ð',
        'þ' => 'Þ',
        _ => {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash(c: Collation, s: &str) -> u64 {
        let mut h = DefaultHasher::new();
        c.hash(s, &mut h);
        h.finish()
    }

    #[test]
    fn binary_is_bytewise_and_keeps_trailing_spaces() {
        let b = Collation::Binary;
        assert_eq!(b.compare("B", "a"), Ordering::Less);
        assert_eq!(b.compare("a ", "a"), Ordering::Greater);
        assert_ne!(hash(b, "a "), hash(b, "a"));
    }

    #[test]
    fn pad_space_ignores_trailing_spaces_only() {
        let p = Collation::BinaryPadSpace;
        assert_eq!(p.compare("a  ", "a"), Ordering::Equal);
        assert_eq!(hash(p, "a  "), hash(p, "a"));
        assert_eq!(p.compare(" a", "a"), Ordering::Less);
        assert_eq!(p.compare("A", "a"), Ordering::Less);
        // A tab is not a pad character, and sorts below the padding.
        assert_eq!(p.compare("a\t", "a"), Ordering::Less);
        assert_eq!(p.compare("a", "a\t "), Ordering::Greater);
        assert_ne!(hash(p, "a\t"), hash(p, "a"));
    }

    #[test]
    fn case_insensitive_folds_case_accents_and_padding() {
        let ci = Collation::CaseInsensitive;
        for (a, b) in [
            ("New", "new"),
            ("NEW  ", "new"),
            ("Café", "CAFE"),
            ("straße", "STRASE"),
            ("Ωμέγα", "ΩΜΈΓΑ"),
        ] {
            assert_eq!(ci.compare(a, b), Ordering::Equal, "{a} = {b}");
            assert_eq!(hash(ci, a), hash(ci, b), "{a} hashes as {b}");
        }
        assert_eq!(ci.compare("apple", "Banana"), Ordering::Less);
        assert_eq!(ci.compare("Zebra", "apple"), Ordering::Greater);
        // Upper-case weights put '_' (0x5F) after letters, as MariaDB does.
        assert_eq!(ci.compare("a", "_"), Ordering::Less);
        assert_eq!(ci.compare("ab", "a"), Ordering::Greater);
        assert_ne!(hash(ci, "ab"), hash(ci, "a"));
    }

    #[test]
    fn mysql_ids() {
        assert_eq!(Collation::from_mysql_id(63), Some(Collation::Binary));
        assert_eq!(
            Collation::from_mysql_id(46),
            Some(Collation::BinaryPadSpace)
        );
        assert_eq!(
            Collation::from_mysql_id(45),
            Some(Collation::CaseInsensitive)
        );
        assert_eq!(Collation::from_mysql_id(9999), None);
    }
}
