//! Pages of compound matters: the public board (公示栏) of a compound or of
//! every compound under a level, a matter with its steps, the forms of
//! each step, and the owners' vote with its published result.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use jinlin_kernel::ApiError;
use jinlin_kernel::auth::{Principal, User};
use jinlin_kernel::i18n::Lang;
use jinlin_kernel::place::entity as place;
use jinlin_kernel::web::{AppState, Ctx, PageError};
use sea_orm::{EntityTrait, QueryFilter};
use serde::Deserialize;

use crate::api::{self, NewBallot};
use crate::entity::matter;
use crate::matters::{
    self, ActionInput, AdvanceInput, MatterView, NewComment, NewEvaluation, NewMatter, VoteView,
};
use crate::process::{ActionKind, Attendee, Party, State as Step};
use crate::vote::{Check, Choice, Matter, Tally};
use crate::{china, error, format_time, settings, votes};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/places/{id}/board", get(board).post(propose))
        .route("/matters/{id}", get(show))
        .route("/matters/{id}/act", post(act))
        .route("/matters/{id}/comment", post(comment))
        .route("/matters/{id}/evaluate", post(evaluate))
        .route("/matters/{id}/vote", post(open_vote))
        .route("/votes/{id}/ballot", post(ballot))
        .route("/votes/{id}/close", post(close_vote))
        .route(
            "/places/{id}/deliberation-settings",
            get(settings_form).post(save_settings),
        )
}

/// The five steps in order, for the progress line.
const STEPS: [Step; 5] = [
    Step::Propose,
    Step::Motion,
    Step::Consult,
    Step::PublicReview,
    Step::Evaluate,
];

fn state_label(lang: Lang, state: &str) -> String {
    lang.t(&format!("deliberation.state.{state}")).into_owned()
}

fn area(centi: u64) -> String {
    format!("{}.{:02}", centi / 100, centi % 100)
}

/// A time typed into a `datetime-local` field, read in China Standard Time.
fn local_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()?;
    china()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// "1号楼 1单元 101" for each dwelling id.
async fn unit_labels(
    db: &impl sea_orm::ConnectionTrait,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, sea_orm::DbErr> {
    let units = jinlin_places::store::names(db, ids.to_vec()).await?;
    let places = place::Entity::find()
        .filter(sea_orm::ColumnTrait::is_in(
            &place::Column::Id,
            ids.to_vec(),
        ))
        .all(db)
        .await?;
    let above: Vec<i64> = places
        .iter()
        .flat_map(|p| [p.building_id, p.entrance_id])
        .flatten()
        .collect();
    let names = jinlin_places::store::names(db, above).await?;
    Ok(places
        .iter()
        .map(|p| {
            let label = [p.building_id, p.entrance_id]
                .iter()
                .flatten()
                .filter_map(|id| names.get(id).cloned())
                .chain(units.get(&p.id).cloned())
                .collect::<Vec<_>>()
                .join(" ");
            (p.id, label)
        })
        .collect())
}

fn input_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&china())
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

// ---------------------------------------------------------------------------
// The board

struct BoardRow {
    id: i64,
    title: String,
    state: String,
    state_label: String,
    /// 1–5 for the steps, 0 for an ended matter.
    step_index: usize,
    joint: Option<String>,
    proposer: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage<'a> {
    lang: Lang,
    place: &'a place::Model,
    is_compound: bool,
    rows: Vec<BoardRow>,
    total: u64,
    page: u64,
    pages: u64,
    filter: String,
    states: Vec<(String, String)>,
    csrf: &'a str,
    error: Option<String>,
    title_value: String,
    description_value: String,
    can_configure: bool,
}

#[derive(Deserialize)]
struct BoardParams {
    state: Option<String>,
    page: Option<u64>,
}

fn step_index(state: &str) -> usize {
    STEPS
        .iter()
        .position(|s| s.as_str() == state)
        .map(|i| i + 1)
        .unwrap_or(0)
}

fn article_label(lang: Lang, n: i16) -> String {
    lang.tf(
        "deliberation.article_item",
        &[
            ("n", &n.to_string()),
            ("name", &lang.t(&format!("deliberation.article.{n}"))),
        ],
    )
}

#[allow(clippy::too_many_arguments)]
async fn render_board(
    ctx: &Ctx,
    state: &AppState,
    user: &Principal,
    id: i64,
    params: BoardParams,
    error: Option<(StatusCode, String)>,
    title_value: String,
    description_value: String,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let filter = api::parse_state_filter(params.state.as_deref())?;
    let page = params.page.unwrap_or(1).max(1);
    let (p, items, total) = matters::board(db, user, id, filter, page, 50).await?;
    let rows = items
        .iter()
        .map(|m| BoardRow {
            id: m.id,
            title: m.title.clone(),
            state: m.state.clone(),
            state_label: state_label(lang, &m.state),
            step_index: step_index(&m.state),
            joint: m.joint_decision.map(|n| article_label(lang, n)),
            proposer: m.proposer_name.clone(),
            updated: format_time(m.updated_at),
        })
        .collect();
    let is_compound = p.kind == "compound";
    let can_configure = is_compound && matters::runs_votes(user, &p);
    let states = Step::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), state_label(lang, s.as_str())))
        .collect();
    let (status, error) = match error {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    let title = lang.tf("deliberation.board_of", &[("place", &p.name)]);
    let body = BoardPage {
        lang,
        place: &p,
        is_compound,
        rows,
        total,
        page,
        pages: total.div_ceil(50).max(1),
        filter: filter.map(|s| s.as_str().to_string()).unwrap_or_default(),
        states,
        csrf: ctx.csrf(),
        error,
        title_value,
        description_value,
        can_configure,
    };
    Ok(ctx.page_with_status(status, &title, body))
}

async fn board(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(params): Query<BoardParams>,
) -> Result<Response, PageError> {
    render_board(
        &ctx,
        &state,
        &user,
        id,
        params,
        None,
        String::new(),
        String::new(),
    )
    .await
}

#[derive(Deserialize)]
struct ProposeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
}

async fn propose(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<ProposeForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf))?;
    let new = NewMatter {
        title: form.title.clone(),
        description: form.description.clone(),
    };
    let result: Result<matter::Model, ApiError> = async {
        let tx = state.db.write().await?;
        let compound = matters::visible_compound(&tx, &user, id).await?;
        let m = matters::propose(&tx, &user, &compound, &new).await?;
        api::audit_matter(&tx, &user, "matter.propose", &m, serde_json::json!({})).await?;
        tx.commit().await?;
        Ok(m)
    }
    .await;
    match result {
        Ok(m) => Ok(Redirect::to(&format!("/matters/{}", m.id)).into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(e.into()),
        Err(e) => {
            render_board(
                &ctx,
                &state,
                &user,
                id,
                BoardParams {
                    state: None,
                    page: None,
                },
                Some((e.status, e.message)),
                form.title,
                form.description,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------
// A matter

struct StepRow {
    action: String,
    actor: String,
    name: String,
    at: String,
    to: String,
    reason: Option<String>,
    details: Vec<(String, String)>,
}

struct CheckRow {
    label: String,
    fraction: String,
    percent: String,
    threshold: String,
    passed: bool,
}

struct ResultView {
    outcome: String,
    passed: bool,
    checks: Vec<CheckRow>,
    counts: Vec<(String, String, u64)>,
    deemed: Option<(String, Vec<CheckRow>, String)>,
}

struct VoteRow {
    v: VoteView,
    article: String,
    closes_at: String,
    closed_at: String,
    total_area: String,
    live: Option<Vec<CheckRow>>,
    result: Option<ResultView>,
    mine: Vec<(String, i64, String, String)>,
    /// (unit id, label) of each owner group of the reader, when several.
    units: Vec<(i64, String)>,
    open: bool,
}

#[derive(Template)]
#[template(path = "matter.html")]
struct MatterPage<'a> {
    lang: Lang,
    m: &'a MatterView,
    compound_id: i64,
    state_label: String,
    progress: Vec<(String, &'static str)>,
    steps: Vec<StepRow>,
    votes: Vec<VoteRow>,
    can_advance: bool,
    can_send_back: bool,
    can_reject: bool,
    can_withdraw: bool,
    articles: Vec<(u8, String)>,
    parties: Vec<(String, String)>,
    advance_hint: String,
    default_closes_at: String,
    csrf: &'a str,
    error: Option<String>,
    is_household: bool,
}

fn check_row(lang: Lang, key: &str, c: &Check) -> CheckRow {
    let threshold = serde_json::to_value(c.threshold)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    CheckRow {
        label: lang.t(&format!("deliberation.check.{key}")).into_owned(),
        fraction: c.fraction.to_string(),
        percent: format!("{}%", c.percent),
        threshold: lang
            .t(&format!("deliberation.threshold.{threshold}"))
            .into_owned(),
        passed: c.passed,
    }
}

fn outcome_label(lang: Lang, o: crate::vote::Outcome) -> String {
    let code = serde_json::to_value(o)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    lang.t(&format!("deliberation.outcome.{code}")).into_owned()
}

fn choice_label(lang: Lang, c: Choice) -> String {
    lang.t(&format!("deliberation.choice.{}", c.as_str()))
        .into_owned()
}

fn result_view(lang: Lang, t: &Tally) -> ResultView {
    let a = &t.cast;
    let checks = |a: &crate::vote::Assessment| {
        vec![
            check_row(lang, "participation_area", &a.participation_area),
            check_row(lang, "participation_heads", &a.participation_heads),
            check_row(lang, "approval_area", &a.approval_area),
            check_row(lang, "approval_heads", &a.approval_heads),
        ]
    };
    let counts = Choice::ALL
        .iter()
        .map(|c| {
            let n = a.counts.get(*c);
            (choice_label(lang, *c), area(n.area_centi_m2), n.heads)
        })
        .collect();
    ResultView {
        outcome: outcome_label(lang, t.outcome()),
        passed: t.outcome() == crate::vote::Outcome::Passed,
        checks: checks(a),
        counts,
        deemed: t.deemed.as_ref().map(|d| {
            let who = match d.choice {
                Some(c) => lang.tf(
                    "deliberation.deemed_as",
                    &[
                        ("choice", &choice_label(lang, c)),
                        ("heads", &d.count.heads.to_string()),
                        ("area", &area(d.count.area_centi_m2)),
                    ],
                ),
                None => lang.t("deliberation.deemed_none").into_owned(),
            };
            (
                who,
                checks(&d.assessment),
                outcome_label(lang, d.assessment.outcome),
            )
        }),
    }
}

fn step_details(lang: Lang, record: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let text = |k: &str| record.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let label = |k: &str| lang.t(&format!("deliberation.field.{k}")).into_owned();
    for k in ["summary", "plan", "minutes"] {
        if let Some(v) = text(k).filter(|v| !v.is_empty()) {
            out.push((label(k), v));
        }
    }
    if let Some(n) = record.get("joint_decision").and_then(|v| v.as_str()) {
        let number = Matter::ALL
            .iter()
            .find(|m| {
                serde_json::to_value(m)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    == Some(n.to_string())
            })
            .map(|m| m.number());
        if let Some(number) = number {
            out.push((
                label("joint_decision"),
                article_label(lang, i16::from(number)),
            ));
        }
    }
    if let Some(t) = record
        .get("held_at")
        .and_then(|v| v.as_i64())
        .and_then(|t| DateTime::from_timestamp(t, 0))
    {
        out.push((label("held_at"), format_time(t)));
    }
    if let Some(list) = record.get("attendees").and_then(|v| v.as_array()) {
        let names: Vec<String> = list
            .iter()
            .filter_map(|a| {
                let party: Party = serde_json::from_value(a.get("party")?.clone()).ok()?;
                Some(format!(
                    "{}（{}）",
                    a.get("name")?.as_str()?,
                    lang.t(&matters::party_key(party))
                ))
            })
            .collect();
        out.push((label("attendees"), names.join("、")));
    }
    if let (Some(from), Some(until)) = (
        record.get("published_from").and_then(|v| v.as_i64()),
        record.get("published_until").and_then(|v| v.as_i64()),
    ) && let (Some(f), Some(u)) = (
        DateTime::from_timestamp(from, 0),
        DateTime::from_timestamp(until, 0),
    ) {
        out.push((
            label("published"),
            format!("{} — {}", format_time(f), format_time(u)),
        ));
    }
    if let Some(r) = record.get("respondents").and_then(|v| v.as_u64()) {
        let s = record
            .get("satisfied")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        out.push((
            label("evaluations"),
            lang.tf(
                "deliberation.evaluations_count",
                &[("n", &r.to_string()), ("satisfied", &s.to_string())],
            ),
        ));
    }
    out
}

async fn render_matter(
    ctx: &Ctx,
    state: &AppState,
    user: &Principal,
    id: i64,
    error: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let db = state.db.conn();
    let (m, compound) = matters::visible_matter(db, user, id).await?;
    let view = matters::view(db, user, &compound, &m).await?;
    let current = step_index(&m.state);
    let progress = STEPS
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mark = if current == 0 {
                if m.state == Step::Closed.as_str() {
                    "done"
                } else {
                    ""
                }
            } else if i + 1 < current {
                "done"
            } else if i + 1 == current {
                "current"
            } else {
                ""
            };
            (state_label(lang, s.as_str()), mark)
        })
        .collect();
    let steps = view
        .steps
        .iter()
        .map(|s| StepRow {
            action: lang
                .t(&format!("deliberation.action.{}", s.action))
                .into_owned(),
            actor: lang
                .t(&format!("deliberation.actor.{}", s.actor))
                .into_owned(),
            name: s.actor_name.clone(),
            at: format_time(s.at),
            to: state_label(lang, &s.to_state),
            reason: s.reason.clone(),
            details: s
                .record
                .as_ref()
                .map(|r| step_details(lang, r))
                .unwrap_or_default(),
        })
        .collect();
    let unit_ids: Vec<i64> = view
        .votes
        .iter()
        .flat_map(|v| {
            v.my_units
                .iter()
                .copied()
                .chain(v.my_ballots.iter().flat_map(|r| r.unit_ids.iter().copied()))
        })
        .collect();
    let labels = unit_labels(db, &unit_ids).await?;
    let label = |id: &i64| labels.get(id).cloned().unwrap_or_else(|| id.to_string());
    let votes = view
        .votes
        .iter()
        .map(|v| VoteRow {
            article: article_label(lang, v.article_matter),
            closes_at: format_time(v.closes_at),
            closed_at: v.closed_at.map(format_time).unwrap_or_default(),
            total_area: area(v.total_area_centi_m2 as u64),
            live: v.live.as_ref().map(|l| {
                vec![
                    check_row(lang, "participation_area", &l.participation_area),
                    check_row(lang, "participation_heads", &l.participation_heads),
                ]
            }),
            result: v.result.as_ref().map(|t| result_view(lang, t)),
            mine: v
                .my_ballots
                .iter()
                .map(|r| {
                    (
                        choice_label(lang, r.choice),
                        r.sequence,
                        r.hash.clone(),
                        r.unit_ids.iter().map(label).collect::<Vec<_>>().join("、"),
                    )
                })
                .collect(),
            units: v.my_units.iter().map(|u| (*u, label(u))).collect(),
            open: v.state == votes::OPEN,
            v: v.clone(),
        })
        .collect();
    let advance_hint = match matters::parse_state(&m.state) {
        Some(Step::PublicReview) => {
            let s = settings::load(db, compound.id).await?;
            lang.tf(
                "deliberation.hint.public_review",
                &[("days", &s.min_publication_days.to_string())],
            )
        }
        Some(Step::Evaluate) => {
            let s = settings::load(db, compound.id).await?;
            lang.tf(
                "deliberation.hint.evaluate",
                &[("n", &s.min_evaluation_respondents.to_string())],
            )
        }
        _ => String::new(),
    };
    let (has_committee, has_company) = matters::compound_partners(db, compound.id).await?;
    let parties = [
        Party::CompoundPartyOrg,
        Party::Community,
        Party::OwnersCommittee,
        Party::PropertyCompany,
        Party::OwnerRepresentative,
    ]
    .into_iter()
    .filter(|p| match p {
        Party::OwnersCommittee => has_committee,
        Party::PropertyCompany => has_company,
        _ => true,
    })
    .map(|p| {
        let code = serde_json::to_value(p)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        (code, lang.t(&matters::party_key(p)).into_owned())
    })
    .collect();
    let (status, error) = match error {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    let is_household = user.grants.iter().any(|g| {
        matches!(
            g.role,
            jinlin_kernel::auth::Role::Resident | jinlin_kernel::auth::Role::PartyMember
        ) && g.place.compound_id == Some(compound.id)
    });
    let body = MatterPage {
        lang,
        m: &view,
        compound_id: compound.id,
        state_label: state_label(lang, &m.state),
        progress,
        steps,
        votes,
        can_advance: view.actions.contains(&ActionKind::Advance),
        can_send_back: view.actions.contains(&ActionKind::SendBack),
        can_reject: view.actions.contains(&ActionKind::Reject),
        can_withdraw: view.actions.contains(&ActionKind::Withdraw),
        articles: Matter::ALL
            .iter()
            .map(|a| (a.number(), article_label(lang, i16::from(a.number()))))
            .collect(),
        parties,
        advance_hint,
        default_closes_at: input_time(Utc::now() + chrono::Duration::days(7)),
        csrf: ctx.csrf(),
        error,
        is_household,
    };
    Ok(ctx.page_with_status(status, &m.title, body))
}

async fn show(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    render_matter(&ctx, &state, &user, id, None).await
}

/// Runs a form's write in one transaction, then shows the matter again:
/// after a redirect on success, with the error in place otherwise.
async fn after_write(
    ctx: &Ctx,
    state: &AppState,
    user: &Principal,
    matter_id: i64,
    result: Result<(), ApiError>,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/matters/{matter_id}")).into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(e.into()),
        Err(e) => render_matter(ctx, state, user, matter_id, Some((e.status, e.message))).await,
    }
}

#[derive(Deserialize)]
struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    joint_decision: String,
    #[serde(default)]
    held_at: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    att_compound_party_org: String,
    #[serde(default)]
    att_community: String,
    #[serde(default)]
    att_owners_committee: String,
    #[serde(default)]
    att_property_company: String,
    #[serde(default)]
    att_owner_representative: String,
}

fn names(s: &str) -> impl Iterator<Item = &str> {
    s.split(['、', ',', '，', ';', '；', '\n'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
}

impl ActForm {
    fn input(&self) -> Result<ActionInput, ApiError> {
        let some = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        Ok(match self.action.as_str() {
            "advance" => {
                let joint_decision = match self.joint_decision.trim() {
                    "" => None,
                    n => Some(
                        n.parse::<u8>()
                            .map_err(|_| error::invalid_key("deliberation.error.joint_decision"))?,
                    ),
                };
                let held_at = match self.held_at.trim() {
                    "" => None,
                    s => Some(
                        local_time(s)
                            .ok_or_else(|| error::invalid_key("deliberation.error.held_at"))?,
                    ),
                };
                let mut attendees = Vec::new();
                for (party, list) in [
                    (Party::CompoundPartyOrg, &self.att_compound_party_org),
                    (Party::Community, &self.att_community),
                    (Party::OwnersCommittee, &self.att_owners_committee),
                    (Party::PropertyCompany, &self.att_property_company),
                    (Party::OwnerRepresentative, &self.att_owner_representative),
                ] {
                    attendees.extend(names(list).map(|name| Attendee {
                        party,
                        name: name.to_string(),
                    }));
                }
                ActionInput::Advance(AdvanceInput {
                    summary: some(&self.summary),
                    plan: some(&self.plan),
                    joint_decision,
                    held_at,
                    attendees,
                    minutes: some(&self.minutes),
                })
            }
            "send_back" => ActionInput::SendBack {
                reason: self.reason.clone(),
            },
            "reject" => ActionInput::Reject {
                reason: self.reason.clone(),
            },
            "withdraw" => ActionInput::Withdraw,
            _ => return Err(error::conflict("action_unavailable")),
        })
    }
}

async fn act(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<ActForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf))?;
    let result = async {
        let input = form.input()?;
        let tx = state.db.write().await?;
        let (m, compound) = matters::visible_matter(&tx, &user, id).await?;
        let after = matters::act(&tx, &user, &compound, &m, &input).await?;
        let detail = serde_json::json!({"from": m.state, "to": after.state});
        api::audit_matter(&tx, &user, "matter.act", &after, detail).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    after_write(&ctx, &state, &user, id, result).await
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

async fn comment(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<CommentForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf))?;
    let result = async {
        let tx = state.db.write().await?;
        let (m, _) = matters::visible_matter(&tx, &user, id).await?;
        matters::add_comment(&tx, &user, &m, &NewComment { body: form.body }).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    after_write(&ctx, &state, &user, id, result).await
}

#[derive(Deserialize)]
struct EvaluateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    satisfied: String,
    #[serde(default)]
    comment: String,
}

async fn evaluate(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<EvaluateForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf))?;
    let result = async {
        let tx = state.db.write().await?;
        let (m, _) = matters::visible_matter(&tx, &user, id).await?;
        let satisfied = match form.satisfied.as_str() {
            "yes" => true,
            "no" => false,
            _ => return Err(error::invalid_key("deliberation.error.satisfied")),
        };
        let new = NewEvaluation {
            satisfied,
            comment: form.comment,
        };
        matters::add_evaluation(&tx, &user, &m, &new).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    after_write(&ctx, &state, &user, id, result).await
}

#[derive(Deserialize)]
struct OpenVoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    closes_at: String,
}

async fn open_vote(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<OpenVoteForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf))?;
    let result = async {
        let closes_at = local_time(&form.closes_at).ok_or_else(|| {
            error::invalid_with(
                "deliberation.error.closes_at",
                &[("days", &votes::MAX_OPEN_DAYS.to_string())],
            )
        })?;
        let tx = state.db.write().await?;
        let (m, compound) = matters::visible_matter(&tx, &user, id).await?;
        api::open_vote_in(&tx, &user, &compound, &m, closes_at).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    after_write(&ctx, &state, &user, id, result).await
}

#[derive(Deserialize)]
struct BallotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    choice: String,
    #[serde(default)]
    unit_id: String,
}

async fn ballot(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<BallotForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf))?;
    let (v, _) = api::visible_vote(state.db.conn(), &user, id).await?;
    let result = async {
        let choice = Choice::ALL
            .into_iter()
            .find(|c| c.as_str() == form.choice)
            .ok_or_else(|| error::invalid_key("deliberation.error.choice"))?;
        let unit_id = match form.unit_id.trim() {
            "" => None,
            s => Some(
                s.parse()
                    .map_err(|_| error::invalid_key("deliberation.error.unit_not_in_electorate"))?,
            ),
        };
        let tx = state.db.write().await?;
        api::cast_in(&tx, &user, id, &NewBallot { choice, unit_id }).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    after_write(&ctx, &state, &user, v.matter_id, result).await
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(default)]
    csrf: String,
}

async fn close_vote(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<CloseForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf))?;
    let (v, _) = api::visible_vote(state.db.conn(), &user, id).await?;
    let result = async {
        let tx = state.db.write().await?;
        api::close_in(&tx, &user, id).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    after_write(&ctx, &state, &user, v.matter_id, result).await
}

// ---------------------------------------------------------------------------
// Settings

#[derive(Template)]
#[template(path = "deliberation_settings.html")]
struct SettingsPage<'a> {
    lang: Lang,
    place: &'a place::Model,
    s: settings::Settings,
    csrf: &'a str,
    error: Option<String>,
    saved: bool,
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    deemed_votes: Option<String>,
    #[serde(default)]
    min_publication_days: String,
    #[serde(default)]
    min_evaluation_respondents: String,
}

async fn settings_form(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let db = state.db.conn();
    let compound = matters::visible_compound(db, &user, id).await?;
    if !matters::runs_votes(&user, &compound) {
        return Err(ApiError::forbidden().into());
    }
    let s = settings::load(db, compound.id).await?;
    let title = ctx.lang.t("deliberation.settings").into_owned();
    let body = SettingsPage {
        lang: ctx.lang,
        place: &compound,
        s,
        csrf: ctx.csrf(),
        error: None,
        saved: false,
    };
    Ok(ctx.page(&title, body))
}

async fn save_settings(
    ctx: Ctx,
    user: User,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    user.check_csrf(Some(&form.csrf))?;
    let db = state.db.conn();
    let compound = matters::visible_compound(db, &user, id).await?;
    if !matters::runs_votes(&user, &compound) {
        return Err(ApiError::forbidden().into());
    }
    let number = |s: &str, key: &str| s.trim().parse::<i32>().map_err(|_| error::invalid_key(key));
    let result: Result<settings::Settings, ApiError> = async {
        let s = settings::Settings {
            deemed_votes: form.deemed_votes.is_some(),
            min_publication_days: number(
                &form.min_publication_days,
                "deliberation.error.min_publication_days",
            )?,
            min_evaluation_respondents: number(
                &form.min_evaluation_respondents,
                "deliberation.error.min_evaluation_respondents",
            )?,
        };
        let tx = state.db.write().await?;
        api::save_settings_in(&tx, &user, &compound, &s).await?;
        tx.commit().await?;
        Ok(s)
    }
    .await;
    let title = ctx.lang.t("deliberation.settings").into_owned();
    let (status, s, error, saved) = match result {
        Ok(s) => (StatusCode::OK, s, None, true),
        Err(e) if e.status == StatusCode::FORBIDDEN => return Err(e.into()),
        Err(e) => (
            e.status,
            settings::load(db, compound.id).await?,
            Some(e.message),
            false,
        ),
    };
    let body = SettingsPage {
        lang: ctx.lang,
        place: &compound,
        s,
        csrf: ctx.csrf(),
        error,
        saved,
    };
    Ok(ctx.page_with_status(status, &title, body))
}
