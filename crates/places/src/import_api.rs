//! Handlers of the registry import: `POST /api/v1/places/{id}/registry-import`
//! with the file as the body, and the page `/places/{id}/import` with an
//! upload form.

use askama::Template;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::User;
use jinlin_kernel::error::{ErrorBody, ErrorDetail};
use jinlin_kernel::i18n::{self, Lang};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{ApiJson, ApiQuery, AppState, Ctx, PageError};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api;
use crate::registry_apply::{self, Applied};
use crate::registry_import::{
    self, Column, DwellingAction, FileError, FileFormat, OwnerAction, Report, RowStatus,
};

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(registry_import))
}

pub fn page_router() -> Router<AppState> {
    Router::new()
        .route("/places/{id}/import", get(form).post(upload))
        .route("/places/{id}/import/template.csv", get(template))
}

/// Whether an import only checks the file or also writes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Check every row and report; write nothing.
    #[default]
    DryRun,
    /// Check every row; when all are right, write them in one transaction.
    Apply,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ModeQuery {
    /// `dry_run` (the default) or `apply`.
    pub mode: Option<Mode>,
}

/// The answer to an import that was checked (and, for `apply`, written).
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportOutcome {
    pub mode: Mode,
    /// Whether anything was written (only `apply`; nothing is written when
    /// a row is wrong).
    pub applied: bool,
    pub report: Report,
    /// What was written, for an applied import.
    pub counts: Option<Applied>,
}

/// An `apply` refused because rows are wrong: the error, and the report
/// naming every wrong row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRefused {
    pub error: ErrorDetail,
    /// Only when rows are wrong; a file that cannot be read has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
}

/// Why an import did not go through.
pub enum ImportError {
    /// Not found, forbidden, the database…
    Api(ApiError),
    /// The file as a whole cannot be read.
    File(FileError),
    /// Some rows are wrong: nothing was written.
    Rows(Report),
}

impl From<ApiError> for ImportError {
    fn from(e: ApiError) -> Self {
        ImportError::Api(e)
    }
}

impl From<sea_orm::DbErr> for ImportError {
    fn from(e: sea_orm::DbErr) -> Self {
        ImportError::Api(e.into())
    }
}

fn file_error(e: &FileError) -> ApiError {
    ApiError::with_message(
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_file",
        e.message(i18n::current()),
    )
}

/// The compound a user may import into: 404 if they cannot see it, 403 if
/// they cannot change it, 422 if it is not a compound.
pub async fn import_target(
    db: &impl ConnectionTrait,
    user: &User,
    id: i64,
) -> Result<place::Model, ApiError> {
    let p = api::editable_place(db, user, id).await?;
    if p.kind != PlaceKind::Compound.as_str() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "import_not_compound",
        ));
    }
    Ok(p)
}

/// A checked import: the report, and what was written if it was applied.
pub struct Done {
    pub report: Report,
    pub applied: Option<Applied>,
}

/// Reads the file, checks it against the compound's registry and, for
/// `apply` when every row is right, writes it in one transaction.
pub async fn run(
    state: &AppState,
    user: &User,
    id: i64,
    bytes: Bytes,
    format: FileFormat,
    mode: Mode,
) -> Result<Done, ImportError> {
    let table = tokio::task::spawn_blocking(move || registry_import::read(&bytes, format))
        .await
        .map_err(ApiError::internal)?
        .map_err(ImportError::File)?;
    let secrets = state.secrets.clone();
    let digest = move |id_number: &str| secrets.digest(id_number);
    let today = Utc::now().date_naive();
    match mode {
        Mode::DryRun => {
            let db = state.db.conn();
            let compound = import_target(db, user, id).await?;
            let ground = registry_apply::load(db, compound.id).await?;
            let analysis = registry_import::analyse(&table, &ground.existing, &digest, today);
            Ok(Done {
                report: analysis.report,
                applied: None,
            })
        }
        Mode::Apply => {
            let tx = state.db.write().await?;
            let compound = import_target(&tx, user, id).await?;
            let ground = registry_apply::load(&tx, compound.id).await?;
            let analysis = registry_import::analyse(&table, &ground.existing, &digest, today);
            if analysis.report.has_errors() {
                return Err(ImportError::Rows(analysis.report));
            }
            let applied = registry_apply::apply(
                &tx,
                &state.secrets,
                user,
                &compound,
                &ground,
                &analysis.plan,
                &analysis.report.summary,
                format.as_str(),
            )
            .await?;
            tx.commit().await?;
            Ok(Done {
                report: analysis.report,
                applied: Some(applied),
            })
        }
    }
}

/// The server's body limit in MB, for messages.
fn limit_mib(state: &AppState) -> String {
    let mib = state.config.max_body_bytes as f64 / (1024.0 * 1024.0);
    let text = format!("{mib:.1}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

fn too_large(state: &AppState) -> ApiError {
    ApiError::with_message(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        i18n::current().tf(
            "registry_import.file.too_large",
            &[("mib", &limit_mib(state))],
        ),
    )
}

/// Checks a compound's buildings, entrances, dwellings and owners from a CSV
/// or Excel file and, with `mode=apply`, records them.
///
/// The body is the file itself: `text/csv` (UTF-8 with or without BOM, or
/// GB18030/GBK) or an .xlsx workbook (first sheet). One row per (dwelling,
/// owner); headers in Chinese or English: 楼栋/building, 单元/entrance,
/// 房号/dwelling, 面积/area (required), 面积来源/area_source,
/// 业主类型/owner_kind, 业主/owner, 电话/phone, 身份证号/id_number,
/// 党员/party_member, 工作单位/employer. At most 20,000 data rows, within
/// the server's body limit. The report lists every row with its messages
/// in Chinese and English. `apply` writes nothing unless every row is
/// right, and leaves owners already recorded as they are.
#[utoipa::path(post, path = "/places/{id}/registry-import", tag = "places",
    params(("id" = i64, Path, description = "Compound id"), ModeQuery),
    request_body(description = "The CSV or .xlsx file", content(
        ("text/csv"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )),
    responses(
        (status = 200, description = "Checked (and applied, for mode=apply)", body = ImportOutcome),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "The file cannot be read (error only), or rows are wrong \
            (error and report; nothing written)", body = ImportRefused),
    ))]
async fn registry_import(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ModeQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    import_target(state.db.conn(), &user, id).await?;
    let format = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(FileFormat::from_media_type)
        .ok_or_else(|| ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "import_media_type"))?;
    let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .map_err(|_| too_large(&state))?;
    let mode = q.mode.unwrap_or_default();
    match run(&state, &user, id, bytes, format, mode).await {
        Ok(done) => Ok(ApiJson(ImportOutcome {
            mode,
            applied: done.applied.is_some(),
            report: done.report,
            counts: done.applied,
        })
        .into_response()),
        Err(ImportError::Api(e)) => Err(e),
        Err(ImportError::File(e)) => Err(file_error(&e)),
        Err(ImportError::Rows(report)) => {
            let e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "import_rows_invalid");
            let body = ImportRefused {
                error: ErrorDetail {
                    code: e.code.to_string(),
                    message: e.message,
                },
                report: Some(report),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, ApiJson(body)).into_response())
        }
    }
}

struct ColumnDoc {
    zh: &'static str,
    en: &'static str,
    required: bool,
    meaning: String,
}

/// A report row as shown on the page.
struct ShownRow {
    line: u64,
    ok: bool,
    status: String,
    building: String,
    entrance: String,
    dwelling: String,
    owner: String,
    notes: Vec<String>,
}

/// Rows listed when every row is right; beyond this only wrong rows are.
const LISTED_OK_ROWS: usize = 1000;

#[derive(Template)]
#[template(path = "registry_import.html")]
struct ImportPage<'a> {
    lang: Lang,
    compound: &'a place::Model,
    csrf: &'a str,
    mode: Mode,
    columns: Vec<ColumnDoc>,
    limit_mib: String,
    error: Option<String>,
    notice: Option<String>,
    summary: Vec<String>,
    rows: Vec<ShownRow>,
    unlisted: usize,
    /// Between the notes of a row.
    sep: &'static str,
}

struct Shown {
    error: Option<String>,
    notice: Option<String>,
    report: Option<Report>,
}

fn render(
    ctx: &Ctx,
    state: &AppState,
    compound: &place::Model,
    mode: Mode,
    status: StatusCode,
    shown: Shown,
) -> Response {
    let lang = ctx.lang;
    let columns = Column::ALL
        .into_iter()
        .map(|c| ColumnDoc {
            zh: c.zh(),
            en: c.key(),
            required: c.required(),
            meaning: lang.t(&c.description_key()).into_owned(),
        })
        .collect();
    let mut summary = Vec::new();
    let mut rows = Vec::new();
    let mut unlisted = 0;
    if let Some(report) = &shown.report {
        let s = &report.summary;
        let n = |v: u64| v.to_string();
        summary.push(lang.tf(
            "registry_import.summary_rows",
            &[
                ("rows", &n(s.rows)),
                ("ok", &n(s.ok)),
                ("errors", &n(s.errors)),
            ],
        ));
        summary.push(lang.tf(
            "registry_import.summary_places",
            &[
                ("buildings_new", &n(s.buildings_new)),
                ("buildings_existing", &n(s.buildings_existing)),
                ("entrances_new", &n(s.entrances_new)),
                ("entrances_existing", &n(s.entrances_existing)),
                ("dwellings_new", &n(s.dwellings_new)),
                ("dwellings_existing", &n(s.dwellings_existing)),
                ("area_changed", &n(s.dwellings_area_changed)),
                ("owners_new", &n(s.owners_new)),
                ("owners_linked", &n(s.owners_linked)),
            ],
        ));
        if !report.ignored_columns.is_empty() {
            let sep = if lang == Lang::ZhCn { "、" } else { ", " };
            summary.push(lang.tf(
                "registry_import.ignored_columns",
                &[("columns", &report.ignored_columns.join(sep))],
            ));
        }
        let list_ok = report.rows.len() <= LISTED_OK_ROWS;
        for r in &report.rows {
            let ok = r.status == RowStatus::Ok;
            if ok && !list_ok {
                unlisted += 1;
                continue;
            }
            let notes = if ok {
                let dwelling = r.dwelling_action.map(|a| match a {
                    DwellingAction::New => "registry_import.dwelling_action.new",
                    DwellingAction::AreaSet => "registry_import.dwelling_action.area_set",
                    DwellingAction::AreaChanged => "registry_import.dwelling_action.area_changed",
                    DwellingAction::Unchanged => "registry_import.dwelling_action.unchanged",
                });
                let owner = r.owner_action.map(|a| match a {
                    OwnerAction::New => "registry_import.owner_action.new",
                    OwnerAction::Linked => "registry_import.owner_action.linked",
                });
                [dwelling, owner]
                    .into_iter()
                    .flatten()
                    .map(|key| lang.t(key).into_owned())
                    .collect()
            } else {
                r.errors
                    .iter()
                    .map(|m| format!("{}: {}", header_of(&m.field, lang), m.text(lang)))
                    .collect()
            };
            rows.push(ShownRow {
                line: r.line,
                ok,
                status: lang
                    .t(if ok {
                        "registry_import.status.ok"
                    } else {
                        "registry_import.status.error"
                    })
                    .into_owned(),
                building: r.building.clone(),
                entrance: r.entrance.clone(),
                dwelling: r.dwelling.clone(),
                owner: r.owner.clone().unwrap_or_default(),
                notes,
            });
        }
    }
    let title = lang.tf("registry_import.title", &[("name", &compound.name)]);
    let body = ImportPage {
        lang,
        compound,
        csrf: ctx.csrf(),
        mode,
        columns,
        limit_mib: limit_mib(state),
        error: shown.error,
        notice: shown.notice,
        summary,
        rows,
        unlisted,
        sep: if lang == Lang::ZhCn { "；" } else { "; " },
    };
    ctx.page_with_status(status, &title, body)
}

/// The header of a column in `lang`, for messages on the page.
fn header_of(field: &str, lang: Lang) -> String {
    Column::ALL
        .into_iter()
        .find(|c| c.key() == field)
        .map(|c| c.header(lang).to_string())
        .unwrap_or_else(|| field.to_string())
}

async fn form(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let compound = import_target(state.db.conn(), &user, id).await?;
    Ok(render(
        &ctx,
        &state,
        &compound,
        Mode::DryRun,
        StatusCode::OK,
        Shown {
            error: None,
            notice: None,
            report: None,
        },
    ))
}

/// The CSV template: the Chinese header row, UTF-8 with a BOM.
async fn template(
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    import_target(state.db.conn(), &user, id).await?;
    let mut response = registry_import::template_csv().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(
            "attachment; filename=\"registry-import.csv\"; filename*=UTF-8''%E6%88%BF%E5%B1%8B%E4%B8%9A%E4%B8%BB%E5%AF%BC%E5%85%A5.csv",
        ),
    );
    Ok(response)
}

/// The fields of the upload form.
#[derive(Default)]
struct Upload {
    csrf: Option<String>,
    mode: Mode,
    file_name: Option<String>,
    file: Option<Bytes>,
}

async fn read_upload(state: &AppState, mut multipart: Multipart) -> Result<Upload, PageError> {
    let mut upload = Upload::default();
    let failed = |e: axum::extract::multipart::MultipartError| -> PageError {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(state).into()
        } else {
            ApiError::malformed_upload().into()
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(failed)? {
        match field.name() {
            Some("csrf") => upload.csrf = Some(field.text().await.map_err(failed)?),
            Some("mode") => {
                let value = field.text().await.map_err(failed)?;
                upload.mode = if value == "apply" {
                    Mode::Apply
                } else {
                    Mode::DryRun
                };
            }
            Some("file") => {
                upload.file_name = field.file_name().map(str::to_string);
                upload.file = Some(field.bytes().await.map_err(failed)?);
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// The format of an uploaded file: by its name's extension, else by its
/// first bytes.
fn format_of(file_name: Option<&str>, bytes: &[u8]) -> FileFormat {
    let lower = file_name.unwrap_or("").to_ascii_lowercase();
    if lower.ends_with(".xlsx") {
        FileFormat::Xlsx
    } else if lower.ends_with(".csv") || lower.ends_with(".txt") {
        FileFormat::Csv
    } else {
        FileFormat::sniff(bytes)
    }
}

async fn upload(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let multipart = multipart.map_err(|_| PageError::from(ApiError::malformed_upload()))?;
    let upload = read_upload(&state, multipart).await?;
    user.check_csrf(upload.csrf.as_deref())?;
    let compound = import_target(state.db.conn(), &user, id).await?;
    let lang = ctx.lang;
    let refuse = |message: String| {
        render(
            &ctx,
            &state,
            &compound,
            upload.mode,
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                error: Some(message),
                notice: None,
                report: None,
            },
        )
    };
    let bytes = match upload.file {
        Some(bytes)
            if !bytes.is_empty() || upload.file_name.as_deref().is_some_and(|n| !n.is_empty()) =>
        {
            bytes
        }
        _ => return Ok(refuse(lang.t("registry_import.file.missing").into_owned())),
    };
    let format = format_of(upload.file_name.as_deref(), &bytes);
    match run(&state, &user, id, bytes, format, upload.mode).await {
        Ok(done) => {
            let notice = match &done.applied {
                Some(a) => lang.tf(
                    "registry_import.applied",
                    &[
                        ("buildings", &a.buildings_created.to_string()),
                        ("entrances", &a.entrances_created.to_string()),
                        ("dwellings", &a.dwellings_created.to_string()),
                        ("updated", &a.dwellings_updated.to_string()),
                        ("owners", &a.owners_added.to_string()),
                        ("people", &a.people_created.to_string()),
                    ],
                ),
                None if done.report.has_errors() => {
                    lang.t("registry_import.has_errors").into_owned()
                }
                None => lang.t("registry_import.dry_run_done").into_owned(),
            };
            Ok(render(
                &ctx,
                &state,
                &compound,
                upload.mode,
                StatusCode::OK,
                Shown {
                    error: None,
                    notice: Some(notice),
                    report: Some(done.report),
                },
            ))
        }
        Err(ImportError::File(e)) => Ok(refuse(e.message(lang))),
        Err(ImportError::Rows(report)) => Ok(render(
            &ctx,
            &state,
            &compound,
            upload.mode,
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                error: Some(lang.t("registry_import.has_errors").into_owned()),
                notice: None,
                report: Some(report),
            },
        )),
        Err(ImportError::Api(e)) => Err(e.into()),
    }
}
