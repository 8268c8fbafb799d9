//! Helpers shared by the integration tests.

use janus_data::Panel;

/// Assert two panels are identical in every field (NaN amounts compare equal to each other).
pub fn assert_same_panel(a: &Panel, b: &Panel) {
    assert_eq!(a.dates, b.dates, "dates");
    assert_eq!(a.symbols, b.symbols, "symbols");
    assert_eq!(a.boards, b.boards, "boards");
    assert_eq!(a.flags, b.flags, "flags");
    assert_eq!(a.open, b.open, "open");
    assert_eq!(a.high, b.high, "high");
    assert_eq!(a.low, b.low, "low");
    assert_eq!(a.close, b.close, "close");
    assert_eq!(a.limit_up, b.limit_up, "limit_up");
    assert_eq!(a.limit_down, b.limit_down, "limit_down");
    let bits = |v: &[f64]| v.iter().map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() }).collect::<Vec<_>>();
    assert_eq!(bits(&a.volume), bits(&b.volume), "volume");
    assert_eq!(bits(&a.amount), bits(&b.amount), "amount");
    assert_eq!(bits(&a.adj_factor), bits(&b.adj_factor), "adj_factor");
}
