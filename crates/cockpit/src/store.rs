//! The cockpit's own grouped queries, for the figures no capability
//! counts by place in the few numbers a board shows: residents' matters,
//! deliberations and projects by step, votes held, micro-grids, volunteer
//! teams and their members, agencies paired, social organisations admitted
//! and property companies' stars. Each is one query over the node, grouped
//! by the child the row belongs to.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use jinlin_kernel::place::PlaceKind;
use jinlin_kernel::place::entity as place;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use crate::rules::{Key, Period};

fn ph(backend: DbBackend, n: usize) -> String {
    if backend == DbBackend::Postgres {
        format!("${n}")
    } else {
        "?".into()
    }
}

/// The condition selecting a table's rows under `node` (the table carries
/// `district_code`, `street_id`, `community_id` and `compound_id`), and
/// the column naming the child of the node each row belongs to.
fn under(backend: DbBackend, node: &place::Model) -> Option<(&'static str, String, Value)> {
    let (child, cond) = child_and_cond(backend, node, 1)?;
    let value = match PlaceKind::parse(&node.kind)? {
        PlaceKind::District => node.district_code.clone().unwrap_or_default().into(),
        _ => node.id.into(),
    };
    Some((child, cond, value))
}

/// [`under`]'s condition with its value bound at placeholder `n`.
fn under_at(backend: DbBackend, node: &place::Model, n: usize) -> String {
    child_and_cond(backend, node, n).map_or_else(|| "1 = 0".into(), |(_, c)| c)
}

fn child_and_cond(
    backend: DbBackend,
    node: &place::Model,
    n: usize,
) -> Option<(&'static str, String)> {
    let p = ph(backend, n);
    Some(match PlaceKind::parse(&node.kind)? {
        PlaceKind::District => ("street_id", format!("district_code = {p}")),
        PlaceKind::Street => ("community_id", format!("street_id = {p}")),
        PlaceKind::Community => ("compound_id", format!("community_id = {p}")),
        PlaceKind::Compound => ("compound_id", format!("compound_id = {p}")),
        _ => return None,
    })
}

fn int(r: &sea_orm::QueryResult, col: &str) -> Result<u64, DbErr> {
    Ok(r.try_get::<Option<i64>>("", col)?.unwrap_or(0).max(0) as u64)
}

/// A compound under the node, with its street and community (from the
/// coverage figures' rows, which list every compound).
#[derive(Debug, Clone, Copy)]
pub struct CompoundRow {
    pub id: i64,
    pub street_id: Option<i64>,
    pub community_id: Option<i64>,
}

/// Rows of `table` under the node counted by child and by the text column
/// `by` (or by nothing).
#[derive(Debug, Clone, Copy)]
pub struct Count {
    pub table: &'static str,
    pub by: Option<&'static str>,
}

/// Each of `counts` under the node, in one statement (their parts joined
/// by `UNION ALL`): `(child, value, count)` rows, in the order asked.
pub async fn counts_by<const N: usize>(
    db: &impl ConnectionTrait,
    node: &place::Model,
    counts: [Count; N],
) -> Result<[Vec<(Option<i64>, String, u64)>; N], DbErr> {
    let mut out = std::array::from_fn(|_| Vec::new());
    let backend = db.get_database_backend();
    if N == 0 {
        return Ok(out);
    }
    let Some((child, _, value)) = under(backend, node) else {
        return Ok(out);
    };
    let parts: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(i, Count { table, by })| {
            // Each part binds the node again: SQLite's `?` is positional.
            let cond = under_at(backend, node, i + 1);
            let (v, group) = match by {
                Some(by) => (by.to_string(), format!("{child}, {by}")),
                None => ("''".into(), child.to_string()),
            };
            format!(
                "SELECT CAST({i} AS BIGINT) AS q, {child} AS k, {v} AS v, \
                   CAST(COUNT(*) AS BIGINT) AS n FROM {table} WHERE {cond} GROUP BY {group}"
            )
        })
        .collect();
    let sql = parts.join(" UNION ALL ");
    let values = vec![value; N];
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    for r in &rows {
        let q = r.try_get::<i64>("", "q")?;
        let Some(rows) = usize::try_from(q).ok().and_then(|q| out.get_mut(q)) else {
            continue;
        };
        rows.push((
            r.try_get::<Option<i64>>("", "k")?,
            r.try_get::<Option<String>>("", "v")?.unwrap_or_default(),
            int(r, "n")?,
        ));
    }
    Ok(out)
}

/// Residents' matters of one child (or of the whole node).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatterTally {
    /// Every matter but the duplicates merged into another.
    pub raised: u64,
    /// Closed (verified) matters.
    pub solved: u64,
    /// Closed matters whose last reply came by the deadline (or that had
    /// none).
    pub on_time: u64,
    /// Matters rated by their reporter, and those rated satisfied or
    /// basically satisfied.
    pub rated: u64,
    pub satisfied: u64,
}

impl MatterTally {
    pub fn add(&mut self, o: MatterTally) {
        self.raised += o.raised;
        self.solved += o.solved;
        self.on_time += o.on_time;
        self.rated += o.rated;
        self.satisfied += o.satisfied;
    }
}

/// Residents' matters under the node by child, in one query.
pub async fn matters(
    db: &impl ConnectionTrait,
    node: &place::Model,
) -> Result<HashMap<Option<i64>, MatterTally>, DbErr> {
    let backend = db.get_database_backend();
    let Some((child, cond, value)) = under(backend, node) else {
        return Ok(HashMap::new());
    };
    let sql = format!(
        "SELECT k, \
           CAST(COUNT(*) AS BIGINT) AS raised, \
           CAST(SUM(CASE WHEN state = 'closed' THEN 1 ELSE 0 END) AS BIGINT) AS solved, \
           CAST(SUM(CASE WHEN state = 'closed' AND (due_at IS NULL OR replied_at <= due_at) \
             THEN 1 ELSE 0 END) AS BIGINT) AS on_time, \
           CAST(SUM(CASE WHEN satisfaction IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS rated, \
           CAST(SUM(CASE WHEN satisfaction IN ('satisfied', 'basically') THEN 1 ELSE 0 END) \
             AS BIGINT) AS satisfied \
         FROM (SELECT m.{child} AS k, m.state, m.due_at, m.satisfaction, \
                 (SELECT MAX(e.at) FROM resident_matter_event e \
                   WHERE e.matter_id = m.id AND e.to_state = 'replied') AS replied_at \
               FROM resident_matter m WHERE m.{cond} AND m.state <> 'merged') x \
         GROUP BY k"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [value]))
        .await?;
    let mut out = HashMap::new();
    for r in &rows {
        out.insert(
            r.try_get::<Option<i64>>("", "k")?,
            MatterTally {
                raised: int(r, "raised")?,
                solved: int(r, "solved")?,
                on_time: int(r, "on_time")?,
                rated: int(r, "rated")?,
                satisfied: int(r, "satisfied")?,
            },
        );
    }
    Ok(out)
}

/// The district's agencies counted, and the current pairings of
/// compounds under the node with them, `(compound, agency)`: one round
/// trip, the count coming as a row with no compound.
pub async fn agencies_and_pairings(
    db: &impl ConnectionTrait,
    node: &place::Model,
) -> Result<(u64, Vec<(i64, i64)>), DbErr> {
    let backend = db.get_database_backend();
    let Some((_, cond, value)) = under(backend, node) else {
        return Ok((0, Vec::new()));
    };
    let sql = format!(
        "SELECT compound_id AS c, agency_id AS a FROM agency_pairing \
           WHERE {cond} AND ended_at IS NULL \
         UNION ALL SELECT NULL, CAST(COUNT(*) AS BIGINT) FROM agency WHERE district_code = {}",
        ph(backend, 2)
    );
    let code = node.district_code.clone().unwrap_or_default();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [value, code.into()],
        ))
        .await?;
    let mut agencies = 0;
    let mut pairs = Vec::new();
    for r in &rows {
        let a: i64 = r.try_get("", "a")?;
        match r.try_get::<Option<i64>>("", "c")? {
            Some(c) => pairs.push((c, a)),
            None => agencies = a.max(0) as u64,
        }
    }
    Ok((agencies, pairs))
}

/// Volunteer teams under the node and their current members (not left),
/// by child, in one query: `(child, teams, members)`.
pub async fn teams_and_members(
    db: &impl ConnectionTrait,
    node: &place::Model,
) -> Result<Vec<(Option<i64>, u64, u64)>, DbErr> {
    let backend = db.get_database_backend();
    let Some((child, cond, value)) = under(backend, node) else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT t.k, CAST(COUNT(DISTINCT t.id) AS BIGINT) AS teams, \
           CAST(COUNT(m.id) AS BIGINT) AS members \
         FROM (SELECT id, {child} AS k FROM volunteer_team WHERE {cond}) t \
         LEFT JOIN volunteer_member m ON m.team_id = t.id AND m.left_on IS NULL \
         GROUP BY t.k"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [value]))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<Option<i64>>("", "k")?,
                int(r, "teams")?,
                int(r, "members")?,
            ))
        })
        .collect()
}

/// Organisations admitted (an approved admission) to a compound under the
/// node: `(child, organisation)` pairs, each once.
pub async fn orgs_admitted(
    db: &impl ConnectionTrait,
    node: &place::Model,
) -> Result<Vec<(Option<i64>, i64)>, DbErr> {
    let backend = db.get_database_backend();
    let Some((child, cond, value)) = under(backend, node) else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT DISTINCT {child} AS k, org_id FROM social_org_admission \
         WHERE {cond} AND state = 'approved'"
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [value]))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<Option<i64>>("", "k")?,
                r.try_get::<i64>("", "org_id")?,
            ))
        })
        .collect()
}

/// Owners' votes closed (held to their result) in the district's
/// compounds among `compounds`: `(compound, count)`.
pub async fn votes_held(
    db: &impl ConnectionTrait,
    district_code: &str,
    compounds: &HashSet<i64>,
) -> Result<HashMap<i64, u64>, DbErr> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT compound_id AS k, CAST(COUNT(*) AS BIGINT) AS n FROM owner_vote \
         WHERE district_code = {} AND state = 'closed' GROUP BY compound_id",
        ph(backend, 1)
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [district_code.into()],
        ))
        .await?;
    let mut out = HashMap::new();
    for r in &rows {
        let k: i64 = r.try_get("", "k")?;
        if compounds.contains(&k) {
            out.insert(k, int(r, "n")?);
        }
    }
    Ok(out)
}

/// Each compound's property company stars from the latest closed rating
/// campaign of property companies that rated it (stars 1–5; unrated
/// subjects, 0 stars, are left out).
pub async fn property_stars(
    db: &impl ConnectionTrait,
    district_code: &str,
    compounds: &HashSet<i64>,
) -> Result<HashMap<i64, u64>, DbErr> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT s.compound_id AS k, c.id AS campaign, r.stars AS stars \
         FROM rating_result r \
         JOIN rating_subject s ON s.id = r.subject_id \
         JOIN rating_campaign c ON c.id = r.campaign_id \
         WHERE r.district_code = {} AND c.state = 'closed' \
           AND c.subject_kind = 'property_company' AND r.stars > 0",
        ph(backend, 1)
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [district_code.into()],
        ))
        .await?;
    let mut latest: HashMap<i64, (i64, u64)> = HashMap::new();
    for r in &rows {
        let k: i64 = r.try_get("", "k")?;
        if !compounds.contains(&k) {
            continue;
        }
        let campaign: i64 = r.try_get("", "campaign")?;
        let stars = r.try_get::<i32>("", "stars")?.max(0) as u64;
        let e = latest.entry(k).or_insert((campaign, stars));
        if campaign > e.0 {
            *e = (campaign, stars);
        }
    }
    Ok(latest.into_iter().map(|(k, (_, s))| (k, s)).collect())
}

// ---------------------------------------------------------------- trends

/// What a dated figure counts in a period.
#[derive(Debug, Clone, Copy)]
enum Measure {
    /// The rows dated in it.
    Rows,
    /// The distinct values of a column among them.
    Distinct(&'static str),
    /// The sum of a column over them.
    Sum(&'static str),
}

/// Where a dated figure's rows lie: through their compound (every table
/// but joint meetings), or their street.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lies {
    Compound,
    Street,
}

/// A figure kept as dated records: its table, the column dating each
/// record, which rows count, and what is counted.
#[derive(Debug, Clone, Copy)]
struct Dated {
    table: &'static str,
    at: &'static str,
    only: &'static str,
    measure: Measure,
    lies: Lies,
    /// Only records dated by now (sessions end at a time set ahead).
    by_now: bool,
}

fn dated(key: Key) -> Option<Dated> {
    let d = |table, at, only, measure| Dated {
        table,
        at,
        only,
        measure,
        lies: Lies::Compound,
        by_now: false,
    };
    Some(match key {
        Key::Deliberations => d("matter", "created_at", "1 = 1", Measure::Rows),
        Key::VotesHeld => d(
            "owner_vote",
            "closed_at",
            "t.state = 'closed'",
            Measure::Rows,
        ),
        Key::Projects => d("project", "created_at", "1 = 1", Measure::Rows),
        Key::ProjectsDone => d("project", "completed_at", "t.state = 'done'", Measure::Rows),
        Key::JointMeetings => Dated {
            lies: Lies::Street,
            ..d(
                "joint_meeting",
                "scheduled_at",
                "t.state = 'held'",
                Measure::Rows,
            )
        },
        Key::MattersRaised => d(
            "resident_matter",
            "created_at",
            "t.state <> 'merged'",
            Measure::Rows,
        ),
        Key::MattersSolved => d(
            "resident_matter",
            "closed_at",
            "t.state = 'closed'",
            Measure::Rows,
        ),
        Key::SocialOrgs => d(
            "social_org_admission",
            "decided_at",
            "t.state = 'approved'",
            Measure::Distinct("org_id"),
        ),
        Key::SocialSessions => Dated {
            by_now: true,
            ..d(
                "service_session",
                "ends_at",
                "t.state = 'scheduled'",
                Measure::Rows,
            )
        },
        Key::PersonTimes => Dated {
            by_now: true,
            ..d(
                "service_session",
                "ends_at",
                "t.state = 'scheduled'",
                Measure::Sum("attended"),
            )
        },
        _ => return None,
    })
}

/// Whether a dated figure is counted at this node: joint meetings are a
/// street's, none below one.
pub fn counted_at(key: Key, node: &place::Model) -> bool {
    match dated(key) {
        Some(d) if d.lies == Lies::Street => {
            PlaceKind::parse(&node.kind).is_some_and(|k| k <= PlaceKind::Street)
        }
        Some(_) => board_kind(node),
        None => false,
    }
}

fn board_kind(node: &place::Model) -> bool {
    PlaceKind::parse(&node.kind).is_some_and(|k| k <= PlaceKind::Compound)
}

/// The districts under a city or province: `LIKE` the first digits of its
/// code (4 or 2), which begin every district code under it.
fn code_prefix(node: &place::Model) -> Option<String> {
    let digits = PlaceKind::parse(&node.kind)?.code_digits()?;
    let code = node.code.as_deref()?;
    (code.len() >= digits).then(|| format!("{}%", &code[..digits]))
}

/// A dated figure counted in each of `periods` under the node, in one
/// query: by child (`grouped`; the key is the child's id) or for the
/// node as a whole (key none). Consecutive periods; each record counts
/// in the one its date falls in, China time. None when the figure is no
/// dated one or is not counted at this node.
pub async fn trend(
    db: &impl ConnectionTrait,
    node: &place::Model,
    key: Key,
    periods: &[Period],
    grouped: bool,
    now: DateTime<Utc>,
) -> Result<Option<HashMap<Option<i64>, Vec<u64>>>, DbErr> {
    let Some(spec) = dated(key) else {
        return Ok(None);
    };
    let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
        return Ok(Some(HashMap::new()));
    };
    if !counted_at(key, node) {
        return Ok(None);
    }
    let backend = db.get_database_backend();
    let kind = PlaceKind::parse(&node.kind);
    let above = matches!(kind, Some(PlaceKind::Province | PlaceKind::City));
    let node_value: Value = if kind == Some(PlaceKind::District) {
        node.district_code.clone().unwrap_or_default().into()
    } else if above {
        let Some(prefix) = code_prefix(node) else {
            return Ok(None);
        };
        prefix.into()
    } else {
        node.id.into()
    };
    // A city's or province's districts, by the prefix of their code.
    let op = if above { "LIKE" } else { "=" };
    // Values in the order their placeholders appear (SQLite numbers `?`
    // by position): the buckets, the node, the span.
    let mut values: Vec<Value> = Vec::new();
    let next = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        ph(backend, values.len())
    };
    let at = format!("t.{}", spec.at);
    let mut cols = Vec::with_capacity(periods.len());
    for (i, p) in periods.iter().enumerate() {
        let a = next(p.start().into(), &mut values);
        let b = next(p.end().into(), &mut values);
        let within = format!("{at} >= {a} AND {at} < {b}");
        cols.push(match spec.measure {
            Measure::Rows => {
                format!("CAST(SUM(CASE WHEN {within} THEN 1 ELSE 0 END) AS BIGINT) AS b{i}")
            }
            Measure::Sum(c) => {
                format!("CAST(SUM(CASE WHEN {within} THEN t.{c} ELSE 0 END) AS BIGINT) AS b{i}")
            }
            Measure::Distinct(c) => {
                format!("CAST(COUNT(DISTINCT CASE WHEN {within} THEN t.{c} END) AS BIGINT) AS b{i}")
            }
        });
    }
    let p1 = next(node_value, &mut values);
    let (from, cond, child) = match spec.lies {
        Lies::Compound => {
            let (cond, child) = match kind {
                Some(PlaceKind::Province | PlaceKind::City) => {
                    ("p.district_code", "p.district_code")
                }
                Some(PlaceKind::District) => ("p.district_code", "p.street_id"),
                Some(PlaceKind::Street) => ("p.street_id", "p.community_id"),
                Some(PlaceKind::Community) => ("p.community_id", "p.id"),
                _ => ("p.id", "p.id"),
            };
            (
                format!("{} t JOIN place p ON p.id = t.compound_id", spec.table),
                format!("{cond} {op} {p1}"),
                child,
            )
        }
        Lies::Street => {
            let cond = if above || kind == Some(PlaceKind::District) {
                "t.district_code"
            } else {
                "t.street_id"
            };
            (
                format!("{} t", spec.table),
                format!("{cond} {op} {p1}"),
                "t.street_id",
            )
        }
    };
    let a = next(first.start().into(), &mut values);
    let b = next(last.end().into(), &mut values);
    let mut filter = format!("{cond} AND {} AND {at} >= {a} AND {at} < {b}", spec.only);
    if spec.by_now {
        let n = next(now.into(), &mut values);
        filter.push_str(&format!(" AND {at} <= {n}"));
    }
    let (k, group) = if grouped {
        (child.to_string(), format!(" GROUP BY {child}"))
    } else {
        ("CAST(NULL AS BIGINT)".to_string(), String::new())
    };
    let sql = format!(
        "SELECT {k} AS k, {} FROM {from} WHERE {filter}{group}",
        cols.join(", ")
    );
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let mut out: HashMap<Option<i64>, Vec<u64>> = HashMap::new();
    for r in &rows {
        let k = r.try_get::<Option<i64>>("", "k")?;
        let counts = (0..periods.len())
            .map(|i| int(r, &format!("b{i}")))
            .collect::<Result<Vec<_>, _>>()?;
        out.insert(k, counts);
    }
    Ok(Some(out))
}
