//! Any panel saved as Parquet with the Janus columns, for `janus gen-data --out x.parquet`, the
//! benchmark, and users who want their data in a columnar file that pandas, polars and
//! pyarrow read as it is.

use crate::error::DataError;
use crate::panel::{flag, Panel};
use crate::rows::day_number;
use janus_core::Price;
use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use std::path::Path;
use std::sync::Arc;

use crate::parquet_bars::EPOCH_DAY;

/// Write a panel as Parquet with the Janus columns, sorted by date then symbol, snappy
/// compressed: `date` (DATE), `symbol` (string), prices, volume and amount (double, amount
/// null when unknown), `paused` and `is_st` (boolean), `limit_up`/`limit_down` when some bar
/// has explicit limits, `adj_factor` when the panel has one.
pub fn write_parquet(panel: &Panel, path: &Path) -> Result<(), DataError> {
    write_parquet_groups(panel, path, 1 << 20)
}

/// [`write_parquet`] with `rows_per_group` rows per row group (the unit read in parallel).
pub fn write_parquet_groups(panel: &Panel, path: &Path, rows_per_group: usize) -> Result<(), DataError> {
    let file = path.display().to_string();
    let fail = |e: parquet::errors::ParquetError| DataError::Format {
        file: file.clone(),
        message: format!("cannot write Parquet: {e}"),
    };
    let explicit = panel.flags.iter().any(|f| f & flag::EXPLICIT_LIMITS != 0);
    let adj = !panel.adj_factor.is_empty();
    let mut message = String::from(
        "message janus {\n required int32 date (DATE);\n required binary symbol (UTF8);\n required double open;\n \
         required double high;\n required double low;\n required double close;\n required double volume;\n \
         optional double amount;\n required boolean paused;\n required boolean is_st;\n",
    );
    if explicit {
        message.push_str(" optional double limit_up;\n optional double limit_down;\n");
    }
    if adj {
        message.push_str(" required double adj_factor;\n");
    }
    message.push('}');
    let schema = Arc::new(parquet::schema::parser::parse_message_type(&message).map_err(fail)?);
    // No min/max statistics: computing them per value is most of the writing time, and the
    // loader reads whole files.
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
            .build(),
    );
    let out = std::fs::File::create(path).map_err(|source| DataError::Open { file: file.clone(), source })?;
    let mut w =
        SerializedFileWriter::new(std::io::BufWriter::with_capacity(1 << 20, out), schema, props).map_err(fail)?;
    let n = panel.n_symbols();
    let present: Vec<usize> = (0..panel.flags.len()).filter(|&i| panel.flags[i] & flag::PRESENT != 0).collect();
    for rows in present.chunks(rows_per_group.max(1)) {
        let mut rg = w.next_row_group().map_err(fail)?;
        let mut k = 0;
        while let Some(mut col) = rg.next_column().map_err(fail)? {
            let prices =
                |f: fn(&Panel, usize) -> Price| -> Vec<f64> { rows.iter().map(|&i| f(panel, i).as_f64()).collect() };
            let r = match k {
                0 => {
                    let days: Vec<i32> = rows.iter().map(|&i| day_number(panel.dates[i / n]) - EPOCH_DAY).collect();
                    col.typed::<Int32Type>().write_batch(&days, None, None)
                }
                1 => {
                    let syms: Vec<ByteArray> =
                        rows.iter().map(|&i| ByteArray::from(panel.symbols[i % n].as_str())).collect();
                    col.typed::<ByteArrayType>().write_batch(&syms, None, None)
                }
                2..=5 => {
                    let f: fn(&Panel, usize) -> Price = match k {
                        2 => |p, i| p.open[i].get(),
                        3 => |p, i| p.high[i].get(),
                        4 => |p, i| p.low[i].get(),
                        _ => |p, i| p.close[i].get(),
                    };
                    col.typed::<DoubleType>().write_batch(&prices(f), None, None)
                }
                6 => {
                    let v: Vec<f64> = rows.iter().map(|&i| panel.volume[i]).collect();
                    col.typed::<DoubleType>().write_batch(&v, None, None)
                }
                7 => {
                    let defs: Vec<i16> = rows.iter().map(|&i| (!panel.amount[i].is_nan()) as i16).collect();
                    let v: Vec<f64> = rows.iter().map(|&i| panel.amount[i]).filter(|a| !a.is_nan()).collect();
                    col.typed::<DoubleType>().write_batch(&v, Some(&defs), None)
                }
                8 | 9 => {
                    let bit = if k == 8 { flag::PAUSED } else { flag::ST };
                    let v: Vec<bool> = rows.iter().map(|&i| panel.flags[i] & bit != 0).collect();
                    col.typed::<BoolType>().write_batch(&v, None, None)
                }
                10 | 11 if explicit => {
                    let has = |i: usize| panel.flags[i] & flag::EXPLICIT_LIMITS != 0;
                    let defs: Vec<i16> = rows.iter().map(|&i| has(i) as i16).collect();
                    let v: Vec<f64> = rows
                        .iter()
                        .filter(|&&i| has(i))
                        .map(|&i| if k == 10 { panel.limit_up[i] } else { panel.limit_down[i] }.get().as_f64())
                        .collect();
                    col.typed::<DoubleType>().write_batch(&v, Some(&defs), None)
                }
                _ => {
                    let v: Vec<f64> = rows.iter().map(|&i| panel.adj_factor[i]).collect();
                    col.typed::<DoubleType>().write_batch(&v, None, None)
                }
            };
            r.map_err(fail)?;
            col.close().map_err(fail)?;
            k += 1;
        }
        rg.close().map_err(fail)?;
    }
    w.close().map_err(fail)?;
    Ok(())
}
