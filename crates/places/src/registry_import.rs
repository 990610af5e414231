//! Bulk import of a compound's registry (buildings, entrances, dwellings and
//! owners) from a spreadsheet: reading CSV and Excel files, checking every
//! row, and planning what the import would change. Pure: the database side
//! lives in `registry_apply`.
//!
//! # The file
//!
//! One row per (dwelling, owner); the first non-empty row holds the headers,
//! in Chinese or English (case, spaces, `_` and a trailing note in brackets
//! such as `面积（m²）` are ignored; unknown columns are ignored and listed):
//!
//! | 中文 | English | required | values |
//! |---|---|---|---|
//! | 楼栋 | building | yes | name of the building, e.g. `1号楼` |
//! | 单元 | entrance | yes | name of the entrance, e.g. `1单元` |
//! | 房号 | dwelling | yes | name of the dwelling, e.g. `101` |
//! | 面积 | area | yes | exclusive area in m², up to two decimals |
//! | 面积来源 | area_source | no | 登记/测绘/合同 or register/survey/contract (default 登记) |
//! | 业主类型 | owner_kind | no | 个人/单位/开发建设单位 or person/company/developer (default 个人) |
//! | 业主 | owner | no | the person's or the organisation's name |
//! | 电话 | phone | no | mobile or landline (persons only) |
//! | 身份证号 | id_number | no | 18-character resident identity number (persons only) |
//! | 党员 | party_member | no | 是/否, yes/no, 1/0 (persons only) |
//! | 工作单位 | employer | no | the person's employer (persons only) |
//!
//! Several rows for one dwelling name its co-owners; they must agree on the
//! area and its source. A row without owner columns records the dwelling
//! alone. CSV files may be UTF-8 (with or without BOM), UTF-16 with a BOM or
//! GB18030/GBK, separated by commas or tabs; Excel files are read from their
//! first sheet. At most [`MAX_ROWS`] data rows are read.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{Cursor, Read};

use calamine::{Data, Reader};
use chrono::NaiveDate;
use jinlin_kernel::i18n::Lang;
use jinlin_people::rules::{IdNumber, Phone};
use serde::Serialize;
use utoipa::ToSchema;

use crate::rules::{self, AreaSource};

/// Most data rows one file may hold.
pub const MAX_ROWS: usize = 20_000;
/// Most characters of a person's name (as `jinlin_people` accepts).
pub const MAX_PERSON_NAME_CHARS: usize = 64;
/// Most characters of a company's or developer's name, and of an employer.
pub const MAX_ORGANISATION_CHARS: usize = 128;
/// Most bytes the parts of an .xlsx file may unpack to.
pub const MAX_XLSX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;

/// The columns of the import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Building,
    Entrance,
    Dwelling,
    Area,
    AreaSource,
    OwnerKind,
    Owner,
    Phone,
    IdNumber,
    PartyMember,
    Employer,
}

impl Column {
    pub const ALL: [Column; 11] = [
        Column::Building,
        Column::Entrance,
        Column::Dwelling,
        Column::Area,
        Column::AreaSource,
        Column::OwnerKind,
        Column::Owner,
        Column::Phone,
        Column::IdNumber,
        Column::PartyMember,
        Column::Employer,
    ];

    /// The English header, also the `field` of row messages.
    pub fn key(self) -> &'static str {
        match self {
            Column::Building => "building",
            Column::Entrance => "entrance",
            Column::Dwelling => "dwelling",
            Column::Area => "area",
            Column::AreaSource => "area_source",
            Column::OwnerKind => "owner_kind",
            Column::Owner => "owner",
            Column::Phone => "phone",
            Column::IdNumber => "id_number",
            Column::PartyMember => "party_member",
            Column::Employer => "employer",
        }
    }

    /// The Chinese header.
    pub fn zh(self) -> &'static str {
        match self {
            Column::Building => "楼栋",
            Column::Entrance => "单元",
            Column::Dwelling => "房号",
            Column::Area => "面积",
            Column::AreaSource => "面积来源",
            Column::OwnerKind => "业主类型",
            Column::Owner => "业主",
            Column::Phone => "电话",
            Column::IdNumber => "身份证号",
            Column::PartyMember => "党员",
            Column::Employer => "工作单位",
        }
    }

    /// The header in `lang`.
    pub fn header(self, lang: Lang) -> &'static str {
        match lang {
            Lang::ZhCn => self.zh(),
            Lang::En => self.key(),
        }
    }

    /// Columns a file must have.
    pub fn required(self) -> bool {
        matches!(
            self,
            Column::Building | Column::Entrance | Column::Dwelling | Column::Area
        )
    }

    /// Translation key of the column's description.
    pub fn description_key(self) -> String {
        format!("registry_import.column.{}", self.key())
    }

    /// The column a header names, in Chinese or English.
    pub fn from_header(text: &str) -> Option<Column> {
        let norm = normalise_header(text);
        Column::ALL
            .into_iter()
            .find(|c| norm == normalise_header(c.zh()) || norm == normalise_header(c.key()))
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Lowercase, without blanks, `_`, `-`, `*` and anything from an opening
/// bracket on: `Area source (m²)` → `areasource`, `面积（平方米）` → `面积`.
fn normalise_header(text: &str) -> String {
    let mut text = text.trim().trim_start_matches('\u{feff}').to_lowercase();
    if let Some(i) = text.find(['(', '（', '[', '【']) {
        text.truncate(i);
    }
    text.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '*'))
        .collect()
}

/// Why a whole file is refused before any row is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// Nothing at all, or only blank rows.
    Empty,
    /// A header but no data rows.
    NoRows,
    /// Text that is neither UTF-8, UTF-16 with a BOM, nor GB18030/GBK.
    Encoding,
    /// The CSV cannot be read at this line.
    Csv {
        line: u64,
    },
    /// Not a readable .xlsx workbook.
    NotXlsx,
    /// The .xlsx unpacks to more than [`MAX_XLSX_UNPACKED_BYTES`].
    XlsxTooLarge,
    MissingColumns(Vec<Column>),
    DuplicateColumn(Column),
    /// More than [`MAX_ROWS`] data rows.
    TooManyRows,
}

impl FileError {
    pub fn key(&self) -> &'static str {
        match self {
            FileError::Empty => "registry_import.file.empty",
            FileError::NoRows => "registry_import.file.no_rows",
            FileError::Encoding => "registry_import.file.encoding",
            FileError::Csv { .. } => "registry_import.file.csv",
            FileError::NotXlsx => "registry_import.file.not_xlsx",
            FileError::XlsxTooLarge => "registry_import.file.xlsx_too_large",
            FileError::MissingColumns(_) => "registry_import.file.missing_columns",
            FileError::DuplicateColumn(_) => "registry_import.file.duplicate_column",
            FileError::TooManyRows => "registry_import.file.too_many_rows",
        }
    }

    /// The explanation in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        let column = |c: &Column| format!("{} ({})", c.zh(), c.key());
        let args: Vec<(&str, String)> = match self {
            FileError::Csv { line } => vec![("line", line.to_string())],
            FileError::XlsxTooLarge => {
                vec![("mib", (MAX_XLSX_UNPACKED_BYTES / (1024 * 1024)).to_string())]
            }
            FileError::MissingColumns(cols) => {
                let sep = if lang == Lang::ZhCn { "、" } else { ", " };
                let list: Vec<String> = cols.iter().map(column).collect();
                vec![("columns", list.join(sep))]
            }
            FileError::DuplicateColumn(c) => vec![("column", column(c))],
            FileError::TooManyRows => vec![("max", MAX_ROWS.to_string())],
            _ => Vec::new(),
        };
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        lang.tf(self.key(), &args)
    }
}

/// One data row as read: its line (row 1 is the header row of a file whose
/// header is on the first line) and its cells by column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    pub line: u64,
    cells: [String; 11],
}

impl RawRow {
    /// A row from cells by column (absent columns are empty).
    pub fn new(line: u64, cells: impl IntoIterator<Item = (Column, String)>) -> RawRow {
        let mut row = RawRow {
            line,
            cells: Default::default(),
        };
        for (column, value) in cells {
            row.cells[column.index()] = value;
        }
        row
    }

    /// The trimmed cell of `column` (empty when the file lacks the column).
    pub fn get(&self, column: Column) -> &str {
        self.cells[column.index()].trim()
    }
}

/// A file read into rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub rows: Vec<RawRow>,
    /// Headers that name no known column; their cells are not read.
    pub ignored_columns: Vec<String>,
}

/// The kinds of file accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Xlsx,
}

impl FileFormat {
    pub const CSV_MEDIA_TYPE: &'static str = "text/csv";
    pub const XLSX_MEDIA_TYPE: &'static str =
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

    /// The format named by a `Content-Type` (parameters ignored).
    pub fn from_media_type(content_type: &str) -> Option<FileFormat> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            Self::CSV_MEDIA_TYPE => Some(FileFormat::Csv),
            Self::XLSX_MEDIA_TYPE => Some(FileFormat::Xlsx),
            _ => None,
        }
    }

    /// Guesses the format of an uploaded file: a zip archive is a workbook,
    /// anything else is read as CSV.
    pub fn sniff(bytes: &[u8]) -> FileFormat {
        if bytes.starts_with(b"PK\x03\x04") {
            FileFormat::Xlsx
        } else {
            FileFormat::Csv
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Xlsx => "xlsx",
        }
    }
}

/// Reads a file of `format` into rows.
pub fn read(bytes: &[u8], format: FileFormat) -> Result<Table, FileError> {
    match format {
        FileFormat::Csv => read_csv(bytes),
        FileFormat::Xlsx => read_xlsx(bytes),
    }
}

/// Text of a CSV file: a BOM decides (UTF-8 or UTF-16), else UTF-8 if the
/// bytes are valid UTF-8, else GB18030 (a superset of GBK and GB2312, what
/// Chinese Excel writes).
fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, FileError> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom..]);
        return if had_errors {
            Err(FileError::Encoding)
        } else {
            Ok(text)
        };
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text));
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        Err(FileError::Encoding)
    } else {
        Ok(text)
    }
}

/// Tab-separated when the first line has tabs and no commas (Excel's
/// "Unicode text"), comma-separated otherwise.
fn delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or("");
    if first.contains('\t') && !first.contains(',') {
        b'\t'
    } else {
        b','
    }
}

pub fn read_csv(bytes: &[u8]) -> Result<Table, FileError> {
    let text = decode(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(&text))
        .from_reader(text.as_bytes());
    let records = reader.records().map(|record| {
        let record = record.map_err(|e| FileError::Csv {
            line: e.position().map(|p| p.line()).unwrap_or(0),
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        Ok((line, record.iter().map(str::to_string).collect()))
    });
    table_from(records)
}

pub fn read_xlsx(bytes: &[u8]) -> Result<Table, FileError> {
    check_unpacked_size(bytes)?;
    let mut book = calamine::Xlsx::new(Cursor::new(bytes)).map_err(|_| FileError::NotXlsx)?;
    let range = match book.worksheet_range_at(0) {
        Some(Ok(range)) => range,
        Some(Err(_)) => return Err(FileError::NotXlsx),
        None => return Err(FileError::Empty),
    };
    let first_row = range.start().map(|(row, _)| u64::from(row)).unwrap_or(0);
    let records = range.rows().enumerate().map(|(i, cells)| {
        Ok((
            first_row + i as u64 + 1,
            cells.iter().map(cell_text).collect(),
        ))
    });
    table_from(records)
}

/// A cell as the text a person sees: numbers without a trailing `.0`
/// (`101`, `89.5`, `13812345678`), booleans as `1`/`0`.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Bool(true) => "1".into(),
        Data::Bool(false) => "0".into(),
        other => other.to_string(),
    }
}

/// Unpacks every part of the archive into nothing, counting, so that a
/// small file that unpacks to gigabytes is refused before it is parsed.
fn check_unpacked_size(bytes: &[u8]) -> Result<(), FileError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| FileError::NotXlsx)?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut part = archive.by_index(i).map_err(|_| FileError::NotXlsx)?;
        let budget = MAX_XLSX_UNPACKED_BYTES - total;
        let read = std::io::copy(&mut (&mut part).take(budget + 1), &mut std::io::sink())
            .map_err(|_| FileError::NotXlsx)?;
        total += read;
        if total > MAX_XLSX_UNPACKED_BYTES {
            return Err(FileError::XlsxTooLarge);
        }
    }
    Ok(())
}

fn is_blank(cells: &[String]) -> bool {
    cells.iter().all(|c| c.trim().is_empty())
}

/// Finds the header (the first non-blank record), maps its columns and
/// collects the non-blank rows after it.
fn table_from(
    mut records: impl Iterator<Item = Result<(u64, Vec<String>), FileError>>,
) -> Result<Table, FileError> {
    let header = loop {
        match records.next() {
            None => return Err(FileError::Empty),
            Some(record) => {
                let (_, cells) = record?;
                if !is_blank(&cells) {
                    break cells;
                }
            }
        }
    };
    let mut positions: Vec<Option<Column>> = Vec::with_capacity(header.len());
    let mut ignored_columns = Vec::new();
    for text in &header {
        let column = Column::from_header(text);
        if let Some(c) = column
            && positions.contains(&Some(c))
        {
            return Err(FileError::DuplicateColumn(c));
        }
        if column.is_none() && !text.trim().is_empty() {
            ignored_columns.push(text.trim().to_string());
        }
        positions.push(column);
    }
    let missing: Vec<Column> = Column::ALL
        .into_iter()
        .filter(|c| c.required() && !positions.contains(&Some(*c)))
        .collect();
    if !missing.is_empty() {
        return Err(FileError::MissingColumns(missing));
    }
    let mut rows = Vec::new();
    for record in records {
        let (line, cells) = record?;
        if is_blank(&cells) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(FileError::TooManyRows);
        }
        let cells = positions
            .iter()
            .zip(cells)
            .filter_map(|(column, value)| column.map(|c| (c, value)));
        rows.push(RawRow::new(line, cells));
    }
    if rows.is_empty() {
        return Err(FileError::NoRows);
    }
    Ok(Table {
        rows,
        ignored_columns,
    })
}

/// Who owns a dwelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    Person,
    Company,
    /// The developer, for unsold or undelivered units.
    Developer,
}

impl OwnerKind {
    pub const ALL: [OwnerKind; 3] = [OwnerKind::Person, OwnerKind::Company, OwnerKind::Developer];

    /// The code stored in `dwelling_owner.owner_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::Person => "person",
            OwnerKind::Company => "company",
            OwnerKind::Developer => "developer",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            OwnerKind::Person => "个人",
            OwnerKind::Company => "单位",
            OwnerKind::Developer => "开发建设单位",
        }
    }

    pub fn parse(s: &str) -> Option<OwnerKind> {
        OwnerKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A cell of the owner-kind column, in Chinese or English.
    fn from_cell(text: &str) -> Option<OwnerKind> {
        match text.to_lowercase().as_str() {
            "个人" | "person" => Some(OwnerKind::Person),
            "单位" | "企业" | "company" => Some(OwnerKind::Company),
            "开发建设单位" | "开发商" | "developer" => Some(OwnerKind::Developer),
            _ => None,
        }
    }
}

fn area_source_from_cell(text: &str) -> Option<AreaSource> {
    match text.to_lowercase().as_str() {
        "登记" | "不动产登记簿" | "register" => Some(AreaSource::Register),
        "测绘" | "测绘成果" | "survey" => Some(AreaSource::Survey),
        "合同" | "房屋买卖合同" | "contract" => Some(AreaSource::Contract),
        _ => None,
    }
}

fn area_source_zh(source: AreaSource) -> &'static str {
    match source {
        AreaSource::Register => "登记",
        AreaSource::Survey => "测绘",
        AreaSource::Contract => "合同",
    }
}

/// `Some(true)` for yes, `Some(false)` for no or blank, `None` otherwise.
fn yes_no(text: &str) -> Option<bool> {
    match text.to_lowercase().as_str() {
        "是" | "yes" | "y" | "1" | "true" => Some(true),
        "" | "否" | "no" | "n" | "0" | "false" => Some(false),
        _ => None,
    }
}

/// An owner named by a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub kind: OwnerKind,
    /// The person's name, or the company's or developer's.
    pub name: String,
    /// The rest is for persons only.
    pub phone: Option<Phone>,
    pub id_number: Option<IdNumber>,
    pub party_member: bool,
    pub employer: Option<String>,
}

impl Owner {
    /// Whether two rows name the same owner: persons by ID number when both
    /// have one, else by name; organisations by kind and name.
    pub fn same_as(&self, other: &Owner) -> bool {
        match (self.kind, other.kind) {
            (OwnerKind::Person, OwnerKind::Person) => match (&self.id_number, &other.id_number) {
                (Some(a), Some(b)) => a == b,
                _ => self.name == other.name,
            },
            (a, b) => a == b && self.name == other.name,
        }
    }
}

/// A valid row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub building: String,
    pub entrance: String,
    pub dwelling: String,
    pub area_centi_m2: i64,
    pub area_source: AreaSource,
    pub owner: Option<Owner>,
}

/// A problem with one cell of a row: the column and the translation key of
/// the message, with its placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: Column,
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Problem {
    fn new(field: Column, key: &'static str) -> Problem {
        Problem {
            field,
            key,
            args: Vec::new(),
        }
    }

    fn line(mut self, line: u64) -> Problem {
        self.args.push(("line", line.to_string()));
        self
    }

    fn text(&self, lang: Lang) -> String {
        let args: Vec<(&str, &str)> = self.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        lang.tf(self.key, &args)
    }

    /// The message in both languages.
    pub fn message(&self) -> Message {
        Message {
            field: self.field.key().to_string(),
            zh: self.text(Lang::ZhCn),
            en: self.text(Lang::En),
        }
    }
}

fn place_name(row: &RawRow, column: Column, problems: &mut Vec<Problem>) -> String {
    match rules::check_name(row.get(column)) {
        Ok(name) => name,
        Err(e) => {
            problems.push(Problem::new(column, e.key));
            String::new()
        }
    }
}

fn bounded(text: &str, max: usize) -> bool {
    text.chars().count() <= max && !text.chars().any(char::is_control)
}

/// Checks one row on its own; `today` bounds birth dates in ID numbers.
pub fn check_row(row: &RawRow, today: NaiveDate) -> Result<Row, Vec<Problem>> {
    let mut problems = Vec::new();
    let building = place_name(row, Column::Building, &mut problems);
    let entrance = place_name(row, Column::Entrance, &mut problems);
    let dwelling = place_name(row, Column::Dwelling, &mut problems);
    let area_centi_m2 = match row.get(Column::Area) {
        "" => {
            problems.push(Problem::new(
                Column::Area,
                "registry_import.error.area_required",
            ));
            0
        }
        text => rules::parse_area_m2(text).unwrap_or_else(|e| {
            problems.push(Problem::new(Column::Area, e.key));
            0
        }),
    };
    let area_source = match row.get(Column::AreaSource) {
        "" => AreaSource::Register,
        text => area_source_from_cell(text).unwrap_or_else(|| {
            problems.push(Problem::new(
                Column::AreaSource,
                "registry_import.error.area_source",
            ));
            AreaSource::Register
        }),
    };
    let owner = check_owner(row, today, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Row {
        line: row.line,
        building,
        entrance,
        dwelling,
        area_centi_m2,
        area_source,
        owner,
    })
}

fn check_owner(row: &RawRow, today: NaiveDate, problems: &mut Vec<Problem>) -> Option<Owner> {
    let kind_text = row.get(Column::OwnerKind);
    let name = row.get(Column::Owner);
    let phone_text = row.get(Column::Phone);
    let id_text = row.get(Column::IdNumber);
    let employer_text = row.get(Column::Employer);
    let party_member = yes_no(row.get(Column::PartyMember)).unwrap_or_else(|| {
        problems.push(Problem::new(
            Column::PartyMember,
            "registry_import.error.party_member",
        ));
        false
    });
    let personal = [
        (Column::Phone, !phone_text.is_empty()),
        (Column::IdNumber, !id_text.is_empty()),
        (Column::PartyMember, party_member),
        (Column::Employer, !employer_text.is_empty()),
    ];
    let named = !kind_text.is_empty() || !name.is_empty() || personal.iter().any(|(_, set)| *set);
    if !named {
        return None;
    }
    let kind = match kind_text {
        "" => Some(OwnerKind::Person),
        text => OwnerKind::from_cell(text).or_else(|| {
            problems.push(Problem::new(
                Column::OwnerKind,
                "registry_import.error.owner_kind",
            ));
            None
        }),
    };
    if name.is_empty() {
        problems.push(Problem::new(
            Column::Owner,
            "registry_import.error.owner_required",
        ));
    }
    let mut owner = Owner {
        kind: kind.unwrap_or(OwnerKind::Person),
        name: name.to_string(),
        phone: None,
        id_number: None,
        party_member,
        employer: None,
    };
    match kind {
        Some(OwnerKind::Person) => {
            if !bounded(name, MAX_PERSON_NAME_CHARS) {
                problems.push(Problem::new(Column::Owner, "person.error.name"));
            }
            if !phone_text.is_empty() {
                match Phone::parse(phone_text) {
                    Ok(phone) => owner.phone = Some(phone),
                    Err(e) => problems.push(Problem::new(Column::Phone, e.message_key())),
                }
            }
            if !id_text.is_empty() {
                match IdNumber::parse(id_text, today) {
                    Ok(id) => owner.id_number = Some(id),
                    Err(e) => problems.push(Problem::new(Column::IdNumber, e.message_key())),
                }
            }
            if !employer_text.is_empty() {
                if bounded(employer_text, MAX_ORGANISATION_CHARS) {
                    owner.employer = Some(employer_text.to_string());
                } else {
                    problems.push(Problem::new(
                        Column::Employer,
                        "registry_import.error.employer",
                    ));
                }
            }
        }
        Some(OwnerKind::Company | OwnerKind::Developer) => {
            if !bounded(name, MAX_ORGANISATION_CHARS) {
                problems.push(Problem::new(
                    Column::Owner,
                    "registry_import.error.organisation_name",
                ));
            }
            for (column, set) in personal {
                if set {
                    problems.push(Problem::new(column, "registry_import.error.person_only"));
                }
            }
        }
        None => {}
    }
    Some(owner)
}

/// A dwelling of the compound as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExistingDwelling {
    pub id: i64,
    pub name: String,
    /// Area and its source, if recorded.
    pub area: Option<(i64, AreaSource)>,
    pub owners: Vec<ExistingOwner>,
}

/// An owner already recorded on a dwelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingOwner {
    pub kind: OwnerKind,
    /// The person's name, or the company's or developer's.
    pub name: String,
    /// The keyed digest of the person's ID number, if recorded.
    pub id_digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExistingEntrance {
    pub id: i64,
    pub name: String,
    pub dwellings: Vec<ExistingDwelling>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExistingBuilding {
    pub id: i64,
    pub name: String,
    pub entrances: Vec<ExistingEntrance>,
}

/// A compound's registry as it stands, the ground a plan is drawn on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Existing {
    pub buildings: Vec<ExistingBuilding>,
}

/// What happens to a dwelling's area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaChange {
    /// A new dwelling, recorded with its area.
    New,
    /// The dwelling exists with this very area and source.
    Unchanged,
    /// The dwelling exists without an area; the file gives one.
    Set,
    /// The dwelling exists with another area or source.
    Changed {
        from_centi_m2: i64,
        from: AreaSource,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerPlan {
    pub owner: Owner,
    /// Already recorded on the dwelling: nothing to do.
    pub linked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DwellingPlan {
    pub name: String,
    /// The existing dwelling's id, or `None` for a new one.
    pub existing: Option<i64>,
    pub area_centi_m2: i64,
    pub area_source: AreaSource,
    pub area_change: AreaChange,
    pub owners: Vec<OwnerPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrancePlan {
    pub name: String,
    pub existing: Option<i64>,
    pub dwellings: Vec<DwellingPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildingPlan {
    pub name: String,
    pub existing: Option<i64>,
    pub entrances: Vec<EntrancePlan>,
}

/// What an import does, in the order of the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub buildings: Vec<BuildingPlan>,
}

impl Plan {
    fn dwellings(&self) -> impl Iterator<Item = &DwellingPlan> {
        self.buildings
            .iter()
            .flat_map(|b| &b.entrances)
            .flat_map(|e| &e.dwellings)
    }

    pub fn summary_counts(&self, summary: &mut Summary) {
        let entrances = || self.buildings.iter().flat_map(|b| &b.entrances);
        let count = |n: usize| n as u64;
        summary.buildings_new = count(
            self.buildings
                .iter()
                .filter(|b| b.existing.is_none())
                .count(),
        );
        summary.buildings_existing = count(self.buildings.len()) - summary.buildings_new;
        summary.entrances_new = count(entrances().filter(|e| e.existing.is_none()).count());
        summary.entrances_existing = count(entrances().count()) - summary.entrances_new;
        summary.dwellings_new = count(self.dwellings().filter(|d| d.existing.is_none()).count());
        summary.dwellings_existing = count(self.dwellings().count()) - summary.dwellings_new;
        summary.dwellings_area_changed = count(
            self.dwellings()
                .filter(|d| matches!(d.area_change, AreaChange::Set | AreaChange::Changed { .. }))
                .count(),
        );
        let owners = || self.dwellings().flat_map(|d| &d.owners);
        summary.owners_new = count(owners().filter(|o| !o.linked).count());
        summary.owners_linked = count(owners().filter(|o| o.linked).count());
    }

    /// Whether applying the plan would write anything.
    pub fn changes_anything(&self) -> bool {
        self.buildings.iter().any(|b| b.existing.is_none())
            || self
                .buildings
                .iter()
                .flat_map(|b| &b.entrances)
                .any(|e| e.existing.is_none())
            || self.dwellings().any(|d| {
                d.existing.is_none()
                    || d.area_change != AreaChange::Unchanged
                    || d.owners.iter().any(|o| !o.linked)
            })
    }
}

/// One message about a row, in Chinese and in English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Message {
    /// The column at fault (English header), e.g. `id_number`.
    pub field: String,
    pub zh: String,
    pub en: String,
}

impl Message {
    pub fn text(&self, lang: Lang) -> &str {
        match lang {
            Lang::ZhCn => &self.zh,
            Lang::En => &self.en,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    Ok,
    Error,
}

/// What an import does with a row's dwelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DwellingAction {
    /// Creates the dwelling.
    New,
    /// Records the area of an existing dwelling that had none.
    AreaSet,
    /// Changes the area (or its source) of an existing dwelling.
    AreaChanged,
    /// The dwelling exists as the file says.
    Unchanged,
}

/// What an import does with a row's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OwnerAction {
    /// Links the owner to the dwelling.
    New,
    /// The owner is already recorded on the dwelling.
    Linked,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowReport {
    /// Row number in the file (row 1 holds the headers).
    pub line: u64,
    pub status: RowStatus,
    pub building: String,
    pub entrance: String,
    pub dwelling: String,
    /// The owner's name, if the row names one.
    pub owner: Option<String>,
    /// For rows that are ok.
    pub dwelling_action: Option<DwellingAction>,
    /// For rows that are ok and name an owner.
    pub owner_action: Option<OwnerAction>,
    /// Why the row is refused (empty when ok).
    pub errors: Vec<Message>,
}

/// Counts over the whole file. Places and owners are counted over the rows
/// that are ok.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Summary {
    pub rows: u64,
    pub ok: u64,
    pub errors: u64,
    pub buildings_new: u64,
    pub buildings_existing: u64,
    pub entrances_new: u64,
    pub entrances_existing: u64,
    pub dwellings_new: u64,
    pub dwellings_existing: u64,
    /// Existing dwellings whose area is set or changed.
    pub dwellings_area_changed: u64,
    pub owners_new: u64,
    /// Owners already recorded on their dwelling (left as they are).
    pub owners_linked: u64,
}

/// The row-by-row validation report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Report {
    pub rows: Vec<RowReport>,
    pub summary: Summary,
    /// Headers that name no known column (their cells were not read).
    pub ignored_columns: Vec<String>,
}

impl Report {
    pub fn has_errors(&self) -> bool {
        self.summary.errors > 0
    }
}

/// A file checked against the compound: the report, and the plan of the
/// rows that are ok (to be applied only when the report has no error).
#[derive(Debug, Clone)]
pub struct Analysis {
    pub report: Report,
    pub plan: Plan,
}

type DwellingKey = (String, String, String);

/// What earlier rows said about a dwelling.
struct Seen {
    line: u64,
    area_centi_m2: i64,
    area_source: AreaSource,
    ownerless_line: Option<u64>,
    owners: Vec<(Owner, u64)>,
}

/// Checks the rows against each other: one area per dwelling, no owner
/// twice on a dwelling, one name per ID number.
fn check_across(rows: Vec<Result<Row, Vec<Problem>>>) -> Vec<Result<Row, Vec<Problem>>> {
    let mut seen: HashMap<DwellingKey, Seen> = HashMap::new();
    let mut names_by_id: HashMap<String, (String, u64)> = HashMap::new();
    rows.into_iter()
        .map(|checked| {
            let row = checked?;
            let key = (
                row.building.clone(),
                row.entrance.clone(),
                row.dwelling.clone(),
            );
            let mut problems = Vec::new();
            let earlier = seen.get(&key);
            if let Some(s) = earlier {
                if s.area_centi_m2 != row.area_centi_m2 {
                    problems.push(
                        Problem::new(Column::Area, "registry_import.error.area_conflict")
                            .line(s.line),
                    );
                }
                if s.area_source != row.area_source {
                    problems.push(
                        Problem::new(
                            Column::AreaSource,
                            "registry_import.error.area_source_conflict",
                        )
                        .line(s.line),
                    );
                }
            }
            match &row.owner {
                Some(owner) => {
                    if let Some(id) = &owner.id_number
                        && let Some((name, line)) = names_by_id.get(id.as_str())
                        && *name != owner.name
                    {
                        problems.push(
                            Problem::new(Column::IdNumber, "registry_import.error.id_other_name")
                                .line(*line),
                        );
                    }
                    if let Some((_, line)) =
                        earlier.and_then(|s| s.owners.iter().find(|(o, _)| o.same_as(owner)))
                    {
                        problems.push(
                            Problem::new(Column::Owner, "registry_import.error.duplicate_owner")
                                .line(*line),
                        );
                    }
                }
                None => {
                    if let Some(line) = earlier.and_then(|s| s.ownerless_line) {
                        problems.push(
                            Problem::new(Column::Dwelling, "registry_import.error.duplicate_row")
                                .line(line),
                        );
                    }
                }
            }
            if !problems.is_empty() {
                return Err(problems);
            }
            let entry = seen.entry(key).or_insert_with(|| Seen {
                line: row.line,
                area_centi_m2: row.area_centi_m2,
                area_source: row.area_source,
                ownerless_line: None,
                owners: Vec::new(),
            });
            match &row.owner {
                Some(owner) => {
                    if let Some(id) = &owner.id_number {
                        names_by_id
                            .entry(id.as_str().to_string())
                            .or_insert_with(|| (owner.name.clone(), row.line));
                    }
                    entry.owners.push((owner.clone(), row.line));
                }
                None => entry.ownerless_line = Some(row.line),
            }
            Ok(row)
        })
        .collect()
}

/// Whether a row's owner is one already recorded on the dwelling: persons
/// by ID number when both have one, else by name; organisations by kind and
/// name.
fn already_linked(
    owner: &Owner,
    existing: &[ExistingOwner],
    digest: &dyn Fn(&str) -> String,
) -> bool {
    let own_digest = owner.id_number.as_ref().map(|id| digest(id.as_str()));
    existing.iter().any(|e| match (owner.kind, e.kind) {
        (OwnerKind::Person, OwnerKind::Person) => match (&own_digest, &e.id_digest) {
            (Some(a), Some(b)) => a == b,
            _ => owner.name == e.name,
        },
        (a, b) => a == b && owner.name == e.name,
    })
}

/// Draws the plan of valid rows on the existing tree; returns it with what
/// it does to each row (in the rows' order).
fn draw(
    rows: &[&Row],
    existing: &Existing,
    digest: &dyn Fn(&str) -> String,
) -> (Plan, Vec<(DwellingAction, Option<OwnerAction>)>) {
    let mut plan = Plan::default();
    let mut buildings: HashMap<&str, usize> = HashMap::new();
    let mut entrances: HashMap<(usize, &str), usize> = HashMap::new();
    let mut dwellings: HashMap<(usize, usize, &str), (usize, Option<&ExistingDwelling>)> =
        HashMap::new();
    let mut actions = Vec::with_capacity(rows.len());
    for row in rows {
        let b = *buildings.entry(&row.building).or_insert_with(|| {
            let found = existing.buildings.iter().find(|b| b.name == row.building);
            plan.buildings.push(BuildingPlan {
                name: row.building.clone(),
                existing: found.map(|f| f.id),
                entrances: Vec::new(),
            });
            plan.buildings.len() - 1
        });
        let building_existing = plan.buildings[b]
            .existing
            .and_then(|id| existing.buildings.iter().find(|x| x.id == id));
        let e = *entrances.entry((b, &row.entrance)).or_insert_with(|| {
            let found =
                building_existing.and_then(|x| x.entrances.iter().find(|e| e.name == row.entrance));
            let list = &mut plan.buildings[b].entrances;
            list.push(EntrancePlan {
                name: row.entrance.clone(),
                existing: found.map(|f| f.id),
                dwellings: Vec::new(),
            });
            list.len() - 1
        });
        let entrance_existing = plan.buildings[b].entrances[e].existing.and_then(|id| {
            building_existing.and_then(|x| x.entrances.iter().find(|en| en.id == id))
        });
        let (d, dwelling_existing) = *dwellings.entry((b, e, &row.dwelling)).or_insert_with(|| {
            let found =
                entrance_existing.and_then(|x| x.dwellings.iter().find(|d| d.name == row.dwelling));
            let area_change = match found.map(|f| f.area) {
                None => AreaChange::New,
                Some(None) => AreaChange::Set,
                Some(Some((area, source)))
                    if area == row.area_centi_m2 && source == row.area_source =>
                {
                    AreaChange::Unchanged
                }
                Some(Some((area, source))) => AreaChange::Changed {
                    from_centi_m2: area,
                    from: source,
                },
            };
            let list = &mut plan.buildings[b].entrances[e].dwellings;
            list.push(DwellingPlan {
                name: row.dwelling.clone(),
                existing: found.map(|f| f.id),
                area_centi_m2: row.area_centi_m2,
                area_source: row.area_source,
                area_change,
                owners: Vec::new(),
            });
            (list.len() - 1, found)
        });
        let dwelling = &mut plan.buildings[b].entrances[e].dwellings[d];
        let dwelling_action = match dwelling.area_change {
            AreaChange::New => DwellingAction::New,
            AreaChange::Unchanged => DwellingAction::Unchanged,
            AreaChange::Set => DwellingAction::AreaSet,
            AreaChange::Changed { .. } => DwellingAction::AreaChanged,
        };
        let owner_action = row.owner.as_ref().map(|owner| {
            let linked =
                dwelling_existing.is_some_and(|x| already_linked(owner, &x.owners, digest));
            dwelling.owners.push(OwnerPlan {
                owner: owner.clone(),
                linked,
            });
            if linked {
                OwnerAction::Linked
            } else {
                OwnerAction::New
            }
        });
        actions.push((dwelling_action, owner_action));
    }
    (plan, actions)
}

/// Checks every row of `table` and plans the import into the compound whose
/// registry is `existing`. `digest` is the keyed digest of ID numbers (to
/// recognise owners already recorded); `today` bounds birth dates.
pub fn analyse(
    table: &Table,
    existing: &Existing,
    digest: &dyn Fn(&str) -> String,
    today: NaiveDate,
) -> Analysis {
    let checked = check_across(table.rows.iter().map(|r| check_row(r, today)).collect());
    let valid: Vec<&Row> = checked.iter().filter_map(|c| c.as_ref().ok()).collect();
    let (plan, actions) = draw(&valid, existing, digest);
    let mut actions = actions.into_iter();
    let rows: Vec<RowReport> = table
        .rows
        .iter()
        .zip(&checked)
        .map(|(raw, checked)| {
            let owner = Some(raw.get(Column::Owner))
                .filter(|o| !o.is_empty())
                .map(str::to_string);
            let (status, dwelling_action, owner_action, errors) = match checked {
                Ok(_) => {
                    let (d, o) = actions.next().expect("one action per valid row");
                    (RowStatus::Ok, Some(d), o, Vec::new())
                }
                Err(problems) => (
                    RowStatus::Error,
                    None,
                    None,
                    problems.iter().map(Problem::message).collect(),
                ),
            };
            RowReport {
                line: raw.line,
                status,
                building: raw.get(Column::Building).to_string(),
                entrance: raw.get(Column::Entrance).to_string(),
                dwelling: raw.get(Column::Dwelling).to_string(),
                owner,
                dwelling_action,
                owner_action,
                errors,
            }
        })
        .collect();
    let mut summary = Summary {
        rows: rows.len() as u64,
        ok: valid.len() as u64,
        errors: (rows.len() - valid.len()) as u64,
        ..Default::default()
    };
    plan.summary_counts(&mut summary);
    Analysis {
        report: Report {
            rows,
            summary,
            ignored_columns: table.ignored_columns.clone(),
        },
        plan,
    }
}

/// The cells of the rows that describe `plan`, one row per (dwelling,
/// owner) and one for a dwelling without owners, values in `lang`.
pub fn plan_rows(plan: &Plan, lang: Lang) -> Vec<[String; 11]> {
    let zh = lang == Lang::ZhCn;
    let mut rows = Vec::new();
    for b in &plan.buildings {
        for e in &b.entrances {
            for d in &e.dwellings {
                let place = [
                    b.name.clone(),
                    e.name.clone(),
                    d.name.clone(),
                    rules::format_area(d.area_centi_m2),
                    if zh {
                        area_source_zh(d.area_source).into()
                    } else {
                        d.area_source.as_str().into()
                    },
                ];
                let blank = || std::array::from_fn::<String, 6, _>(|_| String::new());
                if d.owners.is_empty() {
                    rows.push(join(&place, &blank()));
                }
                for o in &d.owners {
                    let o = &o.owner;
                    let owner = [
                        if zh {
                            o.kind.zh().into()
                        } else {
                            o.kind.as_str().into()
                        },
                        o.name.clone(),
                        o.phone
                            .as_ref()
                            .map(|p| p.as_str().into())
                            .unwrap_or_default(),
                        o.id_number
                            .as_ref()
                            .map(|i| i.as_str().into())
                            .unwrap_or_default(),
                        match (o.kind, o.party_member, zh) {
                            (OwnerKind::Person, true, true) => "是".into(),
                            (OwnerKind::Person, false, true) => "否".into(),
                            (OwnerKind::Person, true, false) => "yes".into(),
                            (OwnerKind::Person, false, false) => "no".into(),
                            _ => String::new(),
                        },
                        o.employer.clone().unwrap_or_default(),
                    ];
                    rows.push(join(&place, &owner));
                }
            }
        }
    }
    rows
}

fn join(place: &[String; 5], owner: &[String; 6]) -> [String; 11] {
    std::array::from_fn(|i| {
        if i < 5 {
            place[i].clone()
        } else {
            owner[i - 5].clone()
        }
    })
}

/// The header row in `lang`.
pub fn headers(lang: Lang) -> [&'static str; 11] {
    Column::ALL.map(|c| c.header(lang))
}

/// A CSV file (UTF-8 with a BOM, so that Excel reads it right) of the
/// header row and `rows`.
pub fn to_csv(lang: Lang, rows: &[[String; 11]]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut write = |record: &[&str]| {
        writer
            .write_record(record)
            .expect("writing CSV to memory cannot fail");
    };
    write(&headers(lang));
    for row in rows {
        write(&row.each_ref().map(String::as_str));
    }
    let bytes = writer
        .into_inner()
        .expect("writing CSV to memory cannot fail");
    format!(
        "\u{feff}{}",
        String::from_utf8(bytes).expect("the CSV of UTF-8 text is UTF-8")
    )
}

/// The template offered for download: the Chinese header row alone.
pub fn template_csv() -> String {
    to_csv(Lang::ZhCn, &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use jinlin_people::rules::id_check_character;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
    }

    fn id(body: &str) -> String {
        format!("{body}{}", id_check_character(body).unwrap())
    }

    fn identity(s: &str) -> String {
        format!("digest:{s}")
    }

    fn csv(text: &str) -> Table {
        read_csv(text.as_bytes()).unwrap()
    }

    fn analyse_csv(text: &str) -> Analysis {
        analyse(&csv(text), &Existing::default(), &identity, today())
    }

    /// The messages of the row at `line`, as (field, zh key text).
    fn errors_at(a: &Analysis, line: u64) -> Vec<Message> {
        a.report
            .rows
            .iter()
            .find(|r| r.line == line)
            .unwrap_or_else(|| panic!("no row {line}"))
            .errors
            .clone()
    }

    fn expect_error(text: &str, line: u64, field: &str, key: &str, args: &[(&str, &str)]) {
        let a = analyse_csv(text);
        let errors = errors_at(&a, line);
        let expected = Message {
            field: field.into(),
            zh: Lang::ZhCn.tf(key, args),
            en: Lang::En.tf(key, args),
        };
        assert!(
            errors.contains(&expected),
            "line {line}: expected {expected:?} in {errors:?}"
        );
        assert!(a.report.has_errors());
        assert_ne!(expected.zh, key, "{key} has no Chinese text");
        assert_ne!(expected.en, key, "{key} has no English text");
    }

    const HEAD: &str = "楼栋,单元,房号,面积,面积来源,业主类型,业主,电话,身份证号,党员,工作单位\n";

    #[test]
    fn headers_in_either_language_and_with_notes() {
        assert_eq!(Column::from_header("楼栋"), Some(Column::Building));
        assert_eq!(Column::from_header(" Area (m²) "), Some(Column::Area));
        assert_eq!(Column::from_header("面积（平方米）"), Some(Column::Area));
        assert_eq!(Column::from_header("Area source"), Some(Column::AreaSource));
        assert_eq!(Column::from_header("ID_NUMBER"), Some(Column::IdNumber));
        assert_eq!(Column::from_header("房号*"), Some(Column::Dwelling));
        assert_eq!(
            Column::from_header("\u{feff}building"),
            Some(Column::Building)
        );
        assert_eq!(Column::from_header("备注"), None);
        for c in Column::ALL {
            assert_eq!(Column::from_header(c.zh()), Some(c));
            assert_eq!(Column::from_header(c.key()), Some(c));
        }
    }

    #[test]
    fn a_valid_file_reads_with_lines_and_ignored_columns() {
        let t = csv(
            "\u{feff}building,entrance,dwelling,area,备注\n\n1号楼,1单元,101,89.5,x\n1号楼,1单元,102,90,\n",
        );
        assert_eq!(t.ignored_columns, ["备注"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].get(Column::Dwelling), "101");
        assert_eq!(t.rows[1].line, 4);
        assert_eq!(t.rows[1].get(Column::Owner), "");
    }

    #[test]
    fn file_errors() {
        assert_eq!(read_csv(b""), Err(FileError::Empty));
        assert_eq!(read_csv(b"\n , \n"), Err(FileError::Empty));
        assert_eq!(
            read_csv("楼栋,单元,房号,面积\n".as_bytes()),
            Err(FileError::NoRows)
        );
        assert_eq!(
            read_csv("楼栋,房号\n1,2\n".as_bytes()),
            Err(FileError::MissingColumns(vec![
                Column::Entrance,
                Column::Area
            ]))
        );
        assert_eq!(
            read_csv("楼栋,单元,房号,面积,building\n".as_bytes()),
            Err(FileError::DuplicateColumn(Column::Building))
        );
        assert_eq!(read_csv(b"\xff\xfe\x00\xd8"), Err(FileError::Encoding));
        assert_eq!(read_xlsx(b"PK\x03\x04 not really"), Err(FileError::NotXlsx));
        let mut many = String::from(HEAD);
        for i in 0..=MAX_ROWS {
            many.push_str(&format!("1,1,{i},10\n"));
        }
        assert_eq!(read_csv(many.as_bytes()), Err(FileError::TooManyRows));
        let message = FileError::MissingColumns(vec![Column::Area]).message(Lang::En);
        assert!(message.contains("面积 (area)"), "{message}");
        assert!(FileError::TooManyRows.message(Lang::ZhCn).contains("20000"));
    }

    #[test]
    fn gbk_and_utf16_and_tabs() {
        let text = "楼栋,单元,房号,面积\n1号楼,1单元,101,89.50\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert!(std::str::from_utf8(&gbk).is_err());
        assert_eq!(read_csv(&gbk).unwrap(), csv(text));
        let mut utf16 = vec![0xff, 0xfe];
        for unit in text.replace(',', "\t").encode_utf16() {
            utf16.extend(unit.to_le_bytes());
        }
        assert_eq!(read_csv(&utf16).unwrap(), csv(text));
    }

    #[test]
    fn rows_become_owners() {
        let text = format!(
            "{HEAD}1号楼,1单元,101,89.5,测绘,,林美华,13812341234,{},是,仓山区住建局\n\
             1号楼,1单元,101,89.50,survey,person,陈建国,,,no,\n\
             1号楼,1单元,102,90,,开发建设单位,福州某置业有限公司,,,,\n\
             2号楼,1单元,201,100,,,,,,否,\n",
            id("35010419800101123")
        );
        let a = analyse_csv(&text);
        assert!(!a.report.has_errors(), "{:?}", a.report.rows);
        let s = &a.report.summary;
        assert_eq!((s.rows, s.ok, s.errors), (4, 4, 0));
        assert_eq!(
            (s.buildings_new, s.entrances_new, s.dwellings_new),
            (2, 2, 3)
        );
        assert_eq!((s.owners_new, s.owners_linked), (3, 0));
        let d101 = &a.plan.buildings[0].entrances[0].dwellings[0];
        assert_eq!(d101.area_centi_m2, 8950);
        assert_eq!(d101.area_source, AreaSource::Survey);
        assert_eq!(d101.owners.len(), 2);
        let lin = &d101.owners[0].owner;
        assert!(lin.party_member);
        assert_eq!(lin.phone.as_ref().unwrap().as_str(), "13812341234");
        assert_eq!(lin.employer.as_deref(), Some("仓山区住建局"));
        let dev = &a.plan.buildings[0].entrances[0].dwellings[1].owners[0].owner;
        assert_eq!(dev.kind, OwnerKind::Developer);
        assert!(
            a.plan.buildings[1].entrances[0].dwellings[0]
                .owners
                .is_empty()
        );
        assert_eq!(a.report.rows[0].line, 2);
        assert_eq!(a.report.rows[0].owner_action, Some(OwnerAction::New));
        assert_eq!(a.report.rows[3].owner_action, None);
        assert_eq!(a.report.rows[3].dwelling_action, Some(DwellingAction::New));
    }

    #[test]
    fn bad_names() {
        expect_error(
            &format!("{HEAD} ,1单元,101,10\n"),
            2,
            "building",
            "place.error.name_required",
            &[],
        );
        expect_error(
            &format!("{HEAD}1,{},101,10\n", "单".repeat(129)),
            2,
            "entrance",
            "place.error.name_too_long",
            &[],
        );
        expect_error(
            &format!("{HEAD}1,1,,10\n"),
            2,
            "dwelling",
            "place.error.name_required",
            &[],
        );
    }

    #[test]
    fn bad_areas() {
        expect_error(
            &format!("{HEAD}1,1,101,\n"),
            2,
            "area",
            "registry_import.error.area_required",
            &[],
        );
        for bad in ["0", "-5", "89.555", "abc", "99999999"] {
            expect_error(
                &format!("{HEAD}1,1,101,{bad}\n"),
                2,
                "area",
                "place.error.area",
                &[],
            );
        }
        expect_error(
            &format!("{HEAD}1,1,101,10,估算\n"),
            2,
            "area_source",
            "registry_import.error.area_source",
            &[],
        );
    }

    #[test]
    fn bad_owners() {
        expect_error(
            &format!("{HEAD}1,1,101,10,,法人,某公司\n"),
            2,
            "owner_kind",
            "registry_import.error.owner_kind",
            &[],
        );
        expect_error(
            &format!("{HEAD}1,1,101,10,,个人,,13812341234\n"),
            2,
            "owner",
            "registry_import.error.owner_required",
            &[],
        );
        expect_error(
            &format!("{HEAD}1,1,101,10,,,{}\n", "林".repeat(65)),
            2,
            "owner",
            "person.error.name",
            &[],
        );
        expect_error(
            &format!("{HEAD}1,1,101,10,,单位,{}\n", "林".repeat(129)),
            2,
            "owner",
            "registry_import.error.organisation_name",
            &[],
        );
        expect_error(
            &format!("{HEAD}1,1,101,10,,,林美华,1381234123\n"),
            2,
            "phone",
            "person.error.phone_format",
            &[],
        );
        // Found by the registry_import fuzz target: a phone shorter than
        // its own area code.
        expect_error(
            &format!("{HEAD}1,1,101,10,,,林美华,01\n"),
            2,
            "phone",
            "person.error.phone_format",
            &[],
        );
        expect_error(
            &format!("{HEAD}1,1,101,10,,,林美华,,350104198001011231x\n"),
            2,
            "id_number",
            "person.error.id_length",
            &[],
        );
        let mut wrong = id("35010419800101123");
        let last = if wrong.ends_with('0') { '1' } else { '0' };
        wrong.pop();
        wrong.push(last);
        expect_error(
            &format!("{HEAD}1,1,101,10,,,林美华,,{wrong}\n"),
            2,
            "id_number",
            "person.error.id_check_digit",
            &[],
        );
        expect_error(
            &format!("{HEAD}1,1,101,10,,,林美华,,,也许\n"),
            2,
            "party_member",
            "registry_import.error.party_member",
            &[],
        );
        expect_error(
            &format!("{HEAD}1,1,101,10,,,林美华,,,,{}\n", "单".repeat(129)),
            2,
            "employer",
            "registry_import.error.employer",
            &[],
        );
        expect_error(
            &format!("{HEAD}1,1,101,10,,开发建设单位,某置业,13812341234\n"),
            2,
            "phone",
            "registry_import.error.person_only",
            &[],
        );
        expect_error(
            &format!("{HEAD}1,1,101,10,,单位,某公司,,,是\n"),
            2,
            "party_member",
            "registry_import.error.person_only",
            &[],
        );
    }

    #[test]
    fn conflicts_between_rows() {
        expect_error(
            &format!("{HEAD}1,1,101,10,,,甲\n1,1,101,11,,,乙\n"),
            3,
            "area",
            "registry_import.error.area_conflict",
            &[("line", "2")],
        );
        expect_error(
            &format!("{HEAD}1,1,101,10,登记,,甲\n1,1,101,10,合同,,乙\n"),
            3,
            "area_source",
            "registry_import.error.area_source_conflict",
            &[("line", "2")],
        );
        expect_error(
            &format!("{HEAD}1,1,101,10,,,甲\n1,1,102,10\n1,1,101,10,,,甲\n"),
            4,
            "owner",
            "registry_import.error.duplicate_owner",
            &[("line", "2")],
        );
        let a = id("35010419800101123");
        expect_error(
            &format!("{HEAD}1,1,101,10,,,甲,,{a}\n1,1,101,10,,,甲乙,,{a}\n"),
            3,
            "owner",
            "registry_import.error.duplicate_owner",
            &[("line", "2")],
        );
        expect_error(
            &format!("{HEAD}1,1,101,10,,,甲,,{a}\n1,1,102,10,,,乙,,{a}\n"),
            3,
            "id_number",
            "registry_import.error.id_other_name",
            &[("line", "2")],
        );
        expect_error(
            &format!("{HEAD}1,1,101,10\n1,1,101,10\n"),
            3,
            "dwelling",
            "registry_import.error.duplicate_row",
            &[("line", "2")],
        );
        // Namesakes with different ID numbers co-own; one person owns two
        // dwellings; the same name in another dwelling is no conflict.
        let b = id("35010419900101123");
        let ok = analyse_csv(&format!(
            "{HEAD}1,1,101,10,,,甲,,{a}\n1,1,101,10,,,甲,,{b}\n1,1,102,10,,,甲,,{a}\n2,1,101,10,,,甲\n"
        ));
        assert!(!ok.report.has_errors(), "{:?}", ok.report.rows);
        // The same organisation name as a company and as the developer are two owners.
        let orgs = analyse_csv(&format!(
            "{HEAD}1,1,101,10,,单位,某公司\n1,1,101,10,,开发建设单位,某公司\n"
        ));
        assert!(!orgs.report.has_errors());
    }

    #[test]
    fn a_bad_row_does_not_block_the_next_row_of_its_dwelling() {
        let a = analyse_csv(&format!("{HEAD}1,1,101,abc,,,甲\n1,1,101,10,,,乙\n"));
        assert_eq!(a.report.summary.errors, 1);
        assert_eq!(a.report.rows[1].status, RowStatus::Ok);
        assert_eq!(
            a.plan.buildings[0].entrances[0].dwellings[0].area_centi_m2,
            1000
        );
    }

    fn existing() -> Existing {
        Existing {
            buildings: vec![ExistingBuilding {
                id: 1,
                name: "1号楼".into(),
                entrances: vec![ExistingEntrance {
                    id: 2,
                    name: "1单元".into(),
                    dwellings: vec![
                        ExistingDwelling {
                            id: 3,
                            name: "101".into(),
                            area: None,
                            owners: vec![ExistingOwner {
                                kind: OwnerKind::Person,
                                name: "林美华".into(),
                                id_digest: Some(identity(&id("35010419800101123"))),
                            }],
                        },
                        ExistingDwelling {
                            id: 4,
                            name: "102".into(),
                            area: Some((9000, AreaSource::Register)),
                            owners: vec![ExistingOwner {
                                kind: OwnerKind::Developer,
                                name: "某置业".into(),
                                id_digest: None,
                            }],
                        },
                        ExistingDwelling {
                            id: 5,
                            name: "103".into(),
                            area: Some((9000, AreaSource::Register)),
                            owners: vec![ExistingOwner {
                                kind: OwnerKind::Person,
                                name: "张伟".into(),
                                id_digest: None,
                            }],
                        },
                    ],
                }],
            }],
        }
    }

    #[test]
    fn plans_against_the_existing_tree() {
        let text = format!(
            "{HEAD}1号楼,1单元,101,89.5,,,林美华的新名字,,{}\n\
             1号楼,1单元,102,90,,开发建设单位,某置业\n\
             1号楼,1单元,102,90,,单位,某置业\n\
             1号楼,1单元,103,91,,,张伟,,{}\n\
             1号楼,2单元,201,50\n\
             3号楼,1单元,301,50\n",
            id("35010419800101123"),
            id("35010419900101123"),
        );
        let a = analyse(&csv(&text), &existing(), &identity, today());
        assert!(!a.report.has_errors(), "{:?}", a.report.rows);
        let b1 = &a.plan.buildings[0];
        assert_eq!(b1.existing, Some(1));
        assert_eq!(b1.entrances[0].existing, Some(2));
        assert_eq!(b1.entrances[1].existing, None);
        let ds = &b1.entrances[0].dwellings;
        assert_eq!(ds[0].existing, Some(3));
        assert_eq!(ds[0].area_change, AreaChange::Set);
        assert!(ds[0].owners[0].linked, "same ID number");
        assert_eq!(ds[1].area_change, AreaChange::Unchanged);
        assert!(ds[1].owners[0].linked);
        assert!(!ds[1].owners[1].linked, "a company is not the developer");
        assert_eq!(
            ds[2].area_change,
            AreaChange::Changed {
                from_centi_m2: 9000,
                from: AreaSource::Register
            }
        );
        assert!(ds[2].owners[0].linked, "same name, no digest recorded");
        assert_eq!(a.plan.buildings[1].existing, None);
        let s = &a.report.summary;
        assert_eq!((s.buildings_new, s.buildings_existing), (1, 1));
        assert_eq!((s.entrances_new, s.entrances_existing), (2, 1));
        assert_eq!((s.dwellings_new, s.dwellings_existing), (2, 3));
        assert_eq!(s.dwellings_area_changed, 2);
        assert_eq!((s.owners_new, s.owners_linked), (1, 3));
        assert_eq!(
            a.report.rows[0].dwelling_action,
            Some(DwellingAction::AreaSet)
        );
        assert_eq!(a.report.rows[1].owner_action, Some(OwnerAction::Linked));
        assert_eq!(
            a.report.rows[3].dwelling_action,
            Some(DwellingAction::AreaChanged)
        );
        assert!(a.plan.changes_anything());
    }

    #[test]
    fn the_template_is_the_chinese_header() {
        let t = template_csv();
        assert!(t.starts_with(
            "\u{feff}楼栋,单元,房号,面积,面积来源,业主类型,业主,电话,身份证号,党员,工作单位\r\n"
        ));
        assert_eq!(read_csv(t.as_bytes()), Err(FileError::NoRows));
    }

    // Random valid plans, written out and read back.

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{1,4}",
            "[1-9][0-9]?(号楼|单元|栋|幢)",
            "[A-Za-z][A-Za-z0-9 ,\"'-]{0,10}[A-Za-z0-9]",
            "[\u{4e00}-\u{9fa5}]{1,6}",
        ]
    }

    fn person_name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[\u{4e00}-\u{9fa5}]{2,4}",
            "[A-Z][a-z]{1,8} [A-Z][a-z]{1,8}"
        ]
    }

    fn id_number() -> impl Strategy<Value = IdNumber> {
        (100_000u32..1_000_000, 0i64..35_000, 0u32..1000).prop_map(|(region, days, seq)| {
            let birth = NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Duration::days(days);
            let body = format!("{region}{}{seq:03}", birth.format("%Y%m%d"));
            IdNumber::parse(&id(&body), today()).unwrap()
        })
    }

    fn phone() -> impl Strategy<Value = Phone> {
        prop_oneof![
            (3u8..10, "[0-9]{9}").prop_map(|(s, rest)| format!("1{s}{rest}")),
            ("0(10|2[0-9]|[3-9][0-9]{2})", "[2-9][0-9]{6,7}").prop_map(|(a, n)| format!("{a}-{n}")),
        ]
        .prop_map(|s| Phone::parse(&s).unwrap())
    }

    fn owner() -> impl Strategy<Value = Owner> {
        prop_oneof![
            (
                person_name(),
                proptest::option::of(phone()),
                proptest::option::of(id_number()),
                any::<bool>(),
                proptest::option::of("[\u{4e00}-\u{9fa5}]{2,12}"),
            )
                .prop_map(|(name, phone, id_number, party_member, employer)| Owner {
                    kind: OwnerKind::Person,
                    name,
                    phone,
                    id_number,
                    party_member,
                    employer,
                }),
            (
                prop_oneof![Just(OwnerKind::Company), Just(OwnerKind::Developer)],
                "[\u{4e00}-\u{9fa5}]{2,8}(有限公司|置业)"
            )
                .prop_map(|(kind, name)| Owner {
                    kind,
                    name,
                    phone: None,
                    id_number: None,
                    party_member: false,
                    employer: None,
                }),
        ]
    }

    fn area_source() -> impl Strategy<Value = AreaSource> {
        prop_oneof![
            Just(AreaSource::Register),
            Just(AreaSource::Survey),
            Just(AreaSource::Contract)
        ]
    }

    fn unique_by_name<T>(items: Vec<T>, name: impl Fn(&T) -> &str) -> Vec<T> {
        let mut seen = std::collections::HashSet::new();
        items
            .into_iter()
            .filter(|i| seen.insert(name(i).to_string()))
            .collect()
    }

    /// Owners of one dwelling, none the same as another; an ID number keeps
    /// one name over the whole plan (`names`).
    fn fix_owners(owners: Vec<Owner>, names: &mut HashMap<String, String>) -> Vec<OwnerPlan> {
        let mut kept: Vec<Owner> = Vec::new();
        for mut o in owners {
            if let Some(id) = &o.id_number {
                o.name = names
                    .entry(id.as_str().to_string())
                    .or_insert_with(|| o.name.clone())
                    .clone();
            }
            if !kept.iter().any(|k| k.same_as(&o)) {
                kept.push(o);
            }
        }
        kept.into_iter()
            .map(|owner| OwnerPlan {
                owner,
                linked: false,
            })
            .collect()
    }

    fn plan() -> impl Strategy<Value = Plan> {
        let dwelling = (
            name(),
            1i64..=rules::MAX_AREA_CENTI_M2,
            area_source(),
            proptest::collection::vec(owner(), 0..4),
        );
        let entrance = (name(), proptest::collection::vec(dwelling, 1..4));
        let building = (name(), proptest::collection::vec(entrance, 1..3));
        (
            proptest::collection::vec(building, 1..4),
            proptest::collection::vec(owner(), 1..3),
        )
            .prop_map(|(buildings, shared)| {
                let mut names = HashMap::new();
                let mut plan = Plan::default();
                for (bi, (bname, entrances)) in
                    unique_by_name(buildings, |b| &b.0).into_iter().enumerate()
                {
                    let mut bp = BuildingPlan {
                        name: bname,
                        existing: None,
                        entrances: Vec::new(),
                    };
                    for (ename, dwellings) in unique_by_name(entrances, |e| &e.0) {
                        let mut ep = EntrancePlan {
                            name: ename,
                            existing: None,
                            dwellings: Vec::new(),
                        };
                        for (di, (dname, area, source, mut owners)) in
                            unique_by_name(dwellings, |d| &d.0).into_iter().enumerate()
                        {
                            // Some owners hold a dwelling in several buildings.
                            if di == 0 && bi > 0 {
                                owners.extend(shared.iter().cloned());
                            }
                            ep.dwellings.push(DwellingPlan {
                                name: dname,
                                existing: None,
                                area_centi_m2: area,
                                area_source: source,
                                area_change: AreaChange::New,
                                owners: fix_owners(owners, &mut names),
                            });
                        }
                        bp.entrances.push(ep);
                    }
                    plan.buildings.push(bp);
                }
                plan
            })
    }

    fn read_back(table: &Table) -> Plan {
        let a = analyse(table, &Existing::default(), &identity, today());
        assert!(
            !a.report.has_errors(),
            "{:?}",
            a.report.rows.iter().find(|r| !r.errors.is_empty())
        );
        a.plan
    }

    fn xlsx(lang: Lang, rows: &[[String; 11]]) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in headers(lang).iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32 + 1, c as u16);
                // Areas typed as numbers, as a person would.
                match (c, cell.parse::<f64>()) {
                    (3, Ok(n)) => sheet.write_number(r, c, n).unwrap(),
                    _ => sheet.write_string(r, c, cell).unwrap(),
                };
            }
        }
        book.save_to_buffer().unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn a_written_plan_reads_back_the_same(plan in plan(), english in any::<bool>(), gbk in any::<bool>()) {
            let lang = if english { Lang::En } else { Lang::ZhCn };
            let rows = plan_rows(&plan, lang);
            let text = to_csv(lang, &rows);
            prop_assert_eq!(&read_back(&csv(&text)), &plan);
            // A GBK file is told from UTF-8 by its Chinese headers.
            if gbk && !english {
                let (bytes, _, unmappable) = encoding_rs::GB18030.encode(text.trim_start_matches('\u{feff}'));
                prop_assert!(!unmappable);
                prop_assert_eq!(&read_back(&read_csv(&bytes).unwrap()), &plan);
            }
        }

        #[test]
        fn a_written_workbook_reads_back_the_same(plan in plan()) {
            let rows = plan_rows(&plan, Lang::ZhCn);
            let table = read_xlsx(&xlsx(Lang::ZhCn, &rows)).unwrap();
            prop_assert_eq!(table.rows[0].line, 2);
            prop_assert_eq!(&read_back(&table), &plan);
        }
    }
}
