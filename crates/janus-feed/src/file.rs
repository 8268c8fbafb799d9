//! A Janus bars CSV that grows while it is read: the feed tails it, the publisher appends.
//!
//! The file is a Janus CSV (header line, rows sorted by date then symbol) with two kinds of
//! marker lines: `#closed,YYYY-MM-DD` (that day is complete) and `#end` (no more days). A day
//! is closed by its marker or by a row of a later date; `#end` closes the open day and ends
//! the feed. Other lines starting with `#` are comments. The reader remembers the byte offset
//! of the first line it has not consumed and reads only complete lines, so a line being
//! written (no newline yet) waits for the next poll; errors name the file and its line.

use crate::publish::Sink;
use crate::{source_error, ClosedDay, Event, FeedError, Source};
use chrono::NaiveDate;
use janus_data::{DataError, Place};
use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The rows of the day not yet closed.
struct Open {
    date: NaiveDate,
    first_line: u64,
    text: Vec<u8>,
}

/// Tails a growing bars file (see the module doc).
pub struct FileSource {
    path: PathBuf,
    shown: String,
    /// Bytes consumed: every line before it has been read whole.
    offset: u64,
    /// Lines consumed.
    line: u64,
    /// The header line and its `date` column.
    header: Option<(Vec<u8>, usize)>,
    open: Option<Open>,
    last_closed: Option<NaiveDate>,
    ready: VecDeque<Event>,
}

impl FileSource {
    /// A reader of `path` from its start; the file may not exist yet (the publisher creates it).
    pub fn new(path: &Path) -> FileSource {
        FileSource {
            path: path.to_path_buf(),
            shown: path.display().to_string(),
            offset: 0,
            line: 0,
            header: None,
            open: None,
            last_closed: None,
            ready: VecDeque::new(),
        }
    }

    /// Read what was appended since the last call; false when nothing new was complete.
    fn read_new(&mut self) -> Result<bool, FeedError> {
        let mut f = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(source_error(&self.shown, format!("cannot open the bars file: {e}"))),
        };
        let io = |e: std::io::Error| source_error(&self.shown, format!("cannot read the bars file: {e}"));
        let len = f.metadata().map_err(io)?.len();
        if len < self.offset {
            return Err(source_error(
                &self.shown,
                format!(
                    "the file shrank to {len} bytes after {} were read; a live bars file only grows: append to it, \
                     never rewrite it",
                    self.offset
                ),
            ));
        }
        if len == self.offset {
            return Ok(false);
        }
        f.seek(SeekFrom::Start(self.offset)).map_err(io)?;
        let mut buf = Vec::with_capacity((len - self.offset) as usize);
        f.take(len - self.offset).read_to_end(&mut buf).map_err(io)?;
        // Only whole lines: the last one may still be being written.
        let Some(end) = buf.iter().rposition(|&b| b == b'\n') else { return Ok(false) };
        for raw in buf[..end].split(|&b| b == b'\n') {
            self.line += 1;
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            self.take_line(line)?;
            self.offset += raw.len() as u64 + 1;
        }
        Ok(true)
    }

    fn take_line(&mut self, line: &[u8]) -> Result<(), FeedError> {
        let Some((_, date_col)) = &self.header else {
            let date_col = header_date_column(line).ok_or_else(|| {
                source_error(
                    format!("{}: line {}", self.shown, self.line),
                    "the first line must be a Janus CSV header (date,symbol,open,high,low,close,volume,...)",
                )
            })?;
            self.header = Some((line.to_vec(), date_col));
            return Ok(());
        };
        let date_col = *date_col;
        let at = format!("{}: line {}", self.shown, self.line);
        if let Some(marker) = line.strip_prefix(b"#") {
            let marker = String::from_utf8_lossy(marker);
            let marker = marker.trim();
            if marker == "end" {
                self.close();
                self.ready.push_back(Event::End);
            } else if let Some(date) = marker.strip_prefix("closed,") {
                let date = parse_date(date.trim().as_bytes()).ok_or_else(|| {
                    source_error(&at, format!("`#closed,{date}`: not a date; write `#closed,YYYY-MM-DD`"))
                })?;
                self.marker(date, &at)?;
            } else {
                // A comment: an empty line keeps the day's line numbers right.
                self.blank();
            }
            return Ok(());
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            self.blank();
            return Ok(());
        }
        let raw_date = csv_field(line, date_col);
        let Some(date) = parse_date(raw_date.as_bytes()) else {
            return Err(FeedError::Data(DataError::BadDate {
                at: Place::line(&self.shown, self.line),
                column: "date".into(),
                value: raw_date,
            }));
        };
        if let Some(c) = self.last_closed.filter(|c| date <= *c) {
            return Err(source_error(
                at,
                format!("a row of {date} comes after {c} closed; a closed day cannot change: append days in order"),
            ));
        }
        match &self.open {
            Some(open) if date > open.date => self.close(),
            Some(open) if date < open.date => {
                return Err(source_error(
                    at,
                    format!("a row of {date} comes among the rows of {}; sort the rows by date", open.date),
                ))
            }
            _ => {}
        }
        let open = self.open.get_or_insert_with(|| Open { date, first_line: self.line, text: Vec::new() });
        open.text.extend_from_slice(line);
        open.text.push(b'\n');
        Ok(())
    }

    fn blank(&mut self) {
        if let Some(open) = &mut self.open {
            open.text.push(b'\n');
        }
    }

    fn marker(&mut self, date: NaiveDate, at: &str) -> Result<(), FeedError> {
        match &self.open {
            Some(open) if open.date == date => {
                self.close();
                Ok(())
            }
            _ if self.last_closed.is_some_and(|c| date <= c) => Ok(()),
            Some(open) => Err(source_error(
                at,
                format!("`#closed,{date}` while the open day is {}; close days in order", open.date),
            )),
            None => Err(source_error(at, format!("`#closed,{date}`, but the file has no row of {date}"))),
        }
    }

    fn close(&mut self) {
        let (Some(open), Some((header, _))) = (self.open.take(), &self.header) else { return };
        let mut text = Vec::with_capacity(header.len() + 1 + open.text.len());
        text.extend_from_slice(header);
        text.push(b'\n');
        text.extend_from_slice(&open.text);
        self.last_closed = Some(open.date);
        self.ready.push_back(Event::Day(ClosedDay {
            date: open.date,
            text,
            source: self.shown.clone(),
            first_line: open.first_line,
            ids: Vec::new(),
        }));
    }
}

impl Source for FileSource {
    fn next_event(&mut self, wait: Duration) -> Result<Option<Event>, FeedError> {
        if self.ready.is_empty() && !self.read_new()? {
            std::thread::sleep(wait);
        }
        Ok(self.ready.pop_front())
    }

    fn position(&self) -> String {
        format!("{} byte {} (line {})", self.shown, self.offset, self.line)
    }
}

/// The index of the `date` column of a header line, if it is one.
fn header_date_column(line: &[u8]) -> Option<usize> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).from_reader(line);
    let rec = rdr.records().next()?.ok()?;
    let names: Vec<String> = rec.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase()).collect();
    names.iter().any(|n| n == "symbol").then(|| names.iter().position(|n| n == "date"))?
}

/// Field `i` of one CSV line (empty when missing).
fn csv_field(line: &[u8], i: usize) -> String {
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(line);
    rdr.records().next().and_then(Result::ok).and_then(|r| r.get(i).map(|f| f.trim().to_string())).unwrap_or_default()
}

fn parse_date(raw: &[u8]) -> Option<NaiveDate> {
    let s = std::str::from_utf8(raw).ok()?.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(s, "%Y%m%d")).ok()
}

/// Appends days to a bars file in the format [`FileSource`] reads: each day's rows and its
/// `#closed` marker in one write, so a reader sees at most one partial line.
pub struct FileSink {
    path: PathBuf,
    file: std::fs::File,
    header: Vec<String>,
    buf: Vec<u8>,
}

impl FileSink {
    /// Append to `path` (created with `header` when new or empty; an existing file's header
    /// must be `header`).
    pub fn open(path: &Path, header: &[String]) -> Result<FileSink, FeedError> {
        let shown = path.display().to_string();
        let io = |e: std::io::Error| source_error(&shown, format!("cannot write the bars file: {e}"));
        let mut file = std::fs::OpenOptions::new().create(true).read(true).append(true).open(path).map_err(io)?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(io)?;
        let line = csv_line(header);
        match text.lines().next() {
            None => file.write_all(&line).map_err(io)?,
            Some(first) if first.as_bytes() == line.trim_ascii_end() => {}
            Some(first) => {
                return Err(source_error(
                    &shown,
                    format!(
                        "the file's header `{first}` is not the data's `{}`; publish into a new file",
                        String::from_utf8_lossy(line.trim_ascii_end())
                    ),
                ))
            }
        }
        Ok(FileSink { path: path.to_path_buf(), file, header: header.to_vec(), buf: Vec::new() })
    }

    fn write(&mut self) -> Result<(), FeedError> {
        let shown = self.path.display().to_string();
        self.file
            .write_all(&self.buf)
            .and_then(|_| self.file.flush())
            .map_err(|e| source_error(shown, format!("cannot write the bars file: {e}")))?;
        self.buf.clear();
        Ok(())
    }
}

/// One CSV line (quoted where needed) ending in a newline.
fn csv_line<S: AsRef<str>>(fields: &[S]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(&mut out);
        // Writing to memory cannot fail.
        let _ = w.write_record(fields.iter().map(AsRef::as_ref));
        let _ = w.flush();
    }
    out
}

impl Sink for FileSink {
    fn bar(&mut self, fields: &[(String, String)]) -> Result<(), FeedError> {
        if let Some((k, _)) = fields.iter().find(|(k, _)| k != "type" && !self.header.contains(k)) {
            return Err(source_error(
                self.path.display().to_string(),
                format!("a bar has field `{k}`, which is not a column of the file"),
            ));
        }
        let row: Vec<&str> =
            self.header.iter().map(|h| fields.iter().find(|(k, _)| k == h).map_or("", |(_, v)| v.as_str())).collect();
        self.buf.extend_from_slice(&csv_line(&row));
        Ok(())
    }

    fn close(&mut self, date: NaiveDate) -> Result<(), FeedError> {
        self.buf.extend_from_slice(format!("#closed,{}\n", date.format("%Y-%m-%d")).as_bytes());
        self.write()
    }

    fn end(&mut self) -> Result<(), FeedError> {
        self.buf.extend_from_slice(b"#end\n");
        self.write()
    }

    fn name(&self) -> String {
        format!("file:{}", self.path.display())
    }
}
