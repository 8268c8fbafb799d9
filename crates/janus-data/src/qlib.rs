//! qlib's binary data folder (`[data] format = "qlib"`, or a folder path), as `dump_bin.py`
//! writes it:
//!
//! - `calendars/day.txt`: the trading days, one per line;
//! - `instruments/all.txt`: `SH600000<TAB>START<TAB>END` per instrument (without it, every
//!   folder under `features/` is read);
//! - `features/<code in lower case>/<field>.day.bin`: little-endian `f32`s, the first being
//!   the index of the first value's day in the calendar, then one value per calendar day; NaN
//!   where the instrument has no bar (a suspension, or before listing).
//!
//! qlib stores adjusted prices and volumes with the adjustment `factor`: raw price = adjusted
//! / factor, rounded half away from zero to the 0.01 tick (qlib keeps only `f32` precision, so
//! the tick is what the exchange printed); raw volume = volume x factor, rounded to whole
//! shares; `amount` (CNY) is not adjusted. The factor is kept as the panel's adjustment factor
//! (raw close x factor is qlib's adjusted close). Fields read: `open`, `high`, `low`, `close`,
//! `volume` (required), `factor`, `amount`, `vwap` (adjusted, for the amount when there is
//! none). A day whose `close` is NaN has no bar. Codes become Janus codes (`sh600000` is
//! `600000.SH`). Errors name the feature folder and the record (the first value after the
//! start index being record 1).

use crate::assemble::assemble;
use crate::calendar::Calendar;
use crate::error::{DataError, Unit};
use crate::panel::Panel;
use crate::rows::{day_number, Bar, Layout, Order, Part, PriceMode};
use crate::universe::normalize_code;
use janus_core::LimitRules;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

const PRICE_FIELDS: [&str; 4] = ["open", "high", "low", "close"];

/// Load a qlib data folder; `calendar`, when given, is checked as for any format (qlib's own
/// calendar decides the dates of the values).
pub fn load_qlib(root: &Path, calendar: Option<&Calendar>, rules: &LimitRules) -> Result<Panel, DataError> {
    let root_name = root.display().to_string();
    let fmt = |message: String| DataError::Format { file: root_name.clone(), message };
    let cal_path = root.join("calendars").join("day.txt");
    if !cal_path.is_file() {
        return Err(fmt(
            "not a qlib data folder: calendars/day.txt is missing (expected calendars/, instruments/ and features/)"
                .into(),
        ));
    }
    let days: Vec<i32> = Calendar::load(&cal_path)?.dates().map(day_number).collect();
    let codes = instruments(root).map_err(fmt)?;
    if codes.is_empty() {
        return Err(fmt("no instrument: instruments/all.txt lists none and features/ has no folder".into()));
    }
    let layout =
        Layout { order: Order::Sort, limits: false, adj: true, unit: Unit::Record, prices: PriceMode::RoundToTick };
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Part)>();
    let threads = crate::workers();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, codes, days) = (&next, &codes, &days);
            scope.spawn(move || loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(code) = codes.get(k) else { return };
                let dir = root.join("features").join(code.to_lowercase());
                let mut part = Part::new(&dir.display().to_string(), layout);
                if let Err(e) = read_instrument(&dir, code, days, &mut part) {
                    part.error = Some(e);
                }
                if tx.send((k, part)).is_err() {
                    return;
                }
            });
        }
    });
    drop(tx);
    let mut parts: Vec<Option<Part>> = (0..codes.len()).map(|_| None).collect();
    for (k, part) in rx {
        parts[k] = Some(part);
    }
    assemble(parts.into_iter().flatten().collect(), &root_name, layout, calendar, rules)
}

/// Instrument codes from `instruments/all.txt`, else the folders of `features/`; sorted.
fn instruments(root: &Path) -> Result<Vec<String>, String> {
    let list = root.join("instruments").join("all.txt");
    let mut codes: Vec<String> = if list.is_file() {
        let text = std::fs::read_to_string(&list).map_err(|e| format!("cannot read instruments/all.txt: {e}"))?;
        text.lines()
            .filter_map(|l| l.split('\t').next())
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    } else {
        let dir = root.join("features");
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot list features/: {e}"))?;
        entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    codes.sort();
    codes.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    Ok(codes)
}

/// One feature file: (calendar index of the first value, values). `None` when the file is
/// not there.
fn read_bin(path: &Path) -> Result<Option<(usize, Vec<f32>)>, DataError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(DataError::Open { file: path.display().to_string(), source }),
    };
    let bad = |message: String| DataError::Format { file: path.display().to_string(), message };
    if bytes.len() < 4 || bytes.len() % 4 != 0 {
        return Err(bad(format!("{} bytes is not a whole number of little-endian f32 values", bytes.len())));
    }
    let mut vals = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    let start = vals.next().unwrap_or(f32::NAN);
    if !(start.is_finite() && start >= 0.0 && start.fract() == 0.0) {
        return Err(bad(format!("the start index {start} is not a calendar position")));
    }
    Ok(Some((start as usize, vals.collect())))
}

fn read_instrument(dir: &Path, code: &str, days: &[i32], part: &mut Part) -> Result<(), DataError> {
    let field = |name: &str| read_bin(&dir.join(format!("{name}.day.bin")));
    let required = |name: &str| {
        field(name)?.ok_or_else(|| DataError::Format {
            file: dir.display().to_string(),
            message: format!("{name}.day.bin is missing (open, high, low, close and volume are required)"),
        })
    };
    let (open, high, low, close, volume) =
        (required("open")?, required("high")?, required("low")?, required("close")?, required("volume")?);
    let (factor, amount, vwap) = (field("factor")?, field("amount")?, field("vwap")?);
    let start = close.0;
    if start + close.1.len() > days.len() {
        return Err(DataError::Format {
            file: dir.join("close.day.bin").display().to_string(),
            message: format!(
                "values run to calendar position {} but calendars/day.txt has {} days",
                start + close.1.len(),
                days.len()
            ),
        });
    }
    // The value of a field on calendar position `pos` (NaN outside its range).
    let at = |f: Option<&(usize, Vec<f32>)>, pos: usize| -> f64 {
        f.and_then(|(s, v)| pos.checked_sub(*s).and_then(|k| v.get(k))).map_or(f64::NAN, |&x| x as f64)
    };
    let (open, high, low, volume) = (Some(&open), Some(&high), Some(&low), Some(&volume));
    let (factor, amount, vwap) = (factor.as_ref(), amount.as_ref(), vwap.as_ref());
    let symbol = normalize_code(code);
    for k in 0..close.1.len() {
        let pos = start + k;
        let c = at(Some(&close), pos);
        if c.is_nan() {
            continue;
        }
        let line = k as u64 + 1;
        let (date, new_day) = part.date(days[pos], symbol.as_bytes(), line)?;
        let id = part.symbol(symbol.as_bytes(), "instrument", new_day, date, line)?;
        let here = part.at(line);
        let f = at(factor, pos);
        let f = if f.is_nan() { 1.0 } else { f };
        if !(f.is_finite() && f > 0.0) {
            return Err(DataError::BadFactor { at: here.place(), column: "factor".into(), value: f.to_string() });
        }
        let raw = |v: f64, name: &str| here.price_f64(v / f, name, PriceMode::RoundToTick);
        let prices = [at(open, pos), at(high, pos), at(low, pos), c];
        let mut p = [janus_core::Price::ZERO; 4];
        for (slot, (&v, name)) in p.iter_mut().zip(prices.iter().zip(PRICE_FIELDS)) {
            *slot = raw(v, name)?;
        }
        let vol = at(volume, pos);
        let shares = here.non_negative_f64(vol, "volume", || vol.to_string())?;
        let shares = (shares * f).round();
        let mut amt = at(amount, pos);
        if !amt.is_nan() {
            amt = here.non_negative_f64(amt, "amount", || amt.to_string())?;
        } else {
            let v = at(vwap, pos);
            if !v.is_nan() {
                amt = here.non_negative_f64(v, "vwap", || v.to_string())? / f * shares;
            }
        }
        let bar = Bar {
            open: p[0],
            high: p[1],
            low: p[2],
            close: p[3],
            volume: shares,
            amount: amt,
            up: None,
            down: None,
            adj: f,
            paused: false,
            st: false,
        };
        part.push(date, id, &bar, line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use janus_core::Price;

    /// Write one feature file: start index, then the values.
    fn bin(dir: &Path, field: &str, start: usize, vals: &[f32]) {
        let mut b = (start as f32).to_le_bytes().to_vec();
        for v in vals {
            b.extend_from_slice(&v.to_le_bytes());
        }
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("{field}.day.bin")), b).unwrap();
    }

    /// A two-instrument qlib folder: sh600000 with a factor of 2 from day 1, sz000001 listing on
    /// day 1 with a suspension (NaN) on day 2.
    fn folder() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("calendars")).unwrap();
        std::fs::write(r.join("calendars/day.txt"), "2024-01-02\n2024-01-03\n2024-01-04\n2024-01-05\n").unwrap();
        std::fs::create_dir_all(r.join("instruments")).unwrap();
        std::fs::write(
            r.join("instruments/all.txt"),
            "SH600000\t2024-01-02\t2099-12-31\nSZ000001\t2024-01-03\t2099-12-31\n",
        )
        .unwrap();
        let a = r.join("features/sh600000");
        // Raw closes 10.00, 10.20, 10.10, 10.30 with factors 1, 2, 2, 2.
        bin(&a, "close", 0, &[10.0, 20.4, 20.2, 20.6]);
        bin(&a, "open", 0, &[10.0, 20.0, 20.4, 20.2]);
        bin(&a, "high", 0, &[10.0, 20.6, 20.4, 20.6]);
        bin(&a, "low", 0, &[10.0, 20.0, 20.2, 20.2]);
        bin(&a, "volume", 0, &[1000.0, 500.0, 0.0, 400.0]);
        bin(&a, "factor", 0, &[1.0, 2.0, 2.0, 2.0]);
        let b = r.join("features/sz000001");
        bin(&b, "close", 1, &[9.01, f32::NAN, 9.1]);
        bin(&b, "open", 1, &[9.0, f32::NAN, 9.0]);
        bin(&b, "high", 1, &[9.05, f32::NAN, 9.2]);
        bin(&b, "low", 1, &[8.99, f32::NAN, 8.95]);
        bin(&b, "volume", 1, &[300.0, f32::NAN, 200.0]);
        bin(&b, "amount", 1, &[2703.0, f32::NAN, 1820.0]);
        t
    }

    #[test]
    fn a_qlib_folder_loads_with_raw_prices_volumes_and_the_factor_kept() {
        let t = folder();
        let p = load_qlib(t.path(), None, &LimitRules::default()).unwrap();
        assert_eq!(p.symbols, ["000001.SZ", "600000.SH"]);
        assert_eq!(p.n_dates(), 4);
        let (a, b) = (1, 0);
        let i = p.idx(1, a);
        assert_eq!(p.close[i].get(), Price::from_yuan(10.2), "adjusted 20.4 / factor 2");
        assert_eq!(p.volume[i], 1000.0, "adjusted 500 x factor 2");
        assert_eq!(p.adj_factor[i], 2.0);
        assert!(!p.is_tradable(2, a), "volume 0 is a suspension");
        assert!(!p.is_present(0, b) && !p.is_present(2, b), "before listing, and a NaN day");
        let j = p.idx(3, b);
        assert_eq!((p.close[j].get(), p.amount[j]), (Price::from_yuan(9.1), 1820.0));
        assert_eq!(p.adj_factor[j], 1.0, "no factor file: 1");
        // Day 1 is 600000.SH's second bar: its limits come from the raw previous close 10.00.
        assert_eq!(p.limit_up[i].get(), Price::from_yuan(11.0));
    }

    #[test]
    fn broken_qlib_folders_are_named() {
        let t = tempfile::tempdir().unwrap();
        let e = load_qlib(t.path(), None, &LimitRules::default()).unwrap_err().to_string();
        assert!(e.contains("calendars/day.txt is missing"), "{e}");

        let t = folder();
        std::fs::write(t.path().join("features/sh600000/close.day.bin"), [0u8, 0, 128]).unwrap();
        let e = load_qlib(t.path(), None, &LimitRules::default()).unwrap_err().to_string();
        assert!(e.contains("close.day.bin") && e.contains("3 bytes"), "{e}");

        let t = folder();
        std::fs::remove_file(t.path().join("features/sz000001/volume.day.bin")).unwrap();
        let e = load_qlib(t.path(), None, &LimitRules::default()).unwrap_err().to_string();
        assert!(e.contains("sz000001") && e.contains("volume.day.bin is missing"), "{e}");

        let t = folder();
        bin(&t.path().join("features/sh600000"), "low", 0, &[10.0, 21.0, 20.2, 20.2]);
        let e = load_qlib(t.path(), None, &LimitRules::default()).unwrap_err().to_string();
        assert!(e.contains("sh600000: record 2") && e.contains("10.5000"), "{e}");
    }
}
