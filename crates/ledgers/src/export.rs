//! The workbook writer: a sheet of one ledger written row by row in
//! rust_xlsxwriter's constant-memory mode on a blocking thread, fed pages
//! of rows through a channel of two pages, so neither the rows nor the
//! sheet are ever held whole. The finished workbook goes to an anonymous
//! temporary file, which the response then streams.

use std::io::{Seek, SeekFrom};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use jinlin_kernel::time::china;
use rust_xlsxwriter::{
    Color, DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, XlsxError,
};
use tokio::sync::mpsc;

/// One cell of a ledger.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Num(f64),
    /// A date cell, shown `2026-12-01`.
    Date(NaiveDate),
    /// A date and time cell (China Standard Time), shown `2026-12-01 09:30`.
    Time(NaiveDateTime),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        if s.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s)
        }
    }

    pub fn opt(s: Option<impl Into<String>>) -> Cell {
        s.map(Cell::text).unwrap_or(Cell::Empty)
    }

    /// A date, as an Excel date shown `2026-12-01`.
    pub fn date(d: NaiveDate) -> Cell {
        Cell::Date(d)
    }

    /// An instant as an Excel date and time in China Standard Time, shown
    /// `2026-12-01 09:30`.
    pub fn time(t: DateTime<Utc>) -> Cell {
        Cell::Time(t.with_timezone(&china()).naive_local())
    }

    /// The day of an instant, in China Standard Time.
    pub fn day(t: DateTime<Utc>) -> Cell {
        Cell::date(t.with_timezone(&china()).date_naive())
    }
}

pub type Row = Vec<Cell>;

/// What the sheet is: its name, headings and the lines of the about sheet.
pub struct Sheet {
    /// The worksheet's name (cut to Excel's 31 characters).
    pub name: String,
    /// The workbook's title property.
    pub title: String,
    pub headings: Vec<(String, f64)>,
    /// Label and value lines of the second sheet (place, ledger, time…).
    pub about_name: String,
    pub about: Vec<(String, String)>,
    /// Label of the row count line of the about sheet.
    pub rows_label: String,
}

/// The finished workbook: a temporary file at its start, its length, and
/// the number of data rows.
pub struct Finished {
    pub file: std::fs::File,
    pub bytes: u64,
    pub rows: u64,
}

/// A writer running on its own blocking thread.
pub struct Writer {
    tx: mpsc::Sender<Vec<Row>>,
    handle: tokio::task::JoinHandle<Result<Finished, XlsxError>>,
}

/// Excel's forbidden characters in sheet names, and its length limit.
fn sheet_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    if clean.trim().is_empty() {
        "Sheet1".into()
    } else {
        clean
    }
}

fn excel_date(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(
        u16::try_from(d.year()).unwrap_or(1900),
        d.month() as u8,
        d.day() as u8,
    )
}

fn excel_time(t: NaiveDateTime) -> Result<ExcelDateTime, XlsxError> {
    excel_date(t.date())?.and_hms(t.hour() as u16, t.minute() as u8, t.second())
}

fn write(sheet: Sheet, mut rx: mpsc::Receiver<Vec<Row>>) -> Result<Finished, XlsxError> {
    let mut book = Workbook::new();
    book.set_properties(&DocProperties::new().set_title(&sheet.title));
    let head = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xF2E6D9))
        .set_border(FormatBorder::Thin);
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let time = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let mut rows: u64 = 0;
    {
        let ws = book.add_worksheet_with_constant_memory()?;
        ws.set_name(sheet_name(&sheet.name))?;
        for (col, (_, width)) in sheet.headings.iter().enumerate() {
            ws.set_column_width(col as u16, *width)?;
        }
        ws.set_freeze_panes(1, 0)?;
        for (col, (text, _)) in sheet.headings.iter().enumerate() {
            ws.write_string_with_format(0, col as u16, text, &head)?;
        }
        while let Some(page) = rx.blocking_recv() {
            for row in page {
                rows += 1;
                let r = rows as u32;
                for (col, cell) in row.into_iter().enumerate() {
                    let c = col as u16;
                    match cell {
                        Cell::Empty => {}
                        Cell::Text(s) => {
                            ws.write_string(r, c, s)?;
                        }
                        Cell::Int(n) => {
                            ws.write_number(r, c, n as f64)?;
                        }
                        Cell::Num(n) => {
                            ws.write_number(r, c, n)?;
                        }
                        Cell::Date(d) => {
                            ws.write_datetime_with_format(r, c, excel_date(d)?, &date)?;
                        }
                        Cell::Time(t) => {
                            ws.write_datetime_with_format(r, c, excel_time(t)?, &time)?;
                        }
                    }
                }
            }
        }
        if !sheet.headings.is_empty() {
            ws.autofilter(0, 0, rows as u32, sheet.headings.len() as u16 - 1)?;
        }
    }
    {
        let about = book.add_worksheet_with_constant_memory()?;
        about.set_name(sheet_name(&sheet.about_name))?;
        about.set_column_width(0, 14)?;
        about.set_column_width(1, 40)?;
        let mut r = 0;
        for (label, value) in &sheet.about {
            about.write_string_with_format(r, 0, label, &head)?;
            about.write_string(r, 1, value)?;
            r += 1;
        }
        about.write_string_with_format(r, 0, &sheet.rows_label, &head)?;
        about.write_number(r, 1, rows as f64)?;
    }
    let mut file = tempfile::tempfile()?;
    book.save_to_writer(&mut file)?;
    let bytes = file.seek(SeekFrom::End(0))?;
    file.seek(SeekFrom::Start(0))?;
    Ok(Finished { file, bytes, rows })
}

impl Writer {
    /// Starts the writer of a sheet.
    pub fn start(sheet: Sheet) -> Writer {
        let (tx, rx) = mpsc::channel(2);
        let handle = tokio::task::spawn_blocking(move || write(sheet, rx));
        Writer { tx, handle }
    }

    /// Hands a page of rows to the writer; waits while it is two pages
    /// behind. Fails when the writer has stopped on an error.
    pub async fn send(&self, rows: Vec<Row>) -> Result<(), String> {
        if rows.is_empty() {
            return Ok(());
        }
        self.tx
            .send(rows)
            .await
            .map_err(|_| "the workbook writer stopped".to_string())
    }

    /// Closes the sheet and saves the workbook.
    pub async fn finish(self) -> Result<Finished, String> {
        drop(self.tx);
        match self.handle.await {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(e)) => Err(format!("cannot write the workbook: {e}")),
            Err(e) => Err(format!("the workbook writer failed: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_fit_excel() {
        assert_eq!(sheet_name("a/b[c]"), "a_b_c_");
        assert_eq!(sheet_name(&"x".repeat(40)).chars().count(), 31);
        assert_eq!(sheet_name("  "), "Sheet1");
    }

    #[tokio::test]
    async fn a_sheet_is_written_page_by_page() {
        let w = Writer::start(Sheet {
            name: "台账".into(),
            title: "t".into(),
            headings: vec![("名称".into(), 10.0), ("数".into(), 6.0)],
            about_name: "说明".into(),
            about: vec![("地点".into(), "仓山区".into())],
            rows_label: "行数".into(),
        });
        for p in 0..3 {
            w.send(vec![vec![
                Cell::text(format!("r{p}")),
                Cell::Int(p),
                Cell::date(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
                Cell::time(Utc::now()),
            ]])
            .await
            .unwrap();
        }
        let done = w.finish().await.unwrap();
        assert_eq!(done.rows, 3);
        assert!(done.bytes > 1000);
    }
}
