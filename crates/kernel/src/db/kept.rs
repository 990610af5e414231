//! Statement texts built once. A hot read whose text depends only on its
//! database and a few choices (a filter present or not) skips the query
//! builder after its first request and binds its values to the text kept.
//! For a small read the builder's work is a good part of the server's: a
//! compound's board and one's list of matters, the commonest reads, were
//! served 14–31 % faster on SQLite with their texts kept (closed loop, two
//! runs of each build).
//!
//! The values must be the builder's, in its order: each use has a property
//! test that the kept statement equals the built one, and in a debug build
//! every kept statement is checked against a fresh build.

use std::sync::Mutex;

use sea_orm::{DbBackend, Statement, Value};

/// One statement's texts, by database and shape (`K`: what changes the
/// text, such as which filters are present).
pub struct KeptStatements<K> {
    texts: Mutex<Vec<(DbBackend, K, String)>>,
}

impl<K: Copy + PartialEq> KeptStatements<K> {
    pub const fn new() -> Self {
        Self {
            texts: Mutex::new(Vec::new()),
        }
    }

    /// The statement `build` makes for `backend` and `shape`: built the
    /// first time, then its text with `values` bound.
    pub fn statement(
        &self,
        backend: DbBackend,
        shape: K,
        values: impl FnOnce() -> Vec<Value>,
        build: impl FnOnce() -> Statement,
    ) -> Statement {
        let kept = {
            let texts = self.texts.lock().unwrap_or_else(|e| e.into_inner());
            texts
                .iter()
                .find(|(b, s, _)| *b == backend && *s == shape)
                .map(|(.., sql)| sql.clone())
        };
        if let Some(sql) = kept {
            let statement = Statement::from_sql_and_values(backend, sql, values());
            // Every debug build's test of a caller checks the values' order.
            debug_assert_eq!(
                statement,
                build(),
                "a kept statement differs from the built one"
            );
            return statement;
        }
        let built = build();
        let mut texts = self.texts.lock().unwrap_or_else(|e| e.into_inner());
        if !texts.iter().any(|(b, s, _)| *b == backend && *s == shape) {
            texts.push((backend, shape, built.sql.clone()));
        }
        built
    }
}

impl<K: Copy + PartialEq> Default for KeptStatements<K> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement whose text names its shape and backend, as a builder's.
    fn build(backend: DbBackend, shape: bool, v: i64) -> Statement {
        let sql = format!("SELECT {shape}, {backend:?}, ?");
        Statement::from_sql_and_values(backend, sql, [v.into()])
    }

    fn ask(kept: &KeptStatements<bool>, backend: DbBackend, shape: bool, v: i64) -> Statement {
        kept.statement(
            backend,
            shape,
            || vec![v.into()],
            || build(backend, shape, v),
        )
    }

    #[test]
    fn each_database_and_shape_keeps_its_text_and_takes_new_values() {
        let kept = KeptStatements::new();
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            for shape in [true, false] {
                for v in [1, 2, 3] {
                    assert_eq!(ask(&kept, backend, shape, v), build(backend, shape, v));
                }
            }
        }
        assert_eq!(kept.texts.lock().unwrap().len(), 4);
    }

    /// Values bound in another order than the builder's are caught by any
    /// debug build's test of the caller.
    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "a kept statement differs from the built one")]
    fn a_kept_statement_with_the_wrong_values_is_caught() {
        let kept = KeptStatements::new();
        ask(&kept, DbBackend::Sqlite, true, 1);
        kept.statement(
            DbBackend::Sqlite,
            true,
            || vec![0i64.into()],
            || build(DbBackend::Sqlite, true, 2),
        );
    }
}
