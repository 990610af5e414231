//! The registry import (`POST /api/v1/places/{id}/registry-import`): an
//! uploaded CSV or Excel file is read, every row checked and a plan drawn
//! against a compound that already has a dwelling with an owner. Whatever
//! the bytes, the answer is a table or a `FileError`, never a panic.
#![no_main]

use chrono::NaiveDate;
use jinlin_kernel::i18n::Lang;
use jinlin_places::registry_import::{
    self, Existing, ExistingBuilding, ExistingDwelling, ExistingEntrance, ExistingOwner,
    FileFormat, OwnerKind,
};
use jinlin_places::rules::AreaSource;
use libfuzzer_sys::fuzz_target;

fn ground() -> Existing {
    Existing {
        buildings: vec![ExistingBuilding {
            id: 1,
            name: "1号楼".into(),
            entrances: vec![ExistingEntrance {
                id: 2,
                name: "1单元".into(),
                dwellings: vec![ExistingDwelling {
                    id: 3,
                    name: "101".into(),
                    area: Some((8950, AreaSource::Register)),
                    owners: vec![ExistingOwner {
                        kind: OwnerKind::Person,
                        name: "张三".into(),
                        id_digest: Some("digest:350102199001011234".into()),
                    }],
                }],
            }],
        }],
    }
}

fuzz_target!(|data: &[u8]| {
    // The handler takes the upload's media type when it names one and
    // sniffs otherwise: try the sniffed format and, for archives, CSV too.
    let mut formats = vec![FileFormat::sniff(data)];
    if formats[0] == FileFormat::Xlsx {
        formats.push(FileFormat::Csv);
    }
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let digest = |id: &str| format!("digest:{id}");
    for format in formats {
        match registry_import::read(data, format) {
            Ok(table) => {
                let analysis = registry_import::analyse(&table, &ground(), &digest, today);
                serde_json::to_vec(&analysis.report).expect("a report serialises");
                for lang in [Lang::ZhCn, Lang::En] {
                    let rows = registry_import::plan_rows(&analysis.plan, lang);
                    let _ = registry_import::to_csv(lang, &rows);
                    for row in &analysis.report.rows {
                        for e in &row.errors {
                            let _ = e.text(lang);
                        }
                    }
                }
            }
            Err(e) => {
                let _ = e.message(Lang::ZhCn);
                let _ = e.message(Lang::En);
            }
        }
    }
});
