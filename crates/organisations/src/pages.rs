//! Pages of compound organisations: a compound's party organisation,
//! owners' committee and property company with the forms to record them,
//! and the coverage figures of any place with its children.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::User;
use jinlin_kernel::i18n::{self, Lang};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use jinlin_people::api::NewPerson;

use crate::api::{
    self, CommitteeInputBody, CommitteeMemberInput, CommitteeView, ContractBody, CoverageView,
    NewMember, PartyOrgInput, PartyOrgView,
};
use crate::rules::{self, OrgKind};
use crate::store;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/places/{id}/organisations", get(show))
        .route("/places/{id}/organisations/party-org", post(post_org))
        .route("/places/{id}/organisations/members", post(post_member))
        .route(
            "/places/{id}/organisations/members/{member_id}/delete",
            post(post_remove_member),
        )
        .route(
            "/places/{id}/organisations/members/{member_id}/flags",
            post(post_member_flags),
        )
        .route("/places/{id}/organisations/committee", post(post_committee))
        .route("/places/{id}/organisations/contract", post(post_contract))
        .route("/places/{id}/coverage", get(coverage_page))
}

/// A posted form as name → values (repeated fields keep every value).
struct Fields(HashMap<String, Vec<String>>);

impl Fields {
    fn parse(body: &Bytes) -> Fields {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            map.entry(k).or_default().push(v);
        }
        Fields(map)
    }

    fn one(&self, name: &str) -> &str {
        self.0
            .get(name)
            .and_then(|v| v.first())
            .map(|s| s.trim())
            .unwrap_or("")
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .get(name)
            .map(|v| v.iter().map(|s| s.trim()).collect())
            .unwrap_or_default()
    }

    fn checked(&self, name: &str) -> bool {
        !self.one(name).is_empty()
    }

    fn id(&self, name: &str) -> Result<Option<i64>, String> {
        match self.one(name) {
            "" => Ok(None),
            s => s.parse().map(Some).map_err(|_| {
                i18n::current()
                    .t("organisations.error.unknown_person")
                    .into_owned()
            }),
        }
    }

    fn date(&self, name: &str) -> Result<NaiveDate, String> {
        NaiveDate::parse_from_str(self.one(name), "%Y-%m-%d").map_err(|_| {
            i18n::current().tf(
                "organisations.error.date",
                &[(
                    "field",
                    &i18n::current().t(&format!("organisations.field.{name}")),
                )],
            )
        })
    }

    fn csrf(&self) -> Option<&str> {
        self.0
            .get("csrf")
            .and_then(|v| v.first())
            .map(String::as_str)
    }
}

struct Choice {
    id: i64,
    label: String,
}

#[derive(Template)]
#[template(path = "organisations.html")]
struct OrgPage<'a> {
    lang: Lang,
    compound: &'a place::Model,
    org: Option<PartyOrgView>,
    committee: Option<CommitteeView>,
    contract: Option<ContractBody>,
    coverage: api::CoverageFigure,
    can_write: bool,
    csrf: &'a str,
    error: Option<String>,
    people: Vec<Choice>,
    chair: Option<i64>,
    on_committee: Vec<i64>,
    kinds: Vec<(&'static str, String)>,
    today: String,
}

impl OrgPage<'_> {
    fn yuan(&self, fen: &i64) -> String {
        rules::format_fen(*fen)
    }

    fn kind_label(&self, kind: &OrgKind) -> String {
        self.lang
            .t(&format!("organisations.kind.{}", kind.as_str()))
            .into_owned()
    }

    fn is_chair(&self, id: &i64) -> bool {
        self.chair == Some(*id)
    }

    fn on_committee(&self, id: &i64) -> bool {
        self.on_committee.contains(id) && self.chair != Some(*id)
    }

    fn position_label(&self, position: &str) -> String {
        self.lang
            .t(&format!("organisations.position.{position}"))
            .into_owned()
    }
}

async fn render(
    ctx: &Ctx,
    state: &AppState,
    user: &User,
    id: i64,
    error: Option<String>,
) -> Result<Response, PageError> {
    let db = state.db.conn();
    let compound = api::compound_for(db, user, id, false).await?;
    let org = match store::org_of(db, id).await? {
        Some(o) => Some(api::org_view(db, user, &compound, &o).await?),
        None => None,
    };
    let committee = match store::committee_of(db, id).await? {
        Some(c) => Some(api::committee_view(db, user, &compound, &c).await?),
        None => None,
    };
    let contract = store::contract_of(db, id)
        .await?
        .map(|c| api::contract_view(&c));
    let coverage = api::coverage(db, &compound).await?.place;
    let can_write = api::may_write(user, &compound.position());
    let mut people: Vec<Choice> = if can_write {
        store::compound_people(db, id, 300)
            .await?
            .into_iter()
            .map(|p| Choice {
                id: p.id,
                label: if p.party_member {
                    format!("{} ({})", p.name, ctx.lang.t("role.party_member"))
                } else {
                    p.name
                },
            })
            .collect()
    } else {
        Vec::new()
    };
    // Members recorded earlier stay choosable (new people have no dwelling
    // here), so saving the committee form keeps them.
    let mut recorded: Vec<(i64, String)> = Vec::new();
    if let Some(ms) = org.as_ref().and_then(|o| o.members.as_ref()) {
        recorded.extend(ms.iter().map(|m| (m.person_id, m.name.clone())));
    }
    if let Some(ms) = committee.as_ref().and_then(|c| c.members.as_ref()) {
        recorded.extend(ms.iter().map(|m| (m.person_id, m.name.clone())));
    }
    if can_write {
        for (pid, name) in recorded {
            if !people.iter().any(|c| c.id == pid) {
                people.push(Choice {
                    id: pid,
                    label: name,
                });
            }
        }
    }
    let chair = committee
        .as_ref()
        .and_then(|c| c.chair.as_ref())
        .map(|p| p.id);
    let on_committee: Vec<i64> = committee
        .as_ref()
        .and_then(|c| c.members.as_ref())
        .map(|ms| ms.iter().map(|m| m.person_id).collect())
        .unwrap_or_default();
    let lang = ctx.lang;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let body = OrgPage {
        lang,
        compound: &compound,
        org,
        committee,
        contract,
        coverage,
        can_write,
        csrf: ctx.csrf(),
        error,
        people,
        chair,
        on_committee,
        kinds: OrgKind::ALL
            .into_iter()
            .map(|k| {
                (
                    k.as_str(),
                    lang.t(&format!("organisations.kind.{}", k.as_str()))
                        .into_owned(),
                )
            })
            .collect(),
        today: crate::rules::china_today(chrono::Utc::now()).to_string(),
    };
    Ok(ctx.page_with_status(
        status,
        &lang.tf("organisations.page_title", &[("name", &compound.name)]),
        body,
    ))
}

async fn show(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    render(&ctx, &state, &user, id, None).await
}

/// Runs one form's write in a transaction: redirects back on success, shows
/// the page again with the message on a refused value.
async fn write<F>(
    ctx: &Ctx,
    state: &AppState,
    user: &User,
    id: i64,
    fields: &Fields,
    act: F,
) -> Result<Response, PageError>
where
    F: AsyncFnOnce(&sea_orm::DatabaseTransaction, &place::Model) -> Result<(), ApiError>,
{
    user.check_csrf(fields.csrf())?;
    let tx = state.db.write().await?;
    let compound = api::compound_for(&tx, user, id, true).await?;
    match act(&tx, &compound).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/places/{id}/organisations")).into_response())
        }
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            drop(tx);
            render(ctx, state, user, id, Some(e.message)).await
        }
        Err(e) => Err(e.into()),
    }
}

fn form_error(message: String) -> ApiError {
    ApiError::invalid(message)
}

async fn post_org(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Fields::parse(&body);
    write(&ctx, &state, &user, id, &f, async |tx, compound| {
        let kind = OrgKind::parse(f.one("kind"))
            .ok_or_else(|| ApiError::invalid(i18n::current().t("organisations.error.kind")))?;
        let input = PartyOrgInput {
            kind,
            name: f.one("name").to_string(),
            founded_on: f.date("founded_on").map_err(form_error)?,
            secretary_person_id: f.id("secretary_person_id").map_err(form_error)?,
        };
        api::save_org(tx, &user, compound, &input).await.map(|_| ())
    })
    .await
}

async fn post_member(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Fields::parse(&body);
    let st = state.clone();
    write(&ctx, &state, &user, id, &f, async |tx, compound| {
        let person_id = f.id("person_id").map_err(form_error)?;
        let person = (person_id.is_none() && !f.one("new_name").is_empty()).then(|| NewPerson {
            name: f.one("new_name").to_string(),
            phone: Some(f.one("new_phone").to_string()),
            id_number: None,
            party_member: f.checked("new_party_member"),
            employer: None,
        });
        let member = NewMember {
            person_id,
            person,
            in_owners_committee: f.checked("in_owners_committee"),
            in_property_company: f.checked("in_property_company"),
            owner_representative: f.checked("owner_representative"),
        };
        api::save_member(tx, &st, &user, compound, &member)
            .await
            .map(|_| ())
    })
    .await
}

async fn post_remove_member(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path((id, member_id)): Path<(i64, i64)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Fields::parse(&body);
    write(&ctx, &state, &user, id, &f, async |tx, compound| {
        api::drop_member(tx, &user, compound, member_id).await
    })
    .await
}

async fn post_member_flags(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path((id, member_id)): Path<(i64, i64)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Fields::parse(&body);
    write(&ctx, &state, &user, id, &f, async |tx, compound| {
        let flags = api::MemberFlagsBody {
            in_owners_committee: f.checked("in_owners_committee"),
            in_property_company: f.checked("in_property_company"),
            owner_representative: f.checked("owner_representative"),
        };
        api::change_flags(tx, &user, compound, member_id, &flags).await
    })
    .await
}

async fn post_committee(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Fields::parse(&body);
    let st = state.clone();
    write(&ctx, &state, &user, id, &f, async |tx, compound| {
        let mut members = Vec::new();
        let chair = f.id("chair_person_id").map_err(form_error)?;
        if let Some(chair) = chair {
            members.push(CommitteeMemberInput {
                person_id: Some(chair),
                person: None,
                position: "chair".into(),
            });
        }
        // Positions other than the chair's are kept as recorded.
        let current = match store::committee_of(tx, compound.id).await? {
            Some(c) => store::committee_members(tx, c.id).await?,
            None => Vec::new(),
        };
        for m in f.all("member") {
            let pid: i64 = m.parse().map_err(|_| {
                ApiError::invalid(i18n::current().t("organisations.error.unknown_person"))
            })?;
            if Some(pid) != chair && !members.iter().any(|x| x.person_id == Some(pid)) {
                let position = current
                    .iter()
                    .find(|c| c.person_id == pid && c.position != "chair")
                    .map_or("member", |c| c.position.as_str());
                members.push(CommitteeMemberInput {
                    person_id: Some(pid),
                    person: None,
                    position: position.into(),
                });
            }
        }
        let input = CommitteeInputBody {
            name: f.one("name").to_string(),
            term_start: f.date("term_start").map_err(form_error)?,
            term_end: f.date("term_end").map_err(form_error)?,
            elected_on: f.date("elected_on").map_err(form_error)?,
            election_record: f.one("election_record").to_string(),
            members,
        };
        api::save_committee(tx, &st, &user, compound, &input)
            .await
            .map(|_| ())
    })
    .await
}

async fn post_contract(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Fields::parse(&body);
    write(&ctx, &state, &user, id, &f, async |tx, compound| {
        let fee = rules::parse_yuan(f.one("fee_yuan"))
            .ok_or_else(|| ApiError::invalid(i18n::current().t("organisations.error.fee")))?;
        let input = ContractBody {
            company_name: f.one("company_name").to_string(),
            credit_code: f.one("credit_code").to_string(),
            contract_start: f.date("contract_start").map_err(form_error)?,
            contract_end: f.date("contract_end").map_err(form_error)?,
            fee_fen_per_m2: fee,
        };
        api::save_contract(tx, &user, compound, &input)
            .await
            .map(|_| ())
    })
    .await
}

#[derive(Template)]
#[template(path = "coverage.html")]
struct CoveragePage<'a> {
    lang: Lang,
    p: &'a place::Model,
    v: CoverageView,
    child_kind: String,
}

async fn coverage_page(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let db = state.db.conn();
    let p = jinlin_places::api::visible_place(db, &user, id).await?;
    let kind = PlaceKind::parse(&p.kind).ok_or_else(PageError::not_found)?;
    if kind > PlaceKind::Compound {
        return Err(PageError::not_found());
    }
    let v = api::coverage(db, &p).await?;
    let lang = ctx.lang;
    let child_kind = kind
        .child()
        .map(|k| lang.t(&k.label_key()).into_owned())
        .unwrap_or_default();
    let body = CoveragePage {
        lang,
        p: &p,
        v,
        child_kind,
    };
    Ok(ctx.page(
        &lang.tf("organisations.coverage_title", &[("name", &p.name)]),
        body,
    ))
}
