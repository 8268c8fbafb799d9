//! The CSV loader cuts its input into blocks parsed in parallel: the panel and the error it
//! reports must not depend on where the cuts fall or how many threads there are, nor on
//! whether a file was read straight into the panel.

mod common;

use janus_core::LimitRules;
use janus_data::{generate, load_csv_with, read_csv, write_csv, CsvOptions, DataError, GenConfig, Panel};
use proptest::prelude::*;

fn load(text: &[u8], block_bytes: usize, threads: usize) -> Result<Panel, DataError> {
    let opts = CsvOptions { block_bytes, threads, ..CsvOptions::default() };
    read_csv(text, "p.csv", &opts, &LimitRules::default())
}

fn market() -> Vec<u8> {
    let p = generate(&GenConfig { n_symbols: 23, n_days: 40, seed: 3, ..GenConfig::default() }, &LimitRules::default());
    let mut out = Vec::new();
    write_csv(&p, &mut out).unwrap();
    out
}

#[test]
fn tiny_blocks_on_several_threads_give_the_same_panel_as_one_block() {
    let text = market();
    let whole = load(&text, 0, 1).unwrap();
    for (block, threads) in [(64, 4), (200, 2), (4096, 3), (1, 2)] {
        let cut = load(&text, block, threads).unwrap();
        common::assert_same_panel(&whole, &cut);
    }
}

#[test]
fn quoted_fields_with_newlines_and_commas_survive_the_cuts() {
    let text = "date,symbol,open,high,low,close,volume,name\n\
                2024-01-02,600000.SH,10,11,9,10.5,100,\"Pu,fa\nBank\"\n\
                2024-01-02,600001.SH,10,11,9,10.5,100,\"say \"\"hi\"\"\"\n\
                2024-01-03,600000.SH,10,11,9,10.5,100,x\n\
                2024-01-03,600001.SH,10,11,9,10.5,100,\"\"\n";
    let whole = load(text.as_bytes(), 0, 1).unwrap();
    assert_eq!(whole.n_bars(), 4);
    for block in [1, 20, 50, 90] {
        common::assert_same_panel(&whole, &load(text.as_bytes(), block, 3).unwrap());
    }
    // Line numbers count the newline inside the quoted field.
    let bad = text.replace("2024-01-03,600000.SH,10,11,9,10.5", "2024-01-03,600000.SH,10,11,9,1o.5");
    for block in [0, 1, 30] {
        let e = load(bad.as_bytes(), block, 2).unwrap_err().to_string();
        assert!(e.contains("p.csv: line 5:") && e.contains("1o.5"), "{block}: {e}");
    }
}

/// Errors that span a cut: (what, csv, line).
#[test]
fn errors_across_block_seams_are_the_ones_a_serial_read_gives() {
    let h = "date,symbol,open,high,low,close,volume";
    let r = |d: &str, s: &str| format!("{d},{s},10,11,9,10.5,100");
    let cases = [
        (
            "unsorted dates",
            format!("{h}\n{}\n{}\n{}\n", r("2024-01-03", "A"), r("2024-01-03", "B"), r("2024-01-02", "A")),
            4,
        ),
        (
            "unsorted symbols",
            format!("{h}\n{}\n{}\n{}\n", r("2024-01-02", "A"), r("2024-01-02", "C"), r("2024-01-02", "B")),
            4,
        ),
        (
            "duplicate",
            format!("{h}\n{}\n{}\n{}\n", r("2024-01-02", "A"), r("2024-01-02", "B"), r("2024-01-02", "B")),
            4,
        ),
        (
            "a case variant before a later bad row",
            format!(
                "{h}\n{}\n{}\n{}\n2024-01-04,A,x,1,1,1,1\n",
                r("2024-01-02", "aa"),
                r("2024-01-03", "AA"),
                r("2024-01-03", "B")
            ),
            3,
        ),
        (
            "a bad row before a later case variant",
            format!("{h}\n{}\n2024-01-03,A,x,1,1,1,1\n{}\n", r("2024-01-02", "aa"), r("2024-01-04", "AA")),
            3,
        ),
    ];
    for (what, text, line) in cases {
        let serial = load(text.as_bytes(), 0, 1).unwrap_err().to_string();
        assert!(serial.contains(&format!("p.csv: line {line}:")), "{what}: {serial}");
        for block in [1, 10, 40, 60] {
            let cut = load(text.as_bytes(), block, 3).unwrap_err().to_string();
            assert_eq!(cut, serial, "{what}: block {block}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any file, valid or not, gives the same outcome whatever the blocks and threads.
    #[test]
    fn the_outcome_never_depends_on_blocks_or_threads(
        rows in proptest::collection::vec(
            ("2024010[1-4]", "(60000[0-2]|6000[0-2]\\.sh)\\.SH", "[0-9]{1,2}(\\.[0-9]{1,3})?", "[0-9]{1,2}(\\.[0-9]{1,2})?", "[0-9]{1,3}"),
            0..12),
        block in 1usize..200,
        threads in 1usize..4,
    ) {
        let mut text = String::from("date,symbol,open,high,low,close,volume\n");
        for (d, s, a, b, v) in &rows {
            text.push_str(&format!("{d},{s},{a},{b},{a},{b},{v}\n"));
        }
        let serial = load(text.as_bytes(), 0, 1).map_err(|e| e.to_string());
        let cut = load(text.as_bytes(), block, threads).map_err(|e| e.to_string());
        // A file is read twice, straight into the panel, when nothing in it needs the general
        // loader: the outcome must be the same.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        std::fs::write(&path, &text).unwrap();
        let opts = CsvOptions { block_bytes: block, threads, ..CsvOptions::default() };
        let file = load_csv_with(&path, &opts, &LimitRules::default())
            .map_err(|e| e.to_string().replace(&path.display().to_string(), "p.csv"));
        match (&serial, &file) {
            (Ok(a), Ok(b)) => common::assert_same_panel(a, b),
            (a, b) => prop_assert_eq!(a.as_ref().map(|_| ()), b.as_ref().map(|_| ())),
        }
        match (serial, cut) {
            (Ok(a), Ok(b)) => common::assert_same_panel(&a, &b),
            (a, b) => prop_assert_eq!(a.map(|_| ()), b.map(|_| ())),
        }
    }
}

#[test]
fn crlf_endings_blank_lines_and_a_missing_last_newline_read_alike_on_both_paths() {
    let plain =
        "date,symbol,open,high,low,close,volume\n2024-01-02,A,10,11,9,10.5,100\n2024-01-03,A,10,11,9,10.5,100\n";
    let want = load(plain.as_bytes(), 0, 1).unwrap();
    let variants = [
        plain.replace('\n', "\r\n"),
        plain.replace("100\n2024", "100\n\n\r\n2024"),
        plain.trim_end().to_string(),
        // A quote anywhere sends the block through the csv crate.
        plain.replace(",A,", ",\"A\","),
        plain.replace(",A,", ",\"A\",").replace('\n', "\r\n"),
    ];
    for text in variants {
        for block in [0, 7] {
            let got = load(text.as_bytes(), block, 2).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            common::assert_same_panel(&want, &got);
        }
    }
}
