//! Columnar tables in and out: the training datasets are written as Parquet (the default) or
//! CSV, and score files are read from either.
//!
//! Parquet goes through the `parquet` crate's low-level column writer and record reader, with
//! no Arrow and only the snappy codec: the datasets are flat columns of numbers, dates and
//! symbols, and that keeps the dependency small. Files are written with snappy compression
//! and read by pandas, polars and pyarrow as they are. Dates are Parquet `DATE` columns,
//! symbols UTF-8 strings, features and labels doubles with NaN for "unknown".

use crate::ModelError;
use chrono::NaiveDate;
use parquet::basic::{Compression, LogicalType, TimeUnit};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use std::path::Path;
use std::sync::Arc;

/// One column of a [`Table`].
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    Date(Vec<NaiveDate>),
    Str(Vec<String>),
    F64(Vec<f64>),
    I64(Vec<i64>),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Date(v) => v.len(),
            Column::Str(v) => v.len(),
            Column::F64(v) => v.len(),
            Column::I64(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn parquet_type(&self) -> &'static str {
        match self {
            Column::Date(_) => "int32",
            Column::Str(_) => "binary",
            Column::F64(_) => "double",
            Column::I64(_) => "int64",
        }
    }
    fn annotation(&self) -> &'static str {
        match self {
            Column::Date(_) => " (DATE)",
            Column::Str(_) => " (UTF8)",
            _ => "",
        }
    }
    fn cell(&self, row: usize) -> String {
        match self {
            Column::Date(v) => v[row].to_string(),
            Column::Str(v) => v[row].clone(),
            Column::F64(v) => {
                let x = v[row];
                if x.is_finite() {
                    format!("{x}")
                } else {
                    String::new()
                }
            }
            Column::I64(v) => v[row].to_string(),
        }
    }
}

/// Named columns of equal length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub names: Vec<String>,
    pub columns: Vec<Column>,
}

/// File format of a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Csv,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }
}

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("the epoch is a date"),
};

impl Table {
    pub fn push(&mut self, name: &str, column: Column) {
        self.names.push(name.to_string());
        self.columns.push(column);
    }

    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.names.iter().position(|n| n == name).map(|i| &self.columns[i])
    }

    /// Write the table to `path` in `format`, replacing the file.
    pub fn write(&self, path: &Path, format: Format) -> Result<(), ModelError> {
        let n = self.n_rows();
        assert!(self.columns.iter().all(|c| c.len() == n), "columns of one table have one length");
        let fail = |message: String| ModelError::Write { path: path.to_path_buf(), message };
        match format {
            Format::Csv => {
                let mut w = csv::Writer::from_path(path).map_err(|e| fail(e.to_string()))?;
                w.write_record(&self.names).map_err(|e| fail(e.to_string()))?;
                let mut row = Vec::with_capacity(self.columns.len());
                for r in 0..n {
                    row.clear();
                    row.extend(self.columns.iter().map(|c| c.cell(r)));
                    w.write_record(&row).map_err(|e| fail(e.to_string()))?;
                }
                w.flush().map_err(|e| fail(e.to_string()))
            }
            Format::Parquet => self.write_parquet(path).map_err(|e| fail(e.to_string())),
        }
    }

    fn write_parquet(&self, path: &Path) -> Result<(), parquet::errors::ParquetError> {
        let mut message = String::from("message janus {\n");
        for (name, c) in self.names.iter().zip(&self.columns) {
            message.push_str(&format!("  required {} {}{};\n", c.parquet_type(), name, c.annotation()));
        }
        message.push('}');
        let schema = Arc::new(parquet::schema::parser::parse_message_type(&message)?);
        let props = Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
        let file = std::fs::File::create(path)?;
        let mut w = SerializedFileWriter::new(std::io::BufWriter::new(file), schema, props)?;
        const GROUP: usize = 1 << 20;
        let n = self.n_rows();
        let mut start = 0;
        while start < n || (n == 0 && start == 0) {
            let end = (start + GROUP).min(n);
            let mut rg = w.next_row_group()?;
            let mut i = 0;
            while let Some(mut col) = rg.next_column()? {
                match &self.columns[i] {
                    Column::F64(v) => {
                        col.typed::<DoubleType>().write_batch(&v[start..end], None, None)?;
                    }
                    Column::I64(v) => {
                        col.typed::<Int64Type>().write_batch(&v[start..end], None, None)?;
                    }
                    Column::Date(v) => {
                        let days: Vec<i32> = v[start..end].iter().map(|d| (*d - EPOCH).num_days() as i32).collect();
                        col.typed::<Int32Type>().write_batch(&days, None, None)?;
                    }
                    Column::Str(v) => {
                        let bytes: Vec<ByteArray> = v[start..end].iter().map(|s| ByteArray::from(s.as_str())).collect();
                        col.typed::<ByteArrayType>().write_batch(&bytes, None, None)?;
                    }
                }
                col.close()?;
                i += 1;
            }
            rg.close()?;
            if n == 0 {
                break;
            }
            start = end;
        }
        w.close()?;
        Ok(())
    }
}

/// A cell of a table being read, with the 1-based line (CSV) or row (Parquet) it came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Missing,
}

/// Read the `wanted` columns (each given as a list of accepted names) of a CSV or Parquet
/// file (by extension: `.parquet`/`.pq` is Parquet, anything else CSV), calling `row(line,
/// cells)` for each row. Column names match case-insensitively.
pub fn read_columns(
    path: &Path,
    wanted: &[&[&str]],
    mut row: impl FnMut(u64, &[Cell]) -> Result<(), ModelError>,
) -> Result<(), ModelError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let find = |names: &[String]| -> Result<Vec<usize>, ModelError> {
        wanted
            .iter()
            .map(|aliases| {
                names.iter().position(|n| aliases.iter().any(|a| n.trim().eq_ignore_ascii_case(a))).ok_or_else(|| {
                    ModelError::format(
                        path,
                        format!(
                            "no column `{}` (accepted names: {}); the columns are: {}",
                            aliases[0],
                            aliases.join(", "),
                            names.join(", ")
                        ),
                    )
                })
            })
            .collect()
    };
    let mut cells = vec![Cell::Missing; wanted.len()];
    if ext == "parquet" || ext == "pq" {
        let fail = |e: parquet::errors::ParquetError| {
            ModelError::format(path, format!("cannot read Parquet: {e} (write it uncompressed or with snappy)"))
        };
        let file = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
        let reader = SerializedFileReader::new(file).map_err(fail)?;
        let schema = reader.metadata().file_metadata().schema_descr_ptr();
        let names: Vec<String> = (0..schema.num_columns()).map(|i| schema.column(i).name().to_string()).collect();
        let idx = find(&names)?;
        let nanos: Vec<bool> = (0..schema.num_columns())
            .map(|i| {
                matches!(schema.column(i).logical_type(), Some(LogicalType::Timestamp { unit: TimeUnit::NANOS(_), .. }))
            })
            .collect();
        for (r, rec) in reader.get_row_iter(None).map_err(fail)?.enumerate() {
            let rec = rec.map_err(fail)?;
            let fields: Vec<&Field> = rec.get_column_iter().map(|(_, f)| f).collect();
            for (k, &i) in idx.iter().enumerate() {
                cells[k] = match fields.get(i) {
                    None | Some(Field::Null) => Cell::Missing,
                    Some(Field::Str(s)) => Cell::Text(s.clone()),
                    Some(Field::Date(d)) => Cell::Date(EPOCH + chrono::Duration::days(*d as i64)),
                    Some(Field::TimestampMillis(ms)) => {
                        Cell::Date(EPOCH + chrono::Duration::days(ms.div_euclid(86_400_000)))
                    }
                    Some(Field::TimestampMicros(us)) => {
                        Cell::Date(EPOCH + chrono::Duration::days(us.div_euclid(86_400_000_000)))
                    }
                    Some(Field::Long(ns)) if nanos[i] => {
                        Cell::Date(EPOCH + chrono::Duration::days(ns.div_euclid(86_400_000_000_000)))
                    }
                    Some(Field::Double(x)) => Cell::Number(*x),
                    Some(Field::Float(x)) => Cell::Number(*x as f64),
                    Some(Field::Int(x)) => Cell::Number(*x as f64),
                    Some(Field::Long(x)) => Cell::Number(*x as f64),
                    Some(other) => {
                        return Err(ModelError::Line {
                            path: path.to_path_buf(),
                            line: r as u64 + 1,
                            message: format!(
                                "column `{}` holds {other}, which is not a date, text or number",
                                names[i]
                            ),
                        })
                    }
                };
            }
            row(r as u64 + 1, &cells)?;
        }
        Ok(())
    } else {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_path(path)
            .map_err(|e| ModelError::format(path, e.to_string()))?;
        let names: Vec<String> =
            rdr.headers().map_err(|e| ModelError::format(path, e.to_string()))?.iter().map(str::to_string).collect();
        let idx = find(&names)?;
        let mut rec = csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    return Err(ModelError::Line { path: path.to_path_buf(), line, message: e.to_string() });
                }
            }
            let line = rec.position().map_or(0, |p| p.line());
            for (k, &i) in idx.iter().enumerate() {
                cells[k] = match rec.get(i).map(str::trim) {
                    None | Some("") => Cell::Missing,
                    Some(s) => Cell::Text(s.to_string()),
                };
            }
            row(line, &cells)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let mut t = Table::default();
        t.push("date", Column::Date(vec![d("2024-01-02"), d("2024-01-03")]));
        t.push("symbol", Column::Str(vec!["600000.SH".into(), "000001.SZ".into()]));
        t.push("score", Column::F64(vec![0.5, f64::NAN]));
        t.push("n", Column::I64(vec![3, -1]));
        t
    }

    #[test]
    fn a_table_round_trips_through_parquet_and_csv() {
        let dir = tempfile::tempdir().unwrap();
        for format in [Format::Parquet, Format::Csv] {
            let path = dir.path().join(format!("t.{}", format.extension()));
            sample().write(&path, format).unwrap();
            let mut rows = Vec::new();
            read_columns(&path, &[&["date"], &["symbol"], &["score"]], |line, cells| {
                rows.push((line, cells.to_vec()));
                Ok(())
            })
            .unwrap();
            assert_eq!(rows.len(), 2, "{format:?}");
            match format {
                Format::Parquet => {
                    assert_eq!(rows[0].1[0], Cell::Date("2024-01-02".parse().unwrap()));
                    assert_eq!(rows[0].1[2], Cell::Number(0.5));
                    assert!(matches!(rows[1].1[2], Cell::Number(x) if x.is_nan()));
                }
                Format::Csv => {
                    assert_eq!(rows[0].0, 2, "line numbers count the header");
                    assert_eq!(rows[0].1[0], Cell::Text("2024-01-02".into()));
                    assert_eq!(rows[1].1[2], Cell::Missing, "NaN is an empty cell");
                }
            }
            assert_eq!(rows[1].1[1], Cell::Text("000001.SZ".into()));
        }
    }

    #[test]
    fn a_missing_column_lists_the_columns_there_are() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.csv");
        std::fs::write(&path, "day,code,value\n").unwrap();
        let e = read_columns(&path, &[&["date", "datetime"]], |_, _| Ok(())).unwrap_err().to_string();
        assert!(e.contains("no column `date`") && e.contains("day, code, value"), "{e}");
    }
}
