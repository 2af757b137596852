//! The subset of Java `DateTimeFormatter` patterns that sharding configs
//! use, for reading values and bounds and for formatting table suffixes.
//!
//! Supported letters: `yyyy` / `uuuu` (4-digit year), `yy` / `uu` (2-digit
//! year, 2000-2099 when read, as Java's base year), `M`/`MM`, `d`/`dd`,
//! `H`/`HH`, `m`/`mm`, `s`/`ss`, `S`..`SSSSSSSSS` (fraction of second).
//! `'...'` quotes literal text (`''` is a quote); any other non-letter
//! character is literal. Other letters (text months, AM/PM, zones...) are
//! rejected when the pattern is compiled, so a config that needs them fails
//! at load time instead of misrouting.
//!
//! Reading is lenient where ShardingSphere is lenient: text shorter than the
//! pattern fills the missing fields with their start (`2021-01-05` under
//! `yyyy-MM-dd HH:mm:ss` is midnight), text left over after the pattern is
//! ignored, a `T` may stand for a space (ISO form). Unlike ShardingSphere,
//! which cuts the text at the pattern's length, a `.fraction` right after
//! the seconds is read, so `< '2021-02-01 00:00:00.5'` keeps February.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Year,
    /// Two-digit year.
    YearOfCentury,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Fraction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A numeric field printed with at least `width` digits. When read,
    /// width 1 takes one or two digits; other widths take exactly `width`.
    Num {
        field: Field,
        width: usize,
    },
    Lit(String),
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JavaPattern {
    items: Vec<Item>,
}

impl JavaPattern {
    /// Compiles a pattern; the error says what is wrong with it.
    pub(crate) fn compile(pattern: &str) -> Result<Self, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut items: Vec<Item> = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                let (text, next) = quoted(&chars, i)?;
                push_lit(&mut items, &text);
                i = next;
            } else if c.is_ascii_alphabetic() {
                let run = chars[i..].iter().take_while(|&&d| d == c).count();
                items.push(letter(c, run)?);
                i += run;
            } else if matches!(c, '[' | ']' | '{' | '}' | '#') {
                return Err(format!(
                    "`{c}` (reserved in Java patterns) is not supported"
                ));
            } else {
                push_lit(&mut items, &c.to_string());
                i += 1;
            }
        }
        if items.is_empty() {
            return Err("the pattern is empty".to_owned());
        }
        Ok(JavaPattern { items })
    }

    /// `yyyy-MM-dd HH:mm:ss`, the fixed pattern of AUTO_INTERVAL.
    pub(crate) fn standard() -> Self {
        let num = |field, width| Item::Num { field, width };
        let lit = |s: &str| Item::Lit(s.to_owned());
        JavaPattern {
            items: vec![
                num(Field::Year, 4),
                lit("-"),
                num(Field::Month, 2),
                lit("-"),
                num(Field::Day, 2),
                lit(" "),
                num(Field::Hour, 2),
                lit(":"),
                num(Field::Minute, 2),
                lit(":"),
                num(Field::Second, 2),
            ],
        }
    }

    pub(crate) fn format(&self, t: &NaiveDateTime) -> String {
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Lit(text) => out.push_str(text),
                Item::Num { field, width } => {
                    let w = *width;
                    let s = match field {
                        Field::Year => format!("{:0w$}", t.year()),
                        Field::YearOfCentury => format!("{:02}", t.year().rem_euclid(100)),
                        Field::Month => format!("{:0w$}", t.month()),
                        Field::Day => format!("{:0w$}", t.day()),
                        Field::Hour => format!("{:0w$}", t.hour()),
                        Field::Minute => format!("{:0w$}", t.minute()),
                        Field::Second => format!("{:0w$}", t.second()),
                        Field::Fraction => {
                            // Leap-second nanos (>= 1e9) print as 999...
                            let nanos = t.nanosecond().min(999_999_999);
                            let digits = format!("{nanos:09}");
                            digits[..w].to_owned()
                        }
                    };
                    out.push_str(&s);
                }
            }
        }
        out
    }

    /// Reads `text`; the error says why it does not fit the pattern.
    pub(crate) fn parse(&self, text: &str) -> Result<NaiveDateTime, String> {
        let input = text.trim();
        if input.is_empty() {
            return Err("empty text".to_owned());
        }
        let mut year = 1970;
        let (mut month, mut day) = (1, 1);
        let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0);
        let mut rest = input;
        let mut last_field = None;
        for item in &self.items {
            if rest.is_empty() {
                // Shorter text: the remaining fields keep their defaults.
                break;
            }
            match item {
                Item::Lit(lit) => {
                    if let Some(r) = rest.strip_prefix(lit.as_str()) {
                        rest = r;
                    } else if lit == " " && rest.starts_with('T') {
                        rest = &rest[1..];
                    } else {
                        return Err(format!("expected `{lit}` at `{rest}`"));
                    }
                }
                Item::Num { field, width } => {
                    let available = rest.bytes().take_while(u8::is_ascii_digit).count();
                    let take = match (field, *width) {
                        (Field::Fraction, w) => w,
                        (_, 1) => available.clamp(1, 2),
                        (_, w) => w,
                    };
                    if available < take {
                        return Err(format!("expected {take} digits at `{rest}`"));
                    }
                    let (digits, r) = rest.split_at(take);
                    rest = r;
                    // At most 9 ASCII digits: always fits u32.
                    let n: u32 = digits
                        .parse()
                        .map_err(|_| format!("bad number `{digits}`"))?;
                    match field {
                        Field::Year => year = n as i32,
                        Field::YearOfCentury => year = 2000 + n as i32,
                        Field::Month => month = n,
                        Field::Day => day = n,
                        Field::Hour => hour = n,
                        Field::Minute => minute = n,
                        Field::Second => second = n,
                        Field::Fraction => nanos = n * 10u32.pow(9 - take as u32),
                    }
                    last_field = Some(*field);
                }
            }
        }
        if last_field == Some(Field::Second) {
            if let Some(fraction) = rest.strip_prefix('.') {
                let digits: String = fraction
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .take(9)
                    .collect();
                if !digits.is_empty() {
                    let n: u32 = digits
                        .parse()
                        .map_err(|_| format!("bad fraction `{digits}`"))?;
                    nanos = n * 10u32.pow(9 - digits.len() as u32);
                }
            }
        }
        let date = NaiveDate::from_ymd_opt(year, month, day)
            .ok_or_else(|| format!("no such date {year:04}-{month:02}-{day:02}"))?;
        let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
            .ok_or_else(|| format!("no such time {hour:02}:{minute:02}:{second:02}"))?;
        Ok(NaiveDateTime::new(date, time))
    }
}

fn push_lit(items: &mut Vec<Item>, text: &str) {
    if let Some(Item::Lit(prev)) = items.last_mut() {
        prev.push_str(text);
    } else if !text.is_empty() {
        items.push(Item::Lit(text.to_owned()));
    }
}

/// The text of a quoted literal starting at `chars[start] == '\''` and the
/// index after it. `''` alone is one quote, and `''` inside quotes too.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), String> {
    if chars.get(start + 1) == Some(&'\'') {
        return Ok(("'".to_owned(), start + 2));
    }
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                text.push('\'');
                i += 2;
                continue;
            }
            return Ok((text, i + 1));
        }
        text.push(chars[i]);
        i += 1;
    }
    Err(format!("unterminated quote at character {start}"))
}

fn letter(c: char, run: usize) -> Result<Item, String> {
    let num = |field, width| Ok(Item::Num { field, width });
    match (c, run) {
        ('y' | 'u', 2) => num(Field::YearOfCentury, 2),
        ('y' | 'u', 4) => num(Field::Year, 4),
        ('M', 1 | 2) => num(Field::Month, run),
        ('d', 1 | 2) => num(Field::Day, run),
        ('H', 1 | 2) => num(Field::Hour, run),
        ('m', 1 | 2) => num(Field::Minute, run),
        ('s', 1 | 2) => num(Field::Second, run),
        ('S', 1..=9) => num(Field::Fraction, run),
        _ => Err(format!(
            "`{}` is not supported (use yyyy, yy, MM, dd, HH, mm, ss, S..SSSSSSSSS, quoted text)",
            c.to_string().repeat(run)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|date| date.and_hms_opt(h, mi, s))
            .expect("valid test date")
    }

    fn pat(p: &str) -> JavaPattern {
        JavaPattern::compile(p).expect(p)
    }

    #[test]
    fn formats_suffixes() {
        let t = dt(2021, 3, 7, 9, 5, 4);
        assert_eq!(pat("yyyyMM").format(&t), "202103");
        assert_eq!(pat("yyyyMMdd").format(&t), "20210307");
        assert_eq!(pat("yyyy_MM").format(&t), "2021_03");
        assert_eq!(pat("yy").format(&t), "21");
        assert_eq!(pat("yyyy-M-d H:m:s").format(&t), "2021-3-7 9:5:4");
        assert_eq!(pat("yyyy-MM-dd HH:mm:ss").format(&t), "2021-03-07 09:05:04");
        assert_eq!(pat("'q'yyyy''MM").format(&t), "q2021'03");
        assert_eq!(pat("'it''s' yyyy").format(&t), "it's 2021");
        assert_eq!(JavaPattern::standard(), pat("yyyy-MM-dd HH:mm:ss"));
        let frac = t + chrono::TimeDelta::milliseconds(45);
        assert_eq!(pat("ss.SSS").format(&frac), "04.045");
        assert_eq!(pat("ss.S").format(&frac), "04.0");
    }

    #[test]
    fn parses_full_and_short_values() {
        let p = pat("yyyy-MM-dd HH:mm:ss");
        assert_eq!(p.parse("2021-03-07 09:05:04"), Ok(dt(2021, 3, 7, 9, 5, 4)));
        assert_eq!(
            p.parse(" 2021-03-07 09:05:04 "),
            Ok(dt(2021, 3, 7, 9, 5, 4))
        );
        assert_eq!(p.parse("2021-03-07T09:05:04"), Ok(dt(2021, 3, 7, 9, 5, 4)));
        assert_eq!(p.parse("2021-03-07"), Ok(dt(2021, 3, 7, 0, 0, 0)));
        assert_eq!(p.parse("2021-03-07 10"), Ok(dt(2021, 3, 7, 10, 0, 0)));
        assert_eq!(p.parse("2021-03"), Ok(dt(2021, 3, 1, 0, 0, 0)));
        assert_eq!(
            p.parse("2021-03-07 09:05:04.5"),
            Ok(dt(2021, 3, 7, 9, 5, 4) + chrono::TimeDelta::milliseconds(500))
        );
        assert_eq!(
            p.parse("2021-03-07 09:05:04.123456789123"),
            Ok(dt(2021, 3, 7, 9, 5, 4) + chrono::TimeDelta::nanoseconds(123_456_789))
        );
        // Left-over text (a zone) is ignored, as ShardingSphere cuts it off.
        assert_eq!(
            p.parse("2021-03-07 09:05:04+08"),
            Ok(dt(2021, 3, 7, 9, 5, 4))
        );
    }

    #[test]
    fn parses_other_patterns() {
        assert_eq!(
            pat("yyyyMMdd").parse("20211231"),
            Ok(dt(2021, 12, 31, 0, 0, 0))
        );
        assert_eq!(pat("yy-M-d").parse("21-3-7"), Ok(dt(2021, 3, 7, 0, 0, 0)));
        assert_eq!(
            pat("yy-M-d").parse("21-12-31"),
            Ok(dt(2021, 12, 31, 0, 0, 0))
        );
        assert_eq!(
            pat("yyyy-MM-dd HH:mm:ss.SSS").parse("2021-01-01 00:00:00.007"),
            Ok(dt(2021, 1, 1, 0, 0, 0) + chrono::TimeDelta::milliseconds(7))
        );
        assert_eq!(pat("'d'yyyy").parse("d2020"), Ok(dt(2020, 1, 1, 0, 0, 0)));
    }

    #[test]
    fn rejects_bad_values() {
        let p = pat("yyyy-MM-dd HH:mm:ss");
        assert_eq!(p.parse(""), Err("empty text".to_owned()));
        assert_eq!(
            p.parse("2021/03/07"),
            Err("expected `-` at `/03/07`".to_owned())
        );
        assert_eq!(
            p.parse("2021-3-07"),
            Err("expected 2 digits at `3-07`".to_owned())
        );
        assert_eq!(
            p.parse("2021-02-30"),
            Err("no such date 2021-02-30".to_owned())
        );
        assert_eq!(
            p.parse("2021-02-03 24:00:00"),
            Err("no such time 24:00:00".to_owned())
        );
        assert_eq!(p.parse("abc"), Err("expected 4 digits at `abc`".to_owned()));
    }

    #[test]
    fn rejects_unsupported_patterns() {
        assert_eq!(
            JavaPattern::compile("yyyy-MMM"),
            Err(
                "`MMM` is not supported (use yyyy, yy, MM, dd, HH, mm, ss, S..SSSSSSSSS, quoted text)"
                    .to_owned()
            )
        );
        assert!(JavaPattern::compile("hh:mm a").is_err());
        assert!(JavaPattern::compile("yyy").is_err());
        assert_eq!(
            JavaPattern::compile("yyyy'MM"),
            Err("unterminated quote at character 4".to_owned())
        );
        assert_eq!(
            JavaPattern::compile("yyyy[MM]"),
            Err("`[` (reserved in Java patterns) is not supported".to_owned())
        );
        assert_eq!(
            JavaPattern::compile(""),
            Err("the pattern is empty".to_owned())
        );
    }
}
