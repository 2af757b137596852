//! [`Decimal`]: exact fixed-point numbers, so that SUM and AVG of NUMERIC /
//! DECIMAL columns across shards give the same digits one database would.

use std::cmp::Ordering;
use std::fmt;

/// Digits AVG adds past the sum's scale on MySQL / MariaDB
/// (`div_precision_increment` defaults to 4). PostgreSQL's rule is
/// [`Decimal::pg_div_scale`]; the plan's `AvgScale` picks one.
pub const AVG_EXTRA_SCALE: u32 = 4;

/// `mantissa * 10^-scale`. The scale is kept as the backend sent it (a
/// NUMERIC(10,2) sum keeps two decimals), so equal values may have different
/// representations; compare with [`Decimal::cmp`], not field by field.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

fn pow10(exp: u32) -> Option<i128> {
    10i128.checked_pow(exp)
}

impl Decimal {
    pub fn new(mantissa: i128, scale: u32) -> Self {
        Self { mantissa, scale }
    }

    pub fn mantissa(&self) -> i128 {
        self.mantissa
    }

    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// Parses `-123.4500`-style text (what PostgreSQL and MySQL send for
    /// NUMERIC/DECIMAL). `None` for anything else, including values that need
    /// more than 38 digits: those must not be silently rounded.
    pub fn parse(text: &str) -> Option<Self> {
        let (negative, digits) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let mut mantissa: i128 = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            if !b.is_ascii_digit() {
                return None;
            }
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(i128::from(b - b'0'))?;
        }
        let scale = u32::try_from(frac_part.len()).ok()?;
        Some(Self {
            mantissa: if negative { -mantissa } else { mantissa },
            scale,
        })
    }

    /// This value with `scale` decimals, if that fits without loss.
    fn rescaled(self, scale: u32) -> Option<i128> {
        let up = scale.checked_sub(self.scale)?;
        self.mantissa.checked_mul(pow10(up)?)
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        let scale = self.scale.max(other.scale);
        let sum = self.rescaled(scale)?.checked_add(other.rescaled(scale)?)?;
        Some(Self::new(sum, scale))
    }

    /// `self / divisor` with `self.scale + extra` decimals, rounded half away
    /// from zero (what both PostgreSQL and MySQL do for NUMERIC).
    pub fn checked_div_int(self, divisor: i128, extra: u32) -> Option<Self> {
        if divisor == 0 {
            return None;
        }
        let scale = self.scale.checked_add(extra)?;
        let numerator = self.rescaled(scale)?;
        let quotient = numerator / divisor;
        let remainder = numerator % divisor;
        let round_away = remainder.unsigned_abs().checked_mul(2)? >= divisor.unsigned_abs();
        let away = if (numerator < 0) != (divisor < 0) {
            -1
        } else {
            1
        };
        let mantissa = if round_away {
            quotient.checked_add(away)?
        } else {
            quotient
        };
        Some(Self::new(mantissa, scale))
    }

    /// The scale PostgreSQL gives `self / divisor` in numeric division
    /// (`select_div_scale` in numeric.c): enough decimals for 16 significant
    /// digits of the estimated quotient, never fewer than the dividend's
    /// (the divisor here is an integer, scale 0), at most 1000. AVG of
    /// integer and numeric columns divides this way.
    pub fn pg_div_scale(self, divisor: i128) -> u32 {
        const MIN_SIG_DIGITS: i64 = 16;
        const DEC_DIGITS: i64 = 4;
        let (weight1, first1) = self.pg_weight_and_first_digit();
        let (weight2, first2) = Decimal::new(divisor, 0).pg_weight_and_first_digit();
        // When the first digits are equal the quotient's weight is unknown;
        // PostgreSQL assumes the dividend is the smaller.
        let mut qweight = weight1 - weight2;
        if first1 <= first2 {
            qweight -= 1;
        }
        let rscale = (MIN_SIG_DIGITS - qweight * DEC_DIGITS)
            .max(i64::from(self.scale))
            .clamp(0, 1000);
        u32::try_from(rscale).unwrap_or(1000)
    }

    /// The weight and first digit of this value written in base 10000 with
    /// the groups aligned on the decimal point, as PostgreSQL's NUMERIC
    /// stores it: 123456.7 is 12|3456.7000, weight 1, first digit 12. Zero
    /// has weight 0 and first digit 0.
    fn pg_weight_and_first_digit(self) -> (i64, u128) {
        let m = self.mantissa.unsigned_abs();
        if m == 0 {
            return (0, 0);
        }
        let mut digits = 0i64;
        let mut rest = m;
        while rest > 0 {
            rest /= 10;
            digits += 1;
        }
        // Decimal exponent of the leading digit, then its base-10000 group.
        let exponent = digits - 1 - i64::from(self.scale);
        let weight = exponent.div_euclid(4);
        // value / 10000^weight = m / 10^shift, which lies in [1, 10000).
        let shift = i64::from(self.scale) + 4 * weight;
        let first = if shift >= 0 {
            u32::try_from(shift)
                .ok()
                .and_then(|s| 10u128.checked_pow(s))
                .map_or(0, |p| m / p)
        } else {
            // -shift is at most 3: the leading digit sits in this group.
            m * 10u128.pow(u32::try_from(-shift).unwrap_or(0))
        };
        (weight, first)
    }

    /// The nearest f64. Always correctly rounded, so that equal decimals
    /// with different scales give the same f64 (hashing relies on it).
    pub fn to_f64(self) -> f64 {
        const EXACT_MANTISSA: u128 = 1 << 53;
        let d = self.normalized();
        if d.mantissa.unsigned_abs() <= EXACT_MANTISSA && d.scale <= 22 {
            // Both operands are exact in f64, and IEEE division rounds once.
            return d.mantissa as f64 / 10f64.powi(d.scale as i32);
        }
        d.to_string().parse().unwrap_or(f64::NAN)
    }

    /// The same value with trailing fractional zeros removed, so equal values
    /// have equal fields.
    pub fn normalized(self) -> Self {
        let mut d = self;
        while d.scale > 0 && d.mantissa % 10 == 0 {
            d.mantissa /= 10;
            d.scale -= 1;
        }
        d
    }
}

/// Arithmetic the proxy-side evaluator needs (see `eval`). Every operation
/// is exact or rounds where the server rounds, and returns `None` when the
/// result leaves i128 instead of losing digits.
impl Decimal {
    pub fn checked_neg(self) -> Option<Self> {
        Some(Self::new(self.mantissa.checked_neg()?, self.scale))
    }

    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.checked_add(other.checked_neg()?)
    }

    /// Exact: the scales add, as both servers do.
    pub fn checked_mul(self, other: Self) -> Option<Self> {
        Some(Self::new(
            self.mantissa.checked_mul(other.mantissa)?,
            self.scale.checked_add(other.scale)?,
        ))
    }

    pub fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// `self / other` with `scale` decimals, rounded half away from zero
    /// (`round`, PostgreSQL) or truncated (MySQL's intermediate quotients).
    /// `None` for a zero divisor or an overflow.
    pub fn checked_div(self, other: Self, scale: u32, round: bool) -> Option<Self> {
        if other.mantissa == 0 {
            return None;
        }
        // Trailing zeros only cost headroom: 1 / 7.000 is 1 / 7.
        let (dividend, other) = (self.normalized(), other.normalized());
        // a/b * 10^scale = ma * 10^(scale + sb - sa) / mb.
        let shift = i64::from(scale) + i64::from(other.scale) - i64::from(dividend.scale);
        let (numerator, divisor, shift) = if shift >= 0 {
            (
                dividend.mantissa,
                other.mantissa,
                u32::try_from(shift).ok()?,
            )
        } else {
            let up = pow10(u32::try_from(-shift).ok()?)?;
            (dividend.mantissa, other.mantissa.checked_mul(up)?, 0)
        };
        // Long division, one decimal digit at a time: only the quotient
        // and ten times the divisor must fit, not numerator * 10^shift.
        let d = divisor.unsigned_abs();
        d.checked_mul(10)?;
        let n = numerator.unsigned_abs();
        let (mut quotient, mut remainder) = (n / d, n % d);
        for _ in 0..shift {
            let r10 = remainder * 10;
            quotient = quotient.checked_mul(10)?.checked_add(r10 / d)?;
            remainder = r10 % d;
        }
        if round && remainder.checked_mul(2)? >= d {
            quotient = quotient.checked_add(1)?;
        }
        let magnitude = i128::try_from(quotient).ok()?;
        let negative = (numerator < 0) != (divisor < 0);
        Some(Self::new(
            if negative { -magnitude } else { magnitude },
            scale,
        ))
    }

    /// The remainder of truncating division, with the larger scale (the
    /// sign follows the dividend, in both servers). `None` for zero.
    pub fn checked_rem(self, other: Self) -> Option<Self> {
        let scale = self.scale.max(other.scale);
        let (a, b) = (self.rescaled(scale)?, other.rescaled(scale)?);
        if b == 0 {
            return None;
        }
        Some(Self::new(a.checked_rem(b)?, scale))
    }

    /// Rounded half away from zero to `digits` decimals (negative: tens,
    /// hundreds, ...); the result has `max(digits, 0)` decimals, more than
    /// now if asked (`round(1.5, 3)` is `1.500`).
    pub fn round_to(self, digits: i64) -> Option<Self> {
        let target = u32::try_from(digits.max(0)).ok()?;
        if digits >= i64::from(self.scale) {
            return Some(Self::new(self.rescaled(target)?, target));
        }
        // Drop `cut` digits, rounding, then scale back up if digits < 0.
        let cut = u32::try_from(i64::from(self.scale) - digits).ok()?;
        let unit = pow10(cut)?;
        let quotient = self.mantissa / unit;
        let remainder = self.mantissa % unit;
        let mut kept = quotient;
        if remainder.unsigned_abs().checked_mul(2)? >= unit.unsigned_abs() {
            kept = kept.checked_add(self.mantissa.signum())?;
        }
        let up = u32::try_from((-digits).max(0)).ok()?;
        Some(Self::new(kept.checked_mul(pow10(up)?)?, target))
    }

    /// Truncated toward zero to `scale` decimals (never more than now).
    pub fn truncate_to(self, scale: u32) -> Self {
        if scale >= self.scale {
            return self;
        }
        // The divisor is at most 10^scale of a value that fits, so it fits.
        let unit = pow10(self.scale - scale).unwrap_or(i128::MAX);
        Self::new(self.mantissa / unit, scale)
    }

    /// The integer part, truncated toward zero, if it fits an i64.
    pub fn trunc_i64(self) -> Option<i64> {
        i64::try_from(self.truncate_to(0).mantissa).ok()
    }

    /// How many digits the integer part has (0 for |x| < 1).
    pub fn integer_digits(self) -> u32 {
        let mut rest = self.truncate_to(0).mantissa.unsigned_abs();
        let mut digits = 0;
        while rest > 0 {
            rest /= 10;
            digits += 1;
        }
        digits
    }

    /// The scale PostgreSQL gives `self / divisor` (`select_div_scale` in
    /// numeric.c) for any numeric divisor: 16 significant digits of the
    /// estimated quotient, never fewer decimals than either input, at most
    /// 1000.
    pub fn pg_div_scale_by(self, divisor: Decimal) -> u32 {
        const MIN_SIG_DIGITS: i64 = 16;
        const DEC_DIGITS: i64 = 4;
        let (weight1, first1) = self.pg_weight_and_first_digit();
        let (weight2, first2) = divisor.pg_weight_and_first_digit();
        let mut qweight = weight1 - weight2;
        if first1 <= first2 {
            qweight -= 1;
        }
        let rscale = (MIN_SIG_DIGITS - qweight * DEC_DIGITS)
            .max(i64::from(self.scale))
            .max(i64::from(divisor.scale))
            .clamp(0, 1000);
        u32::try_from(rscale).unwrap_or(1000)
    }
}

impl From<i64> for Decimal {
    fn from(v: i64) -> Self {
        Self::new(i128::from(v), 0)
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        let scale = self.scale.max(other.scale);
        match (self.rescaled(scale), other.rescaled(scale)) {
            (Some(a), Some(b)) => a.cmp(&b),
            // Only values near the i128 limit get here; their normalized forms
            // usually fit, and f64 is the last resort.
            _ => {
                let (a, b) = (self.normalized(), other.normalized());
                let scale = a.scale.max(b.scale);
                match (a.rescaled(scale), b.rescaled(scale)) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    _ => a.to_f64().total_cmp(&b.to_f64()),
                }
            }
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int_part, frac_part) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int_part}.{frac_part}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn parse_and_display_round_trip() {
        for s in ["0", "-0.05", "123.4500", "1", "-7", "0.000001"] {
            assert_eq!(d(s).to_string(), s);
        }
        assert_eq!(d(".5").to_string(), "0.5");
        assert_eq!(d("+5.").to_string(), "5");
        for bad in ["", "-", ".", "1e5", "NaN", "1.2.3", "12a"] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
        assert!(Decimal::parse(&"9".repeat(40)).is_none());
    }

    #[test]
    fn add_is_exact() {
        assert_eq!(d("0.1").checked_add(d("0.2")).unwrap().to_string(), "0.3");
        assert_eq!(
            d("1.25").checked_add(d("-0.250")).unwrap().to_string(),
            "1.000"
        );
    }

    #[test]
    fn compare_across_scales() {
        assert_eq!(d("1.0").cmp(&d("1")), Ordering::Equal);
        assert!(d("-1.5") < d("-1.25"));
        assert!(d("0.3") > d("0.29999"));
    }

    #[test]
    fn to_f64_ignores_representation() {
        assert_eq!(d("0.1").to_f64(), 0.1);
        assert_eq!(d("0.100").to_f64(), 0.1);
        let big = "123456789012345678901234567";
        assert_eq!(d(big).to_f64(), d(&format!("{big}.000")).to_f64());
        assert_eq!(d(big).to_f64(), 123456789012345678901234567.0);
    }

    #[test]
    fn postgresql_division_scale() {
        // Values checked against PostgreSQL 15: SELECT x / n.
        let scale = |x: &str, n: i128| d(x).pg_div_scale(n);
        assert_eq!(scale("3", 2), 16); // 1.5000000000000000
        assert_eq!(scale("2", 3), 20); // 0.66666666666666666667
        assert_eq!(scale("0", 5), 20); // 0.00000000000000000000
        assert_eq!(scale("1", 1), 20); // equal first digits: assumed smaller
        assert_eq!(scale("123456", 7), 12);
        assert_eq!(scale("-12.50", 400), 20);
        assert_eq!(scale("0.05", 1), 20);
        assert_eq!(scale("1.123456789012345678901", 1), 21);
    }

    #[test]
    fn divide_rounds_half_away_from_zero() {
        assert_eq!(d("2").checked_div_int(3, 4).unwrap().to_string(), "0.6667");
        assert_eq!(
            d("-2").checked_div_int(3, 4).unwrap().to_string(),
            "-0.6667"
        );
        assert_eq!(d("1").checked_div_int(8, 2).unwrap().to_string(), "0.13");
        assert!(d("1").checked_div_int(0, 2).is_none());
    }
}
