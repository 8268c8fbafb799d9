//! The parts of one input merged into a [`Panel`]: what only the whole input can show (order
//! across part boundaries, symbols differing only in case, duplicates of sorted-here input,
//! the trading calendar) is checked here, then every row is scattered into its dense cell.
//! Whatever the number of parts, the error reported is the one at the earliest line.

use crate::calendar::Calendar;
use crate::error::{DataError, Place};
use crate::panel::Panel;
use crate::rows::{day_number, from_day_number, Chunked, FxMap, Layout, Order, Part};
use janus_core::{Board, LimitRules, Price32};

/// Merge the parts of one input (in input order) into a panel; limits missing from the data
/// are derived with `rules`. `calendar`, when given, must list every date of the data, and
/// every calendar day inside the data's range must have bars.
pub(crate) fn assemble(
    parts: Vec<Part>,
    file: &str,
    layout: Layout,
    calendar: Option<&Calendar>,
    rules: &LimitRules,
) -> Result<Panel, DataError> {
    // Symbols in first-appearance order, with the checks only the whole input can make.
    let mut global: FxMap<String, u32> = FxMap::default();
    let mut lower: FxMap<String, (u32, Place)> = FxMap::default();
    let mut names: Vec<String> = Vec::new();
    let mut local_to_global: Vec<Vec<u32>> = Vec::with_capacity(parts.len());
    let mut last: Option<(i32, String, u64)> = None;
    let mut parts = parts;
    for part in parts.iter_mut() {
        // At equal lines the boundary order check comes first, then the case check, then the
        // row's own error: the order a serial read makes them in.
        let mut found: Vec<DataError> = Vec::new();
        let row_error = part.error.take();
        if layout.order == Order::Strict {
            if let (Some((pd, ps, pl)), Some((d, s, l))) = (&last, &part.first_key) {
                if (d, s.as_bytes()) <= (pd, ps.as_bytes()) {
                    let at = part.at(*l).place();
                    found.push(if d == pd && s == ps {
                        DataError::Duplicate {
                            at,
                            date: from_day_number(*d),
                            symbol: s.clone(),
                            first: part.at(*pl).place().to_string(),
                        }
                    } else {
                        DataError::Unsorted {
                            at,
                            date: from_day_number(*d),
                            symbol: s.clone(),
                            prev_date: from_day_number(*pd),
                            prev_symbol: ps.clone(),
                            prev_line: *pl,
                        }
                    });
                }
            }
        }
        let mut map = Vec::with_capacity(part.names.len());
        for (name, &line) in part.names.iter().zip(&part.first_line) {
            let id = match global.get(name) {
                Some(&id) => id,
                None => {
                    let id = names.len() as u32;
                    let place = part.at(line).place();
                    match lower.get(&name.to_lowercase()) {
                        Some((other, other_at)) => found.push(DataError::CaseVariant {
                            at: place,
                            symbol: name.clone(),
                            other: names[*other as usize].clone(),
                            other_line: other_at.to_string(),
                        }),
                        None => {
                            lower.insert(name.to_lowercase(), (id, place));
                        }
                    }
                    global.insert(name.clone(), id);
                    names.push(name.clone());
                    id
                }
            };
            map.push(id);
        }
        found.extend(row_error);
        if let Some(e) = found.into_iter().min_by_key(|e| e.line().unwrap_or(u64::MAX)) {
            return Err(e);
        }
        if let Some((d, s, l)) = part.last_key() {
            last = Some((d, s.to_string(), l));
        }
        local_to_global.push(map);
    }
    drop(lower);
    drop(global);
    let (min_date, max_date) =
        parts.iter().fold((i32::MAX, i32::MIN), |(lo, hi), p| (lo.min(p.min_date), hi.max(p.max_date)));
    if names.is_empty() || min_date > max_date {
        return Err(DataError::Empty { file: file.to_string() });
    }

    // Dates: a dense table from day number to panel day.
    let span = (max_date - min_date) as usize + 1;
    let mut day_of = vec![u32::MAX; span];
    for part in &parts {
        for &d in part.date.iter() {
            day_of[(d - min_date) as usize] = 0;
        }
    }
    let mut dates = Vec::new();
    for (k, slot) in day_of.iter_mut().enumerate() {
        if *slot == 0 {
            *slot = dates.len() as u32;
            dates.push(from_day_number(min_date + k as i32));
        }
    }
    if let Some(cal) = calendar {
        check_calendar(cal, &dates, &parts, layout)?;
    }

    let (n_dates, n_sym) = (dates.len(), names.len());
    let n_cells = n_dates.checked_mul(n_sym).filter(|&n| n <= u32::MAX as usize).ok_or(DataError::TooLarge {
        file: file.to_string(),
        dates: n_dates,
        symbols: n_sym,
    })?;
    let mut order: Vec<u32> = (0..n_sym as u32).collect();
    order.sort_unstable_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
    let mut rank = vec![0u32; n_sym];
    for (r, &id) in order.iter().enumerate() {
        rank[id as usize] = r as u32;
    }
    let symbols: Vec<String> = order.iter().map(|&id| std::mem::take(&mut names[id as usize])).collect();

    // Each row's cell, reusing the symbol buffers in place.
    let mut cells: Vec<Chunked<u32>> = Vec::with_capacity(parts.len());
    for (part, map) in parts.iter_mut().zip(&local_to_global) {
        let mut sym = std::mem::replace(&mut part.sym, Chunked::new());
        for (sc, dc) in sym.chunks.iter_mut().zip(&part.date.chunks) {
            for (s, &d) in sc.iter_mut().zip(dc) {
                *s = day_of[(d - min_date) as usize] * n_sym as u32 + rank[map[*s as usize] as usize];
            }
        }
        part.date = Chunked::new();
        cells.push(sym);
    }
    drop(day_of);

    let mut p =
        Panel { boards: symbols.iter().map(|s| Board::from_symbol(s)).collect(), dates, symbols, ..Panel::default() };
    // Flags first: in input sorted here, a cell written twice is a duplicate.
    let flags: Vec<Chunked<u8>> = parts.iter_mut().map(|x| std::mem::replace(&mut x.flags, Chunked::new())).collect();
    p.flags = crate::memory::filled(n_cells, 0);
    if !scatter_once(&mut p.flags, &cells, flags) && layout.order == Order::Sort {
        check_duplicates(&p, &cells, &parts)?;
    }
    let take = |parts: &mut Vec<Part>, f: fn(&mut Part) -> &mut Chunked<Price32>| -> Vec<Chunked<Price32>> {
        parts.iter_mut().map(|x| std::mem::replace(f(x), Chunked::new())).collect()
    };
    let takef = |parts: &mut Vec<Part>, f: fn(&mut Part) -> &mut Chunked<f64>| -> Vec<Chunked<f64>> {
        parts.iter_mut().map(|x| std::mem::replace(f(x), Chunked::new())).collect()
    };
    let prices = [
        take(&mut parts, |x| &mut x.open),
        take(&mut parts, |x| &mut x.high),
        take(&mut parts, |x| &mut x.low),
        take(&mut parts, |x| &mut x.close),
    ];
    let (volume, amount) = (takef(&mut parts, |x| &mut x.volume), takef(&mut parts, |x| &mut x.amount));
    let limits =
        layout.limits.then(|| (take(&mut parts, |x| &mut x.limit_up), take(&mut parts, |x| &mut x.limit_down)));
    let adj = layout.adj.then(|| takef(&mut parts, |x| &mut x.adj));
    drop(parts);
    // The columns in two halves at once: fresh memory is touched (and zeroed by the kernel)
    // on both cores.
    let cells = &cells;
    let ([open, high, low, close], rest) = std::thread::scope(|s| {
        let priced = s.spawn(move || {
            prices.map(|src| {
                let mut dst = crate::memory::filled(n_cells, Price32::ZERO);
                scatter(&mut dst, cells, src);
                dst
            })
        });
        let column = |src: Vec<Chunked<f64>>, fill: f64| {
            let mut dst = crate::memory::filled(n_cells, fill);
            scatter(&mut dst, cells, src);
            dst
        };
        let (volume, amount) = (column(volume, 0.0), column(amount, f64::NAN));
        let (mut up, mut down) =
            (crate::memory::filled(n_cells, Price32::ZERO), crate::memory::filled(n_cells, Price32::ZERO));
        if let Some((u, d)) = limits {
            scatter(&mut up, cells, u);
            scatter(&mut down, cells, d);
        }
        let adj = adj.map(|src| {
            let mut f = column(src, f64::NAN);
            carry_factors(&mut f, n_sym);
            f
        });
        // A panic in the other half is a bug, not bad data: pass it on.
        let prices = priced.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        (prices, (volume, amount, up, down, adj))
    });
    (p.open, p.high, p.low, p.close) = (open, high, low, close);
    (p.volume, p.amount, p.limit_up, p.limit_down) = (rest.0, rest.1, rest.2, rest.3);
    p.adj_factor = rest.4.unwrap_or_default();
    p.derive_limits(rules);
    Ok(p)
}

/// Empty factors take the symbol's previous one (1 before its first).
pub(crate) fn carry_factors(adj: &mut [f64], n_sym: usize) {
    let mut last = vec![1.0f64; n_sym];
    for row in adj.chunks_mut(n_sym) {
        for (f, l) in row.iter_mut().zip(last.iter_mut()) {
            if f.is_nan() {
                *f = *l;
            } else {
                *l = *f;
            }
        }
    }
}

/// Sorted input: two rows for one cell are an error naming both lines.
fn check_duplicates(p: &Panel, cells: &[Chunked<u32>], parts: &[Part]) -> Result<(), DataError> {
    let mut seen = vec![false; p.n_dates() * p.n_symbols()];
    for (cp, part) in cells.iter().zip(parts) {
        for (&cell, &line) in cp.iter().zip(part.line.iter()) {
            let slot = &mut seen[cell as usize];
            if *slot {
                let first = cells
                    .iter()
                    .zip(parts)
                    .find_map(|(c, q)| c.iter().zip(q.line.iter()).find(|(c, _)| **c == cell).map(|(_, l)| (q, *l)))
                    .map_or_else(String::new, |(q, l)| q.at(l).place().to_string());
                let n = p.n_symbols();
                return Err(DataError::Duplicate {
                    at: part.at(line).place(),
                    date: p.dates[cell as usize / n],
                    symbol: p.symbols[cell as usize % n].clone(),
                    first,
                });
            }
            *slot = true;
        }
    }
    Ok(())
}

/// Every date of the data must be a trading day of the calendar, and every trading day inside
/// the data's range must have bars (a whole day missing is a gap in the download, not a
/// holiday: holidays are not in the calendar).
fn check_calendar(
    cal: &Calendar,
    dates: &[chrono::NaiveDate],
    parts: &[Part],
    layout: Layout,
) -> Result<(), DataError> {
    for &d in dates {
        if !cal.contains(d) {
            let n = day_number(d);
            let line = match layout.order {
                Order::Strict => parts.iter().find_map(|p| p.dates.iter().find(|(x, _)| *x == n).map(|(_, l)| (p, *l))),
                Order::Sort => parts
                    .iter()
                    .find_map(|p| p.date.iter().zip(p.line.iter()).find(|(x, _)| **x == n).map(|(_, l)| (p, *l))),
            };
            let at = line.map_or_else(|| Place::line(&cal.file, 0), |(p, l)| p.at(l).place());
            return Err(DataError::Calendar {
                at,
                message: format!(
                    "{d} has bars but is not a trading day of the calendar {}; drop the rows of that day or \
                     fix the calendar",
                    cal.file
                ),
            });
        }
    }
    if let (Some(&first), Some(&last)) = (dates.first(), dates.last()) {
        if let Some((d, line)) = cal.days_between(first, last).find(|(d, _)| dates.binary_search(d).is_err()) {
            return Err(DataError::Calendar {
                at: Place::line(&cal.file, line),
                message: format!(
                    "trading day {d} has no bar at all in the data ({first} to {last}); a whole market day \
                     is missing from the download (one symbol's missing day is a suspension, a whole day is not)"
                ),
            });
        }
    }
    Ok(())
}

/// [`scatter`] for the flags, telling whether every cell was written at most once.
fn scatter_once(dst: &mut [u8], cells: &[Chunked<u32>], src: Vec<Chunked<u8>>) -> bool {
    let mut once = true;
    for (cp, sp) in cells.iter().zip(src) {
        for (cc, sc) in cp.chunks.iter().zip(sp.chunks) {
            for (&cell, v) in cc.iter().zip(sc) {
                let slot = &mut dst[cell as usize];
                once &= *slot == 0;
                *slot = v;
            }
        }
    }
    once
}

/// Move every row's value into its panel cell, freeing the row buffers part by part.
fn scatter<T: Copy>(dst: &mut [T], cells: &[Chunked<u32>], src: Vec<Chunked<T>>) {
    for (cp, sp) in cells.iter().zip(src) {
        for (cc, sc) in cp.chunks.iter().zip(sp.chunks) {
            for (&cell, v) in cc.iter().zip(sc) {
                dst[cell as usize] = v;
            }
        }
    }
}
