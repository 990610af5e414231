//! Pages: signing in and out, the account page (roles, password, API
//! tokens), invitations and the audit log viewer. Every form that changes
//! something carries a CSRF token.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, FromRequest, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::CookieJar;
use chrono::Utc;
use jinlin_kernel::auth::{MaybePrincipal, Principal, Role, User};
use jinlin_kernel::web::{AppState, Ctx, PageError};
use jinlin_kernel::{ApiError, Lang, i18n};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::common::{
    self, Client, LoginLimiter, carried_session, login_csrf, login_csrf_ok, session_cookie,
    without_session,
};
use crate::rules;
use crate::service::{self, AuditQuery};
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .route("/invitations", get(invitations).post(create_invitation))
        .route("/invite/{token}", get(invite_form).post(accept_invitation))
        .route("/admin/audit", get(audit))
}

/// `axum::Form` whose rejection is a page in the visitor's language.
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Form::<T>::from_request(req, state).await {
            Ok(Form(value)) => Ok(PageForm(value)),
            Err(rejection) => {
                let status = match rejection {
                    FormRejection::InvalidFormContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ref other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        StatusCode::PAYLOAD_TOO_LARGE
                    }
                    _ => StatusCode::BAD_REQUEST,
                };
                Err(PageError {
                    status,
                    message: i18n::current().t("accounts.error.form").into_owned(),
                    retry_after: None,
                })
            }
        }
    }
}

#[derive(Template)]
#[template(path = "accounts/message.html")]
struct MessagePage<'a> {
    lang: Lang,
    title: &'a str,
    message: &'a str,
}

/// An error as a page, keeping the visitor's header (signed in or not).
fn error_page(ctx: &Ctx, error: ApiError) -> Response {
    let title = ctx.lang.t("error.page_title");
    ctx.page_with_status(
        error.status,
        &title,
        MessagePage {
            lang: ctx.lang,
            title: &title,
            message: &error.message,
        },
    )
}

fn session_csrf_ok(user: &Principal, sent: &str) -> bool {
    user.csrf_token()
        .is_some_and(|token| rules::same_secret(token, sent))
}

fn role_name(lang: Lang, role: Role) -> String {
    lang.t(&role.label_key()).into_owned()
}

// ---- signing in and out ----

#[derive(Template)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    lang: Lang,
    csrf: String,
    next: String,
    username: String,
    message: Option<String>,
    signed_in_as: Option<String>,
}

fn login_page(ctx: &Ctx, status: StatusCode, page: LoginPage) -> Response {
    ctx.page_with_status(status, &ctx.lang.t("auth.login"), page)
}

#[derive(Deserialize, Default)]
struct NextQuery {
    next: Option<String>,
}

fn query<T: DeserializeOwned + Default>(raw: Option<String>) -> T {
    raw.and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default()
}

async fn login_form(ctx: Ctx, jar: CookieJar, RawQuery(raw): RawQuery) -> Response {
    let next: NextQuery = query(raw);
    let (jar, csrf) = login_csrf(jar);
    let signed_in_as = ctx.user.as_ref().map(|u| {
        ctx.lang
            .tf("accounts.login.signed_in_as", &[("name", &u.display_name)])
    });
    let page = LoginPage {
        lang: ctx.lang,
        csrf,
        next: rules::local_path(next.next.as_deref()),
        username: String::new(),
        message: None,
        signed_in_as,
    };
    (jar, login_page(&ctx, StatusCode::OK, page)).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginForm {
    csrf: String,
    next: String,
    username: String,
    password: String,
}

async fn login(
    ctx: Ctx,
    State(state): State<AppState>,
    Extension(limiter): Extension<Arc<LoginLimiter>>,
    client: Client,
    jar: CookieJar,
    PageForm(form): PageForm<LoginForm>,
) -> Response {
    if !login_csrf_ok(&jar, &form.csrf) {
        return error_page(&ctx, common::csrf_failed());
    }
    let carried = carried_session(&jar);
    let next = rules::local_path(Some(&form.next));
    match service::sign_in(
        &state,
        &limiter,
        &client,
        &form.username,
        &form.password,
        carried.as_deref(),
    )
    .await
    {
        Ok(signed_in) => {
            let jar = jar
                .add(session_cookie(signed_in.session.token))
                .remove(common::login_csrf_cookie(String::new()));
            (jar, Redirect::to(&next)).into_response()
        }
        Err(e) if matches!(e.code, "bad_credentials" | "locked" | "throttled") => {
            let status = if e.status == StatusCode::TOO_MANY_REQUESTS {
                e.status
            } else {
                StatusCode::OK
            };
            let page = LoginPage {
                lang: ctx.lang,
                csrf: form.csrf,
                next,
                username: form.username.trim().chars().take(64).collect(),
                message: Some(e.message),
                signed_in_as: None,
            };
            login_page(&ctx, status, page)
        }
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    ctx: Ctx,
    State(state): State<AppState>,
    MaybePrincipal(principal): MaybePrincipal,
    client: Client,
    jar: CookieJar,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    let Some(principal) = principal else {
        return (without_session(jar), Redirect::to("/")).into_response();
    };
    if !session_csrf_ok(&principal, &form.csrf) {
        return error_page(&ctx, common::csrf_failed());
    }
    let carried = carried_session(&jar);
    match service::sign_out(&state, &principal, &client, carried.as_deref()).await {
        Ok(()) => (without_session(jar), Redirect::to("/")).into_response(),
        Err(e) => error_page(&ctx, e),
    }
}

// ---- the account page ----

struct RoleRow {
    role: String,
    place_id: i64,
    place_name: String,
}

struct TokenRow {
    id: i64,
    name: String,
    access: String,
    created: String,
    last_used: String,
    revoke_label: String,
}

struct ShownToken {
    notice: String,
    token: String,
}

#[derive(Template)]
#[template(path = "accounts/account.html")]
struct AccountPage {
    lang: Lang,
    csrf: String,
    display_name: String,
    username_line: String,
    roles: Vec<RoleRow>,
    can_invite: bool,
    can_audit: bool,
    notice: Option<String>,
    password_error: Option<String>,
    tokens: Vec<TokenRow>,
    new_token: Option<ShownToken>,
    token_error: Option<String>,
    token_name: String,
}

/// What an account page shows beyond the account itself.
#[derive(Default)]
struct AccountExtras {
    notice: Option<String>,
    password_error: Option<String>,
    new_token: Option<ShownToken>,
    token_error: Option<String>,
    token_name: String,
}

async fn account_page(
    ctx: &Ctx,
    state: &AppState,
    user: &Principal,
    status: StatusCode,
    extras: AccountExtras,
) -> Response {
    let lang = ctx.lang;
    let tokens = match store::live_tokens(state.db.conn(), user.account_id).await {
        Ok(tokens) => tokens,
        Err(e) => return error_page(ctx, e.into()),
    };
    let never = lang.t("accounts.tokens.never").into_owned();
    let page = AccountPage {
        lang,
        csrf: user.csrf_token().unwrap_or_default().to_string(),
        display_name: user.display_name.clone(),
        username_line: lang.tf("accounts.account.username", &[("username", &user.username)]),
        roles: user
            .grants
            .iter()
            .map(|g| RoleRow {
                role: role_name(lang, g.role),
                place_id: g.place.id,
                place_name: g.place_name.clone(),
            })
            .collect(),
        can_invite: !rules::invitable_roles(user).is_empty(),
        can_audit: rules::audit_reach(user).is_some(),
        notice: extras.notice,
        password_error: extras.password_error,
        tokens: tokens
            .into_iter()
            .map(|t| TokenRow {
                id: t.id,
                access: lang
                    .t(if t.can_write {
                        "accounts.tokens.write"
                    } else {
                        "accounts.tokens.read"
                    })
                    .into_owned(),
                created: rules::local_time(t.created_at),
                last_used: t
                    .last_used_at
                    .map(rules::local_time)
                    .unwrap_or_else(|| never.clone()),
                revoke_label: lang.tf("accounts.tokens.revoke_named", &[("name", &t.name)]),
                name: t.name,
            })
            .collect(),
        new_token: extras.new_token,
        token_error: extras.token_error,
        token_name: extras.token_name,
    };
    ctx.page_with_status(status, &lang.t("accounts.account.title"), page)
}

async fn account(ctx: Ctx, State(state): State<AppState>, user: User) -> Response {
    account_page(
        &ctx,
        &state,
        &user,
        StatusCode::OK,
        AccountExtras::default(),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    confirm: String,
}

async fn change_password(
    ctx: Ctx,
    State(state): State<AppState>,
    user: User,
    client: Client,
    jar: CookieJar,
    PageForm(form): PageForm<PasswordForm>,
) -> Response {
    if !session_csrf_ok(&user, &form.csrf) {
        return error_page(&ctx, common::csrf_failed());
    }
    let failed = |message| AccountExtras {
        password_error: Some(message),
        ..Default::default()
    };
    if form.new != form.confirm {
        let message = ctx.lang.t("accounts.error.password_mismatch").into_owned();
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return account_page(&ctx, &state, &user, status, failed(message)).await;
    }
    let keep = carried_session(&jar);
    match service::change_password(
        &state,
        &user,
        &client,
        &form.current,
        &form.new,
        keep.as_deref(),
    )
    .await
    {
        Ok(()) => {
            let extras = AccountExtras {
                notice: Some(ctx.lang.t("accounts.password.changed").into_owned()),
                ..Default::default()
            };
            account_page(&ctx, &state, &user, StatusCode::OK, extras).await
        }
        Err(e) if e.status.is_client_error() => {
            account_page(&ctx, &state, &user, e.status, failed(e.message)).await
        }
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenForm {
    csrf: String,
    name: String,
    access: String,
}

async fn create_token(
    ctx: Ctx,
    State(state): State<AppState>,
    user: User,
    client: Client,
    PageForm(form): PageForm<TokenForm>,
) -> Response {
    if !session_csrf_ok(&user, &form.csrf) {
        return error_page(&ctx, common::csrf_failed());
    }
    let can_write = form.access == "write";
    match service::create_token(&state, &user, &client, &form.name, can_write).await {
        Ok(created) => {
            let extras = AccountExtras {
                new_token: Some(ShownToken {
                    notice: ctx
                        .lang
                        .tf("accounts.tokens.shown_once", &[("name", &created.name)]),
                    token: created.token,
                }),
                ..Default::default()
            };
            account_page(&ctx, &state, &user, StatusCode::CREATED, extras).await
        }
        Err(e) if e.status.is_client_error() => {
            let extras = AccountExtras {
                token_error: Some(e.message),
                token_name: form.name.chars().take(64).collect(),
                ..Default::default()
            };
            account_page(&ctx, &state, &user, e.status, extras).await
        }
        Err(e) => error_page(&ctx, e),
    }
}

async fn revoke_token(
    ctx: Ctx,
    State(state): State<AppState>,
    user: User,
    client: Client,
    Path(id): Path<String>,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    if !session_csrf_ok(&user, &form.csrf) {
        return error_page(&ctx, common::csrf_failed());
    }
    let Ok(id) = id.parse::<i64>() else {
        return error_page(&ctx, ApiError::not_found());
    };
    match service::revoke_token(&state, &user, &client, id).await {
        Ok(()) => Redirect::to("/account").into_response(),
        Err(e) => error_page(&ctx, e),
    }
}

// ---- invitations ----

struct RoleChoice {
    code: &'static str,
    label: String,
    selected: bool,
}

struct SentRow {
    invitee: String,
    role: String,
    place: String,
    status: String,
    expires: String,
}

struct CreatedLink {
    notice: String,
    link: String,
}

#[derive(Template)]
#[template(path = "accounts/invitations.html")]
struct InvitationsPage {
    lang: Lang,
    csrf: String,
    roles: Vec<RoleChoice>,
    place_id: String,
    invitee_name: String,
    error: Option<String>,
    created: Option<CreatedLink>,
    sent: Vec<SentRow>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InvitationForm {
    csrf: String,
    role: String,
    place_id: String,
    invitee_name: String,
}

async fn invitations_page(
    ctx: &Ctx,
    state: &AppState,
    user: &Principal,
    status: StatusCode,
    form: InvitationForm,
    error: Option<String>,
    created: Option<CreatedLink>,
) -> Response {
    let lang = ctx.lang;
    let conn = state.db.conn();
    let sent = match store::invitations_by(conn, user.account_id).await {
        Ok(sent) => sent,
        Err(e) => return error_page(ctx, e.into()),
    };
    let names = match store::place_names(conn, sent.iter().map(|i| i.place_id)).await {
        Ok(names) => names,
        Err(e) => return error_page(ctx, e.into()),
    };
    let now = Utc::now();
    let page = InvitationsPage {
        lang,
        csrf: user.csrf_token().unwrap_or_default().to_string(),
        roles: rules::invitable_roles(user)
            .into_iter()
            .map(|r| RoleChoice {
                code: r.as_str(),
                label: role_name(lang, r),
                selected: r.as_str() == form.role,
            })
            .collect(),
        place_id: form.place_id,
        invitee_name: form.invitee_name,
        error,
        created,
        sent: sent
            .into_iter()
            .map(|i| SentRow {
                role: Role::parse(&i.role)
                    .map(|r| role_name(lang, r))
                    .unwrap_or_else(|| i.role.clone()),
                place: names
                    .get(&i.place_id)
                    .cloned()
                    .unwrap_or_else(|| i.place_id.to_string()),
                status: lang
                    .t(&rules::invitation_status(i.expires_at, i.accepted_at, now).label_key())
                    .into_owned(),
                expires: rules::local_time(i.expires_at),
                invitee: i.invitee_name,
            })
            .collect(),
    };
    ctx.page_with_status(status, &lang.t("accounts.invitations.title"), page)
}

async fn invitations(ctx: Ctx, State(state): State<AppState>, user: User) -> Response {
    invitations_page(
        &ctx,
        &state,
        &user,
        StatusCode::OK,
        InvitationForm::default(),
        None,
        None,
    )
    .await
}

async fn create_invitation(
    ctx: Ctx,
    State(state): State<AppState>,
    user: User,
    client: Client,
    PageForm(form): PageForm<InvitationForm>,
) -> Response {
    if !session_csrf_ok(&user, &form.csrf) {
        return error_page(&ctx, common::csrf_failed());
    }
    let Some(place_id) = form
        .place_id
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
    else {
        let message = ctx.lang.t("accounts.error.place_id").into_owned();
        return invitations_page(
            &ctx,
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            Some(message),
            None,
        )
        .await;
    };
    match service::create_invitation(
        &state,
        &user,
        &client,
        &form.role,
        place_id,
        &form.invitee_name,
    )
    .await
    {
        Ok(created) => {
            let link = CreatedLink {
                notice: ctx.lang.tf(
                    "accounts.invitations.created",
                    &[("name", &created.invitee_name)],
                ),
                link: format!("/invite/{}", created.token),
            };
            invitations_page(
                &ctx,
                &state,
                &user,
                StatusCode::CREATED,
                InvitationForm::default(),
                None,
                Some(link),
            )
            .await
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let status = e.status;
            invitations_page(&ctx, &state, &user, status, form, Some(e.message), None).await
        }
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Template)]
#[template(path = "accounts/invite.html")]
struct InvitePage {
    lang: Lang,
    csrf: String,
    token: String,
    lead: String,
    username: String,
    display_name: String,
    error: Option<String>,
}

fn invite_page(
    ctx: &Ctx,
    status: StatusCode,
    open: &service::OpenInvitation,
    token: &str,
    csrf: String,
    form: Option<&InviteForm>,
    error: Option<String>,
) -> Response {
    let lang = ctx.lang;
    let invitation = &open.invitation;
    let page = InvitePage {
        lang,
        csrf,
        token: token.to_string(),
        lead: lang.tf(
            "accounts.invite.lead",
            &[
                ("name", &invitation.invitee_name),
                ("place", &open.place_name),
                ("role", &role_name(lang, open.role)),
            ],
        ),
        username: form
            .map(|f| f.username.trim().chars().take(32).collect())
            .unwrap_or_default(),
        display_name: form
            .map(|f| f.display_name.trim().chars().take(64).collect())
            .unwrap_or_else(|| invitation.invitee_name.clone()),
        error,
    };
    ctx.page_with_status(status, &lang.t("accounts.invite.title"), page)
}

/// Invitation tokens are 64 hex digits; anything else is not one.
fn plausible_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn invite_form(
    ctx: Ctx,
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
) -> Response {
    if !plausible_token(&token) {
        return error_page(
            &ctx,
            common::error(StatusCode::NOT_FOUND, "invitation_invalid"),
        );
    }
    let open = match service::open_invitation(&state, &token).await {
        Ok(open) => open,
        Err(e) => return error_page(&ctx, e),
    };
    let (jar, csrf) = login_csrf(jar);
    (
        jar,
        invite_page(&ctx, StatusCode::OK, &open, &token, csrf, None, None),
    )
        .into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InviteForm {
    csrf: String,
    username: String,
    display_name: String,
    password: String,
    confirm: String,
}

async fn accept_invitation(
    ctx: Ctx,
    State(state): State<AppState>,
    client: Client,
    jar: CookieJar,
    Path(token): Path<String>,
    PageForm(form): PageForm<InviteForm>,
) -> Response {
    if !login_csrf_ok(&jar, &form.csrf) {
        return error_page(&ctx, common::csrf_failed());
    }
    if !plausible_token(&token) {
        return error_page(
            &ctx,
            common::error(StatusCode::NOT_FOUND, "invitation_invalid"),
        );
    }
    let open = match service::open_invitation(&state, &token).await {
        Ok(open) => open,
        Err(e) => return error_page(&ctx, e),
    };
    if form.password != form.confirm {
        let message = ctx.lang.t("accounts.error.password_mismatch").into_owned();
        return invite_page(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            &open,
            &token,
            form.csrf.clone(),
            Some(&form),
            Some(message),
        );
    }
    let carried = carried_session(&jar);
    match service::accept_invitation(
        &state,
        &client,
        &token,
        &form.username,
        &form.display_name,
        &form.password,
        carried.as_deref(),
    )
    .await
    {
        Ok(signed_in) => {
            let jar = jar
                .add(session_cookie(signed_in.session.token))
                .remove(common::login_csrf_cookie(String::new()));
            (jar, Redirect::to("/account")).into_response()
        }
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => invite_page(
            &ctx,
            e.status,
            &open,
            &token,
            form.csrf.clone(),
            Some(&form),
            Some(e.message),
        ),
        Err(e) => error_page(&ctx, e),
    }
}

// ---- the audit log ----

struct AuditRowView {
    at: String,
    who: String,
    ip: String,
    action: String,
    object: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "accounts/audit.html")]
struct AuditPage {
    lang: Lang,
    actor: String,
    action: String,
    from: String,
    to: String,
    error: Option<String>,
    summary: String,
    rows: Vec<AuditRowView>,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AuditForm {
    actor: String,
    action: String,
    from: String,
    to: String,
    page: String,
}

fn some(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

fn audit_link(form: &AuditForm, page: u64) -> String {
    let query = serde_urlencoded::to_string([
        ("actor", form.actor.trim()),
        ("action", form.action.trim()),
        ("from", form.from.trim()),
        ("to", form.to.trim()),
        ("page", &page.to_string()),
    ])
    .unwrap_or_default();
    format!("/admin/audit?{query}")
}

async fn audit(
    ctx: Ctx,
    State(state): State<AppState>,
    user: User,
    RawQuery(raw): RawQuery,
) -> Response {
    let form: AuditForm = query(raw);
    let lang = ctx.lang;
    let asked = AuditQuery {
        actor: some(&form.actor),
        action: some(&form.action),
        from: some(&form.from),
        to: some(&form.to),
        page: some(&form.page),
    };
    let (status, result, error) = match service::read_audit(&state, &user, &asked).await {
        Ok(result) => (StatusCode::OK, Some(result), None),
        Err(e) if e.status == StatusCode::BAD_REQUEST => (e.status, None, Some(e.message)),
        Err(e) => return error_page(&ctx, e),
    };
    let (rows, page, total) = match result {
        Some(r) => (r.rows, r.page, r.total),
        None => (Vec::new(), 1, 0),
    };
    let pages = rules::page_count(total, rules::AUDIT_PAGE_SIZE);
    let nobody = lang.t("accounts.audit.nobody").into_owned();
    let page_view = AuditPage {
        lang,
        summary: lang.tf(
            "accounts.audit.summary",
            &[
                ("total", &total.to_string()),
                ("page", &page.to_string()),
                ("pages", &pages.to_string()),
            ],
        ),
        prev: (page > 1).then(|| audit_link(&form, page - 1)),
        next: (page < pages).then(|| audit_link(&form, page + 1)),
        rows: rows
            .into_iter()
            .map(|row| {
                let e = row.entry;
                let mut detail = e.detail;
                if detail == "null" {
                    detail.clear();
                }
                if detail.chars().count() > 300 {
                    detail = detail.chars().take(300).chain(['…']).collect();
                }
                AuditRowView {
                    at: rules::local_time(e.at),
                    who: row
                        .actor_username
                        .or_else(|| e.actor_account_id.map(|id| format!("#{id}")))
                        .unwrap_or_else(|| nobody.clone()),
                    ip: e.actor_ip.unwrap_or_default(),
                    action: e.action,
                    object: match e.object_id {
                        Some(id) => format!("{} #{id}", e.object_kind),
                        None => e.object_kind,
                    },
                    detail,
                }
            })
            .collect(),
        actor: form.actor.trim().to_string(),
        action: form.action.trim().to_string(),
        from: form.from.trim().to_string(),
        to: form.to.trim().to_string(),
        error,
    };
    ctx.page_with_status(status, &lang.t("accounts.audit.title"), page_view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_links_keep_the_filters() {
        let form = AuditForm {
            actor: " liwei ".into(),
            action: "auth.".into(),
            from: "2026-03-01".into(),
            to: String::new(),
            page: "1".into(),
        };
        assert_eq!(
            audit_link(&form, 2),
            "/admin/audit?actor=liwei&action=auth.&from=2026-03-01&to=&page=2"
        );
    }

    #[test]
    fn only_hex_tokens_are_looked_up() {
        assert!(plausible_token(&"a1".repeat(32)));
        assert!(!plausible_token("abc"));
        assert!(!plausible_token(&"z".repeat(64)));
    }
}
