//! Proleptic Gregorian calendar arithmetic (Howard Hinnant's algorithms), shared by event time,
//! Python's `datetime` and the compiler's `datetime` constants. Dependency-free, so that the
//! compiler includes this file as it is (`#[path]`) rather than depending on the runtime.

/// Days since 1970-01-01 of a date.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

pub fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The days of a month (1 to 12).
pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The microseconds of `timedelta(days, seconds, microseconds, milliseconds, minutes, hours,
/// weeks)` with integer arguments; `None` on overflow.
pub fn timedelta_us(v: [i64; 7]) -> Option<i64> {
    let [days, seconds, micro, milli, minutes, hours, weeks] = v;
    let secs = days
        .checked_mul(86_400)?
        .checked_add(weeks.checked_mul(7 * 86_400)?)?
        .checked_add(hours.checked_mul(3600)?)?
        .checked_add(minutes.checked_mul(60)?)?
        .checked_add(seconds)?;
    secs.checked_mul(1_000_000)?.checked_add(milli.checked_mul(1000)?)?.checked_add(micro)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates_round_trip() {
        for days in (-800_000..800_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(1, 1, 1), -719_162);
        assert_eq!((days_in_month(2000, 2), days_in_month(1900, 2), days_in_month(2024, 4)), (29, 28, 30));
    }
}
