//! Tests of the ratings capability: a campaign from draft to results, who
//! may do what on every route, and refused input that stores nothing.

use axum::http::{Method, StatusCode};
use jinlin_kernel::auth::Role;
use jinlin_ratings::entity::{campaign, panel_score, rectification, response, result, score};
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, db_test};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::support::{TestApp, api_error, has_cjk};

/// Accounts on the fixture tree.
struct People {
    district: i64,
    street: i64,
    other_street: i64,
    worker: i64,
    secretary: i64,
    secretary_far: i64,
    property: i64,
    property_n: i64,
    resident: i64,
    member: i64,
    resident_n: i64,
    resident_far: i64,
}

async fn setup(db: TestDb) -> (TestApp, Tree, People) {
    let t = tree(&db.db).await;
    for (compound, company, committee) in [
        (t.compound.compound, "金山物业", Some("金山花园业委会")),
        (t.neighbour.compound, "榕城物业", None),
        (t.far.compound, "城门物业", None),
    ] {
        jinlin_places::entity::compound::Entity::insert(
            jinlin_places::entity::compound::ActiveModel {
                place_id: Set(compound),
                district_code: Set("350104".into()),
                compound_type: Set("commercial".into()),
                town_area: Set("new".into()),
                address: Set(String::new()),
                latitude_e6: Set(None),
                longitude_e6: Set(None),
                owners_committee: Set(committee.map(Into::into)),
                property_company: Set(Some(company.into())),
            },
        )
        .exec(db.db.conn())
        .await
        .unwrap();
    }
    let d = &db.db;
    let p = People {
        district: account(d, "district", Role::DistrictAdmin, t.district).await,
        street: account(d, "street", Role::StreetAdmin, t.street).await,
        other_street: account(d, "other-street", Role::StreetAdmin, t.other_street).await,
        worker: account(d, "worker", Role::CommunityWorker, t.community).await,
        secretary: account(d, "secretary", Role::CompoundSecretary, t.compound.compound).await,
        secretary_far: account(d, "secretary-far", Role::CompoundSecretary, t.far.compound).await,
        property: account(d, "property", Role::PropertyStaff, t.compound.compound).await,
        property_n: account(d, "property-n", Role::PropertyStaff, t.neighbour.compound).await,
        resident: account(d, "resident", Role::Resident, t.compound.dwellings[0]).await,
        member: account(d, "member", Role::PartyMember, t.compound.dwellings[1]).await,
        resident_n: account(d, "resident-n", Role::Resident, t.neighbour.dwellings[0]).await,
        resident_far: account(d, "resident-far", Role::Resident, t.far.dwellings[0]).await,
    };
    (TestApp::new(db), t, p)
}

fn campaign_body(scope: i64, red: i64, black: i64) -> String {
    format!(
        r#"{{"scope_place_id": {scope}, "period": "2026年下半年", "subject_kind": "property_company",
            "opens_on": "2026-11-01", "closes_on": "2026-12-31", "residents_weight": 60,
            "red_threshold_centi": {red}, "black_threshold_centi": {black},
            "items": [{{"name_zh": "服务质量", "name_en": "Service quality", "weight": 3}},
                      {{"name_zh": "收费透明", "name_en": "Fees transparency", "weight": 1}}]}}"#
    )
}

fn scores(items: &[i64], values: &[i64]) -> String {
    let parts: Vec<String> = items
        .iter()
        .zip(values)
        .map(|(i, v)| format!(r#"{{"item_id": {i}, "score": {v}}}"#))
        .collect();
    format!(r#"{{"scores": [{}]}}"#, parts.join(","))
}

/// Creates and opens a campaign as `admin`; returns (id, item ids).
async fn open_campaign(app: &TestApp, admin: i64, scope: i64) -> (i64, Vec<i64>) {
    let c = app.client(admin).await;
    let made = c
        .json(
            Method::POST,
            "/api/v1/ratings/campaigns",
            &campaign_body(scope, 8000, 6000),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let id = made.json()["id"].as_i64().unwrap();
    let opened = c
        .json(
            Method::POST,
            &format!("/api/v1/ratings/campaigns/{id}/open"),
            "",
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text());
    let items = opened.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    (id, items)
}

async fn subject_of(app: &TestApp, admin: i64, campaign: i64, compound: i64) -> i64 {
    let r = app
        .client(admin)
        .await
        .get(&format!("/api/v1/ratings/campaigns/{campaign}/results"))
        .await
        .json();
    r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["compound_id"].as_i64() == Some(compound))
        .unwrap()["subject_id"]
        .as_i64()
        .unwrap()
}

macro_rules! count {
    ($app:expr, $entity:ty) => {
        <$entity>::find().count($app.db.db.conn()).await.unwrap()
    };
}

#[db_test]
async fn a_district_campaign_from_draft_to_stars(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (id, items) = open_campaign(&app, p.district, t.district).await;
    let responses = format!("/api/v1/ratings/campaigns/{id}/responses");

    // Residents of three compounds respond, one response per dwelling.
    for (who, values) in [
        (p.resident, [90, 70]),
        (p.member, [80, 50]),
        (p.resident_n, [50, 40]),
        (p.resident_far, [100, 100]),
    ] {
        let r = app
            .client(who)
            .await
            .json(Method::POST, &responses, &scores(&items, &values))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let main = subject_of(&app, p.district, id, t.compound.compound).await;
    let neighbour = subject_of(&app, p.district, id, t.neighbour.compound).await;
    let far = subject_of(&app, p.district, id, t.far.compound).await;

    // The panel: the compound's secretary, and the community worker for the
    // neighbour. The far compound gets no panel scores and stays unrated.
    let s = app.client(p.secretary).await;
    let put = s
        .json(
            Method::PUT,
            &format!("/api/v1/ratings/subjects/{main}/panel"),
            &scores(&items, &[70, 60]),
        )
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.text());
    // Replaced until the campaign closes.
    let put = s
        .json(
            Method::PUT,
            &format!("/api/v1/ratings/subjects/{main}/panel"),
            &scores(&items, &[80, 60]),
        )
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT);
    let put = app
        .client(p.worker)
        .await
        .json(
            Method::PUT,
            &format!("/api/v1/ratings/subjects/{neighbour}/panel"),
            &scores(&items, &[50, 50]),
        )
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT);
    assert_eq!(count!(app, panel_score::Entity), 4);

    // While open, no totals are published.
    let open = app
        .client(p.resident)
        .await
        .get(&format!("/api/v1/ratings/campaigns/{id}/results"))
        .await
        .json();
    assert_eq!(open["state"], "open");
    assert!(open["rows"][0]["total_centi"].is_null());

    let closed = app
        .client(p.district)
        .await
        .json(
            Method::POST,
            &format!("/api/v1/ratings/campaigns/{id}/close"),
            "",
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.text());
    assert_eq!(count!(app, result::Entity), 3);

    let r = app
        .client(p.resident)
        .await
        .get(&format!("/api/v1/ratings/campaigns/{id}/results"))
        .await
        .json();
    assert_eq!(r["state"], "closed");
    assert_eq!(r["my_subject_id"].as_i64(), Some(main));
    let rows = r["rows"].as_array().unwrap();
    // 金山物业: residents (3·170 + 120)/(2·4) = 78.75, panel (3·80 + 60)/4 = 75,
    // total 0.6·78.75 + 0.4·75 = 77.25.
    assert_eq!(rows[0]["subject_id"].as_i64(), Some(main));
    assert_eq!(rows[0]["residents_centi"], 7875);
    assert_eq!(rows[0]["panel_centi"], 7500);
    assert_eq!(rows[0]["total_centi"], 7725);
    assert_eq!(rows[0]["rank_in_district"], 1);
    assert_eq!(rows[0]["rank_in_street"], 1);
    assert_eq!(rows[0]["stars"], 5);
    assert!(rows[0]["list"].is_null());
    assert_eq!(rows[0]["responses"], 2);
    // 榕城物业: 0.6·47.5 + 0.4·50 = 48.5; rank 2 of 2 has 50 % ahead → three stars.
    assert_eq!(rows[1]["subject_id"].as_i64(), Some(neighbour));
    assert_eq!(rows[1]["total_centi"], 4850);
    assert_eq!(rows[1]["rank_in_district"], 2);
    assert_eq!(rows[1]["stars"], 3);
    assert_eq!(rows[1]["list"], "black");
    // 城门物业: no panel scores → unrated, last.
    assert_eq!(rows[2]["subject_id"].as_i64(), Some(far));
    assert!(rows[2]["total_centi"].is_null());
    assert_eq!(rows[2]["stars"], 0);

    // The ranking page, in Chinese and in English, for a resident.
    let rc = app.client(p.resident).await;
    let zh = rc.get(&format!("/ratings/{id}")).await;
    assert_eq!(zh.status, StatusCode::OK);
    let text = zh.text();
    assert!(text.contains("77.25") && text.contains("5星") && text.contains("黑榜"));
    assert!(text.contains("本小区") && text.contains("★★★★★"));
    let en = rc.get_en(&format!("/ratings/{id}")).await.text();
    assert!(en.contains("5 stars") && en.contains("Black list") && en.contains("Your compound"));
    assert!(en.contains("Service quality"));

    // Rectification of the black-listed company, done by its property staff.
    let street = app.client(p.street).await;
    let made = street
        .json(
            Method::POST,
            &format!("/api/v1/ratings/subjects/{neighbour}/rectifications"),
            r#"{"text": "公示物业费收支明细", "due_on": "2020-01-31"}"#,
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let rid = made.json()["id"].as_i64().unwrap();
    let not_black = street
        .json(
            Method::POST,
            &format!("/api/v1/ratings/subjects/{main}/rectifications"),
            r#"{"text": "整改", "due_on": "2027-01-31"}"#,
        )
        .await;
    assert_eq!(not_black.status, StatusCode::CONFLICT);
    assert_eq!(api_error(&not_black).0, "not_black_listed");
    let list = app
        .client(p.resident_n)
        .await
        .get(&format!("/api/v1/ratings/campaigns/{id}/rectifications"))
        .await
        .json();
    assert_eq!(list[0]["overdue"], true);
    let page = app
        .client(p.property_n)
        .await
        .get(&format!("/ratings/{id}/rectifications"))
        .await
        .text();
    assert!(page.contains("公示物业费收支明细") && page.contains("已逾期"));
    let done = app
        .client(p.property_n)
        .await
        .json(
            Method::POST,
            &format!("/api/v1/ratings/rectifications/{rid}/done"),
            r#"{"note": "已在公告栏公示"}"#,
        )
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.text());
    let list = street
        .get(&format!("/api/v1/ratings/campaigns/{id}/rectifications"))
        .await
        .json();
    assert_eq!(list[0]["overdue"], false);
    assert_eq!(list[0]["done_note"], "已在公告栏公示");
    let again = app
        .client(p.property_n)
        .await
        .json(
            Method::POST,
            &format!("/api/v1/ratings/rectifications/{rid}/done"),
            r#"{"note": "再次"}"#,
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[db_test]
async fn the_pages_run_a_street_campaign(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let admin = app.client(p.street).await;
    let form = admin.get("/ratings/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("服务质量"));
    let street = t.street.to_string();
    let mut fields = vec![
        ("scope_place_id", street.as_str()),
        ("period", "2026年第四季度"),
        ("subject_kind", "property_company"),
        ("opens_on", "2026-10-01"),
        ("closes_on", "2026-12-31"),
        ("residents_weight", "50"),
        ("red", "85.5"),
        ("black", "60"),
        ("item_zh_0", "服务质量"),
        ("item_en_0", "Service quality"),
        ("weight_0", "1"),
    ];
    let made = admin.form("/ratings/new", &fields, true).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text());
    let location = made.header("location").unwrap().to_string();
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    let c = campaign::Entity::find_by_id(id)
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.red_threshold_centi, 8550);
    // A form with the thresholds the wrong way round is shown again with the
    // message, and nothing is stored.
    fields[7] = ("black", "90");
    let bad = admin.form("/ratings/new", &fields, true).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("黑榜分数线须低于红榜分数线"));
    assert_eq!(count!(app, campaign::Entity), 1);
    // Without the CSRF token: refused.
    let forged = admin.form(&format!("/ratings/{id}/open"), &[], false).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let opened = admin.form(&format!("/ratings/{id}/open"), &[], true).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);

    // The street's two compounds are rated; the far one is not in scope.
    let page = admin.get_en(&format!("/ratings/{id}")).await.text();
    assert!(page.contains("金山物业") && page.contains("榕城物业") && !page.contains("城门物业"));
    assert!(page.contains("Close and compute the results"));

    // The resident's form, then the panel's form.
    let r = app.client(p.resident).await;
    let form = r.get(&format!("/ratings/{id}/respond")).await;
    assert_eq!(form.status, StatusCode::OK);
    let item = c_item(&app, id).await;
    let field = format!("score_{item}");
    let bad = r
        .form(&format!("/ratings/{id}/respond"), &[(&field, "101")], true)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("0–100"));
    let sent = r
        .form(&format!("/ratings/{id}/respond"), &[(&field, "88")], true)
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let after = r.get(&format!("/ratings/{id}/respond")).await.text();
    assert!(after.contains("您家已提交评分"));
    let main = subject_of(&app, p.street, id, t.compound.compound).await;
    let s = app.client(p.secretary).await;
    let campaign_page = s.get(&format!("/ratings/{id}")).await.text();
    assert!(campaign_page.contains(&format!("/ratings/subjects/{main}/panel")));
    let panel = s
        .form(
            &format!("/ratings/subjects/{main}/panel"),
            &[(&field, "92")],
            true,
        )
        .await;
    assert_eq!(panel.status, StatusCode::OK);
    assert!(panel.text().contains("已保存"));
    let closed = admin.form(&format!("/ratings/{id}/close"), &[], true).await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    let page = r.get(&format!("/ratings/{id}")).await.text();
    // 0.5·88 + 0.5·92 = 90; the neighbour has no data and is unrated.
    assert!(page.contains("90.00") && page.contains("红榜") && page.contains("未评星"));
    let index = r.get_en("/ratings").await.text();
    assert!(index.contains("2026年第四季度") && index.contains("Closed"));
}

async fn c_item(app: &TestApp, campaign: i64) -> i64 {
    jinlin_ratings::store::items(app.db.db.conn(), campaign)
        .await
        .unwrap()[0]
        .id
}

#[db_test]
async fn every_route_answers_by_scope_and_role(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let status = |r: &jinlin_testkit::TestResponse| r.status;

    // Creating: a street admin for their street; others refused.
    let body = campaign_body(t.street, 8000, 6000);
    let create = "/api/v1/ratings/campaigns";
    for (who, expected) in [
        (p.other_street, StatusCode::NOT_FOUND),
        (p.worker, StatusCode::FORBIDDEN),
        (p.resident, StatusCode::FORBIDDEN),
        (p.secretary, StatusCode::FORBIDDEN),
    ] {
        let r = app
            .client(who)
            .await
            .json(Method::POST, create, &body)
            .await;
        assert_eq!(status(&r), expected, "create as {who}: {}", r.text());
    }
    let district_body = campaign_body(t.district, 8000, 6000);
    let r = app
        .client(p.street)
        .await
        .json(Method::POST, create, &district_body)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.json(Method::POST, create, &body).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(count!(app, campaign::Entity), 0);
    let made = app
        .client(p.street)
        .await
        .json(Method::POST, create, &body)
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let id = made.json()["id"].as_i64().unwrap();

    // Opening.
    let open = format!("/api/v1/ratings/campaigns/{id}/open");
    for (who, expected) in [
        (p.other_street, StatusCode::NOT_FOUND),
        (p.resident_far, StatusCode::NOT_FOUND),
        (p.worker, StatusCode::FORBIDDEN),
        (p.resident, StatusCode::FORBIDDEN),
    ] {
        let r = app.client(who).await.json(Method::POST, &open, "").await;
        assert_eq!(status(&r), expected, "open as {who}");
    }
    assert_eq!(
        app.json(Method::POST, &open, "").await.status,
        StatusCode::UNAUTHORIZED
    );
    // The district admin manages the street's campaigns too.
    let r = app
        .client(p.district)
        .await
        .json(Method::POST, &open, "")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let items: Vec<i64> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let main = subject_of(&app, p.street, id, t.compound.compound).await;

    // Reads: everyone inside the street, residents included; 404 outside.
    for path in [
        "/api/v1/ratings/campaigns".to_string(),
        format!("/api/v1/ratings/campaigns/{id}"),
        format!("/api/v1/ratings/campaigns/{id}/results"),
        format!("/api/v1/ratings/campaigns/{id}/rectifications"),
        format!("/ratings/{id}"),
        format!("/ratings/{id}/rectifications"),
        "/ratings".to_string(),
    ] {
        for who in [
            p.district,
            p.street,
            p.worker,
            p.secretary,
            p.property,
            p.resident,
            p.member,
        ] {
            let r = app.client(who).await.get(&path).await;
            assert_eq!(r.status, StatusCode::OK, "{path} as {who}");
        }
        let outside = app.client(p.resident_far).await.get(&path).await;
        let expected = if path.ends_with("campaigns") || path == "/ratings" {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(outside.status, expected, "{path} from outside");
        let anonymous = app.get(&path).await;
        if path.starts_with("/api/") {
            assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{path}");
        } else {
            assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "{path}");
        }
    }
    // The list outside the street is empty.
    let far_list = app
        .client(p.resident_far)
        .await
        .get("/api/v1/ratings/campaigns")
        .await
        .json();
    assert_eq!(far_list.as_array().unwrap().len(), 0);
    let far_page = app
        .client(p.other_street)
        .await
        .get_en(&format!("/ratings/{id}"))
        .await;
    assert_eq!(far_page.status, StatusCode::NOT_FOUND);
    assert!(!far_page.text().contains("金山物业"));

    // Responding: residents and party members of a rated compound.
    let respond = format!("/api/v1/ratings/campaigns/{id}/responses");
    let body = scores(&items, &[80, 80]);
    for (who, expected) in [
        (p.resident_far, StatusCode::NOT_FOUND),
        (p.other_street, StatusCode::NOT_FOUND),
        (p.worker, StatusCode::FORBIDDEN),
        (p.secretary, StatusCode::FORBIDDEN),
        (p.street, StatusCode::FORBIDDEN),
    ] {
        let r = app
            .client(who)
            .await
            .json(Method::POST, &respond, &body)
            .await;
        assert_eq!(status(&r), expected, "respond as {who}");
    }
    assert_eq!(
        app.json(Method::POST, &respond, &body).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(count!(app, response::Entity), 0);
    let r = app
        .client(p.member)
        .await
        .json(Method::POST, &respond, &body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // Response pages.
    assert_eq!(
        app.client(p.resident)
            .await
            .get(&format!("/ratings/{id}/respond"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.client(p.worker)
            .await
            .get(&format!("/ratings/{id}/respond"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.client(p.resident_far)
            .await
            .get(&format!("/ratings/{id}/respond"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Panel scores: the compound's secretary or the community worker.
    let panel = format!("/api/v1/ratings/subjects/{main}/panel");
    for (who, expected) in [
        (p.secretary_far, StatusCode::NOT_FOUND),
        (p.other_street, StatusCode::NOT_FOUND),
        (p.property, StatusCode::FORBIDDEN),
        (p.resident, StatusCode::FORBIDDEN),
        (p.street, StatusCode::FORBIDDEN),
        (p.property_n, StatusCode::FORBIDDEN),
        (p.secretary, StatusCode::NO_CONTENT),
        (p.worker, StatusCode::NO_CONTENT),
    ] {
        let r = app.client(who).await.json(Method::PUT, &panel, &body).await;
        assert_eq!(status(&r), expected, "panel as {who}");
    }
    assert_eq!(
        app.json(Method::PUT, &panel, &body).await.status,
        StatusCode::UNAUTHORIZED
    );
    let panel_page = format!("/ratings/subjects/{main}/panel");
    for (who, expected) in [
        (p.secretary, StatusCode::OK),
        (p.resident, StatusCode::FORBIDDEN),
        (p.secretary_far, StatusCode::NOT_FOUND),
    ] {
        let r = app.client(who).await.get(&panel_page).await;
        assert_eq!(r.status, expected, "panel page as {who}");
    }

    // Closing.
    let close = format!("/api/v1/ratings/campaigns/{id}/close");
    for (who, expected) in [
        (p.other_street, StatusCode::NOT_FOUND),
        (p.worker, StatusCode::FORBIDDEN),
        (p.resident, StatusCode::FORBIDDEN),
    ] {
        let r = app.client(who).await.json(Method::POST, &close, "").await;
        assert_eq!(status(&r), expected, "close as {who}");
    }
    assert_eq!(
        app.json(Method::POST, &close, "").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(count!(app, result::Entity), 0);
    let r = app
        .client(p.street)
        .await
        .json(Method::POST, &close, "")
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // Rectification items: 80 is not black-listed at 60, so make the
    // campaign's black threshold catch it directly in the table.
    result::Entity::update_many()
        .col_expr(
            result::Column::List,
            sea_orm::sea_query::Expr::value("black"),
        )
        .exec(app.db.db.conn())
        .await
        .unwrap();
    let add = format!("/api/v1/ratings/subjects/{main}/rectifications");
    let body = r#"{"text": "整改", "due_on": "2027-01-31"}"#;
    for (who, expected) in [
        (p.other_street, StatusCode::NOT_FOUND),
        (p.resident_far, StatusCode::NOT_FOUND),
        (p.worker, StatusCode::FORBIDDEN),
        (p.secretary, StatusCode::FORBIDDEN),
        (p.property, StatusCode::FORBIDDEN),
        (p.resident, StatusCode::FORBIDDEN),
    ] {
        let r = app.client(who).await.json(Method::POST, &add, body).await;
        assert_eq!(status(&r), expected, "rectification as {who}");
    }
    assert_eq!(
        app.json(Method::POST, &add, body).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(count!(app, rectification::Entity), 0);
    let made = app
        .client(p.street)
        .await
        .json(Method::POST, &add, body)
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let rid = made.json()["id"].as_i64().unwrap();
    let done = format!("/api/v1/ratings/rectifications/{rid}/done");
    let note = r#"{"note": "已整改"}"#;
    for (who, expected) in [
        (p.resident_far, StatusCode::NOT_FOUND),
        (p.other_street, StatusCode::NOT_FOUND),
        (p.property_n, StatusCode::FORBIDDEN),
        (p.secretary, StatusCode::FORBIDDEN),
        (p.street, StatusCode::FORBIDDEN),
        (p.resident, StatusCode::FORBIDDEN),
    ] {
        let r = app.client(who).await.json(Method::POST, &done, note).await;
        assert_eq!(status(&r), expected, "done as {who}");
    }
    assert_eq!(
        app.json(Method::POST, &done, note).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .client(p.property)
        .await
        .json(Method::POST, &done, note)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // The create page: managers only.
    assert_eq!(
        app.client(p.resident)
            .await
            .get("/ratings/new")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.client(p.district)
            .await
            .get("/ratings/new")
            .await
            .status,
        StatusCode::OK
    );
}

#[db_test]
async fn refused_input_stores_nothing(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let admin = app.client(p.street).await;
    let create = "/api/v1/ratings/campaigns";

    // Black threshold at or above the red one.
    for (red, black) in [(8000, 8000), (6000, 8000)] {
        let r = admin
            .json(Method::POST, create, &campaign_body(t.street, red, black))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let (code, message) = api_error(&r);
        assert_eq!(code, "invalid_input");
        assert!(has_cjk(&message) && message.contains("黑榜"), "{message}");
    }
    let bad_weight = campaign_body(t.street, 8000, 6000).replace("\"weight\": 3", "\"weight\": 0");
    let r = admin.json(Method::POST, create, &bad_weight).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let community = campaign_body(t.community, 8000, 6000);
    let r = app
        .client(p.worker)
        .await
        .json(Method::POST, create, &community)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count!(app, campaign::Entity), 0);

    let (id, items) = open_campaign(&app, p.street, t.street).await;
    let respond = format!("/api/v1/ratings/campaigns/{id}/responses");
    let r = app.client(p.resident).await;
    for (body, key) in [
        (scores(&items, &[101, 50]), "0–100"),
        (scores(&items, &[-1, 50]), "0–100"),
        (scores(&[items[0], 999_999], &[50, 50]), "没有的项目"),
        (scores(&items[..1], &[50]), "每个项目"),
    ] {
        let res = r.json(Method::POST, &respond, &body).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let (_, message) = api_error(&res);
        assert!(message.contains(key), "{message}");
    }
    // In English too.
    let res = app
        .request(
            Method::POST,
            &respond,
            &[
                ("cookie", &format!("{}; jinlin_lang=en", r.cookie)),
                ("content-type", "application/json"),
                ("x-csrf-token", &r.csrf),
            ],
            axum::body::Body::from(scores(&items, &[101, 50])),
        )
        .await;
    assert!(api_error(&res).1.contains("0–100") && !has_cjk(&api_error(&res).1));
    assert_eq!(count!(app, response::Entity), 0);
    assert_eq!(count!(app, score::Entity), 0);

    // One response per dwelling.
    let ok = r
        .json(Method::POST, &respond, &scores(&items, &[70, 70]))
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let twice = r
        .json(Method::POST, &respond, &scores(&items, &[10, 10]))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let (code, message) = api_error(&twice);
    assert_eq!(code, "already_responded");
    assert!(message.contains("每户限评一次"));
    assert_eq!(count!(app, response::Entity), 1);
    assert_eq!(count!(app, score::Entity), 2);

    // Panel scores out of range.
    let main = subject_of(&app, p.street, id, t.compound.compound).await;
    let s = app.client(p.secretary).await;
    let bad = s
        .json(
            Method::PUT,
            &format!("/api/v1/ratings/subjects/{main}/panel"),
            &scores(&items, &[100, 200]),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count!(app, panel_score::Entity), 0);

    // Opening twice; after closing, no more responses or panel scores.
    let again = admin
        .json(
            Method::POST,
            &format!("/api/v1/ratings/campaigns/{id}/open"),
            "",
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let closed = admin
        .json(
            Method::POST,
            &format!("/api/v1/ratings/campaigns/{id}/close"),
            "",
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK);
    let late = app
        .client(p.member)
        .await
        .json(Method::POST, &respond, &scores(&items, &[90, 90]))
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(api_error(&late).1.contains("不在进行中"));
    assert_eq!(count!(app, response::Entity), 1);
    let late_panel = s
        .json(
            Method::PUT,
            &format!("/api/v1/ratings/subjects/{main}/panel"),
            &scores(&items, &[90, 90]),
        )
        .await;
    assert_eq!(late_panel.status, StatusCode::CONFLICT);
    assert_eq!(count!(app, panel_score::Entity), 0);
    let close_again = admin
        .json(
            Method::POST,
            &format!("/api/v1/ratings/campaigns/{id}/close"),
            "",
        )
        .await;
    assert_eq!(close_again.status, StatusCode::CONFLICT);

    // Rectification text and date.
    result::Entity::update_many()
        .col_expr(
            result::Column::List,
            sea_orm::sea_query::Expr::value("black"),
        )
        .exec(app.db.db.conn())
        .await
        .unwrap();
    let add = format!("/api/v1/ratings/subjects/{main}/rectifications");
    let empty = admin
        .json(
            Method::POST,
            &add,
            r#"{"text": "  ", "due_on": "2027-01-31"}"#,
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_date = admin
        .json(
            Method::POST,
            &add,
            r#"{"text": "整改", "due_on": "2027-02-30"}"#,
        )
        .await;
    assert!(bad_date.status.is_client_error());
    assert_eq!(count!(app, rectification::Entity), 0);
}

#[db_test]
async fn the_openapi_document_lists_the_rating_routes(db: TestDb) {
    let app = TestApp::new(db);
    let doc = app.get("/api/v1/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/ratings/campaigns", "get"),
        ("/api/v1/ratings/campaigns", "post"),
        ("/api/v1/ratings/campaigns/{id}", "get"),
        ("/api/v1/ratings/campaigns/{id}/open", "post"),
        ("/api/v1/ratings/campaigns/{id}/close", "post"),
        ("/api/v1/ratings/campaigns/{id}/responses", "post"),
        ("/api/v1/ratings/campaigns/{id}/results", "get"),
        ("/api/v1/ratings/campaigns/{id}/rectifications", "get"),
        ("/api/v1/ratings/subjects/{id}/panel", "put"),
        ("/api/v1/ratings/subjects/{id}/rectifications", "post"),
        ("/api/v1/ratings/rectifications/{id}/done", "post"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    // Named apart from other capabilities' schemas.
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["RatingCreated"].is_object());
    assert!(schemas["RatingResults"]["properties"]["rows"].is_object());
}

#[db_test]
async fn owners_committees_are_rated_where_a_compound_has_one(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let body = campaign_body(t.street, 8000, 6000).replace("property_company", "owners_committee");
    let admin = app.client(p.street).await;
    let made = admin
        .json(Method::POST, "/api/v1/ratings/campaigns", &body)
        .await;
    let id = made.json()["id"].as_i64().unwrap();
    let opened = admin
        .json(
            Method::POST,
            &format!("/api/v1/ratings/campaigns/{id}/open"),
            "",
        )
        .await;
    assert_eq!(opened.json()["subjects"], 1);
    let rows = admin
        .get(&format!("/api/v1/ratings/campaigns/{id}/results"))
        .await
        .json();
    assert_eq!(rows["rows"][0]["name"], "金山花园业委会");
    // A resident of the compound without a committee has nothing to rate.
    let r = app
        .client(p.resident_n)
        .await
        .json(
            Method::POST,
            &format!("/api/v1/ratings/campaigns/{id}/responses"),
            r#"{"scores": []}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(api_error(&r).1.contains("参评小区"));
    // A resident names a dwelling that is not theirs: refused.
    let items: Vec<i64> = opened.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let other = format!(
        r#"{{"dwelling_id": {}, "scores": [{{"item_id": {}, "score": 80}}, {{"item_id": {}, "score": 80}}]}}"#,
        t.compound.dwellings[1], items[0], items[1]
    );
    let r = app
        .client(p.resident)
        .await
        .json(
            Method::POST,
            &format!("/api/v1/ratings/campaigns/{id}/responses"),
            &other,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(count!(app, response::Entity), 0);

    // The other street has no owners' committee: nothing to rate, stays a draft.
    let far =
        campaign_body(t.other_street, 8000, 6000).replace("property_company", "owners_committee");
    let district = app.client(p.district).await;
    let made = district
        .json(Method::POST, "/api/v1/ratings/campaigns", &far)
        .await;
    let far_id = made.json()["id"].as_i64().unwrap();
    let refused = district
        .json(
            Method::POST,
            &format!("/api/v1/ratings/campaigns/{far_id}/open"),
            "",
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(api_error(&refused).0, "no_subjects");
    let still = district
        .get(&format!("/api/v1/ratings/campaigns/{far_id}"))
        .await
        .json();
    assert_eq!(still["state"], "draft");
    assert_eq!(still["subjects"], 0);
}

#[db_test]
async fn two_accounts_of_one_dwelling_respond_once(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let (id, items) = open_campaign(&app, p.street, t.street).await;
    let respond = format!("/api/v1/ratings/campaigns/{id}/responses");
    let spouse = account(
        &app.db.db,
        "resident-spouse",
        Role::Resident,
        t.compound.dwellings[0],
    )
    .await;
    let first = app
        .client(p.resident)
        .await
        .json(Method::POST, &respond, &scores(&items, &[70, 70]))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let second = app
        .client(spouse)
        .await
        .json(Method::POST, &respond, &scores(&items, &[10, 10]))
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.text());
    let (code, message) = api_error(&second);
    assert_eq!(code, "already_responded");
    assert!(message.contains("每户限评一次"), "{message}");
    assert_eq!(count!(app, response::Entity), 1);
    assert_eq!(count!(app, score::Entity), 2);
    // The dwelling's response stands, for both accounts.
    let view = app
        .client(spouse)
        .await
        .get(&format!("/api/v1/ratings/campaigns/{id}"))
        .await
        .json();
    assert_eq!(view["my"]["responded"], true);
}

#[db_test]
async fn tied_totals_share_a_rank_and_a_streetless_compound_has_no_street_rank(db: TestDb) {
    let (app, t, p) = setup(db).await;
    // 城门小区 has lost its street (an unfinished registry): it still takes
    // part district-wide, but ranks in no street.
    jinlin_kernel::place::entity::Entity::update_many()
        .col_expr(
            jinlin_kernel::place::entity::Column::StreetId,
            sea_orm::sea_query::Expr::value(Option::<i64>::None),
        )
        .filter(jinlin_kernel::place::entity::Column::Id.eq(t.far.compound))
        .exec(app.db.db.conn())
        .await
        .unwrap();
    let (id, items) = open_campaign(&app, p.district, t.district).await;
    let responses = format!("/api/v1/ratings/campaigns/{id}/responses");
    for (who, values) in [
        (p.resident, [80, 60]),
        (p.resident_n, [80, 60]),
        (p.resident_far, [40, 40]),
    ] {
        let r = app
            .client(who)
            .await
            .json(Method::POST, &responses, &scores(&items, &values))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let main = subject_of(&app, p.district, id, t.compound.compound).await;
    let neighbour = subject_of(&app, p.district, id, t.neighbour.compound).await;
    let far = subject_of(&app, p.district, id, t.far.compound).await;
    for (who, subject, values) in [
        (p.secretary, main, [70, 70]),
        (p.worker, neighbour, [70, 70]),
        (p.secretary_far, far, [40, 40]),
    ] {
        let put = app
            .client(who)
            .await
            .json(
                Method::PUT,
                &format!("/api/v1/ratings/subjects/{subject}/panel"),
                &scores(&items, &values),
            )
            .await;
        assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.text());
    }
    let closed = app
        .client(p.district)
        .await
        .json(
            Method::POST,
            &format!("/api/v1/ratings/campaigns/{id}/close"),
            "",
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.text());
    let r = closed.json();
    let rows = r["rows"].as_array().unwrap();
    let row = |subject: i64| {
        rows.iter()
            .find(|row| row["subject_id"].as_i64() == Some(subject))
            .unwrap()
            .clone()
    };
    let (a, b, c) = (row(main), row(neighbour), row(far));
    assert_eq!(a["total_centi"], b["total_centi"]);
    // Equal totals share first place; the next is third, not second.
    assert_eq!(a["rank_in_district"], 1);
    assert_eq!(b["rank_in_district"], 1);
    assert_eq!(c["rank_in_district"], 3);
    assert_eq!(a["stars"], 5);
    assert_eq!(b["stars"], 5);
    assert_eq!(c["stars"], 3);
    assert_eq!(a["rank_in_street"], 1);
    assert_eq!(b["rank_in_street"], 1);
    assert!(c["street_id"].is_null());
    assert!(c["rank_in_street"].is_null(), "{c}");
    // Tied rows are listed by name.
    let names: Vec<&str> = rows[..2]
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[db_test]
async fn committee_rectifications_are_completed_by_the_committee(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let committee = account(
        &app.db.db,
        "committee",
        Role::OwnersCommittee,
        t.compound.compound,
    )
    .await;
    // Everything below 99.99 points is black-listed.
    let body = campaign_body(t.street, 10000, 9999).replace("property_company", "owners_committee");
    let admin = app.client(p.street).await;
    let made = admin
        .json(Method::POST, "/api/v1/ratings/campaigns", &body)
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let id = made.json()["id"].as_i64().unwrap();
    let opened = admin
        .json(
            Method::POST,
            &format!("/api/v1/ratings/campaigns/{id}/open"),
            "",
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text());
    let items: Vec<i64> = opened.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let subject = subject_of(&app, p.street, id, t.compound.compound).await;
    let r = app
        .client(p.resident)
        .await
        .json(
            Method::POST,
            &format!("/api/v1/ratings/campaigns/{id}/responses"),
            &scores(&items, &[50, 50]),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let put = app
        .client(p.secretary)
        .await
        .json(
            Method::PUT,
            &format!("/api/v1/ratings/subjects/{subject}/panel"),
            &scores(&items, &[50, 50]),
        )
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.text());
    let closed = admin
        .json(
            Method::POST,
            &format!("/api/v1/ratings/campaigns/{id}/close"),
            "",
        )
        .await;
    assert_eq!(closed.json()["rows"][0]["list"], "black");
    let made = admin
        .json(
            Method::POST,
            &format!("/api/v1/ratings/subjects/{subject}/rectifications"),
            r#"{"text": "按期召开业主大会", "due_on": "2027-03-31"}"#,
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let rid = made.json()["id"].as_i64().unwrap();
    let list = format!("/api/v1/ratings/campaigns/{id}/rectifications");
    let done = format!("/api/v1/ratings/rectifications/{rid}/done");

    // The property company is not the rated side of a committee campaign.
    let staff = app.client(p.property).await;
    assert_eq!(staff.get(&list).await.json()[0]["can_complete"], false);
    let refused = staff
        .json(Method::POST, &done, r#"{"note": "已处理"}"#)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert_eq!(count!(app, rectification::Entity), 1);
    let stored = rectification::Entity::find()
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.done_at.is_none());

    let c = app.client(committee).await;
    assert_eq!(c.get(&list).await.json()[0]["can_complete"], true);
    let ok = c
        .json(Method::POST, &done, r#"{"note": "已于3月召开业主大会"}"#)
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.text());
}

/// Writes to one campaign run in turn: a double open or close answers 409
/// rather than failing on a unique index, and a response racing the close
/// is either counted in the results or refused.
#[db_test]
async fn concurrent_writes_to_a_campaign_run_in_turn(db: TestDb) {
    let (app, t, p) = setup(db).await;
    let admin = app.client(p.street).await;
    let made = admin
        .json(
            Method::POST,
            "/api/v1/ratings/campaigns",
            &campaign_body(t.street, 8000, 6000),
        )
        .await;
    let id = made.json()["id"].as_i64().unwrap();
    let open = format!("/api/v1/ratings/campaigns/{id}/open");
    let admin2 = app.client(p.street).await;
    let (a, b) = tokio::join!(
        admin.json(Method::POST, &open, ""),
        admin2.json(Method::POST, &open, "")
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} {}",
        a.text(),
        b.text()
    );
    let items: Vec<i64> = admin
        .get(&format!("/api/v1/ratings/campaigns/{id}"))
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let main = subject_of(&app, p.street, id, t.compound.compound).await;

    // Two panel writes at once: both succeed, one set of scores remains.
    let s1 = app.client(p.secretary).await;
    let s2 = app.client(p.worker).await;
    let panel = format!("/api/v1/ratings/subjects/{main}/panel");
    let (first, second) = (scores(&items, &[70, 70]), scores(&items, &[60, 60]));
    let (a, b) = tokio::join!(
        s1.json(Method::PUT, &panel, &first),
        s2.json(Method::PUT, &panel, &second)
    );
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text());
    assert_eq!(b.status, StatusCode::NO_CONTENT, "{}", b.text());
    assert_eq!(count!(app, panel_score::Entity), 2);

    let close = format!("/api/v1/ratings/campaigns/{id}/close");
    let resident = app.client(p.resident).await;
    let respond = format!("/api/v1/ratings/campaigns/{id}/responses");
    let late = scores(&items, &[90, 90]);
    let (a, b, r) = tokio::join!(
        admin.json(Method::POST, &close, ""),
        admin2.json(Method::POST, &close, ""),
        resident.json(Method::POST, &respond, &late)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} {}",
        a.text(),
        b.text()
    );
    assert!(
        r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT,
        "{}",
        r.text()
    );
    let stored = count!(app, response::Entity);
    let counted: i64 = result::Entity::find()
        .all(app.db.db.conn())
        .await
        .unwrap()
        .iter()
        .map(|r| i64::from(r.responses))
        .sum();
    assert_eq!(stored as i64, counted);
}
