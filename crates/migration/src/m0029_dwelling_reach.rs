//! How a grid worker can reach each dwelling, kept on the dwelling's row:
//! `place.reach` is 2 when a contact group holds it, else 1 when one of its
//! owners or residents has a phone on file, else 0.
//!
//! Counting it live took three index probes per dwelling, most of a
//! community cockpit's database time. The figure depends on four tables
//! written by several capabilities (contact groups, owners, residents,
//! people's phones, and the seed and imports beside them), so triggers keep
//! it: no write path can forget it. Triggers are the one piece of schema the
//! two backends spell differently, so this migration speaks each dialect.
//! A row that is inserted can only raise a dwelling's reach, which is cheap
//! to apply; a row removed or moved recounts the dwelling from scratch.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Place {
    Table,
    Reach,
}

/// The reach of the dwelling whose id is `d`, recounted.
fn recount(d: &str) -> String {
    format!(
        "CASE WHEN EXISTS (SELECT 1 FROM contact_group_member cm WHERE cm.dwelling_id = {d}) THEN 2 \
         WHEN EXISTS (SELECT 1 FROM dwelling_owner o JOIN person pe ON pe.id = o.person_id \
                      WHERE o.dwelling_id = {d} AND COALESCE(pe.phone, '') <> '') \
           OR EXISTS (SELECT 1 FROM dwelling_resident r JOIN person pr ON pr.id = r.person_id \
                      WHERE r.dwelling_id = {d} AND COALESCE(pr.phone, '') <> '') THEN 1 \
         ELSE 0 END"
    )
}

/// Whether person `p` has a phone on file.
fn has_phone(p: &str) -> String {
    format!("EXISTS (SELECT 1 FROM person ph WHERE ph.id = {p} AND COALESCE(ph.phone, '') <> '')")
}

/// The dwellings person `p` owns or lives in.
fn dwellings_of(p: &str) -> String {
    format!(
        "SELECT dwelling_id FROM dwelling_owner WHERE person_id = {p} \
         UNION SELECT dwelling_id FROM dwelling_resident WHERE person_id = {p}"
    )
}

/// Whether an update of a person changed whether they have a phone.
const PHONE_CHANGED: &str = "((COALESCE(OLD.phone, '') = '') <> (COALESCE(NEW.phone, '') = ''))";

const HOUSEHOLDS: [&str; 2] = ["dwelling_owner", "dwelling_resident"];

fn sqlite_up() -> Vec<String> {
    let recount_old = format!(
        "UPDATE place SET reach = {} WHERE id = OLD.dwelling_id;",
        recount("place.id")
    );
    let recount_new = format!(
        "UPDATE place SET reach = {} WHERE id = NEW.dwelling_id;",
        recount("place.id")
    );
    let mut out = vec![
        "CREATE TRIGGER reach_group_insert AFTER INSERT ON contact_group_member BEGIN \
         UPDATE place SET reach = 2 WHERE id = NEW.dwelling_id AND reach <> 2; END"
            .to_string(),
        format!(
            "CREATE TRIGGER reach_group_delete AFTER DELETE ON contact_group_member BEGIN \
             {recount_old} END"
        ),
        format!(
            "CREATE TRIGGER reach_group_update AFTER UPDATE OF dwelling_id ON contact_group_member \
             BEGIN {recount_old} {recount_new} END"
        ),
        format!(
            "CREATE TRIGGER reach_phone_update AFTER UPDATE OF phone ON person WHEN {PHONE_CHANGED} BEGIN \
             UPDATE place SET reach = {} WHERE id IN ({}); END",
            recount("place.id"),
            dwellings_of("NEW.id")
        ),
    ];
    for table in HOUSEHOLDS {
        out.push(format!(
            "CREATE TRIGGER reach_{table}_insert AFTER INSERT ON {table} BEGIN \
             UPDATE place SET reach = 1 WHERE id = NEW.dwelling_id AND reach = 0 AND {}; END",
            has_phone("NEW.person_id")
        ));
        out.push(format!(
            "CREATE TRIGGER reach_{table}_delete AFTER DELETE ON {table} BEGIN {recount_old} END"
        ));
        out.push(format!(
            "CREATE TRIGGER reach_{table}_update AFTER UPDATE OF dwelling_id, person_id ON {table} \
             BEGIN {recount_old} {recount_new} END"
        ));
    }
    out
}

fn postgres_up() -> Vec<String> {
    let mut out = vec![
        // Writes only when the figure changes, so a recount that finds
        // nothing new leaves no dead row behind.
        format!(
            "CREATE FUNCTION reach_recount(d BIGINT) RETURNS void LANGUAGE plpgsql AS $$ \
             DECLARE fresh INTEGER; \
             BEGIN fresh := {}; \
             UPDATE place SET reach = fresh WHERE id = d AND reach <> fresh; END $$",
            recount("d")
        ),
        "CREATE FUNCTION reach_on_group_member() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN \
           IF TG_OP = 'INSERT' THEN \
             UPDATE place SET reach = 2 WHERE id = NEW.dwelling_id AND reach <> 2; \
           ELSIF TG_OP = 'DELETE' THEN \
             PERFORM reach_recount(OLD.dwelling_id); \
           ELSE \
             PERFORM reach_recount(OLD.dwelling_id); PERFORM reach_recount(NEW.dwelling_id); \
           END IF; \
           RETURN NULL; \
         END $$"
            .to_string(),
        format!(
            "CREATE FUNCTION reach_on_household() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               IF TG_OP = 'INSERT' THEN \
                 UPDATE place SET reach = 1 WHERE id = NEW.dwelling_id AND reach = 0 AND {}; \
               ELSIF TG_OP = 'DELETE' THEN \
                 PERFORM reach_recount(OLD.dwelling_id); \
               ELSE \
                 PERFORM reach_recount(OLD.dwelling_id); PERFORM reach_recount(NEW.dwelling_id); \
               END IF; \
               RETURN NULL; \
             END $$",
            has_phone("NEW.person_id")
        ),
        format!(
            "CREATE FUNCTION reach_on_phone() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN PERFORM reach_recount(d.dwelling_id) FROM ({}) d; RETURN NULL; END $$",
            dwellings_of("NEW.id")
        ),
        "CREATE TRIGGER reach_group_member AFTER INSERT OR DELETE OR UPDATE OF dwelling_id \
         ON contact_group_member FOR EACH ROW EXECUTE FUNCTION reach_on_group_member()"
            .to_string(),
        format!(
            "CREATE TRIGGER reach_phone AFTER UPDATE OF phone ON person FOR EACH ROW \
             WHEN {PHONE_CHANGED} EXECUTE FUNCTION reach_on_phone()"
        ),
    ];
    for table in HOUSEHOLDS {
        out.push(format!(
            "CREATE TRIGGER reach_{table} AFTER INSERT OR DELETE OR UPDATE OF dwelling_id, person_id \
             ON {table} FOR EACH ROW EXECUTE FUNCTION reach_on_household()"
        ));
    }
    out
}

fn down_statements(backend: DbBackend) -> Vec<String> {
    if backend == DbBackend::Postgres {
        let mut out = vec![
            "DROP TRIGGER IF EXISTS reach_group_member ON contact_group_member".to_string(),
            "DROP TRIGGER IF EXISTS reach_phone ON person".to_string(),
        ];
        for table in HOUSEHOLDS {
            out.push(format!("DROP TRIGGER IF EXISTS reach_{table} ON {table}"));
        }
        for f in [
            "reach_on_phone()",
            "reach_on_household()",
            "reach_on_group_member()",
            "reach_recount(BIGINT)",
        ] {
            out.push(format!("DROP FUNCTION IF EXISTS {f}"));
        }
        out
    } else {
        let mut names: Vec<String> = [
            "reach_group_insert",
            "reach_group_delete",
            "reach_group_update",
            "reach_phone_update",
        ]
        .map(String::from)
        .to_vec();
        for table in HOUSEHOLDS {
            for op in ["insert", "delete", "update"] {
                names.push(format!("reach_{table}_{op}"));
            }
        }
        names
            .into_iter()
            .map(|n| format!("DROP TRIGGER IF EXISTS {n}"))
            .collect()
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Place::Table)
                .add_column(
                    ColumnDef::new(Place::Reach)
                        .small_integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        let statements = match m.get_database_backend() {
            DbBackend::Postgres => postgres_up(),
            _ => sqlite_up(),
        };
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        db.execute_unprepared(&format!(
            "UPDATE place SET reach = {} WHERE kind = 'dwelling'",
            recount("place.id")
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in down_statements(m.get_database_backend()) {
            db.execute_unprepared(&sql).await?;
        }
        m.alter_table(
            Table::alter()
                .table(Place::Table)
                .drop_column(Place::Reach)
                .to_owned(),
        )
        .await
    }
}
