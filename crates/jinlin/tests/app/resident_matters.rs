//! Tests of resident_matters.
