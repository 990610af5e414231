//! Bulk import of a compound's buildings, dwellings and owners from CSV and
//! Excel files: the dry run's report, the all-or-nothing apply, and who may
//! import.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use jinlin_kernel::auth::Role;
use jinlin_testkit::fixtures::{Tree, account, tree};
use jinlin_testkit::{TestDb, TestResponse, db_test};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

use crate::client::Client;
use crate::support::{TestApp, api_error};

const CSV: &str = "text/csv";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const HEADERS: [&str; 11] = [
    "楼栋",
    "单元",
    "房号",
    "面积",
    "面积来源",
    "业主类型",
    "业主",
    "电话",
    "身份证号",
    "党员",
    "工作单位",
];

fn id_number(body: &str) -> String {
    format!(
        "{body}{}",
        jinlin_people::rules::id_check_character(body).unwrap()
    )
}

/// 金山花园: 1号楼/1单元/101 and 102 exist already (without areas). The file
/// adds an entrance and a second building; 101 has two co-owners, 102 is
/// held by the developer, 林美华 owns 101 and 201, 2号楼 101 has no owner yet.
fn rows() -> Vec<Vec<String>> {
    let lin = id_number("35010419800101123");
    let chen = id_number("35010419780512201");
    let text = [
        format!("1号楼,1单元,101,89.50,登记,个人,林美华,13812341234,{lin},是,仓山区住建局"),
        format!("1号楼,1单元,101,89.5,登记,个人,陈建国,13900001111,{chen},否,"),
        "1号楼,1单元,102,120,测绘,开发建设单位,福州某置业有限公司,,,,".to_string(),
        format!("1号楼,2单元,201,95.25,合同,个人,林美华,13812341234,{lin},是,仓山区住建局"),
        "2号楼,1单元,101,70,,,,,,,".to_string(),
        "2号楼,1单元,102,70,,个人,王芳,0591-87654321,,否,".to_string(),
    ];
    text.iter()
        .map(|line| line.split(',').map(str::to_string).collect())
        .collect()
}

fn csv_of(rows: &[Vec<String>]) -> Vec<u8> {
    let mut text = HEADERS.join(",");
    text.push('\n');
    for row in rows {
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text.into_bytes()
}

/// The same rows as a workbook, areas and phones typed as numbers where
/// they are plain numbers, as a spreadsheet user would.
fn xlsx_of(rows: &[Vec<String>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            if cell.is_empty() {
                continue;
            }
            match (c, cell.parse::<f64>()) {
                (2 | 3 | 7, Ok(n)) => sheet.write_number(r, c, n).unwrap(),
                _ => sheet.write_string(r, c, cell).unwrap(),
            };
        }
    }
    book.save_to_buffer().unwrap()
}

async fn import(
    c: &Client<'_>,
    id: i64,
    mode: &str,
    content_type: &str,
    body: Vec<u8>,
) -> TestResponse {
    c.app
        .request(
            Method::POST,
            &format!("/api/v1/places/{id}/registry-import?mode={mode}"),
            &[
                ("cookie", &c.cookie),
                ("content-type", content_type),
                ("x-csrf-token", &c.csrf),
            ],
            Body::from(body),
        )
        .await
}

#[derive(Debug, PartialEq, Eq)]
struct Counts {
    places: u64,
    people: u64,
    owners: u64,
    dwellings: u64,
}

async fn counts(app: &TestApp) -> Counts {
    let db = app.db.db.conn();
    Counts {
        places: jinlin_kernel::place::entity::Entity::find()
            .count(db)
            .await
            .unwrap(),
        people: jinlin_people::entity::person::Entity::find()
            .count(db)
            .await
            .unwrap(),
        owners: jinlin_people::entity::dwelling_owner::Entity::find()
            .count(db)
            .await
            .unwrap(),
        dwellings: jinlin_places::entity::dwelling::Entity::find()
            .count(db)
            .await
            .unwrap(),
    }
}

async fn audits(app: &TestApp) -> u64 {
    jinlin_kernel::audit::entity::Entity::find()
        .filter(jinlin_kernel::audit::entity::Column::Action.eq("registry.import"))
        .count(app.db.db.conn())
        .await
        .unwrap()
}

fn summary(body: &Value) -> [u64; 12] {
    let s = &body["report"]["summary"];
    [
        "rows",
        "ok",
        "errors",
        "buildings_new",
        "buildings_existing",
        "entrances_new",
        "entrances_existing",
        "dwellings_new",
        "dwellings_existing",
        "dwellings_area_changed",
        "owners_new",
        "owners_linked",
    ]
    .map(|k| {
        s[k].as_u64()
            .unwrap_or_else(|| panic!("summary.{k} in {s}"))
    })
}

fn applied(body: &Value) -> [u64; 6] {
    let c = &body["counts"];
    [
        "buildings_created",
        "entrances_created",
        "dwellings_created",
        "dwellings_updated",
        "owners_added",
        "people_created",
    ]
    .map(|k| {
        c[k].as_u64()
            .unwrap_or_else(|| panic!("counts.{k} in {body}"))
    })
}

/// The owners of a dwelling as (kind, person id, company name).
async fn owners_of(app: &TestApp, dwelling: i64) -> Vec<(String, Option<i64>, Option<String>)> {
    jinlin_people::store::owners_of(app.db.db.conn(), &[dwelling])
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.owner_kind, o.person_id, o.company_name))
        .collect()
}

async fn place_named(app: &TestApp, parent: i64, name: &str) -> i64 {
    use jinlin_kernel::place::entity as place;
    place::Entity::find()
        .filter(place::Column::ParentId.eq(parent))
        .filter(place::Column::Name.eq(name))
        .one(app.db.db.conn())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {name} under {parent}"))
        .id
}

/// Dry run, apply, and apply again: what every format must do.
async fn check_then_apply(
    app: &TestApp,
    t: &Tree,
    c: &Client<'_>,
    content_type: &str,
    file: Vec<u8>,
) {
    let compound = t.compound.compound;
    let before = counts(app).await;
    let dry = import(c, compound, "dry_run", content_type, file.clone()).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text());
    let body = dry.json();
    assert_eq!(body["mode"], "dry_run");
    assert_eq!(body["applied"], false);
    assert_eq!(summary(&body), [6, 6, 0, 1, 1, 2, 1, 3, 2, 2, 5, 0]);
    let first = &body["report"]["rows"][0];
    assert_eq!(first["line"], 2);
    assert_eq!(first["status"], "ok");
    assert_eq!(first["dwelling_action"], "area_set");
    assert_eq!(first["owner_action"], "new");
    assert_eq!(counts(app).await, before, "a dry run writes nothing");

    let done = import(c, compound, "apply", content_type, file.clone()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let body = done.json();
    assert_eq!(body["applied"], true);
    assert_eq!(applied(&body), [1, 2, 3, 2, 5, 3]);
    let after = counts(app).await;
    assert_eq!(after.places, before.places + 6);
    assert_eq!(after.people, before.people + 3);
    assert_eq!(after.owners, before.owners + 5);
    assert_eq!(after.dwellings, before.dwellings + 5);
    assert_eq!(audits(app).await, 1);

    // Co-owners of 101, the developer on 102, one person on two dwellings.
    let d101 = owners_of(app, t.compound.dwellings[0]).await;
    assert_eq!(d101.len(), 2);
    assert!(
        d101.iter()
            .all(|(kind, person, _)| kind == "person" && person.is_some())
    );
    let d102 = owners_of(app, t.compound.dwellings[1]).await;
    assert_eq!(
        d102,
        [(
            "developer".to_string(),
            None,
            Some("福州某置业有限公司".to_string())
        )]
    );
    let e2 = place_named(app, t.compound.building, "2单元").await;
    let d201 = owners_of(app, place_named(app, e2, "201").await).await;
    assert_eq!(d201[0].1, d101[0].1, "林美华 is one person");
    let b2 = place_named(app, compound, "2号楼").await;
    let b2e1 = place_named(app, b2, "1单元").await;
    assert!(
        owners_of(app, place_named(app, b2e1, "101").await)
            .await
            .is_empty()
    );
    let area = jinlin_places::store::dwelling_of(app.db.db.conn(), t.compound.dwellings[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (area.area_centi_m2, area.area_source.as_str()),
        (8950, "register")
    );
    let person = jinlin_people::store::find(app.db.db.conn(), d101[0].1.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(person.name, "林美华");
    assert!(person.party_member);
    assert_eq!(person.phone.as_deref(), Some("13812341234"));
    assert!(person.id_number_digest.is_some());

    // The same file again changes nothing.
    let again = import(c, compound, "apply", content_type, file).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    let body = again.json();
    assert_eq!(applied(&body), [0; 6]);
    assert_eq!(summary(&body), [6, 6, 0, 0, 2, 0, 3, 0, 5, 0, 0, 5]);
    assert_eq!(counts(app).await, after);
}

#[db_test]
async fn a_community_worker_checks_then_imports_a_csv(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let c = app.client(worker).await;
    check_then_apply(&app, &t, &c, CSV, csv_of(&rows())).await;
    // A charset parameter is fine, and so is a BOM.
    let mut bom = "\u{feff}".as_bytes().to_vec();
    bom.extend(csv_of(&rows()));
    let again = import(
        &c,
        t.compound.compound,
        "apply",
        "text/csv; charset=utf-8",
        bom,
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(applied(&again.json()), [0; 6]);
}

#[db_test]
async fn an_xlsx_file_imports_like_the_csv(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let c = app.client(worker).await;
    check_then_apply(&app, &t, &c, XLSX, xlsx_of(&rows())).await;
    // Written as CSV afterwards, the same registry is recognised.
    let csv = import(&c, t.compound.compound, "apply", CSV, csv_of(&rows())).await;
    assert_eq!(applied(&csv.json()), [0; 6]);
}

#[db_test]
async fn one_bad_row_refuses_the_whole_file(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let c = app.client(worker).await;
    let mut rows = rows();
    // Row 3 of the file: 陈建国's ID number with a wrong check character.
    let good = rows[1][8].clone();
    let last = if good.ends_with('1') { '2' } else { '1' };
    rows[1][8] = format!("{}{last}", &good[..17]);
    let file = csv_of(&rows);
    let before = counts(&app).await;

    let refused = import(&c, t.compound.compound, "apply", CSV, file.clone()).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text()
    );
    let (code, _) = api_error(&refused);
    assert_eq!(code, "import_rows_invalid");
    let body = refused.json();
    assert_eq!(summary(&body)[..3], [6, 5, 1]);
    let bad: Vec<&Value> = body["report"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "error")
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["line"], 3);
    let message = &bad[0]["errors"][0];
    assert_eq!(message["field"], "id_number");
    assert!(
        message["zh"].as_str().unwrap().contains("校验位"),
        "{message}"
    );
    assert!(
        message["en"].as_str().unwrap().contains("check character"),
        "{message}"
    );
    assert_eq!(counts(&app).await, before, "nothing is stored");
    assert_eq!(audits(&app).await, 0);

    // The dry run reports the same, with 200.
    let dry = import(&c, t.compound.compound, "dry_run", CSV, file).await;
    assert_eq!(dry.status, StatusCode::OK);
    assert_eq!(summary(&dry.json())[..3], [6, 5, 1]);
    assert_eq!(
        dry.json()["report"]["rows"][1]["errors"][0]["field"],
        "id_number"
    );
}

#[db_test]
async fn a_gbk_csv_from_chinese_excel_imports(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let app = TestApp::new(db);
    let c = app.client(worker).await;
    let file = include_bytes!("../fixtures/registry-gbk.csv").to_vec();
    assert!(std::str::from_utf8(&file).is_err(), "the fixture is GBK");
    let done = import(&c, t.compound.compound, "apply", CSV, file).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!(applied(&done.json()), [1, 1, 2, 0, 2, 1]);
    let b3 = place_named(&app, t.compound.compound, "3号楼").await;
    let e1 = place_named(&app, b3, "1单元").await;
    let owners = owners_of(&app, place_named(&app, e1, "302").await).await;
    assert_eq!(owners[0].2.as_deref(), Some("福州榕城物业有限公司"));
    let d301 = owners_of(&app, place_named(&app, e1, "301").await).await;
    let person = jinlin_people::store::find(app.db.db.conn(), d301[0].1.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(person.name, "郑晓燕");
    assert_eq!(
        person.employer.as_deref(),
        Some("福州市仓山区金山街道办事处")
    );
}

#[db_test]
async fn only_editors_of_the_compound_import_well_formed_files(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let secretary = account(
        &db.db,
        "secretary",
        Role::CompoundSecretary,
        t.compound.compound,
    )
    .await;
    let far = account(&db.db, "far", Role::StreetAdmin, t.other_street).await;
    let app = TestApp::new(db);
    let compound = t.compound.compound;
    let file = csv_of(&rows());
    let before = counts(&app).await;

    let s = app.client(secretary).await;
    let refused = import(&s, compound, "apply", CSV, file.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(api_error(&refused).0, "forbidden");
    let f = app.client(far).await;
    let hidden = import(&f, compound, "dry_run", CSV, file.clone()).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(api_error(&hidden).0, "not_found");
    let anonymous = app
        .request(
            Method::POST,
            &format!("/api/v1/places/{compound}/registry-import"),
            &[("content-type", CSV)],
            Body::from(file.clone()),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let w = app.client(worker).await;
    let json = import(&w, compound, "dry_run", "application/json", file.clone()).await;
    assert_eq!(json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (code, message) = api_error(&json);
    assert_eq!(code, "import_media_type");
    assert!(message.contains("text/csv"), "{message}");
    let untyped = w
        .app
        .request(
            Method::POST,
            &format!("/api/v1/places/{compound}/registry-import"),
            &[("cookie", &w.cookie), ("x-csrf-token", &w.csrf)],
            Body::from(file.clone()),
        )
        .await;
    assert_eq!(untyped.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let empty = import(&w, compound, "apply", CSV, Vec::new()).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (code, message) = api_error(&empty);
    assert_eq!(code, "import_file");
    assert!(message.contains("文件为空"), "{message}");
    let no_area = import(
        &w,
        compound,
        "apply",
        CSV,
        "楼栋,单元,房号\n1号楼,1单元,101\n".into(),
    )
    .await;
    assert_eq!(no_area.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, message) = api_error(&no_area);
    assert!(message.contains("面积 (area)"), "{message}");
    let not_xlsx = import(&w, compound, "apply", XLSX, file.clone()).await;
    assert_eq!(not_xlsx.status, StatusCode::UNPROCESSABLE_ENTITY);
    let building = import(&w, t.compound.building, "dry_run", CSV, file.clone()).await;
    assert_eq!(building.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api_error(&building).0, "import_not_compound");
    let bad_mode = import(&w, compound, "maybe", CSV, file).await;
    assert_eq!(bad_mode.status, StatusCode::BAD_REQUEST);
    assert_eq!(counts(&app).await, before);

    let doc = app.get("/api/v1/openapi.json").await.json();
    let path = &doc["paths"]["/api/v1/places/{id}/registry-import"]["post"];
    assert!(path["responses"]["422"].is_object(), "{path}");
    assert!(path["requestBody"]["content"][XLSX].is_object(), "{path}");
}

#[db_test]
async fn an_oversize_file_is_refused_with_the_limit(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let config = jinlin_kernel::Config {
        max_body_bytes: 1024 * 1024,
        ..Default::default()
    };
    let app = TestApp::with_config(db, config);
    let c = app.client(worker).await;
    let mut file = csv_of(&rows());
    file.resize(1024 * 1024 + 1, b'\n');
    let big = import(&c, t.compound.compound, "dry_run", CSV, file).await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    let (code, message) = api_error(&big);
    assert_eq!(code, "payload_too_large");
    assert!(message.contains("1 MB"), "{message}");
}

/// A multipart body with `fields` and, if given, a file field.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "jinlin-import-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .into_bytes(),
        );
    }
    if let Some((file_name, bytes)) = file {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .into_bytes(),
        );
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").into_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    c: &Client<'_>,
    id: i64,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
    english: bool,
) -> TestResponse {
    let (content_type, body) = multipart(fields, file);
    let cookie = if english {
        format!("{}; jinlin_lang=en", c.cookie)
    } else {
        c.cookie.clone()
    };
    c.app
        .request(
            Method::POST,
            &format!("/places/{id}/import"),
            &[("cookie", &cookie), ("content-type", &content_type)],
            Body::from(body),
        )
        .await
}

#[db_test]
async fn the_import_page_checks_and_imports_with_csrf(db: TestDb) {
    let t = tree(&db.db).await;
    let worker = account(&db.db, "worker", Role::CommunityWorker, t.community).await;
    let secretary = account(
        &db.db,
        "secretary",
        Role::CompoundSecretary,
        t.compound.compound,
    )
    .await;
    let app = TestApp::new(db);
    let compound = t.compound.compound;
    let c = app.client(worker).await;

    // The compound page links to the import for editors only.
    let link = format!("href=\"/places/{compound}/import\"");
    assert!(
        c.get(&format!("/places/{compound}"))
            .await
            .text()
            .contains(&link)
    );
    let s = app.client(secretary).await;
    assert!(
        !s.get(&format!("/places/{compound}"))
            .await
            .text()
            .contains(&link)
    );
    assert_eq!(
        s.get(&format!("/places/{compound}/import")).await.status,
        StatusCode::FORBIDDEN
    );

    let page = c.get(&format!("/places/{compound}/import")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("enctype=\"multipart/form-data\""));
    assert!(html.contains(&format!("value=\"{}\"", c.csrf)));
    assert!(html.contains("身份证号") && html.contains("id_number"));
    assert!(html.contains(&format!("/places/{compound}/import/template.csv")));
    let template = c
        .get(&format!("/places/{compound}/import/template.csv"))
        .await;
    assert_eq!(template.status, StatusCode::OK);
    assert!(
        template
            .header("content-type")
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        template
            .text()
            .starts_with("\u{feff}楼栋,单元,房号,面积,面积来源")
    );

    // Without the CSRF token: 403, nothing read.
    let file = csv_of(&rows());
    let before = counts(&app).await;
    let forged = upload(
        &c,
        compound,
        &[("mode", "apply")],
        Some(("registry.csv", &file)),
        false,
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(counts(&app).await, before);

    // A dry run shows the report in the user's language.
    let dry = upload(
        &c,
        compound,
        &[("csrf", &c.csrf), ("mode", "dry_run")],
        Some(("registry.csv", &file)),
        true,
    )
    .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text());
    let html = dry.text();
    assert!(html.contains("class=\"import-report\""), "{html}");
    assert!(html.contains("6 rows: 6 right, 0 wrong."), "{html}");
    assert!(html.contains("陈建国") && html.contains("New owner"));
    assert_eq!(counts(&app).await, before);

    // A bad row: the page names it, in Chinese.
    let mut bad = rows();
    bad[2][3] = "12.345".into();
    let refused = upload(
        &c,
        compound,
        &[("csrf", &c.csrf), ("mode", "apply")],
        Some(("registry.csv", &csv_of(&bad))),
        false,
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text();
    assert!(html.contains("row-error"));
    assert!(html.contains("面积须为大于 0"), "{html}");
    assert_eq!(counts(&app).await, before);

    // Applied from the workbook: written.
    let xlsx = xlsx_of(&rows());
    let done = upload(
        &c,
        compound,
        &[("csrf", &c.csrf), ("mode", "apply")],
        Some(("registry.xlsx", &xlsx)),
        false,
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert!(done.text().contains("导入完成"), "{}", done.text());
    assert_eq!(counts(&app).await.owners, before.owners + 5);

    // No file: 422 with a message on the form.
    let missing = upload(
        &c,
        compound,
        &[("csrf", &c.csrf), ("mode", "apply")],
        None,
        false,
    )
    .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.text().contains("请选择要上传的文件"));
    let empty = upload(
        &c,
        compound,
        &[("csrf", &c.csrf), ("mode", "apply")],
        Some(("empty.csv", b"")),
        false,
    )
    .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().contains("文件为空"));
}
